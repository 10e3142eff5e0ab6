// Run-time detection of the SIMD level (simd.h): the one place that asks the CPU.
#include "simd.h"

#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>

#include "cpu_features.h"

namespace md {

namespace {

// What the CPU can run, ignoring MODEL_DISTILL_SIMD.
SimdLevel widest_supported_level() {
#ifdef MD_SIMD_X86
  __builtin_cpu_init();
  const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  if (avx2 && __builtin_cpu_supports("avx512f")) return SimdLevel::avx512;
  if (avx2) return SimdLevel::avx2;
#endif
  return SimdLevel::scalar;
}

}  // namespace

bool simd_level_supported(SimdLevel level) {
  static const SimdLevel widest = widest_supported_level();
  return level <= widest;
}

SimdLevel simd_default_level() {
  static const SimdLevel level = [] {
    SimdLevel l = widest_supported_level();
    const char* cap = std::getenv("MODEL_DISTILL_SIMD");
    if (cap != nullptr && std::strcmp(cap, "scalar") == 0) l = SimdLevel::scalar;
    if (cap != nullptr && std::strcmp(cap, "avx2") == 0 && l > SimdLevel::avx2) l = SimdLevel::avx2;
    return l;
  }();
  return level;
}

const char* simd_level_name(SimdLevel level) {
  switch (level) {
    case SimdLevel::scalar: return "scalar";
    case SimdLevel::avx2: return "avx2";
    case SimdLevel::avx512: return "avx512";
  }
  return "?";
}

void check_simd_level_supported(SimdLevel level, const char* what) {
  if (!simd_level_supported(level))
    throw std::invalid_argument(std::string(what) + ": this CPU cannot run the " + simd_level_name(level) + " kernels");
}

const CpuFeatures& cpu_features() {
  static const CpuFeatures features = [] {
    CpuFeatures f;
    f.avx2_fma = simd_default_level() >= SimdLevel::avx2;
    f.avx512f = simd_default_level() >= SimdLevel::avx512;
    return f;
  }();
  return features;
}

}  // namespace md
