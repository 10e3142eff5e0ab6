// Cache-blocked, panel-packing SGEMM (GotoBLAS / BLIS scheme).
//
// Loop nest, outermost first:
//   jc over N in NC columns   -- a block of B that stays in L3
//   pc over K in KC steps     -- B block packed into NR-wide column panels
//   ic over M in MC rows      -- A block packed into MR-tall row panels (L2)
//   jr, ir over the panels    -- micro-kernel: an MR x NR tile of C in registers
// Packing copies op(A) and op(B) into the exact order the micro-kernel reads
// (contiguous, zero-padded to full MR / NR), so all four transpose combinations
// share one kernel and the kernel never branches on edges inside its k loop.
#include "gemm.h"

#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "cpu_features.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define MD_GEMM_X86 1
#endif

namespace md {

namespace {

// Updates an m x n corner of C from a full MR x NR accumulator tile (row-major, stride nr).
inline void update_tile_scalar(const float* acc, int nr, float* c, int ldc, float alpha, float beta, int m, int n) {
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

// ---- micro-kernels: C[m,n] = alpha * (a_panel . b_panel) + beta * C -------
// a: kc x MR (MR floats per k step), b: kc x NR (NR floats per k step).
using MicroKernel = void (*)(int kc, const float* a, const float* b, float* c, int ldc, float alpha, float beta, int m,
                             int n);

constexpr int kScalarMR = 4, kScalarNR = 8;
void kernel_scalar(int kc, const float* a, const float* b, float* c, int ldc, float alpha, float beta, int m, int n) {
  float acc[kScalarMR * kScalarNR] = {};
  for (int p = 0; p < kc; ++p) {
    for (int r = 0; r < kScalarMR; ++r) {
      const float ar = a[r];
      for (int j = 0; j < kScalarNR; ++j) acc[r * kScalarNR + j] += ar * b[j];
    }
    a += kScalarMR;
    b += kScalarNR;
  }
  update_tile_scalar(acc, kScalarNR, c, ldc, alpha, beta, m, n);
}

#ifdef MD_GEMM_X86
// AVX2: 6 rows x 16 columns = 12 ymm accumulators; per k step 2 loads of B,
// 6 broadcasts of A, 12 FMAs (enough independent chains to hide FMA latency).
constexpr int kAvx2MR = 6, kAvx2NR = 16;
__attribute__((target("avx2,fma"))) void kernel_avx2(int kc, const float* a, const float* b, float* c, int ldc,
                                                     float alpha, float beta, int m, int n) {
  __m256 c00 = _mm256_setzero_ps(), c01 = _mm256_setzero_ps();
  __m256 c10 = _mm256_setzero_ps(), c11 = _mm256_setzero_ps();
  __m256 c20 = _mm256_setzero_ps(), c21 = _mm256_setzero_ps();
  __m256 c30 = _mm256_setzero_ps(), c31 = _mm256_setzero_ps();
  __m256 c40 = _mm256_setzero_ps(), c41 = _mm256_setzero_ps();
  __m256 c50 = _mm256_setzero_ps(), c51 = _mm256_setzero_ps();
  for (int p = 0; p < kc; ++p) {
    const __m256 b0 = _mm256_loadu_ps(b), b1 = _mm256_loadu_ps(b + 8);
    __m256 ar;
    ar = _mm256_broadcast_ss(a + 0); c00 = _mm256_fmadd_ps(ar, b0, c00); c01 = _mm256_fmadd_ps(ar, b1, c01);
    ar = _mm256_broadcast_ss(a + 1); c10 = _mm256_fmadd_ps(ar, b0, c10); c11 = _mm256_fmadd_ps(ar, b1, c11);
    ar = _mm256_broadcast_ss(a + 2); c20 = _mm256_fmadd_ps(ar, b0, c20); c21 = _mm256_fmadd_ps(ar, b1, c21);
    ar = _mm256_broadcast_ss(a + 3); c30 = _mm256_fmadd_ps(ar, b0, c30); c31 = _mm256_fmadd_ps(ar, b1, c31);
    ar = _mm256_broadcast_ss(a + 4); c40 = _mm256_fmadd_ps(ar, b0, c40); c41 = _mm256_fmadd_ps(ar, b1, c41);
    ar = _mm256_broadcast_ss(a + 5); c50 = _mm256_fmadd_ps(ar, b0, c50); c51 = _mm256_fmadd_ps(ar, b1, c51);
    a += kAvx2MR;
    b += kAvx2NR;
  }
  const __m256 rows[kAvx2MR][2] = {{c00, c01}, {c10, c11}, {c20, c21}, {c30, c31}, {c40, c41}, {c50, c51}};
  const __m256 va = _mm256_set1_ps(alpha);
  if (m == kAvx2MR && n == kAvx2NR) {
    if (beta == 0.0f) {
      for (int r = 0; r < kAvx2MR; ++r) {
        float* cr = c + static_cast<long>(r) * ldc;
        _mm256_storeu_ps(cr, _mm256_mul_ps(va, rows[r][0]));
        _mm256_storeu_ps(cr + 8, _mm256_mul_ps(va, rows[r][1]));
      }
    } else {
      const __m256 vb = _mm256_set1_ps(beta);
      for (int r = 0; r < kAvx2MR; ++r) {
        float* cr = c + static_cast<long>(r) * ldc;
        _mm256_storeu_ps(cr, _mm256_fmadd_ps(va, rows[r][0], _mm256_mul_ps(vb, _mm256_loadu_ps(cr))));
        _mm256_storeu_ps(cr + 8, _mm256_fmadd_ps(va, rows[r][1], _mm256_mul_ps(vb, _mm256_loadu_ps(cr + 8))));
      }
    }
    return;
  }
  alignas(32) float acc[kAvx2MR * kAvx2NR];
  for (int r = 0; r < kAvx2MR; ++r) {
    _mm256_store_ps(acc + r * kAvx2NR, rows[r][0]);
    _mm256_store_ps(acc + r * kAvx2NR + 8, rows[r][1]);
  }
  update_tile_scalar(acc, kAvx2NR, c, ldc, alpha, beta, m, n);
}

// AVX-512: 12 rows x 32 columns = 24 zmm accumulators of the 32 registers; per
// k step 2 loads of B, 12 broadcasts of A, 24 FMAs.
constexpr int kAvx512MR = 12, kAvx512NR = 32;
__attribute__((target("avx512f"))) void kernel_avx512(int kc, const float* a, const float* b, float* c, int ldc,
                                                      float alpha, float beta, int m, int n) {
  __m512 acc[kAvx512MR][2];
#pragma GCC unroll 12
  for (int r = 0; r < kAvx512MR; ++r) acc[r][0] = acc[r][1] = _mm512_setzero_ps();
  for (int p = 0; p < kc; ++p) {
    const __m512 b0 = _mm512_loadu_ps(b), b1 = _mm512_loadu_ps(b + 16);
#pragma GCC unroll 12
    for (int r = 0; r < kAvx512MR; ++r) {
      const __m512 ar = _mm512_set1_ps(a[r]);
      acc[r][0] = _mm512_fmadd_ps(ar, b0, acc[r][0]);
      acc[r][1] = _mm512_fmadd_ps(ar, b1, acc[r][1]);
    }
    a += kAvx512MR;
    b += kAvx512NR;
  }
  const __m512 va = _mm512_set1_ps(alpha);
  if (m == kAvx512MR && n == kAvx512NR) {
    const __m512 vb = _mm512_set1_ps(beta);
#pragma GCC unroll 12
    for (int r = 0; r < kAvx512MR; ++r) {
      float* cr = c + static_cast<long>(r) * ldc;
      if (beta == 0.0f) {
        _mm512_storeu_ps(cr, _mm512_mul_ps(va, acc[r][0]));
        _mm512_storeu_ps(cr + 16, _mm512_mul_ps(va, acc[r][1]));
      } else {
        _mm512_storeu_ps(cr, _mm512_fmadd_ps(va, acc[r][0], _mm512_mul_ps(vb, _mm512_loadu_ps(cr))));
        _mm512_storeu_ps(cr + 16, _mm512_fmadd_ps(va, acc[r][1], _mm512_mul_ps(vb, _mm512_loadu_ps(cr + 16))));
      }
    }
    return;
  }
  alignas(64) float tile[kAvx512MR * kAvx512NR];
  for (int r = 0; r < kAvx512MR; ++r) {
    _mm512_store_ps(tile + r * kAvx512NR, acc[r][0]);
    _mm512_store_ps(tile + r * kAvx512NR + 16, acc[r][1]);
  }
  update_tile_scalar(tile, kAvx512NR, c, ldc, alpha, beta, m, n);
}
#endif

// ---- small M: B read in place, no packing ----------------------------------
// With one to four rows of op(A), packing op(B) (N*K floats copied per call) costs as much as
// the multiply itself: a GRU at batch 1 re-packed its 3H x H W_hh at every time step. These
// kernels read B where it lies: stored [N,K] (trans_b) each C entry is a dot product of two
// contiguous rows; stored [K,N] each row of C is a sum of scaled rows of B (axpy). op(A)'s rows
// arrive as pointers to K contiguous floats (sgemm_small_m copies a transposed A first).
constexpr int kSmallM = 4;
// Above this K the rows of A no longer sit in L1/L2 while the dot products sweep B; the
// blocked path (which tiles K) is the better one there.
constexpr int kSmallMMaxK = 4096;

using SmallMKernel = void (*)(bool trans_b, int m, int N, int K, float alpha, const float* const* a, const float* B,
                              int ldb, float beta, float* C, int ldc);

inline float scaled(float v, float alpha, float beta, const float* c) {
  return beta == 0.0f ? alpha * v : alpha * v + beta * *c;  // beta == 0: C is not read
}

void small_m_scalar(bool trans_b, int m, int N, int K, float alpha, const float* const* a, const float* B, int ldb,
                    float beta, float* C, int ldc) {
  if (trans_b) {
    for (int j = 0; j < N; ++j) {
      const float* b = B + static_cast<long>(j) * ldb;
      for (int i = 0; i < m; ++i) {
        float sum = 0.0f;
        for (int p = 0; p < K; ++p) sum += a[i][p] * b[p];
        float* c = C + static_cast<long>(i) * ldc + j;
        *c = scaled(sum, alpha, beta, c);
      }
    }
    return;
  }
  thread_local std::vector<float> acc;
  acc.resize(static_cast<std::size_t>(N));
  for (int i = 0; i < m; ++i) {
    std::fill(acc.begin(), acc.end(), 0.0f);
    for (int p = 0; p < K; ++p) {
      const float ap = a[i][p];
      const float* b = B + static_cast<long>(p) * ldb;
      for (int j = 0; j < N; ++j) acc[j] += ap * b[j];
    }
    float* c = C + static_cast<long>(i) * ldc;
    for (int j = 0; j < N; ++j) c[j] = scaled(acc[j], alpha, beta, c + j);
  }
}

#ifdef MD_GEMM_X86
// ---- AVX2 (8 lanes) ----
__attribute__((target("avx2,fma"))) inline float hsum_avx2(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
  return _mm_cvtss_f32(s);
}
// Lanes [0, n) on: masked loads never touch (or fault on) the lanes that are off.
__attribute__((target("avx2,fma"))) inline __m256i first_lanes_avx2(int n) {
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

// out[r * JB + jj] = dot(a[r], B row j0 + jj), r < R, jj < JB.
template <int R, int JB>
__attribute__((target("avx2,fma"))) void dot_block_avx2(int K, const float* const* a, const float* B, int ldb, int j0,
                                                        float* out) {
  __m256 acc[R][JB];
  const float* b[JB];
#pragma GCC unroll 4
  for (int jj = 0; jj < JB; ++jj) b[jj] = B + static_cast<long>(j0 + jj) * ldb;
#pragma GCC unroll 4
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
    for (int jj = 0; jj < JB; ++jj) acc[r][jj] = _mm256_setzero_ps();
  int p = 0;
  for (; p + 8 <= K; p += 8) {
    __m256 bv[JB];
#pragma GCC unroll 4
    for (int jj = 0; jj < JB; ++jj) bv[jj] = _mm256_loadu_ps(b[jj] + p);
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) {
      const __m256 av = _mm256_loadu_ps(a[r] + p);
#pragma GCC unroll 4
      for (int jj = 0; jj < JB; ++jj) acc[r][jj] = _mm256_fmadd_ps(av, bv[jj], acc[r][jj]);
    }
  }
  if (p < K) {
    const __m256i mask = first_lanes_avx2(K - p);
    __m256 bv[JB];
#pragma GCC unroll 4
    for (int jj = 0; jj < JB; ++jj) bv[jj] = _mm256_maskload_ps(b[jj] + p, mask);
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) {
      const __m256 av = _mm256_maskload_ps(a[r] + p, mask);
#pragma GCC unroll 4
      for (int jj = 0; jj < JB; ++jj) acc[r][jj] = _mm256_fmadd_ps(av, bv[jj], acc[r][jj]);
    }
  }
#pragma GCC unroll 4
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
    for (int jj = 0; jj < JB; ++jj) out[r * JB + jj] = hsum_avx2(acc[r][jj]);
}

// C[:, j0 .. j0+n) for n <= 16 columns of a [K,N] B: two vectors per row, the last ones masked.
template <int R>
__attribute__((target("avx2,fma"))) void axpy_block_avx2(int K, const float* const* a, const float* B, int ldb, int j0,
                                                         int n, float alpha, float beta, float* C, int ldc) {
  const __m256i m0 = first_lanes_avx2(std::min(n, 8)), m1 = first_lanes_avx2(n - 8);
  const bool full = n == 16;
  __m256 acc[R][2];
#pragma GCC unroll 4
  for (int r = 0; r < R; ++r) acc[r][0] = acc[r][1] = _mm256_setzero_ps();
  for (int p = 0; p < K; ++p) {
    const float* brow = B + static_cast<long>(p) * ldb + j0;
    const __m256 b0 = full ? _mm256_loadu_ps(brow) : _mm256_maskload_ps(brow, m0);
    const __m256 b1 = full ? _mm256_loadu_ps(brow + 8) : _mm256_maskload_ps(brow + 8, m1);
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) {
      const __m256 av = _mm256_broadcast_ss(a[r] + p);
      acc[r][0] = _mm256_fmadd_ps(av, b0, acc[r][0]);
      acc[r][1] = _mm256_fmadd_ps(av, b1, acc[r][1]);
    }
  }
  const __m256 va = _mm256_set1_ps(alpha), vb = _mm256_set1_ps(beta);
  for (int r = 0; r < R; ++r) {
    float* c = C + static_cast<long>(r) * ldc + j0;
    for (int h = 0; h < 2; ++h) {
      const __m256i mask = h == 0 ? m0 : m1;
      __m256 v = _mm256_mul_ps(va, acc[r][h]);
      if (beta != 0.0f) v = _mm256_fmadd_ps(vb, _mm256_maskload_ps(c + 8 * h, mask), v);
      _mm256_maskstore_ps(c + 8 * h, mask, v);
    }
  }
}

template <int R>
__attribute__((target("avx2,fma"))) void small_m_rows_avx2(bool trans_b, int N, int K, float alpha,
                                                           const float* const* a, const float* B, int ldb, float beta,
                                                           float* C, int ldc) {
  if (!trans_b) {
    for (int j = 0; j < N; j += 16) axpy_block_avx2<R>(K, a, B, ldb, j, std::min(16, N - j), alpha, beta, C, ldc);
    return;
  }
  constexpr int JB = R <= 2 ? 4 : 2;  // R * JB accumulators (<= 8 of the 16 ymm registers)
  float out[R * JB];
  int j = 0;
  for (; j + JB <= N; j += JB) {
    dot_block_avx2<R, JB>(K, a, B, ldb, j, out);
    for (int r = 0; r < R; ++r)
      for (int jj = 0; jj < JB; ++jj) {
        float* c = C + static_cast<long>(r) * ldc + j + jj;
        *c = scaled(out[r * JB + jj], alpha, beta, c);
      }
  }
  for (; j < N; ++j) {
    dot_block_avx2<R, 1>(K, a, B, ldb, j, out);
    for (int r = 0; r < R; ++r) {
      float* c = C + static_cast<long>(r) * ldc + j;
      *c = scaled(out[r], alpha, beta, c);
    }
  }
}

void small_m_avx2(bool trans_b, int m, int N, int K, float alpha, const float* const* a, const float* B, int ldb,
                  float beta, float* C, int ldc) {
  switch (m) {
    case 1: return small_m_rows_avx2<1>(trans_b, N, K, alpha, a, B, ldb, beta, C, ldc);
    case 2: return small_m_rows_avx2<2>(trans_b, N, K, alpha, a, B, ldb, beta, C, ldc);
    case 3: return small_m_rows_avx2<3>(trans_b, N, K, alpha, a, B, ldb, beta, C, ldc);
    default: return small_m_rows_avx2<4>(trans_b, N, K, alpha, a, B, ldb, beta, C, ldc);
  }
}

// ---- AVX-512 (16 lanes): the same two kernels, masks instead of mask vectors ----
inline __mmask16 first_lanes_avx512(int n) {
  return n >= 16 ? static_cast<__mmask16>(0xffff) : n <= 0 ? static_cast<__mmask16>(0) : static_cast<__mmask16>((1u << n) - 1);
}

// Sum of the 16 lanes by shuffles. The maskz forms with every lane on: GCC 12 warns about the
// undefined operand inside _mm512_reduce_add_ps and the unmasked shuffles.
__attribute__((target("avx512f"))) inline float hsum_avx512(__m512 v) {
  const __mmask16 all = 0xffff;
  v = _mm512_add_ps(v, _mm512_maskz_shuffle_f32x4(all, v, v, 0x4E));  // swap 256-bit halves
  v = _mm512_add_ps(v, _mm512_maskz_shuffle_f32x4(all, v, v, 0xB1));  // swap 128-bit quarters
  v = _mm512_add_ps(v, _mm512_maskz_permute_ps(all, v, 0x4E));        // swap pairs within a quarter
  v = _mm512_add_ps(v, _mm512_maskz_permute_ps(all, v, 0xB1));        // swap neighbours
  return _mm512_cvtss_f32(v);
}

template <int R, int JB>
__attribute__((target("avx512f"))) void dot_block_avx512(int K, const float* const* a, const float* B, int ldb, int j0,
                                                         float* out) {
  __m512 acc[R][JB];
  const float* b[JB];
#pragma GCC unroll 4
  for (int jj = 0; jj < JB; ++jj) b[jj] = B + static_cast<long>(j0 + jj) * ldb;
#pragma GCC unroll 4
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
    for (int jj = 0; jj < JB; ++jj) acc[r][jj] = _mm512_setzero_ps();
  for (int p = 0; p < K; p += 16) {
    const __mmask16 mask = first_lanes_avx512(K - p);
    __m512 bv[JB];
#pragma GCC unroll 4
    for (int jj = 0; jj < JB; ++jj) bv[jj] = _mm512_maskz_loadu_ps(mask, b[jj] + p);
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) {
      const __m512 av = _mm512_maskz_loadu_ps(mask, a[r] + p);
#pragma GCC unroll 4
      for (int jj = 0; jj < JB; ++jj) acc[r][jj] = _mm512_fmadd_ps(av, bv[jj], acc[r][jj]);
    }
  }
#pragma GCC unroll 4
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
    for (int jj = 0; jj < JB; ++jj) out[r * JB + jj] = hsum_avx512(acc[r][jj]);
}

template <int R>
__attribute__((target("avx512f"))) void axpy_block_avx512(int K, const float* const* a, const float* B, int ldb,
                                                          int j0, int n, float alpha, float beta, float* C, int ldc) {
  const __mmask16 m0 = first_lanes_avx512(n), m1 = first_lanes_avx512(n - 16);
  __m512 acc[R][2];
#pragma GCC unroll 4
  for (int r = 0; r < R; ++r) acc[r][0] = acc[r][1] = _mm512_setzero_ps();
  for (int p = 0; p < K; ++p) {
    const float* brow = B + static_cast<long>(p) * ldb + j0;
    const __m512 b0 = _mm512_maskz_loadu_ps(m0, brow), b1 = _mm512_maskz_loadu_ps(m1, brow + 16);
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) {
      const __m512 av = _mm512_set1_ps(a[r][p]);
      acc[r][0] = _mm512_fmadd_ps(av, b0, acc[r][0]);
      acc[r][1] = _mm512_fmadd_ps(av, b1, acc[r][1]);
    }
  }
  const __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
  for (int r = 0; r < R; ++r) {
    float* c = C + static_cast<long>(r) * ldc + j0;
    for (int h = 0; h < 2; ++h) {
      const __mmask16 mask = h == 0 ? m0 : m1;
      __m512 v = _mm512_mul_ps(va, acc[r][h]);
      if (beta != 0.0f) v = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(mask, c + 16 * h), v);
      _mm512_mask_storeu_ps(c + 16 * h, mask, v);
    }
  }
}

template <int R>
__attribute__((target("avx512f"))) void small_m_rows_avx512(bool trans_b, int N, int K, float alpha,
                                                            const float* const* a, const float* B, int ldb, float beta,
                                                            float* C, int ldc) {
  if (!trans_b) {
    for (int j = 0; j < N; j += 32) axpy_block_avx512<R>(K, a, B, ldb, j, std::min(32, N - j), alpha, beta, C, ldc);
    return;
  }
  constexpr int JB = 4;  // R * JB <= 16 accumulators of the 32 zmm registers
  float out[R * JB];
  int j = 0;
  for (; j + JB <= N; j += JB) {
    dot_block_avx512<R, JB>(K, a, B, ldb, j, out);
    for (int r = 0; r < R; ++r)
      for (int jj = 0; jj < JB; ++jj) {
        float* c = C + static_cast<long>(r) * ldc + j + jj;
        *c = scaled(out[r * JB + jj], alpha, beta, c);
      }
  }
  for (; j < N; ++j) {
    dot_block_avx512<R, 1>(K, a, B, ldb, j, out);
    for (int r = 0; r < R; ++r) {
      float* c = C + static_cast<long>(r) * ldc + j;
      *c = scaled(out[r], alpha, beta, c);
    }
  }
}

void small_m_avx512(bool trans_b, int m, int N, int K, float alpha, const float* const* a, const float* B, int ldb,
                    float beta, float* C, int ldc) {
  switch (m) {
    case 1: return small_m_rows_avx512<1>(trans_b, N, K, alpha, a, B, ldb, beta, C, ldc);
    case 2: return small_m_rows_avx512<2>(trans_b, N, K, alpha, a, B, ldb, beta, C, ldc);
    case 3: return small_m_rows_avx512<3>(trans_b, N, K, alpha, a, B, ldb, beta, C, ldc);
    default: return small_m_rows_avx512<4>(trans_b, N, K, alpha, a, B, ldb, beta, C, ldc);
  }
}
#endif

struct KernelSpec {
  int mr, nr;
  MicroKernel kernel;
  SmallMKernel small_m;  // M <= kSmallM
  bool simd_pack;        // transposing packs with SSE/AVX shuffles (AVX2 and up)
};

KernelSpec kernel_for(GemmLevel level) {
  switch (level) {
#ifdef MD_GEMM_X86
    case GemmLevel::avx512:
      return {kAvx512MR, kAvx512NR, kernel_avx512, small_m_avx512, true};
    case GemmLevel::avx2:
      return {kAvx2MR, kAvx2NR, kernel_avx2, small_m_avx2, true};
#endif
    default:
      return {kScalarMR, kScalarNR, kernel_scalar, small_m_scalar, false};
  }
}

// Block sizes. KC x NR floats of B (16 KB at NR=16) stay in L1 across a row of
// micro-kernel calls; MC x KC of A (~120 KB) in L2; NC bounds the packed B block.
constexpr int kKC = 256;
constexpr int kMCTarget = 120;
constexpr int kNC = 2048;

// ---- transposing pack: dst[p * R + r] = src[r * ld + p] (r < rows, p < kc), 0 for r in [rows, R) ----
// The packs of a row-major A and of a transposed B are this transpose of a
// rows x kc block. Element by element it is a strided scatter (a store every
// R floats) costing tens of times a multiply-add of the micro-kernel, which
// made packing a third of the kernel's time at the teacher's shapes (N = 256).
// With SIMD: 8 x 8 blocks by AVX shuffles, then 4 x 4 blocks by SSE, then
// single elements; every one writes the same values.
void interleave_rows_scalar(const float* src, long ld, int rows, int R, int kc, int r0, int p0, float* dst) {
  for (int p = p0; p < kc; ++p)
    for (int r = r0; r < rows; ++r) dst[static_cast<long>(p) * R + r] = src[r * ld + p];
}

#ifdef MD_GEMM_X86
__attribute__((target("avx2"))) void interleave_rows_simd(const float* src, long ld, int rows, int R, int kc,
                                                          float* dst) {
  int r0 = 0;
  for (; r0 + 8 <= rows; r0 += 8) {
    const float* s = src + r0 * ld;
    int p = 0;
    for (; p + 8 <= kc; p += 8) {
      __m256 r[8];
      for (int i = 0; i < 8; ++i) r[i] = _mm256_loadu_ps(s + i * ld + p);
      const __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
      const __m256 t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
      const __m256 t4 = _mm256_unpacklo_ps(r[4], r[5]), t5 = _mm256_unpackhi_ps(r[4], r[5]);
      const __m256 t6 = _mm256_unpacklo_ps(r[6], r[7]), t7 = _mm256_unpackhi_ps(r[6], r[7]);
      const __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE);
      const __m256 u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE);
      const __m256 u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xEE);
      const __m256 u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
      float* d = dst + static_cast<long>(p) * R + r0;
      _mm256_storeu_ps(d + 0 * R, _mm256_permute2f128_ps(u0, u4, 0x20));
      _mm256_storeu_ps(d + 1 * R, _mm256_permute2f128_ps(u1, u5, 0x20));
      _mm256_storeu_ps(d + 2 * R, _mm256_permute2f128_ps(u2, u6, 0x20));
      _mm256_storeu_ps(d + 3 * R, _mm256_permute2f128_ps(u3, u7, 0x20));
      _mm256_storeu_ps(d + 4 * R, _mm256_permute2f128_ps(u0, u4, 0x31));
      _mm256_storeu_ps(d + 5 * R, _mm256_permute2f128_ps(u1, u5, 0x31));
      _mm256_storeu_ps(d + 6 * R, _mm256_permute2f128_ps(u2, u6, 0x31));
      _mm256_storeu_ps(d + 7 * R, _mm256_permute2f128_ps(u3, u7, 0x31));
    }
    for (; p < kc; ++p)
      for (int i = 0; i < 8; ++i) dst[static_cast<long>(p) * R + r0 + i] = s[i * ld + p];
  }
  for (; r0 + 4 <= rows; r0 += 4) {
    const float* s = src + r0 * ld;
    int p = 0;
    for (; p + 4 <= kc; p += 4) {
      __m128 a = _mm_loadu_ps(s + p), b = _mm_loadu_ps(s + ld + p), c = _mm_loadu_ps(s + 2 * ld + p),
             e = _mm_loadu_ps(s + 3 * ld + p);
      _MM_TRANSPOSE4_PS(a, b, c, e);
      float* d = dst + static_cast<long>(p) * R + r0;
      _mm_storeu_ps(d, a);
      _mm_storeu_ps(d + R, b);
      _mm_storeu_ps(d + 2 * R, c);
      _mm_storeu_ps(d + 3 * R, e);
    }
    for (; p < kc; ++p)
      for (int i = 0; i < 4; ++i) dst[static_cast<long>(p) * R + r0 + i] = s[i * ld + p];
  }
  interleave_rows_scalar(src, ld, rows, R, kc, r0, 0, dst);
}
#endif

void interleave_rows(const float* src, long ld, int rows, int R, int kc, float* dst, bool simd) {
#ifdef MD_GEMM_X86
  if (simd)
    interleave_rows_simd(src, ld, rows, R, kc, dst);
  else
#endif
    interleave_rows_scalar(src, ld, rows, R, kc, 0, 0, dst);
  if (rows < R)
    for (int p = 0; p < kc; ++p) std::fill(dst + static_cast<long>(p) * R + rows, dst + static_cast<long>(p) * R + R, 0.0f);
}

// op(A)[i0 .. i0+mc, p0 .. p0+kc] -> MR-row panels, each kc x MR, zero-padded rows.
void pack_a(bool trans_a, const float* A, int lda, int i0, int p0, int mc, int kc, int mr, float* dst, bool simd) {
  for (int ip = 0; ip < mc; ip += mr) {
    const int rows = std::min(mr, mc - ip);
    float* panel = dst + static_cast<long>(ip) * kc;
    if (!trans_a) {
      // a(i, p) = A[i * lda + p]: each row is contiguous in p.
      interleave_rows(A + static_cast<long>(i0 + ip) * lda + p0, lda, rows, mr, kc, panel, simd);
    } else {
      // a(i, p) = A[p * lda + i]: each k step is contiguous in i.
      for (int p = 0; p < kc; ++p) {
        const float* src = A + static_cast<long>(p0 + p) * lda + i0 + ip;
        float* out = panel + p * mr;
        for (int r = 0; r < rows; ++r) out[r] = src[r];
        for (int r = rows; r < mr; ++r) out[r] = 0.0f;
      }
    }
  }
}

// op(B)[p0 .. p0+kc, j0 .. j0+nc] -> NR-column panels, each kc x NR, zero-padded columns.
void pack_b(bool trans_b, const float* B, int ldb, int p0, int j0, int kc, int nc, int nr, float* dst, bool simd) {
  for (int jp = 0; jp < nc; jp += nr) {
    const int cols = std::min(nr, nc - jp);
    float* panel = dst + static_cast<long>(jp) * kc;
    if (!trans_b) {
      // b(p, j) = B[p * ldb + j]: each k step is contiguous in j.
      for (int p = 0; p < kc; ++p) {
        const float* src = B + static_cast<long>(p0 + p) * ldb + j0 + jp;
        float* out = panel + p * nr;
        std::memcpy(out, src, sizeof(float) * cols);
        for (int j = cols; j < nr; ++j) out[j] = 0.0f;
      }
    } else {
      // b(p, j) = B[j * ldb + p]: each column is contiguous in p.
      interleave_rows(B + static_cast<long>(j0 + jp) * ldb + p0, ldb, cols, nr, kc, panel, simd);
    }
  }
}

void scale_c(int M, int N, float beta, float* C, int ldc) {
  for (int i = 0; i < M; ++i) {
    float* row = C + static_cast<long>(i) * ldc;
    if (beta == 0.0f) {
      std::fill(row, row + N, 0.0f);
    } else if (beta != 1.0f) {
      for (int j = 0; j < N; ++j) row[j] *= beta;
    }
  }
}

void check_shape(int M, int N, int K) {
  if (M < 0 || N < 0 || K < 0)
    throw std::invalid_argument("sgemm: negative size M=" + std::to_string(M) + " N=" + std::to_string(N) +
                                " K=" + std::to_string(K));
}

void sgemm_blocked(const KernelSpec& spec, bool trans_a, bool trans_b, int M, int N, int K, float alpha,
                   const float* A, int lda, const float* B, int ldb, float beta, float* C, int ldc) {
  check_shape(M, N, K);
  if (M == 0 || N == 0) return;
  if (K == 0 || alpha == 0.0f) {
    scale_c(M, N, beta, C, ldc);
    return;
  }
  if (M <= kSmallM && K <= kSmallMMaxK) {
    // op(A)'s rows as pointers to K contiguous floats; a transposed A is gathered first (M*K
    // floats, small next to the N*K of B the packing path would copy).
    thread_local std::vector<float> a_rows_buf;
    const float* a_rows[kSmallM];
    if (!trans_a) {
      for (int i = 0; i < M; ++i) a_rows[i] = A + static_cast<long>(i) * lda;
    } else {
      a_rows_buf.resize(static_cast<std::size_t>(M) * K);
      for (int p = 0; p < K; ++p)
        for (int i = 0; i < M; ++i) a_rows_buf[static_cast<std::size_t>(i) * K + p] = A[static_cast<long>(p) * lda + i];
      for (int i = 0; i < M; ++i) a_rows[i] = a_rows_buf.data() + static_cast<std::size_t>(i) * K;
    }
    spec.small_m(trans_b, M, N, K, alpha, a_rows, B, ldb, beta, C, ldc);
    return;
  }
  const int mr = spec.mr, nr = spec.nr;
  const int mc_max = std::max(mr, kMCTarget / mr * mr);
  // Per-thread packing buffers: sgemm is called from many worker threads at once.
  thread_local std::vector<float> a_buf, b_buf;
  const int kc_max = std::min(K, kKC);
  const int nc_max = std::min(N, kNC);
  const std::size_t a_need = static_cast<std::size_t>(std::min(M, mc_max) + mr) * kc_max;
  const std::size_t b_need = static_cast<std::size_t>(nc_max + nr) * kc_max;
  if (a_buf.size() < a_need) a_buf.resize(a_need);
  if (b_buf.size() < b_need) b_buf.resize(b_need);

  for (int jc = 0; jc < N; jc += kNC) {
    const int nc = std::min(kNC, N - jc);
    for (int pc = 0; pc < K; pc += kKC) {
      const int kc = std::min(kKC, K - pc);
      const float beta_block = pc == 0 ? beta : 1.0f;  // later K blocks accumulate into C
      pack_b(trans_b, B, ldb, pc, jc, kc, nc, nr, b_buf.data(), spec.simd_pack);
      for (int ic = 0; ic < M; ic += mc_max) {
        const int mc = std::min(mc_max, M - ic);
        pack_a(trans_a, A, lda, ic, pc, mc, kc, mr, a_buf.data(), spec.simd_pack);
        for (int jr = 0; jr < nc; jr += nr) {
          const float* bp = b_buf.data() + static_cast<long>(jr) * kc;
          for (int ir = 0; ir < mc; ir += mr) {
            const float* ap = a_buf.data() + static_cast<long>(ir) * kc;
            float* cp = C + static_cast<long>(ic + ir) * ldc + jc + jr;
            spec.kernel(kc, ap, bp, cp, ldc, alpha, beta_block, std::min(mr, mc - ir), std::min(nr, nc - jr));
          }
        }
      }
    }
  }
}

}  // namespace

bool gemm_level_supported(GemmLevel level) {
#ifdef MD_GEMM_X86
  static const bool avx2 = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  }();
  static const bool avx512 = avx2 && __builtin_cpu_supports("avx512f");
  switch (level) {
    case GemmLevel::scalar: return true;
    case GemmLevel::avx2: return avx2;
    case GemmLevel::avx512: return avx512;
  }
  return false;
#else
  return level == GemmLevel::scalar;
#endif
}

GemmLevel gemm_default_level() {
  static const GemmLevel level = [] {
    const CpuFeatures& f = cpu_features();
    if (f.avx512f) return GemmLevel::avx512;
    if (f.avx2_fma) return GemmLevel::avx2;
    return GemmLevel::scalar;
  }();
  return level;
}

const char* gemm_level_name(GemmLevel level) {
  switch (level) {
    case GemmLevel::scalar: return "scalar";
    case GemmLevel::avx2: return "avx2";
    case GemmLevel::avx512: return "avx512";
  }
  return "?";
}

void sgemm_at_level(GemmLevel level, bool trans_a, bool trans_b, int M, int N, int K, float alpha, const float* A,
                    int lda, const float* B, int ldb, float beta, float* C, int ldc) {
  if (!gemm_level_supported(level))
    throw std::invalid_argument(std::string("sgemm: this CPU cannot run the ") + gemm_level_name(level) + " kernel");
  sgemm_blocked(kernel_for(level), trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

void sgemm(bool trans_a, bool trans_b, int M, int N, int K, float alpha, const float* A, int lda, const float* B,
           int ldb, float beta, float* C, int ldc) {
  static const KernelSpec spec = kernel_for(gemm_default_level());
  sgemm_blocked(spec, trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

void sgemm_rows_independent(bool trans_b, int M, int N, int K, float alpha, const float* A, int lda, const float* B,
                            int ldb, float beta, float* C, int ldc) {
  static const KernelSpec spec = kernel_for(gemm_default_level());
  check_shape(M, N, K);
  if (M == 0 || N == 0) return;
  if (K > kSmallMMaxK || K == 0 || alpha == 0.0f) {
    // Rare (K > 4096) or trivial: one one-row call per row is exact by definition.
    for (int i = 0; i < M; ++i)
      sgemm_blocked(spec, false, trans_b, 1, N, K, alpha, A + static_cast<long>(i) * lda, lda, B, ldb, beta,
                    C + static_cast<long>(i) * ldc, ldc);
    return;
  }
  // The small-M kernels give every C entry its own accumulation (a dot product or an axpy chain
  // over K) whatever the number of rows in the call, so groups of up to kSmallM rows give each row
  // exactly what a one-row call gives. The blocked path would not: its order of summation differs
  // from theirs, so a row would change with the batch it happened to share.
  const float* a_rows[kSmallM];
  for (int i0 = 0; i0 < M; i0 += kSmallM) {
    const int m = std::min(kSmallM, M - i0);
    for (int i = 0; i < m; ++i) a_rows[i] = A + static_cast<long>(i0 + i) * lda;
    spec.small_m(trans_b, m, N, K, alpha, a_rows, B, ldb, beta, C + static_cast<long>(i0) * ldc, ldc);
  }
}

void sgemm_reference(bool trans_a, bool trans_b, int M, int N, int K, float alpha, const float* A, int lda,
                     const float* B, int ldb, float beta, float* C, int ldc) {
  check_shape(M, N, K);
  for (int i = 0; i < M; ++i) {
    for (int j = 0; j < N; ++j) {
      double sum = 0.0;
      for (int p = 0; p < K; ++p) {
        const float a = trans_a ? A[static_cast<long>(p) * lda + i] : A[static_cast<long>(i) * lda + p];
        const float b = trans_b ? B[static_cast<long>(j) * ldb + p] : B[static_cast<long>(p) * ldb + j];
        sum += static_cast<double>(a) * b;
      }
      float& c = C[static_cast<long>(i) * ldc + j];
      c = static_cast<float>(alpha * sum + (beta == 0.0f ? 0.0 : static_cast<double>(beta) * c));
    }
  }
}

}  // namespace md
