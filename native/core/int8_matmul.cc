#include "int8_matmul.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstring>

#include "cpu_features.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define MD_INT8_MATMUL_X86 1
#endif

namespace md {
namespace int8 {

namespace {

// The one rounding rule of both versions: x * inv to nearest even, clamped.
inline std::int8_t quantize_value(float x, float inv) {
  const float v = std::nearbyint(x * inv);
  return static_cast<std::int8_t>(std::min(127.0f, std::max(-127.0f, v)));
}

// What both versions do once they have the row's max |x|: zero the padding, and either zero an
// all-zero row (scale 0, returns false) or set the scale and its inverse (returns true).
inline bool begin_row(float max_abs, int n, int padded, std::int8_t* q, float* scale, float* inv) {
  std::fill(q + n, q + padded, static_cast<std::int8_t>(0));
  if (!(max_abs > 0.0f)) {
    std::fill(q, q + n, static_cast<std::int8_t>(0));
    *scale = 0.0f;
    return false;
  }
  *inv = 127.0f / max_abs;
  *scale = max_abs / 127.0f;
  return true;
}

}  // namespace

float quantize_row_scalar(const float* x, int n, int padded, std::int8_t* q) {
  float m = 0.0f;
  for (int i = 0; i < n; ++i) m = std::max(m, std::fabs(x[i]));
  float scale = 0.0f, inv = 0.0f;
  if (!begin_row(m, n, padded, q, &scale, &inv)) return scale;
  for (int i = 0; i < n; ++i) q[i] = quantize_value(x[i], inv);
  return scale;
}

namespace {
constexpr int kLanes = 8;  // output rows per packed block
constexpr int kGroup = 4;  // columns per lane per load
inline std::size_t packed_index(int g, int k, int K) {
  return (static_cast<std::size_t>(g / kLanes) * (K / kGroup) + k / kGroup) * (kLanes * kGroup) +
         static_cast<std::size_t>(g % kLanes) * kGroup + k % kGroup;
}
}  // namespace

std::vector<std::int8_t> pack_weight_rows(const std::int8_t* w, int G, int K) {
  const int blocks = (G + kLanes - 1) / kLanes;
  std::vector<std::int8_t> packed(static_cast<std::size_t>(blocks) * kLanes * K, 0);
  for (int g = 0; g < G; ++g)
    for (int k = 0; k < K; ++k) packed[packed_index(g, k, K)] = w[static_cast<std::size_t>(g) * K + k];
  return packed;
}

void matmul_nt_scalar(const std::int8_t* a, int rows, const std::int8_t* packed_w, int G, int K, std::int32_t* acc) {
  for (int i = 0; i < rows; ++i) {
    const std::int8_t* ai = a + static_cast<std::size_t>(i) * K;
    for (int g = 0; g < G; ++g) {
      std::int32_t s = 0;
      for (int k = 0; k < K; ++k) s += static_cast<std::int32_t>(ai[k]) * packed_w[packed_index(g, k, K)];
      acc[static_cast<std::size_t>(i) * G + g] = s;
    }
  }
}

void dequantize_products_scalar(const std::int32_t* acc, const float* w_scale, float a_scale, int n, float* out) {
  for (int g = 0; g < n; ++g) out[g] = (static_cast<float>(acc[g]) * w_scale[g]) * a_scale;
}

#ifdef MD_INT8_MATMUL_X86
namespace {

__attribute__((target("avx2"))) void dequantize_products_avx2(const std::int32_t* acc, const float* w_scale,
                                                              float a_scale, int n, float* out) {
  const __m256 s = _mm256_set1_ps(a_scale);
  int g = 0;
  for (; g + 8 <= n; g += 8) {
    const __m256 v = _mm256_cvtepi32_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(acc + g)));
    _mm256_storeu_ps(out + g, _mm256_mul_ps(_mm256_mul_ps(v, _mm256_loadu_ps(w_scale + g)), s));
  }
  dequantize_products_scalar(acc + g, w_scale + g, a_scale, n - g, out + g);
}

// 8 floats * inv, rounded to nearest even and clamped, as int32.
__attribute__((target("avx2,fma"))) inline __m256i quantize8(const float* p, __m256 vinv) {
  const __m256 r = _mm256_round_ps(_mm256_mul_ps(_mm256_loadu_ps(p), vinv), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  return _mm256_cvtps_epi32(_mm256_min_ps(_mm256_set1_ps(127.0f), _mm256_max_ps(_mm256_set1_ps(-127.0f), r)));
}

__attribute__((target("avx2,fma"))) float quantize_row_avx2(const float* x, int n, int padded, std::int8_t* q) {
  const __m256 abs_mask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
  __m256 vmax = _mm256_setzero_ps();
  int i = 0;
  for (; i + 8 <= n; i += 8) vmax = _mm256_max_ps(vmax, _mm256_and_ps(_mm256_loadu_ps(x + i), abs_mask));
  alignas(32) float lanes[8];
  _mm256_store_ps(lanes, vmax);
  float m = 0.0f;
  for (float v : lanes) m = std::max(m, v);
  for (; i < n; ++i) m = std::max(m, std::fabs(x[i]));
  float scale = 0.0f, inv = 0.0f;
  if (!begin_row(m, n, padded, q, &scale, &inv)) return scale;
  const __m256 vinv = _mm256_set1_ps(inv);
  // 32 at a time: 4 x 8 int32 -> 32 int8; the packs interleave 128-bit lanes, the permute undoes it.
  const __m256i order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
  i = 0;
  for (; i + 32 <= n; i += 32) {
    const __m256i ab = _mm256_packs_epi32(quantize8(x + i, vinv), quantize8(x + i + 8, vinv));
    const __m256i cd = _mm256_packs_epi32(quantize8(x + i + 16, vinv), quantize8(x + i + 24, vinv));
    const __m256i bytes = _mm256_permutevar8x32_epi32(_mm256_packs_epi16(ab, cd), order);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(q + i), bytes);
  }
  for (; i < n; ++i) q[i] = quantize_value(x[i], inv);
  return scale;
}

// R text rows against NB blocks of 8 outputs: for each group of 4 columns, the rows' 4 state
// bytes are broadcast to every lane, multiplied with the block's 32 bytes (|a| times w carrying
// a's sign: exact, see the header) and the pairs widened to int32, each lane one output.
template <int R, int NB>
__attribute__((target("avx2"))) inline void tile_avx2(const std::int8_t* const* a, const std::int8_t* block0, int K,
                                                      std::int32_t* const* out) {
  const __m256i ones = _mm256_set1_epi16(1);
  const std::size_t block_bytes = static_cast<std::size_t>(K) * kLanes;
  __m256i c[R][NB];
  for (int r = 0; r < R; ++r)
    for (int b = 0; b < NB; ++b) c[r][b] = _mm256_setzero_si256();
  for (int k = 0; k < K; k += kGroup) {
    __m256i x[R], ax[R];
    for (int r = 0; r < R; ++r) {
      std::int32_t four;
      std::memcpy(&four, a[r] + k, sizeof four);
      x[r] = _mm256_set1_epi32(four);
      ax[r] = _mm256_abs_epi8(x[r]);
    }
    const std::int8_t* wk = block0 + static_cast<std::size_t>(k) * kLanes;
    for (int b = 0; b < NB; ++b) {
      const __m256i wv = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(wk + b * block_bytes));
      for (int r = 0; r < R; ++r)
        c[r][b] = _mm256_add_epi32(c[r][b], _mm256_madd_epi16(_mm256_maddubs_epi16(ax[r], _mm256_sign_epi8(wv, x[r])), ones));
    }
  }
  for (int r = 0; r < R; ++r)
    for (int b = 0; b < NB; ++b) _mm256_storeu_si256(reinterpret_cast<__m256i*>(out[r] + b * kLanes), c[r][b]);
}

// Rows r0 .. r0+R-1 against every block; the outputs of a partial last block go through a
// small buffer (the caller's rows are exactly G wide).
template <int R>
__attribute__((target("avx2"))) void rows_avx2(const std::int8_t* a, int r0, const std::int8_t* packed_w, int G, int K,
                                               std::int32_t* acc) {
  constexpr int kBlocks = 4;
  const int full = G / kLanes;
  const std::size_t block_bytes = static_cast<std::size_t>(K) * kLanes;
  const std::int8_t* rows[R];
  std::int32_t* out[R];
  for (int r = 0; r < R; ++r) rows[r] = a + static_cast<std::size_t>(r0 + r) * K;
  int b = 0;
  for (; b + kBlocks <= full; b += kBlocks) {
    for (int r = 0; r < R; ++r) out[r] = acc + static_cast<std::size_t>(r0 + r) * G + b * kLanes;
    tile_avx2<R, kBlocks>(rows, packed_w + b * block_bytes, K, out);
  }
  for (; b < full; ++b) {
    for (int r = 0; r < R; ++r) out[r] = acc + static_cast<std::size_t>(r0 + r) * G + b * kLanes;
    tile_avx2<R, 1>(rows, packed_w + b * block_bytes, K, out);
  }
  if (full * kLanes < G) {
    alignas(32) std::int32_t spare[R][kLanes];
    for (int r = 0; r < R; ++r) out[r] = spare[r];
    tile_avx2<R, 1>(rows, packed_w + full * block_bytes, K, out);
    for (int r = 0; r < R; ++r)
      std::memcpy(acc + static_cast<std::size_t>(r0 + r) * G + full * kLanes, spare[r],
                  sizeof(std::int32_t) * (G - full * kLanes));
  }
}

__attribute__((target("avx2"))) void matmul_nt_avx2(const std::int8_t* a, int rows, const std::int8_t* packed_w, int G,
                                                    int K, std::int32_t* acc) {
  int i = 0;
  for (; i + 2 <= rows; i += 2) rows_avx2<2>(a, i, packed_w, G, K, acc);  // each weight load serves two rows
  if (i < rows) rows_avx2<1>(a, i, packed_w, G, K, acc);
}

}  // namespace
#endif

float quantize_row(const float* x, int n, int padded, std::int8_t* q) {
#ifdef MD_INT8_MATMUL_X86
  if (cpu_features().avx2_fma) return quantize_row_avx2(x, n, padded, q);
#endif
  return quantize_row_scalar(x, n, padded, q);
}

void matmul_nt(const std::int8_t* a, int rows, const std::int8_t* w, int G, int K, std::int32_t* acc) {
#ifdef MD_INT8_MATMUL_X86
  if (cpu_features().avx2_fma) {
    matmul_nt_avx2(a, rows, w, G, K, acc);
    return;
  }
#endif
  matmul_nt_scalar(a, rows, w, G, K, acc);
}

void dequantize_products(const std::int32_t* acc, const float* w_scale, float a_scale, int n, float* out) {
#ifdef MD_INT8_MATMUL_X86
  if (cpu_features().avx2_fma) {
    dequantize_products_avx2(acc, w_scale, a_scale, n, out);
    return;
  }
#endif
  dequantize_products_scalar(acc, w_scale, a_scale, n, out);
}

}  // namespace int8
}  // namespace md
