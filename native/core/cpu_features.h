// Run-time CPU feature detection. Kernels are compiled for several instruction
// sets with target attributes and pick one here, so one binary runs on any
// x86-64 (a published build must never use -march=native).
#pragma once

namespace md {

struct CpuFeatures {
  bool avx2_fma = false;
  bool avx512f = false;
};

// Detected once, then cached. MODEL_DISTILL_SIMD=scalar|avx2 in the environment
// caps the level, so tests can exercise every path on one machine.
const CpuFeatures& cpu_features();

}  // namespace md
