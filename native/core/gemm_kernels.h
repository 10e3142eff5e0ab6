// The register kernels of sgemm (gemm.cc), one set per SIMD level, and the table the driver
// picks from. Two kinds:
//   - the micro-kernel of the blocked path: an MR x NR tile of C from packed panels of A and B
//     (gemm_pack.h), the GotoBLAS/BLIS inner kernel;
//   - the small-M kernels: M <= kSmallM rows of op(A) against B read in place, no packing
//     (dot products when B is stored [N,K], axpy sweeps when it is stored [K,N]).
// The AVX2 and AVX-512 sets are one template (gemm_kernel_templates.h) over simd.h's Vec<W>,
// instantiated in gemm_kernels_avx2.cc and gemm_kernels_avx512.cc; the scalar set is in
// gemm_kernels.cc.
#pragma once

#include "simd.h"

namespace md {

// Small-M path: at most this many rows of op(A) per kernel call...
constexpr int kGemmSmallM = 4;
// ...and at most this K: above it the rows of A no longer sit in L1/L2 while the kernels sweep B,
// and the blocked path (which tiles K) is the better one.
constexpr int kGemmSmallMMaxK = 4096;

// C[m,n] = alpha * (a_panel . b_panel) + beta * C (beta == 0: C not read), for m <= MR, n <= NR.
// a: kc x MR floats (MR per k step), b: kc x NR floats (NR per k step).
using GemmMicroKernel = void (*)(int kc, const float* a, const float* b, float* c, int ldc, float alpha, float beta,
                                 int m, int n);
// C[m,N] = alpha * op(A) op(B) + beta * C for m <= kGemmSmallM; a[i] points at row i of op(A)
// (K contiguous floats); B is read where it lies ([N,K] when trans_b, else [K,N]).
using GemmSmallMKernel = void (*)(bool trans_b, int m, int N, int K, float alpha, const float* const* a, const float* B,
                                  int ldb, float beta, float* C, int ldc);

struct GemmKernels {
  int mr, nr;  // the micro-kernel's tile
  GemmMicroKernel micro;
  GemmSmallMKernel small_m;
  bool simd_pack;  // transposing packs may use AVX shuffles (AVX2 and up)
};

// The kernels of `level`; call only for a level this CPU runs (simd_level_supported).
GemmKernels gemm_kernels_for(SimdLevel level);

// One per level (each in the file compiled for that level); use gemm_kernels_for.
GemmKernels gemm_kernels_scalar();
#ifdef MD_SIMD_X86
GemmKernels gemm_kernels_avx2();
GemmKernels gemm_kernels_avx512();
#endif

}  // namespace md
