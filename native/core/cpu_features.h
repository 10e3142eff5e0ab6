// The SIMD level as two flags, kept for int8_kernels.cc only (the quantization work owns that
// file); everything else asks simd.h (simd_default_level()), which this is derived from.
#pragma once

namespace md {

struct CpuFeatures {
  bool avx2_fma = false;
  bool avx512f = false;
};

// simd_default_level() as flags (MODEL_DISTILL_SIMD caps it the same way). Defined in simd.cc.
const CpuFeatures& cpu_features();

}  // namespace md
