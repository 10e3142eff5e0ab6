#include "gru_cell.h"

#include <cmath>

#include "simd.h"

namespace md {

namespace {

inline float sigmoid_scalar(float x) { return 1.0f / (1.0f + std::exp(-x)); }

// Element j of the forward step; shared by the scalar kernel and the vector
// kernels' tails so that every path computes the same thing.
inline void forward_element(int H, int j, const float* gi, const float* gh, const float* b_hh, const float* h_prev,
                            float* h_out, float* gates, float* ghn) {
  const float r = sigmoid_scalar(gi[j] + gh[j] + b_hh[j]);
  const float z = sigmoid_scalar(gi[H + j] + gh[H + j] + b_hh[H + j]);
  const float hn = gh[2 * H + j] + b_hh[2 * H + j];
  const float n = std::tanh(gi[2 * H + j] + r * hn);
  const float hp = h_prev[j];
  h_out[j] = (1.0f - z) * n + z * hp;
  if (gates != nullptr) {
    gates[j] = r;
    gates[H + j] = z;
    gates[2 * H + j] = n;
    ghn[j] = hn;
  }
}

// Plain element-wise backward; written without intrinsics so the compiler can
// vectorise it for whatever target the calling function is compiled for.
inline void backward_body(int H, const float* gates, const float* ghn, const float* h_prev, float* dh, float* dgi,
                          float* dgh) {
  for (int j = 0; j < H; ++j) {
    const float r = gates[j], z = gates[H + j], n = gates[2 * H + j];
    const float d = dh[j];
    const float da_n = d * (1.0f - z) * (1.0f - n * n);  // through h' = (1-z) n + z h, n = tanh(a_n)
    const float da_z = d * (h_prev[j] - n) * z * (1.0f - z);
    const float da_r = da_n * ghn[j] * r * (1.0f - r);  // a_n = gi_n + r * ghn
    dgi[j] = da_r;
    dgi[H + j] = da_z;
    dgi[2 * H + j] = da_n;
    dgh[j] = da_r;
    dgh[H + j] = da_z;
    dgh[2 * H + j] = da_n * r;
    dh[j] = d * z;
  }
}

void backward_scalar(int H, const float* gates, const float* ghn, const float* h_prev, float* dh, float* dgi,
                     float* dgh) {
  backward_body(H, gates, ghn, h_prev, dh, dgi, dgh);
}

#ifdef MD_SIMD_X86

// exp(x) for 8 floats: Cephes' expf (range reduction by ln 2, degree-5
// polynomial, relative error ~1e-7 over the clamped range).
__attribute__((target("avx2,fma"))) inline __m256 exp256(__m256 x) {
  x = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-87.3f)), _mm256_set1_ps(88.3f));
  // n = round(x / ln2); x = x - n ln2 (ln2 split in two for precision)
  __m256 fx = _mm256_fmadd_ps(x, _mm256_set1_ps(1.44269504088896341f), _mm256_set1_ps(0.5f));
  fx = _mm256_floor_ps(fx);
  x = _mm256_fnmadd_ps(fx, _mm256_set1_ps(0.693359375f), x);
  x = _mm256_fnmadd_ps(fx, _mm256_set1_ps(-2.12194440e-4f), x);
  __m256 y = _mm256_set1_ps(1.9875691500e-4f);
  y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(1.3981999507e-3f));
  y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(8.3334519073e-3f));
  y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(4.1665795894e-2f));
  y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(1.6666665459e-1f));
  y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(5.0000001201e-1f));
  const __m256 x2 = _mm256_mul_ps(x, x);
  y = _mm256_fmadd_ps(y, x2, _mm256_add_ps(x, _mm256_set1_ps(1.0f)));
  // scale by 2^n through the exponent bits
  const __m256i n = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvttps_epi32(fx), _mm256_set1_epi32(127)), 23);
  return _mm256_mul_ps(y, _mm256_castsi256_ps(n));
}

__attribute__((target("avx2,fma"))) inline __m256 sigmoid256(__m256 x) {
  const __m256 one = _mm256_set1_ps(1.0f);
  return _mm256_div_ps(one, _mm256_add_ps(one, exp256(_mm256_sub_ps(_mm256_setzero_ps(), x))));
}

// tanh(x) = 1 - 2 / (1 + exp(2x)): absolute error ~1e-7, which is what matters
// for a value that is then mixed into h (tanh itself is bounded by 1).
__attribute__((target("avx2,fma"))) inline __m256 tanh256(__m256 x) {
  const __m256 one = _mm256_set1_ps(1.0f);
  const __m256 e = exp256(_mm256_add_ps(x, x));
  return _mm256_sub_ps(one, _mm256_div_ps(_mm256_set1_ps(2.0f), _mm256_add_ps(one, e)));
}

__attribute__((target("avx2,fma"))) void forward_avx2(int H, const float* gi, const float* gh, const float* b_hh,
                                                      const float* h_prev, float* h_out, float* gates, float* ghn) {
  int j = 0;
  for (; j + 8 <= H; j += 8) {
    const __m256 r = sigmoid256(_mm256_add_ps(_mm256_add_ps(_mm256_loadu_ps(gi + j), _mm256_loadu_ps(gh + j)),
                                              _mm256_loadu_ps(b_hh + j)));
    const __m256 z = sigmoid256(_mm256_add_ps(
        _mm256_add_ps(_mm256_loadu_ps(gi + H + j), _mm256_loadu_ps(gh + H + j)), _mm256_loadu_ps(b_hh + H + j)));
    const __m256 hn = _mm256_add_ps(_mm256_loadu_ps(gh + 2 * H + j), _mm256_loadu_ps(b_hh + 2 * H + j));
    const __m256 n = tanh256(_mm256_fmadd_ps(r, hn, _mm256_loadu_ps(gi + 2 * H + j)));
    const __m256 hp = _mm256_loadu_ps(h_prev + j);
    // (1-z) n + z h = n + z (h - n)
    _mm256_storeu_ps(h_out + j, _mm256_fmadd_ps(z, _mm256_sub_ps(hp, n), n));
    if (gates != nullptr) {
      _mm256_storeu_ps(gates + j, r);
      _mm256_storeu_ps(gates + H + j, z);
      _mm256_storeu_ps(gates + 2 * H + j, n);
      _mm256_storeu_ps(ghn + j, hn);
    }
  }
  for (; j < H; ++j) forward_element(H, j, gi, gh, b_hh, h_prev, h_out, gates, ghn);
}

__attribute__((target("avx2,fma"))) void backward_avx2(int H, const float* gates, const float* ghn,
                                                       const float* h_prev, float* dh, float* dgi, float* dgh) {
  backward_body(H, gates, ghn, h_prev, dh, dgi, dgh);
}

#endif  // MD_SIMD_X86

using ForwardKernel = void (*)(int, const float*, const float*, const float*, const float*, float*, float*, float*);
using BackwardKernel = void (*)(int, const float*, const float*, const float*, float*, float*, float*);

ForwardKernel pick_forward() {
#ifdef MD_SIMD_X86
  if (simd_default_level() >= SimdLevel::avx2) return forward_avx2;
#endif
  return gru_cell_forward_scalar;
}

BackwardKernel pick_backward() {
#ifdef MD_SIMD_X86
  if (simd_default_level() >= SimdLevel::avx2) return backward_avx2;
#endif
  return backward_scalar;
}

}  // namespace

void gru_cell_forward_scalar(int H, const float* gi, const float* gh, const float* b_hh, const float* h_prev,
                             float* h_out, float* gates, float* ghn) {
  for (int j = 0; j < H; ++j) forward_element(H, j, gi, gh, b_hh, h_prev, h_out, gates, ghn);
}

void gru_cell_forward(int H, const float* gi, const float* gh, const float* b_hh, const float* h_prev, float* h_out,
                      float* gates, float* ghn) {
  static const ForwardKernel kernel = pick_forward();
  kernel(H, gi, gh, b_hh, h_prev, h_out, gates, ghn);
}

void gru_cell_backward(int H, const float* gates, const float* ghn, const float* h_prev, float* dh, float* dgi,
                       float* dgh) {
  static const BackwardKernel kernel = pick_backward();
  kernel(H, gates, ghn, h_prev, dh, dgi, dgh);
}

}  // namespace md
