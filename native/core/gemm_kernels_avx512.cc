// The AVX-512F instance of the GEMM kernels (gemm_kernel_templates.h over Vec<16>).
// CMakeLists.txt compiles this file alone with -mavx512f; gemm_kernels_for() reaches it only
// when simd_level_supported(SimdLevel::avx512), so no other code runs these instructions.
#include "gemm_kernels.h"

#ifdef MD_SIMD_X86
#if !defined(__AVX512F__)
#error "gemm_kernels_avx512.cc must be compiled with -mavx512f (set in CMakeLists.txt)"
#endif

#include "gemm_kernel_templates.h"

namespace md {

GemmKernels gemm_kernels_avx512() {
  // Micro-kernel tile: 12 rows x 32 columns (24 of the 32 zmm registers as accumulators).
  return {12, 2 * 16, micro_kernel<16, 12, 2>, small_m_kernel<16>, true};
}

}  // namespace md
#endif
