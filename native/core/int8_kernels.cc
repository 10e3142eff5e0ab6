#include "int8_kernels.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "cpu_features.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define MD_INT8_X86 1
#endif

namespace md {
namespace int8 {

void column_abs_max(const float* m, int rows, int cols, float* colmax) {
  for (int r = 0; r < rows; ++r) {
    const float* row = m + static_cast<std::size_t>(r) * cols;
    for (int c = 0; c < cols; ++c) colmax[c] = std::max(colmax[c], std::fabs(row[c]));
  }
}

void quantize_columns(const float* m, int rows, int cols, const float* inv_scale, std::int8_t* q) {
  for (int r = 0; r < rows; ++r) {
    const float* row = m + static_cast<std::size_t>(r) * cols;
    std::int8_t* out = q + static_cast<std::size_t>(r) * cols;
    for (int c = 0; c < cols; ++c) {
      const float v = std::nearbyint(row[c] * inv_scale[c]);
      out[c] = static_cast<std::int8_t>(std::min(127.0f, std::max(-127.0f, v)));
    }
  }
}

void window_max_scalar(const std::int8_t* const* rows, int nw, int k, int off, int F, std::int32_t* out) {
  for (int f = 0; f < F; ++f) {
    std::int32_t best = std::numeric_limits<std::int32_t>::min();
    for (int t = 0; t < nw; ++t) {
      std::int32_t acc = 0;
      for (int j = 0; j < k; ++j) acc += rows[t + j][static_cast<std::size_t>(off + j) * F + f];
      best = std::max(best, acc);
    }
    out[f] = best;
  }
}

#ifdef MD_INT8_X86
namespace {

__attribute__((target("avx2"))) inline __m256i widen(const std::int8_t* p) {
  return _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}

__attribute__((target("avx2"))) inline void store_epi16_as_epi32(__m256i v, std::int32_t* out) {
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(out), _mm256_cvtepi16_epi32(_mm256_castsi256_si128(v)));
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + 8), _mm256_cvtepi16_epi32(_mm256_extracti128_si256(v, 1)));
}

// 64 filters at a time (4 int16 accumulators + 4 running maxima), then 16, then the scalar tail.
__attribute__((target("avx2"))) void window_max_avx2(const std::int8_t* const* rows, int nw, int k, int off, int F,
                                                     std::int32_t* out) {
  int f = 0;
  const __m256i lowest = _mm256_set1_epi16(std::numeric_limits<std::int16_t>::min());
  for (; f + 64 <= F; f += 64) {
    __m256i m0 = lowest, m1 = lowest, m2 = lowest, m3 = lowest;
    for (int t = 0; t < nw; ++t) {
      __m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0;
      for (int j = 0; j < k; ++j) {
        const std::int8_t* r = rows[t + j] + static_cast<std::size_t>(off + j) * F + f;
        a0 = _mm256_add_epi16(a0, widen(r));
        a1 = _mm256_add_epi16(a1, widen(r + 16));
        a2 = _mm256_add_epi16(a2, widen(r + 32));
        a3 = _mm256_add_epi16(a3, widen(r + 48));
      }
      m0 = _mm256_max_epi16(m0, a0);
      m1 = _mm256_max_epi16(m1, a1);
      m2 = _mm256_max_epi16(m2, a2);
      m3 = _mm256_max_epi16(m3, a3);
    }
    store_epi16_as_epi32(m0, out + f);
    store_epi16_as_epi32(m1, out + f + 16);
    store_epi16_as_epi32(m2, out + f + 32);
    store_epi16_as_epi32(m3, out + f + 48);
  }
  for (; f + 16 <= F; f += 16) {
    __m256i m = lowest;
    for (int t = 0; t < nw; ++t) {
      __m256i a = _mm256_setzero_si256();
      for (int j = 0; j < k; ++j) a = _mm256_add_epi16(a, widen(rows[t + j] + static_cast<std::size_t>(off + j) * F + f));
      m = _mm256_max_epi16(m, a);
    }
    store_epi16_as_epi32(m, out + f);
  }
  if (f < F) {
    // The tail filters: the scalar kernel on the same rows, shifted to filter f.
    for (int g = f; g < F; ++g) {
      std::int32_t best = std::numeric_limits<std::int32_t>::min();
      for (int t = 0; t < nw; ++t) {
        std::int32_t acc = 0;
        for (int j = 0; j < k; ++j) acc += rows[t + j][static_cast<std::size_t>(off + j) * F + g];
        best = std::max(best, acc);
      }
      out[g] = best;
    }
  }
}

__attribute__((target("avx2,fma"))) void dequantize_avx2(const std::int8_t* q, const float* scale, int n, float* out) {
  int i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256i q32 = _mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(q + i)));
    _mm256_storeu_ps(out + i, _mm256_mul_ps(_mm256_cvtepi32_ps(q32), _mm256_loadu_ps(scale + i)));
  }
  for (; i < n; ++i) out[i] = static_cast<float>(q[i]) * scale[i];
}

}  // namespace
#endif

void window_max(const std::int8_t* const* rows, int nw, int k, int off, int F, std::int32_t* out) {
#ifdef MD_INT8_X86
  if (cpu_features().avx2_fma) {
    window_max_avx2(rows, nw, k, off, F, out);
    return;
  }
#endif
  window_max_scalar(rows, nw, k, off, F, out);
}

void dequantize(const std::int8_t* q, const float* scale, int n, float* out) {
#ifdef MD_INT8_X86
  if (cpu_features().avx2_fma) {
    dequantize_avx2(q, scale, n, out);
    return;
  }
#endif
  for (int i = 0; i < n; ++i) out[i] = static_cast<float>(q[i]) * scale[i];
}

}  // namespace int8
}  // namespace md
