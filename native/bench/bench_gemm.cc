// Microbenchmark (not a test, not registered with ctest): single-thread sgemm
// GFLOP/s at each SIMD level for the shapes the students use.
//   bench_gemm [seconds_per_case=0.3]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <vector>

#include "gemm.h"

namespace {

struct Shape {
  const char* what;
  bool ta, tb;
  int M, N, K;
};

double gflops(md::SimdLevel level, const Shape& s, double seconds) {
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> uni(-1, 1);
  std::vector<float> A(static_cast<size_t>(s.M) * s.K), B(static_cast<size_t>(s.K) * s.N),
      C(static_cast<size_t>(s.M) * s.N);
  for (float& x : A) x = uni(rng);
  for (float& x : B) x = uni(rng);
  const int lda = s.ta ? s.M : s.K, ldb = s.tb ? s.K : s.N;
  auto run = [&] {
    md::sgemm_at_level(level, s.ta, s.tb, s.M, s.N, s.K, 1.0f, A.data(), lda, B.data(), ldb, 0.0f, C.data(), s.N);
  };
  run();  // warm-up (packing buffers, caches)
  long reps = 0;
  const auto t0 = std::chrono::steady_clock::now();
  double elapsed = 0;
  do {
    run();
    ++reps;
    elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  } while (elapsed < seconds);
  return 2.0 * s.M * s.N * s.K * reps / elapsed / 1e9;
}

}  // namespace

int main(int argc, char** argv) {
  const double seconds = argc > 1 ? std::atof(argv[1]) : 0.3;
  const Shape shapes[] = {
      {"textcnn shard token table [U, E] . W_all^T", false, true, 700, 12 * 128, 128},
      {"textcnn shard table, all tokens distinct", false, true, 32 * 48, 12 * 128, 128},
      {"textcnn inference table block (256 tokens)", false, true, 256, 12 * 128, 128},
      {"im2col conv fwd k=3 (tokens x 3E) . W^T", false, true, 64 * 34, 128, 3 * 128},
      {"im2col conv fwd k=5", false, true, 64 * 34, 128, 5 * 128},
      {"im2col conv fwd k=5, 60 tokens/text", false, true, 64 * 60, 128, 5 * 128},
      {"im2col conv dW = dY^T . X (k=5)", true, false, 128, 5 * 128, 64 * 34},
      {"im2col conv dX = dY . W (k=5)", false, false, 64 * 34, 5 * 128, 128},
      {"gru step x . W^T  M=32", false, true, 32, 384, 128},
      {"gru step h . U^T  M=64", false, true, 64, 384, 128},
      {"small M: batch-1 gru step h . U^T", false, true, 1, 384, 128},
      {"small M: 4 rows . W^T (micro-batch group)", false, true, 4, 384, 128},
      {"small M: 4 rows . B [K,N] (axpy)", false, false, 4, 384, 128},
      {"square 512", false, false, 512, 512, 512},
  };
  std::printf("%-45s %8s %8s %8s\n", "shape (M x N x K)", "scalar", "avx2", "avx512");
  for (const Shape& s : shapes) {
    std::printf("%-45s", s.what);
    for (md::SimdLevel l : {md::SimdLevel::scalar, md::SimdLevel::avx2, md::SimdLevel::avx512}) {
      if (md::simd_level_supported(l))
        std::printf(" %8.1f", gflops(l, s, seconds));
      else
        std::printf(" %8s", "-");
    }
    std::printf("   [%d x %d x %d]\n", s.M, s.N, s.K);
  }
  std::printf("GFLOP/s, one thread\n");
  return 0;
}
