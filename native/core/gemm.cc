// sgemm's driver (gemm.h): argument checks, the choice between the small-M path and the
// cache-blocked, panel-packing path (GotoBLAS / BLIS scheme), and the loops of the latter.
//
// Blocked loop nest, outermost first:
//   jc over N in NC columns   -- a block of B that stays in L3
//   pc over K in KC steps     -- B block packed into NR-wide column panels (gemm_pack.h)
//   ic over M in MC rows      -- A block packed into MR-tall row panels (L2)
//   jr, ir over the panels    -- micro-kernel: an MR x NR tile of C in registers (gemm_kernels.h)
// The kernels of each SIMD level live in gemm_kernels*.cc; this file only calls them.
#include "gemm.h"

#include <algorithm>
#include <cstddef>
#include <stdexcept>
#include <string>
#include <vector>

#include "gemm_kernels.h"
#include "gemm_pack.h"
#include "simd.h"

namespace md {

namespace {

// Block sizes. KC x NR floats of B (16 KB at NR=16) stay in L1 across a row of
// micro-kernel calls; MC x KC of A (~120 KB) in L2; NC bounds the packed B block.
constexpr int kKC = 256;
constexpr int kMCTarget = 120;
constexpr int kNC = 2048;

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

void sgemm_blocked(const GemmKernels& kernels, bool trans_a, bool trans_b, int M, int N, int K, float alpha,
                   const float* A, int lda, const float* B, int ldb, float beta, float* C, int ldc) {
  check_shape(M, N, K);
  if (M == 0 || N == 0) return;
  if (K == 0 || alpha == 0.0f) {
    scale_c(M, N, beta, C, ldc);
    return;
  }
  if (M <= kGemmSmallM && K <= kGemmSmallMMaxK) {
    // op(A)'s rows as pointers to K contiguous floats; a transposed A is gathered first (M*K
    // floats, small next to the N*K of B the packing path would copy).
    thread_local std::vector<float> a_rows_buf;
    const float* a_rows[kGemmSmallM];
    if (!trans_a) {
      for (int i = 0; i < M; ++i) a_rows[i] = A + static_cast<long>(i) * lda;
    } else {
      a_rows_buf.resize(static_cast<std::size_t>(M) * K);
      for (int p = 0; p < K; ++p)
        for (int i = 0; i < M; ++i) a_rows_buf[static_cast<std::size_t>(i) * K + p] = A[static_cast<long>(p) * lda + i];
      for (int i = 0; i < M; ++i) a_rows[i] = a_rows_buf.data() + static_cast<std::size_t>(i) * K;
    }
    kernels.small_m(trans_b, M, N, K, alpha, a_rows, B, ldb, beta, C, ldc);
    return;
  }
  const int mr = kernels.mr, nr = kernels.nr;
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
      gemm_pack_b(trans_b, B, ldb, pc, jc, kc, nc, nr, b_buf.data(), kernels.simd_pack);
      for (int ic = 0; ic < M; ic += mc_max) {
        const int mc = std::min(mc_max, M - ic);
        gemm_pack_a(trans_a, A, lda, ic, pc, mc, kc, mr, a_buf.data(), kernels.simd_pack);
        for (int jr = 0; jr < nc; jr += nr) {
          const float* bp = b_buf.data() + static_cast<long>(jr) * kc;
          for (int ir = 0; ir < mc; ir += mr) {
            const float* ap = a_buf.data() + static_cast<long>(ir) * kc;
            float* cp = C + static_cast<long>(ic + ir) * ldc + jc + jr;
            kernels.micro(kc, ap, bp, cp, ldc, alpha, beta_block, std::min(mr, mc - ir), std::min(nr, nc - jr));
          }
        }
      }
    }
  }
}

}  // namespace

void sgemm_at_level(SimdLevel level, bool trans_a, bool trans_b, int M, int N, int K, float alpha, const float* A,
                    int lda, const float* B, int ldb, float beta, float* C, int ldc) {
  check_simd_level_supported(level, "sgemm");
  sgemm_blocked(gemm_kernels_for(level), trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

void sgemm(bool trans_a, bool trans_b, int M, int N, int K, float alpha, const float* A, int lda, const float* B,
           int ldb, float beta, float* C, int ldc) {
  static const GemmKernels kernels = gemm_kernels_for(simd_default_level());
  sgemm_blocked(kernels, trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

void sgemm_rows_independent(bool trans_b, int M, int N, int K, float alpha, const float* A, int lda, const float* B,
                            int ldb, float beta, float* C, int ldc) {
  static const GemmKernels kernels = gemm_kernels_for(simd_default_level());
  check_shape(M, N, K);
  if (M == 0 || N == 0) return;
  if (K > kGemmSmallMMaxK || K == 0 || alpha == 0.0f) {
    // Rare (K > 4096) or trivial: one one-row call per row is exact by definition.
    for (int i = 0; i < M; ++i)
      sgemm_blocked(kernels, false, trans_b, 1, N, K, alpha, A + static_cast<long>(i) * lda, lda, B, ldb, beta,
                    C + static_cast<long>(i) * ldc, ldc);
    return;
  }
  // The small-M kernels give every C entry its own accumulation (a dot product or an axpy chain
  // over K) whatever the number of rows in the call, so groups of up to kGemmSmallM rows give each row
  // exactly what a one-row call gives. The blocked path would not: its order of summation differs
  // from theirs, so a row would change with the batch it happened to share.
  const float* a_rows[kGemmSmallM];
  for (int i0 = 0; i0 < M; i0 += kGemmSmallM) {
    const int m = std::min(kGemmSmallM, M - i0);
    for (int i = 0; i < m; ++i) a_rows[i] = A + static_cast<long>(i0 + i) * lda;
    kernels.small_m(trans_b, m, N, K, alpha, a_rows, B, ldb, beta, C + static_cast<long>(i0) * ldc, ldc);
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
