// The AVX2 + FMA instance of the GEMM kernels (gemm_kernel_templates.h over Vec<8>).
// CMakeLists.txt compiles this file alone with -mavx2 -mfma; gemm_kernels_for() reaches it only
// when simd_level_supported(SimdLevel::avx2), so no other code runs these instructions.
#include "gemm_kernels.h"

#ifdef MD_SIMD_X86
#if !defined(__AVX2__) || !defined(__FMA__)
#error "gemm_kernels_avx2.cc must be compiled with -mavx2 -mfma (set in CMakeLists.txt)"
#endif

#include "gemm_kernel_templates.h"

namespace md {

GemmKernels gemm_kernels_avx2() {
  // Micro-kernel tile: 6 rows x 16 columns (12 of the 16 ymm registers as accumulators).
  return {6, 2 * 8, micro_kernel<8, 6, 2>, small_m_kernel<8>, true};
}

}  // namespace md
#endif
