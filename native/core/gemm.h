// Single-precision matrix multiply (the one GEMM every model of the core uses).
//
// Row-major, BLAS-like semantics: C[M,N] = alpha * op(A) * op(B) + beta * C,
// where op(A) is [M,K] (A is stored [K,M] when trans_a) and op(B) is [K,N] (B is
// stored [N,K] when trans_b). As in BLAS, beta == 0 means C is not read (it may
// hold garbage or NaN), and K == 0 or alpha == 0 only scales C by beta.
//
// sgemm is single-threaded on purpose: models parallelise over the batch (one
// shard per thread), which scales better than splitting small matrices. It is a
// cache-blocked, panel-packing GEMM (the GotoBLAS/BLIS scheme) with a register
// micro-kernel chosen at run time from md::simd_default_level(): AVX-512,
// AVX2+FMA, or a portable scalar one (gemm_kernels.h). For M <= 4 (and K <= 4096) it skips the packing and
// reads B in place (dot-product or axpy kernels at the same level): packing B
// per call cost as much as the multiply at batch 1 (a GRU step at batch 1).
#pragma once

#include "simd.h"

namespace md {

// C[M,N] = alpha * op(A) * op(B) + beta * C, row-major; op(A) is [M,K], op(B) is [K,N].
void sgemm(bool trans_a, bool trans_b, int M, int N, int K, float alpha, const float* A, int lda,
           const float* B, int ldb, float beta, float* C, int ldc);

// sgemm without transposing A, where every row of C is bit for bit what a one-row call (M = 1)
// gives, whatever M is: a row's result never depends on the rows it shares a call with. The
// inference paths use it so that a text's probabilities do not depend on which other texts share
// its batch (micro-batching promises each caller its unbatched result). Throughput is close to
// sgemm's for the narrow K of the students (it reads B in place, four rows at a time).
void sgemm_rows_independent(bool trans_b, int M, int N, int K, float alpha, const float* A, int lda, const float* B,
                            int ldb, float beta, float* C, int ldc);

// The plain triple loop (accumulating in double), the reference the tests compare against.
void sgemm_reference(bool trans_a, bool trans_b, int M, int N, int K, float alpha, const float* A, int lda,
                     const float* B, int ldb, float beta, float* C, int ldc);

// sgemm with the kernels of an explicit SIMD level (tests and benches run each one); throws
// std::invalid_argument when the CPU cannot run it.
void sgemm_at_level(SimdLevel level, bool trans_a, bool trans_b, int M, int N, int K, float alpha, const float* A,
                    int lda, const float* B, int ldb, float beta, float* C, int ldc);

}  // namespace md
