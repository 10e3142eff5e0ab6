#include "version.h"

#include <cstdlib>
#include <cstring>

#include "cpu_features.h"

namespace md {

const char* core_version() { return "0.1.0"; }

const CpuFeatures& cpu_features() {
  static const CpuFeatures features = [] {
    CpuFeatures f;
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    f.avx2_fma = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    f.avx512f = f.avx2_fma && __builtin_cpu_supports("avx512f");
#endif
    const char* cap = std::getenv("MODEL_DISTILL_SIMD");
    if (cap != nullptr && std::strcmp(cap, "scalar") == 0) {
      f.avx2_fma = false;
      f.avx512f = false;
    } else if (cap != nullptr && std::strcmp(cap, "avx2") == 0) {
      f.avx512f = false;
    }
    return f;
  }();
  return features;
}

std::string simd_level() {
  const CpuFeatures& f = cpu_features();
  if (f.avx512f) return "avx512";
  if (f.avx2_fma) return "avx2";
  return "scalar";
}

}  // namespace md
