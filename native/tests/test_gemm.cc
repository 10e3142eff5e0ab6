// sgemm against the plain triple loop, for every transpose combination, odd
// sizes (edges of every micro-kernel tile and cache block), alpha/beta, leading
// dimensions larger than the row, and every SIMD level this CPU can run.
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "check.h"
#include "fixtures.h"
#include "gemm.h"

namespace {

std::vector<md::SimdLevel> runnable_levels() {
  std::vector<md::SimdLevel> out;
  for (md::SimdLevel l : {md::SimdLevel::scalar, md::SimdLevel::avx2, md::SimdLevel::avx512})
    if (md::simd_level_supported(l)) out.push_back(l);
  return out;
}

// Runs one case at `level` and compares with sgemm_reference; returns the max
// abs error relative to sqrt(K) (float rounding grows with the sum length).
double compare_case(md::SimdLevel level, bool ta, bool tb, int M, int N, int K, float alpha, float beta, int pad,
                    std::mt19937& rng) {
  // Stored shapes: A is [M,K] or [K,M]; B is [K,N] or [N,K]; each row padded by `pad` floats.
  const int a_rows = ta ? K : M, a_cols = ta ? M : K;
  const int b_rows = tb ? N : K, b_cols = tb ? K : N;
  const int lda = a_cols + pad, ldb = b_cols + pad, ldc = N + pad;
  std::vector<float> A = fixtures::uniform_vector(static_cast<std::size_t>(std::max(a_rows, 1)) * lda, rng);
  std::vector<float> B = fixtures::uniform_vector(static_cast<std::size_t>(std::max(b_rows, 1)) * ldb, rng);
  std::vector<float> C0 = fixtures::uniform_vector(static_cast<std::size_t>(std::max(M, 1)) * ldc, rng);
  if (beta == 0.0f) {
    // beta == 0 must not read C: poison it (NaN * 0 would leak through otherwise).
    for (float& x : C0) x = std::numeric_limits<float>::quiet_NaN();
  }
  std::vector<float> C_fast = C0, C_ref = C0;
  md::sgemm_at_level(level, ta, tb, M, N, K, alpha, A.data(), lda, B.data(), ldb, beta, C_fast.data(), ldc);
  md::sgemm_reference(ta, tb, M, N, K, alpha, A.data(), lda, B.data(), ldb, beta, C_ref.data(), ldc);
  double worst = 0;
  for (int i = 0; i < M; ++i) {
    for (int j = 0; j < ldc; ++j) {
      const float f = C_fast[static_cast<std::size_t>(i) * ldc + j];
      const float r = C_ref[static_cast<std::size_t>(i) * ldc + j];
      if (j >= N) {
        // Padding columns of C must be left exactly as they were.
        const float orig = C0[static_cast<std::size_t>(i) * ldc + j];
        if (!(f == orig || (std::isnan(f) && std::isnan(orig)))) return std::numeric_limits<double>::infinity();
        continue;
      }
      if (!std::isfinite(f)) return std::numeric_limits<double>::infinity();
      worst = std::max(worst, std::fabs(double(f) - double(r)) / std::sqrt(double(std::max(K, 1))));
    }
  }
  return worst;
}

}  // namespace

TEST(all_transpose_combinations_and_odd_sizes_match_reference) {
  std::mt19937 rng(7);
  const int sizes[][3] = {{1, 1, 1},   {2, 3, 5},     {7, 17, 13},  {6, 16, 256}, {13, 31, 257},
                          {64, 128, 384}, {121, 33, 300}, {5, 130, 1}, {250, 19, 520}, {37, 2100, 9}};
  for (md::SimdLevel level : runnable_levels()) {
    for (const auto& s : sizes) {
      for (int combo = 0; combo < 4; ++combo) {
        const bool ta = combo & 1, tb = combo & 2;
        const double err = compare_case(level, ta, tb, s[0], s[1], s[2], 1.0f, 0.0f, 0, rng);
        if (!(err < 1e-5)) {
          check::fail(__FILE__, __LINE__,
                      std::string(md::simd_level_name(level)) + " ta=" + std::to_string(ta) + " tb=" +
                          std::to_string(tb) + " M=" + std::to_string(s[0]) + " N=" + std::to_string(s[1]) +
                          " K=" + std::to_string(s[2]) + " err=" + std::to_string(err));
        }
      }
    }
  }
}

TEST(alpha_beta_and_leading_dimensions) {
  std::mt19937 rng(11);
  const float alphas[] = {1.0f, -0.5f, 2.0f};
  const float betas[] = {0.0f, 1.0f, 0.25f, -1.0f};
  for (md::SimdLevel level : runnable_levels()) {
    for (float alpha : alphas) {
      for (float beta : betas) {
        for (int combo = 0; combo < 4; ++combo) {
          const bool ta = combo & 1, tb = combo & 2;
          const double err = compare_case(level, ta, tb, 23, 41, 270, alpha, beta, 3, rng);
          if (!(err < 1e-5)) {
            check::fail(__FILE__, __LINE__,
                        std::string(md::simd_level_name(level)) + " alpha=" + std::to_string(alpha) +
                            " beta=" + std::to_string(beta) + " combo=" + std::to_string(combo) +
                            " err=" + std::to_string(err));
          }
        }
      }
    }
  }
}

TEST(zero_k_or_zero_alpha_only_scales_c) {
  std::mt19937 rng(3);
  for (md::SimdLevel level : runnable_levels()) {
    CHECK(compare_case(level, false, false, 9, 10, 0, 1.0f, 0.5f, 1, rng) < 1e-7);
    CHECK(compare_case(level, false, false, 9, 10, 0, 1.0f, 0.0f, 1, rng) < 1e-7);
    CHECK(compare_case(level, true, true, 9, 10, 20, 0.0f, 2.0f, 0, rng) < 1e-7);
    // M or N zero: nothing is touched, nothing crashes.
    CHECK(compare_case(level, false, true, 0, 10, 5, 1.0f, 1.0f, 0, rng) < 1e-7);
    CHECK(compare_case(level, true, false, 4, 0, 5, 1.0f, 1.0f, 0, rng) < 1e-7);
  }
}

TEST(small_m_path_matches_reference) {
  // M <= 4 (and K <= 4096) skips the packing and reads B in place: one dot-product kernel for a
  // [N,K] B, one axpy kernel for a [K,N] B, each with masked tails in K and N. Sizes straddle
  // every vector width (8, 16) and column block (2, 4 dot columns; 16, 32 axpy columns); M = 5
  // and K = 4097 take the packed path on either side of the switch.
  std::mt19937 rng(13);
  const int ms[] = {1, 2, 3, 4, 5};
  const int ns[] = {1, 3, 8, 17, 33, 64, 384};
  const int ks[] = {1, 7, 8, 15, 16, 17, 128, 300, 4097};
  const float alpha_beta[][2] = {{1.0f, 0.0f}, {-0.5f, 1.0f}, {2.0f, 0.25f}};
  for (md::SimdLevel level : runnable_levels()) {
    for (int M : ms)
      for (int N : ns)
        for (int K : ks)
          for (int combo = 0; combo < 4; ++combo) {
            if (K == 4097 && N > 33) continue;  // keeps the reference loop short
            const bool ta = combo & 1, tb = combo & 2;
            const float* ab = alpha_beta[(M + N + K + combo) % 3];
            const int pad = (N + K) % 2 == 0 ? 0 : 3;
            const double err = compare_case(level, ta, tb, M, N, K, ab[0], ab[1], pad, rng);
            if (!(err < 1e-5)) {
              check::fail(__FILE__, __LINE__,
                          std::string(md::simd_level_name(level)) + " ta=" + std::to_string(ta) + " tb=" +
                              std::to_string(tb) + " M=" + std::to_string(M) + " N=" + std::to_string(N) +
                              " K=" + std::to_string(K) + " alpha=" + std::to_string(ab[0]) +
                              " beta=" + std::to_string(ab[1]) + " err=" + std::to_string(err));
            }
          }
  }
}

TEST(default_sgemm_matches_reference) {
  // The dispatching entry point (whatever level MODEL_DISTILL_SIMD allows).
  std::mt19937 rng(5);
  const int M = 70, N = 50, K = 300;
  std::vector<float> A = fixtures::uniform_vector(M * K, rng), B = fixtures::uniform_vector(K * N, rng);
  std::vector<float> C(M * N, 0.0f), R(M * N, 0.0f);
  md::sgemm(false, false, M, N, K, 1.0f, A.data(), K, B.data(), N, 0.0f, C.data(), N);
  md::sgemm_reference(false, false, M, N, K, 1.0f, A.data(), K, B.data(), N, 0.0f, R.data(), N);
  double worst = 0;
  for (int i = 0; i < M * N; ++i) worst = std::max(worst, std::fabs(double(C[i]) - R[i]));
  CHECK(worst < 1e-4);
  std::printf("  default level: %s\n", md::simd_level_name(md::simd_default_level()));
}

TEST(rows_independent_gives_each_row_its_one_row_result) {
  // Every row of sgemm_rows_independent equals, bit for bit, the one-row sgemm call on that row,
  // whatever M (1 to 37: full and partial groups of four), for both B layouts and K on either
  // side of the small-M limit; and it is as close to the reference as sgemm.
  std::mt19937 rng(29);
  const int ks[] = {5, 64, 300, 4097};
  for (int K : ks)
    for (bool tb : {true, false})
      for (int M : {1, 3, 4, 9, 37}) {
        const int N = K == 4097 ? 3 : 19;
        std::vector<float> A = fixtures::uniform_vector(static_cast<std::size_t>(M) * K, rng), B = fixtures::uniform_vector(static_cast<std::size_t>(K) * N, rng);
        std::vector<float> C(static_cast<std::size_t>(M) * N, 0.0f), one(N), R(static_cast<std::size_t>(M) * N, 0.0f);
        md::sgemm_rows_independent(tb, M, N, K, 1.0f, A.data(), K, B.data(), tb ? K : N, 0.0f, C.data(), N);
        md::sgemm_reference(false, tb, M, N, K, 1.0f, A.data(), K, B.data(), tb ? K : N, 0.0f, R.data(), N);
        for (int i = 0; i < M; ++i) {
          md::sgemm(false, tb, 1, N, K, 1.0f, A.data() + static_cast<std::size_t>(i) * K, K, B.data(), tb ? K : N, 0.0f, one.data(), N);
          for (int j = 0; j < N; ++j) {
            const float got = C[static_cast<std::size_t>(i) * N + j];
            if (std::memcmp(&got, &one[j], sizeof(float)) != 0 || !(std::fabs(double(got) - R[static_cast<std::size_t>(i) * N + j]) < 1e-4 * std::sqrt(double(K)))) {
              check::fail(__FILE__, __LINE__, "K=" + std::to_string(K) + " tb=" + std::to_string(tb) + " M=" + std::to_string(M) + " row " + std::to_string(i) + " col " + std::to_string(j));
            }
          }
        }
      }
}

TEST(rejects_negative_sizes) {
  float x = 0;
  CHECK_THROWS(md::sgemm(false, false, -1, 1, 1, 1.0f, &x, 1, &x, 1, 0.0f, &x, 1));
}

CHECK_MAIN()
