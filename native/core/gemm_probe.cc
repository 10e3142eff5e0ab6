#include "gemm_probe.h"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "gemm.h"
#include "simd.h"

namespace md {

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// Runs `body` (doing `flops` per call) for at least `seconds` split into three spans; best span's rate.
template <typename F>
double best_rate(double flops, double seconds, F&& body) {
  body();  // warm-up: buffers sized, pages touched
  double best = 0;
  for (int span = 0; span < 3; ++span) {
    const auto t0 = Clock::now();
    long calls = 0;
    double elapsed = 0;
    do {
      body();
      ++calls;
      elapsed = seconds_since(t0);
    } while (elapsed < seconds / 3);
    best = std::max(best, flops * calls / elapsed * 1e-9);
  }
  return best;
}

#ifdef MD_SIMD_X86
// 24 independent accumulator chains: more than FMA latency x throughput on any
// current core, so the loop runs at the FMA units' issue rate.
__attribute__((target("avx512f"))) float fma_loop_avx512(long iters, float seed) {
  __m512 acc[24];
  for (int i = 0; i < 24; ++i) acc[i] = _mm512_set1_ps(seed + i);
  const __m512 a = _mm512_set1_ps(0.999999f), b = _mm512_set1_ps(1e-7f);
  for (long it = 0; it < iters; ++it)
#pragma GCC unroll 24
    for (int i = 0; i < 24; ++i) acc[i] = _mm512_fmadd_ps(acc[i], a, b);
  __m512 s = acc[0];
  for (int i = 1; i < 24; ++i) s = _mm512_add_ps(s, acc[i]);
  alignas(64) float out[16];
  _mm512_store_ps(out, s);
  return out[0];
}
__attribute__((target("avx2,fma"))) float fma_loop_avx2(long iters, float seed) {
  __m256 acc[12];
  for (int i = 0; i < 12; ++i) acc[i] = _mm256_set1_ps(seed + i);
  const __m256 a = _mm256_set1_ps(0.999999f), b = _mm256_set1_ps(1e-7f);
  for (long it = 0; it < iters; ++it)
#pragma GCC unroll 12
    for (int i = 0; i < 12; ++i) acc[i] = _mm256_fmadd_ps(acc[i], a, b);
  __m256 s = acc[0];
  for (int i = 1; i < 12; ++i) s = _mm256_add_ps(s, acc[i]);
  alignas(32) float out[8];
  _mm256_store_ps(out, s);
  return out[0];
}
#endif

float fma_loop_scalar(long iters, float seed) {
  float acc[8];
  for (int i = 0; i < 8; ++i) acc[i] = seed + i;
  for (long it = 0; it < iters; ++it)
    for (int i = 0; i < 8; ++i) acc[i] = acc[i] * 0.999999f + 1e-7f;
  float s = 0;
  for (float x : acc) s += x;
  return s;
}

}  // namespace

double sgemm_gflops(bool trans_a, bool trans_b, int M, int N, int K, double seconds) {
  if (M < 1 || N < 1 || K < 1)
    throw std::invalid_argument("sgemm_gflops: sizes must be >= 1, got M=" + std::to_string(M) +
                                " N=" + std::to_string(N) + " K=" + std::to_string(K));
  std::vector<float> A(static_cast<std::size_t>(M) * K), B(static_cast<std::size_t>(K) * N),
      C(static_cast<std::size_t>(M) * N);
  uint32_t state = 12345;
  auto next = [&] {
    state = state * 1664525u + 1013904223u;
    return static_cast<float>(state >> 8) * (2.0f / 16777216.0f) - 1.0f;
  };
  for (float& x : A) x = next();
  for (float& x : B) x = next();
  const int lda = trans_a ? M : K, ldb = trans_b ? K : N;
  return best_rate(2.0 * M * N * K, seconds, [&] {
    sgemm(trans_a, trans_b, M, N, K, 1.0f, A.data(), lda, B.data(), ldb, 0.0f, C.data(), N);
  });
}

double fma_peak_gflops(double seconds) {
  const SimdLevel level = simd_default_level();
  constexpr long kIters = 1 << 16;
  // Read through volatiles: a constant argument would let the compiler run the loop once and reuse the result.
  volatile float sink = 0, seed = 1.0f;
#ifdef MD_SIMD_X86
  if (level == SimdLevel::avx512)
    return best_rate(2.0 * kIters * 24 * 16, seconds, [&] { sink = sink + fma_loop_avx512(kIters, seed); });
  if (level == SimdLevel::avx2)
    return best_rate(2.0 * kIters * 12 * 8, seconds, [&] { sink = sink + fma_loop_avx2(kIters, seed); });
#endif
  return best_rate(2.0 * kIters * 8, seconds, [&] { sink = sink + fma_loop_scalar(kIters, seed); });
}

}  // namespace md
