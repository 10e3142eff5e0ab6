// Version and build facts of the native core, reported by the addon so that a
// user can tell which binary Node loaded and which SIMD path it runs.
#pragma once
#include <string>

namespace md {

// Semantic version of the native core (matches package.json's major.minor).
const char* core_version();

// The widest SIMD instruction set this CPU offers that the kernels use:
// "avx512", "avx2" or "scalar". Decided at run time, never at compile time.
std::string simd_level();

}  // namespace md
