// The GEMM register kernels written once, as templates over simd.h's Vec<W> (see
// gemm_kernels.h for what each computes). Included only by the files that instantiate them for
// one level (gemm_kernels.cc: Vec<1>, gemm_kernels_avx2.cc: Vec<8>, gemm_kernels_avx512.cc:
// Vec<16>), each compiled for its instruction set.
//
// Everything here sits in an unnamed namespace: each of those files gets its own copy, compiled
// for its own level, so the linker can never hand the AVX-512 copy of a helper to the AVX2 file.
// For the same reason nothing here calls the standard library.
//
// Floating-point order is part of the contract: every C entry is accumulated by one fma chain
// over k (the blocked path per K block), and the small-M kernels give a row the same result
// whatever other rows share the call (sgemm_rows_independent relies on it).
#pragma once

#include "gemm_kernels.h"
#include "simd.h"

namespace md {
namespace {

MD_SIMD_INLINE int min_int(int a, int b) { return a < b ? a : b; }

// alpha * v (+ beta * c): one C entry of a kernel's epilogue (beta == 0: C is not read).
MD_SIMD_INLINE float scaled(float v, float alpha, float beta, const float* c) {
  return beta == 0.0f ? alpha * v : alpha * v + beta * *c;
}

// Updates an m x n corner of C from a full accumulator tile (row-major, stride nr).
inline void update_tile(const float* acc, int nr, float* c, int ldc, float alpha, float beta, int m, int n) {
  for (int r = 0; r < m; ++r) {
    float* crow = c + static_cast<long>(r) * ldc;
    const float* arow = acc + r * nr;
    if (beta == 0.0f) {
      for (int j = 0; j < n; ++j) crow[j] = alpha * arow[j];
    } else {
      for (int j = 0; j < n; ++j) crow[j] = alpha * arow[j] + beta * crow[j];
    }
  }
}

// ---- micro-kernel: MR rows x NV vectors of W columns (NR = NV * W) ------------------------------
// Per k step: NV loads of B, MR broadcasts of A, MR * NV fmas into MR * NV accumulators (AVX2:
// 6 x 2 = 12 of 16 ymm; AVX-512: 12 x 2 = 24 of 32 zmm: enough independent chains to hide the
// fma latency).
template <int W, int MR, int NV>
void micro_kernel(int kc, const float* a, const float* b, float* c, int ldc, float alpha, float beta, int m, int n) {
  using V = simd::Vec<W>;
  constexpr int NR = NV * W;
  typename V::F acc[MR][NV];
#pragma GCC unroll 12
  for (int r = 0; r < MR; ++r)
#pragma GCC unroll 8
    for (int v = 0; v < NV; ++v) acc[r][v] = V::zero();
  for (int p = 0; p < kc; ++p) {
    typename V::F bv[NV];
#pragma GCC unroll 8
    for (int v = 0; v < NV; ++v) bv[v] = V::load(b + v * W);
#pragma GCC unroll 12
    for (int r = 0; r < MR; ++r) {
      const typename V::F ar = V::broadcast(a + r);
#pragma GCC unroll 8
      for (int v = 0; v < NV; ++v) acc[r][v] = V::fma(ar, bv[v], acc[r][v]);
    }
    a += MR;
    b += NR;
  }
  if (m == MR && n == NR) {
    const typename V::F va = V::set1(alpha), vb = V::set1(beta);
#pragma GCC unroll 12
    for (int r = 0; r < MR; ++r) {
      float* cr = c + static_cast<long>(r) * ldc;
#pragma GCC unroll 8
      for (int v = 0; v < NV; ++v) {
        if (beta == 0.0f)
          V::store(cr + v * W, V::mul(va, acc[r][v]));
        else
          V::store(cr + v * W, V::fma(va, acc[r][v], V::mul(vb, V::load(cr + v * W))));
      }
    }
    return;
  }
  // Unrolled like every loop over acc: an index the compiler cannot resolve would put the
  // accumulators in memory for the whole k loop.
  alignas(64) float tile[MR * NR];
#pragma GCC unroll 12
  for (int r = 0; r < MR; ++r)
#pragma GCC unroll 8
    for (int v = 0; v < NV; ++v) V::store(tile + r * NR + v * W, acc[r][v]);
  update_tile(tile, NR, c, ldc, alpha, beta, m, n);
}

// ---- small M, B stored [N,K]: dot products -----------------------------------------------------
// out[r * JB + jj] = dot(a[r], B row j0 + jj) for r < R, jj < JB; the last K % W floats by masked
// loads (off lanes read as 0, never touched).
template <int W, int R, int JB>
void dot_block(int K, const float* const* a, const float* B, int ldb, int j0, float* out) {
  using V = simd::Vec<W>;
  typename V::F acc[R][JB];
  const float* b[JB];
#pragma GCC unroll 4
  for (int jj = 0; jj < JB; ++jj) b[jj] = B + static_cast<long>(j0 + jj) * ldb;
#pragma GCC unroll 4
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
    for (int jj = 0; jj < JB; ++jj) acc[r][jj] = V::zero();
  int p = 0;
  for (; p + W <= K; p += W) {
    typename V::F bv[JB];
#pragma GCC unroll 4
    for (int jj = 0; jj < JB; ++jj) bv[jj] = V::load(b[jj] + p);
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) {
      const typename V::F av = V::load(a[r] + p);
#pragma GCC unroll 4
      for (int jj = 0; jj < JB; ++jj) acc[r][jj] = V::fma(av, bv[jj], acc[r][jj]);
    }
  }
  if (p < K) {
    const typename V::Mask mask = V::first_lanes(K - p);
    typename V::F bv[JB];
#pragma GCC unroll 4
    for (int jj = 0; jj < JB; ++jj) bv[jj] = V::load(b[jj] + p, mask);
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) {
      const typename V::F av = V::load(a[r] + p, mask);
#pragma GCC unroll 4
      for (int jj = 0; jj < JB; ++jj) acc[r][jj] = V::fma(av, bv[jj], acc[r][jj]);
    }
  }
#pragma GCC unroll 4
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
    for (int jj = 0; jj < JB; ++jj) out[r * JB + jj] = V::reduce_add(acc[r][jj]);
}

// ---- small M, B stored [K,N]: axpy sweeps ------------------------------------------------------
// C[:, j0 .. j0+n) for n <= 2W columns: each row of C is a sum of scaled rows of B, two vectors
// per row, the last ones masked.
template <int W, int R>
void axpy_block(int K, const float* const* a, const float* B, int ldb, int j0, int n, float alpha, float beta, float* C,
                int ldc) {
  using V = simd::Vec<W>;
  const typename V::Mask m0 = V::first_lanes(n), m1 = V::first_lanes(n - W);
  const bool full = n == 2 * W;
  typename V::F acc[R][2];
#pragma GCC unroll 4
  for (int r = 0; r < R; ++r) acc[r][0] = acc[r][1] = V::zero();
  for (int p = 0; p < K; ++p) {
    const float* brow = B + static_cast<long>(p) * ldb + j0;
    const typename V::F b0 = full ? V::load(brow) : V::load(brow, m0);
    const typename V::F b1 = full ? V::load(brow + W) : V::load(brow + W, m1);
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) {
      const typename V::F av = V::broadcast(a[r] + p);
      acc[r][0] = V::fma(av, b0, acc[r][0]);
      acc[r][1] = V::fma(av, b1, acc[r][1]);
    }
  }
  const typename V::F va = V::set1(alpha), vb = V::set1(beta);
  for (int r = 0; r < R; ++r) {
    float* c = C + static_cast<long>(r) * ldc + j0;
    for (int h = 0; h < 2; ++h) {
      const typename V::Mask mask = h == 0 ? m0 : m1;
      typename V::F v = V::mul(va, acc[r][h]);
      if (beta != 0.0f) v = V::fma(vb, V::load(c + W * h, mask), v);
      V::store(c + W * h, mask, v);
    }
  }
}

// R rows of op(A) (R <= kGemmSmallM) against all N columns.
template <int W, int R>
void small_m_rows(bool trans_b, int N, int K, float alpha, const float* const* a, const float* B, int ldb, float beta,
                  float* C, int ldc) {
  if (!trans_b) {
    for (int j = 0; j < N; j += 2 * W) axpy_block<W, R>(K, a, B, ldb, j, min_int(2 * W, N - j), alpha, beta, C, ldc);
    return;
  }
  // R * JB accumulators, at most half the level's vector registers.
  constexpr int JB = R * 4 <= simd::Vec<W>::kRegisters / 2 ? 4 : 2;
  float out[R * JB];
  int j = 0;
  for (; j + JB <= N; j += JB) {
    dot_block<W, R, JB>(K, a, B, ldb, j, out);
    for (int r = 0; r < R; ++r)
      for (int jj = 0; jj < JB; ++jj) {
        float* c = C + static_cast<long>(r) * ldc + j + jj;
        *c = scaled(out[r * JB + jj], alpha, beta, c);
      }
  }
  for (; j < N; ++j) {
    dot_block<W, R, 1>(K, a, B, ldb, j, out);
    for (int r = 0; r < R; ++r) {
      float* c = C + static_cast<long>(r) * ldc + j;
      *c = scaled(out[r], alpha, beta, c);
    }
  }
}

template <int W>
void small_m_kernel(bool trans_b, int m, int N, int K, float alpha, const float* const* a, const float* B, int ldb,
                    float beta, float* C, int ldc) {
  static_assert(kGemmSmallM == 4, "one case per row count");
  switch (m) {
    case 1: return small_m_rows<W, 1>(trans_b, N, K, alpha, a, B, ldb, beta, C, ldc);
    case 2: return small_m_rows<W, 2>(trans_b, N, K, alpha, a, B, ldb, beta, C, ldc);
    case 3: return small_m_rows<W, 3>(trans_b, N, K, alpha, a, B, ldb, beta, C, ldc);
    default: return small_m_rows<W, 4>(trans_b, N, K, alpha, a, B, ldb, beta, C, ldc);
  }
}

}  // namespace
}  // namespace md
