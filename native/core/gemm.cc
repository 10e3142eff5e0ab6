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

struct KernelSpec {
  int mr, nr;
  MicroKernel kernel;
};

KernelSpec kernel_for(GemmLevel level) {
  switch (level) {
#ifdef MD_GEMM_X86
    case GemmLevel::avx512:
      return {kAvx512MR, kAvx512NR, kernel_avx512};
    case GemmLevel::avx2:
      return {kAvx2MR, kAvx2NR, kernel_avx2};
#endif
    default:
      return {kScalarMR, kScalarNR, kernel_scalar};
  }
}

// Block sizes. KC x NR floats of B (16 KB at NR=16) stay in L1 across a row of
// micro-kernel calls; MC x KC of A (~120 KB) in L2; NC bounds the packed B block.
constexpr int kKC = 256;
constexpr int kMCTarget = 120;
constexpr int kNC = 2048;

// op(A)[i0 .. i0+mc, p0 .. p0+kc] -> MR-row panels, each kc x MR, zero-padded rows.
void pack_a(bool trans_a, const float* A, int lda, int i0, int p0, int mc, int kc, int mr, float* dst) {
  for (int ip = 0; ip < mc; ip += mr) {
    const int rows = std::min(mr, mc - ip);
    float* panel = dst + static_cast<long>(ip) * kc;
    if (!trans_a) {
      // a(i, p) = A[i * lda + p]: each row is contiguous in p.
      for (int r = 0; r < rows; ++r) {
        const float* src = A + static_cast<long>(i0 + ip + r) * lda + p0;
        for (int p = 0; p < kc; ++p) panel[p * mr + r] = src[p];
      }
      for (int r = rows; r < mr; ++r)
        for (int p = 0; p < kc; ++p) panel[p * mr + r] = 0.0f;
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
void pack_b(bool trans_b, const float* B, int ldb, int p0, int j0, int kc, int nc, int nr, float* dst) {
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
      for (int j = 0; j < cols; ++j) {
        const float* src = B + static_cast<long>(j0 + jp + j) * ldb + p0;
        for (int p = 0; p < kc; ++p) panel[p * nr + j] = src[p];
      }
      for (int j = cols; j < nr; ++j)
        for (int p = 0; p < kc; ++p) panel[p * nr + j] = 0.0f;
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
      pack_b(trans_b, B, ldb, pc, jc, kc, nc, nr, b_buf.data());
      for (int ic = 0; ic < M; ic += mc_max) {
        const int mc = std::min(mc_max, M - ic);
        pack_a(trans_a, A, lda, ic, pc, mc, kc, mr, a_buf.data());
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
