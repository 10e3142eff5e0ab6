#include "transformer_ops.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <string>

#include "gemm.h"
#include "simd.h"

namespace md {
namespace tfops {

namespace {

// ---- scalar level: the plain code from the definitions -----------------------

void layer_norm_forward_scalar(int rows, int H, const float* x, const float* gamma, const float* beta, float eps,
                               float* y, float* xhat, float* rstd) {
  for (int r = 0; r < rows; ++r) {
    const float* xr = x + static_cast<std::size_t>(r) * H;
    // Two passes (mean, then centred variance): stable when |mean| >> std.
    float mean = 0.0f;
    for (int j = 0; j < H; ++j) mean += xr[j];
    mean /= static_cast<float>(H);
    float var = 0.0f;
    for (int j = 0; j < H; ++j) {
      const float d = xr[j] - mean;
      var += d * d;
    }
    var /= static_cast<float>(H);
    const float rs = 1.0f / std::sqrt(var + eps);
    rstd[r] = rs;
    float* xh = xhat + static_cast<std::size_t>(r) * H;
    float* yr = y + static_cast<std::size_t>(r) * H;
    for (int j = 0; j < H; ++j) {
      xh[j] = (xr[j] - mean) * rs;
      yr[j] = gamma[j] * xh[j] + beta[j];
    }
  }
}

void layer_norm_backward_scalar(int rows, int H, const float* dy, const float* xhat, const float* rstd,
                                const float* gamma, float* dx, float* dgamma, float* dbeta) {
  const float inv_h = 1.0f / static_cast<float>(H);
  for (int r = 0; r < rows; ++r) {
    const float* dyr = dy + static_cast<std::size_t>(r) * H;
    const float* xh = xhat + static_cast<std::size_t>(r) * H;
    float* dxr = dx + static_cast<std::size_t>(r) * H;
    float sum_g = 0.0f, sum_gx = 0.0f;
    for (int j = 0; j < H; ++j) {
      dgamma[j] += dyr[j] * xh[j];
      dbeta[j] += dyr[j];
      const float g = dyr[j] * gamma[j];
      sum_g += g;
      sum_gx += g * xh[j];
    }
    const float mean_g = sum_g * inv_h, mean_gx = sum_gx * inv_h, rs = rstd[r];
    for (int j = 0; j < H; ++j) dxr[j] = rs * (dyr[j] * gamma[j] - mean_g - xh[j] * mean_gx);
  }
}

void gelu_forward_scalar(std::size_t n, const float* x, float* y) {
  constexpr float kInvSqrt2 = 0.70710678118654752f;
  // Phi(x) = erfc(-x / sqrt 2) / 2: unlike 1 + erf(.), no cancellation for negative x.
  for (std::size_t i = 0; i < n; ++i) y[i] = 0.5f * x[i] * std::erfc(-x[i] * kInvSqrt2);
}

void gelu_backward_scalar(std::size_t n, const float* x, const float* dy, float* dx) {
  constexpr float kInvSqrt2 = 0.70710678118654752f;
  constexpr float kInvSqrt2Pi = 0.39894228040143268f;
  for (std::size_t i = 0; i < n; ++i) {
    const float cdf = 0.5f * std::erfc(-x[i] * kInvSqrt2);
    const float pdf = kInvSqrt2Pi * std::exp(-0.5f * x[i] * x[i]);
    dx[i] = dy[i] * (cdf + x[i] * pdf);
  }
}


void add_bias_rows_scalar(int rows, int n, const float* b, float* y, int ld) {
  for (int r = 0; r < rows; ++r) {
    float* yr = y + static_cast<std::size_t>(r) * ld;
    for (int o = 0; o < n; ++o) yr[o] += b[o];
  }
}

void softmax_rows_scalar(int rows, int cols, float* p, int ld) {
  for (int t = 0; t < rows; ++t) {
    float* row = p + static_cast<std::size_t>(t) * ld;
    const float m = *std::max_element(row, row + cols);
    float sum = 0.0f;
    for (int k = 0; k < cols; ++k) {
      row[k] = std::exp(row[k] - m);
      sum += row[k];
    }
    const float inv = 1.0f / sum;
    for (int k = 0; k < cols; ++k) row[k] *= inv;
  }
}

#if defined(__x86_64__) || defined(__i386__)
#define MD_TFOPS_SIMD 1
// ---- AVX2 / AVX-512 levels -----------------------------------------------------
// One implementation over GCC vector types of W lanes (8 = AVX2, 16 = AVX-512),
// always inlined into a wrapper compiled for that instruction set (AVX2 with
// FMA, as sgemm's AVX2 level; GCC contracts a * b + c into FMAs at both
// widths alike): each lane computes exactly what the other width computes, so
// element-wise results do not depend on the width.
// Tails (n not a multiple of W) go through a zero-padded W-lane buffer, so
// they take the same code path as full vectors.
#define MD_INLINE inline __attribute__((always_inline))
// The helpers take and return vectors by value but are always inlined into a
// wrapper of the right instruction set, so no call ever uses the vector ABI
// (GCC still warns about it, at the end of the file: hence no push/pop).
#pragma GCC diagnostic ignored "-Wpsabi"

// GCC vector types rather than simd.h's Vec<W>: these element-wise operations are written with
// operators (+, *, <, ?:, casts to int lanes), which the compiler lowers at either width inside
// a target wrapper; simd.h's intrinsic mapping would need a file compiled per level.
template <int W>
struct GccVec {
  typedef float F __attribute__((vector_size(W * 4), aligned(4)));
  typedef int I __attribute__((vector_size(W * 4), aligned(4)));
};

template <int W>
MD_INLINE typename GccVec<W>::F splat(float v) {
  typename GccVec<W>::F r;
  for (int i = 0; i < W; ++i) r[i] = v;
  return r;
}
template <int W>
MD_INLINE typename GccVec<W>::F load(const float* p) {
  typename GccVec<W>::F r;
  __builtin_memcpy(&r, p, sizeof r);
  return r;
}
template <int W>
MD_INLINE void store(float* p, typename GccVec<W>::F v) {
  __builtin_memcpy(p, &v, sizeof v);
}
template <int W>
MD_INLINE typename GccVec<W>::F vmax(typename GccVec<W>::F a, typename GccVec<W>::F b) {
  return a > b ? a : b;
}
template <int W>
MD_INLINE typename GccVec<W>::F vmin(typename GccVec<W>::F a, typename GccVec<W>::F b) {
  return a < b ? a : b;
}
template <int W>
MD_INLINE float hsum(typename GccVec<W>::F v) {
  float s = 0.0f;
  for (int i = 0; i < W; ++i) s += v[i];
  return s;
}
template <int W>
MD_INLINE float hmax(typename GccVec<W>::F v) {
  float m = v[0];
  for (int i = 1; i < W; ++i) m = std::max(m, v[i]);
  return m;
}

// exp(a), Cephes' expf: a = n ln2 + r (|r| <= ln2/2, ln2 in two parts), a degree-6
// polynomial for e^r, times 2^n built in the exponent bits. a is clamped to
// [-87.3, 88.3] (so 2^n stays a normal float): below, e^a underflows to ~1e-38
// instead of a denormal or 0, which no caller can tell from 0.
template <int W>
MD_INLINE typename GccVec<W>::F vexp(typename GccVec<W>::F a) {
  using F = typename GccVec<W>::F;
  using I = typename GccVec<W>::I;
  a = vmin<W>(vmax<W>(a, splat<W>(-87.3f)), splat<W>(88.3f));
  const F shifter = splat<W>(12582912.0f);  // 1.5 * 2^23: adding it rounds to an integer
  const F t = a * splat<W>(1.44269504088896341f) + shifter;
  const F n = t - shifter;
  const F r = (a - n * splat<W>(0.693359375f)) - n * splat<W>(-2.12194440e-4f);
  F p = splat<W>(1.9875691500E-4f);
  p = p * r + splat<W>(1.3981999507E-3f);
  p = p * r + splat<W>(8.3334519073E-3f);
  p = p * r + splat<W>(4.1665795894E-2f);
  p = p * r + splat<W>(1.6666665459E-1f);
  p = p * r + splat<W>(5.0000001201E-1f);
  p = p * (r * r) + r + splat<W>(1.0f);
  const I bits = ((I)t - (I)shifter + 127) << 23;  // the integer n sits in t's low mantissa bits
  return p * (F)bits;
}

// Phi(x) = erfc(-x / sqrt 2) / 2 with Numerical Recipes' erfcc (fractional error
// < 1.2e-7 for every z >= 0): erfc(z) = t exp(-z^2 + P(t)), t = 1 / (1 + z/2).
// Returned: Phi(x); pdf (when asked) = phi(x) = exp(-x^2/2) / sqrt(2 pi).
template <int W>
MD_INLINE typename GccVec<W>::F phi_cdf(typename GccVec<W>::F x, typename GccVec<W>::F* pdf) {
  using F = typename GccVec<W>::F;
  const F z = vmin<W>(vmax<W>(x, -x), splat<W>(20.0f)) * splat<W>(0.70710678118654752f);  // |x| / sqrt 2
  const F t = splat<W>(1.0f) / (splat<W>(1.0f) + splat<W>(0.5f) * z);
  F p = splat<W>(0.17087277f);
  p = p * t + splat<W>(-0.82215223f);
  p = p * t + splat<W>(1.48851587f);
  p = p * t + splat<W>(-1.13520398f);
  p = p * t + splat<W>(0.27886807f);
  p = p * t + splat<W>(-0.18628806f);
  p = p * t + splat<W>(0.09678418f);
  p = p * t + splat<W>(0.37409196f);
  p = p * t + splat<W>(1.00002368f);
  p = p * t + splat<W>(-1.26551223f);
  const F z2 = z * z;
  const F half_erfc = splat<W>(0.5f) * t * vexp<W>(p - z2);  // = Phi(-|x|)
  if (pdf != nullptr) *pdf = splat<W>(0.39894228040143268f) * vexp<W>(-z2);
  return x < splat<W>(0.0f) ? half_erfc : splat<W>(1.0f) - half_erfc;
}

template <int W>
MD_INLINE void gelu_forward_vec(std::size_t n, const float* x, float* y) {
  using F = typename GccVec<W>::F;
  std::size_t i = 0;
  for (; i + W <= n; i += W) {
    const F v = load<W>(x + i);
    store<W>(y + i, v * phi_cdf<W>(v, nullptr));
  }
  if (i < n) {
    float in[W] = {}, out[W];
    std::copy(x + i, x + n, in);
    const F v = load<W>(in);
    store<W>(out, v * phi_cdf<W>(v, nullptr));
    std::copy(out, out + (n - i), y + i);
  }
}

// dy * d GELU / dx = dy * (Phi(x) + x phi(x))
template <int W>
MD_INLINE typename GccVec<W>::F gelu_grad(typename GccVec<W>::F v, typename GccVec<W>::F d) {
  typename GccVec<W>::F pdf;
  const typename GccVec<W>::F cdf = phi_cdf<W>(v, &pdf);
  return d * (cdf + v * pdf);
}

template <int W>
MD_INLINE void gelu_backward_vec(std::size_t n, const float* x, const float* dy, float* dx) {
  std::size_t i = 0;
  for (; i + W <= n; i += W) store<W>(dx + i, gelu_grad<W>(load<W>(x + i), load<W>(dy + i)));
  if (i < n) {
    float in[W] = {}, d[W] = {}, out[W];
    std::copy(x + i, x + n, in);
    std::copy(dy + i, dy + n, d);
    store<W>(out, gelu_grad<W>(load<W>(in), load<W>(d)));
    std::copy(out, out + (n - i), dx + i);
  }
}

template <int W>
MD_INLINE void add_bias_rows_vec(int rows, int n, const float* b, float* y, int ld) {
  const int full = n / W * W;
  for (int r = 0; r < rows; ++r) {
    float* yr = y + static_cast<std::size_t>(r) * ld;
    for (int o = 0; o < full; o += W) store<W>(yr + o, load<W>(yr + o) + load<W>(b + o));
    for (int o = full; o < n; ++o) yr[o] += b[o];
  }
}

template <int W>
MD_INLINE void softmax_rows_vec(int rows, int cols, float* p, int ld) {
  using F = typename GccVec<W>::F;
  const int full = cols / W * W;
  const int tail = cols - full;
  for (int t = 0; t < rows; ++t) {
    float* row = p + static_cast<std::size_t>(t) * ld;
    F vm = splat<W>(-3.402823466e38f);
    for (int k = 0; k < full; k += W) vm = vmax<W>(vm, load<W>(row + k));
    float m = hmax<W>(vm);
    for (int k = full; k < cols; ++k) m = std::max(m, row[k]);
    const F mv = splat<W>(m);
    F vs = splat<W>(0.0f);
    for (int k = 0; k < full; k += W) {
      const F e = vexp<W>(load<W>(row + k) - mv);
      store<W>(row + k, e);
      vs += e;
    }
    float sum = hsum<W>(vs);
    if (tail > 0) {
      float buf[W] = {};
      std::copy(row + full, row + cols, buf);
      float out[W];
      store<W>(out, vexp<W>(load<W>(buf) - mv));
      for (int k = 0; k < tail; ++k) sum += (row[full + k] = out[k]);
    }
    const float inv = 1.0f / sum;
    const F iv = splat<W>(inv);
    for (int k = 0; k < full; k += W) store<W>(row + k, load<W>(row + k) * iv);
    for (int k = full; k < cols; ++k) row[k] *= inv;
  }
}

template <int W>
MD_INLINE void layer_norm_forward_vec(int rows, int H, const float* x, const float* gamma, const float* beta, float eps,
                                      float* y, float* xhat, float* rstd) {
  using F = typename GccVec<W>::F;
  const int full = H / W * W;
  for (int r = 0; r < rows; ++r) {
    const float* xr = x + static_cast<std::size_t>(r) * H;
    float* xh = xhat + static_cast<std::size_t>(r) * H;
    float* yr = y + static_cast<std::size_t>(r) * H;
    // Two passes (mean, then centred variance), as the scalar level.
    F vs = splat<W>(0.0f);
    for (int j = 0; j < full; j += W) vs += load<W>(xr + j);
    float mean = hsum<W>(vs);
    for (int j = full; j < H; ++j) mean += xr[j];
    mean /= static_cast<float>(H);
    const F mv = splat<W>(mean);
    F vv = splat<W>(0.0f);
    for (int j = 0; j < full; j += W) {
      const F d = load<W>(xr + j) - mv;
      vv += d * d;
    }
    float var = hsum<W>(vv);
    for (int j = full; j < H; ++j) var += (xr[j] - mean) * (xr[j] - mean);
    var /= static_cast<float>(H);
    const float rs = 1.0f / std::sqrt(var + eps);
    rstd[r] = rs;
    const F rv = splat<W>(rs);
    for (int j = 0; j < full; j += W) {
      const F h = (load<W>(xr + j) - mv) * rv;
      store<W>(xh + j, h);
      store<W>(yr + j, load<W>(gamma + j) * h + load<W>(beta + j));
    }
    for (int j = full; j < H; ++j) {
      xh[j] = (xr[j] - mean) * rs;
      yr[j] = gamma[j] * xh[j] + beta[j];
    }
  }
}

template <int W>
MD_INLINE void layer_norm_backward_vec(int rows, int H, const float* dy, const float* xhat, const float* rstd,
                                       const float* gamma, float* dx, float* dgamma, float* dbeta) {
  using F = typename GccVec<W>::F;
  const int full = H / W * W;
  const float inv_h = 1.0f / static_cast<float>(H);
  for (int r = 0; r < rows; ++r) {
    const float* dyr = dy + static_cast<std::size_t>(r) * H;
    const float* xh = xhat + static_cast<std::size_t>(r) * H;
    float* dxr = dx + static_cast<std::size_t>(r) * H;
    F sg = splat<W>(0.0f), sgx = splat<W>(0.0f);
    for (int j = 0; j < full; j += W) {
      const F d = load<W>(dyr + j), h = load<W>(xh + j);
      store<W>(dgamma + j, load<W>(dgamma + j) + d * h);
      store<W>(dbeta + j, load<W>(dbeta + j) + d);
      const F g = d * load<W>(gamma + j);
      sg += g;
      sgx += g * h;
    }
    float sum_g = hsum<W>(sg), sum_gx = hsum<W>(sgx);
    for (int j = full; j < H; ++j) {
      dgamma[j] += dyr[j] * xh[j];
      dbeta[j] += dyr[j];
      const float g = dyr[j] * gamma[j];
      sum_g += g;
      sum_gx += g * xh[j];
    }
    const float mean_g = sum_g * inv_h, mean_gx = sum_gx * inv_h, rs = rstd[r];
    const F mg = splat<W>(mean_g), mgx = splat<W>(mean_gx), rv = splat<W>(rs);
    for (int j = 0; j < full; j += W)
      store<W>(dxr + j, rv * (load<W>(dyr + j) * load<W>(gamma + j) - mg - load<W>(xh + j) * mgx));
    for (int j = full; j < H; ++j) dxr[j] = rs * (dyr[j] * gamma[j] - mean_g - xh[j] * mean_gx);
  }
}

#define MD_TFOPS_LEVEL(SUFFIX, TARGET, W)                                                                          \
  __attribute__((target(TARGET))) void gelu_forward_##SUFFIX(std::size_t n, const float* x, float* y) {          \
    gelu_forward_vec<W>(n, x, y);                                                                                 \
  }                                                                                                               \
  __attribute__((target(TARGET))) void gelu_backward_##SUFFIX(std::size_t n, const float* x, const float* dy,    \
                                                              float* dx) {                                        \
    gelu_backward_vec<W>(n, x, dy, dx);                                                                           \
  }                                                                                                               \
  __attribute__((target(TARGET))) void add_bias_rows_##SUFFIX(int rows, int n, const float* b, float* y, int ld) { \
    add_bias_rows_vec<W>(rows, n, b, y, ld);                                                                      \
  }                                                                                                               \
  __attribute__((target(TARGET))) void softmax_rows_##SUFFIX(int rows, int cols, float* p, int ld) {             \
    softmax_rows_vec<W>(rows, cols, p, ld);                                                                       \
  }                                                                                                               \
  __attribute__((target(TARGET))) void layer_norm_forward_##SUFFIX(int rows, int H, const float* x,              \
                                                                   const float* gamma, const float* beta,         \
                                                                   float eps, float* y, float* xhat, float* rstd) { \
    layer_norm_forward_vec<W>(rows, H, x, gamma, beta, eps, y, xhat, rstd);                                       \
  }                                                                                                               \
  __attribute__((target(TARGET))) void layer_norm_backward_##SUFFIX(                                             \
      int rows, int H, const float* dy, const float* xhat, const float* rstd, const float* gamma, float* dx,      \
      float* dgamma, float* dbeta) {                                                                              \
    layer_norm_backward_vec<W>(rows, H, dy, xhat, rstd, gamma, dx, dgamma, dbeta);                                \
  }

MD_TFOPS_LEVEL(avx2, "avx2,fma", 8)
MD_TFOPS_LEVEL(avx512, "avx512f", 16)
#undef MD_TFOPS_LEVEL
#endif  // x86

}  // namespace

// ---- dispatch ------------------------------------------------------------------

#ifdef MD_TFOPS_SIMD
#define MD_TFOPS_DISPATCH(level, name, ...)                 \
  switch (level) {                                          \
    case SimdLevel::avx512: return name##_avx512(__VA_ARGS__); \
    case SimdLevel::avx2: return name##_avx2(__VA_ARGS__);     \
    default: return name##_scalar(__VA_ARGS__);             \
  }
#else
#define MD_TFOPS_DISPATCH(level, name, ...) return name##_scalar(__VA_ARGS__);
#endif

void layer_norm_forward_at(SimdLevel level, int rows, int H, const float* x, const float* gamma, const float* beta,
                           float eps, float* y, float* xhat, float* rstd) {
  check_simd_level_supported(level, "tfops");
  MD_TFOPS_DISPATCH(level, layer_norm_forward, rows, H, x, gamma, beta, eps, y, xhat, rstd)
}
void layer_norm_forward(int rows, int H, const float* x, const float* gamma, const float* beta, float eps, float* y,
                        float* xhat, float* rstd) {
  MD_TFOPS_DISPATCH(simd_default_level(), layer_norm_forward, rows, H, x, gamma, beta, eps, y, xhat, rstd)
}
void layer_norm_backward_at(SimdLevel level, int rows, int H, const float* dy, const float* xhat, const float* rstd,
                            const float* gamma, float* dx, float* dgamma, float* dbeta) {
  check_simd_level_supported(level, "tfops");
  MD_TFOPS_DISPATCH(level, layer_norm_backward, rows, H, dy, xhat, rstd, gamma, dx, dgamma, dbeta)
}
void layer_norm_backward(int rows, int H, const float* dy, const float* xhat, const float* rstd, const float* gamma,
                         float* dx, float* dgamma, float* dbeta) {
  MD_TFOPS_DISPATCH(simd_default_level(), layer_norm_backward, rows, H, dy, xhat, rstd, gamma, dx, dgamma, dbeta)
}
void gelu_forward_at(SimdLevel level, std::size_t n, const float* x, float* y) {
  check_simd_level_supported(level, "tfops");
  MD_TFOPS_DISPATCH(level, gelu_forward, n, x, y)
}
void gelu_forward(std::size_t n, const float* x, float* y) { MD_TFOPS_DISPATCH(simd_default_level(), gelu_forward, n, x, y) }
void gelu_backward_at(SimdLevel level, std::size_t n, const float* x, const float* dy, float* dx) {
  check_simd_level_supported(level, "tfops");
  MD_TFOPS_DISPATCH(level, gelu_backward, n, x, dy, dx)
}
void gelu_backward(std::size_t n, const float* x, const float* dy, float* dx) {
  MD_TFOPS_DISPATCH(simd_default_level(), gelu_backward, n, x, dy, dx)
}
void softmax_rows_at(SimdLevel level, int rows, int cols, float* p, int ld) {
  check_simd_level_supported(level, "tfops");
  MD_TFOPS_DISPATCH(level, softmax_rows, rows, cols, p, ld)
}
void softmax_rows(int rows, int cols, float* p, int ld) {
  MD_TFOPS_DISPATCH(simd_default_level(), softmax_rows, rows, cols, p, ld)
}
void add_bias_rows_at(SimdLevel level, int rows, int n, const float* b, float* y, int ld) {
  check_simd_level_supported(level, "tfops");
  MD_TFOPS_DISPATCH(level, add_bias_rows, rows, n, b, y, ld)
}
void add_bias_rows(int rows, int n, const float* b, float* y, int ld) {
  MD_TFOPS_DISPATCH(simd_default_level(), add_bias_rows, rows, n, b, y, ld)
}
#undef MD_TFOPS_DISPATCH

// ---- Linear ------------------------------------------------------------------

void linear_forward(int N, int in, int out, const float* X, int ldx, const float* W, const float* b, float* Y, int ldy) {
  if (N == 0) return;
  sgemm(false, true, N, out, in, 1.0f, X, ldx, W, in, 0.0f, Y, ldy);
  if (b != nullptr) add_bias_rows(N, out, b, Y, ldy);  // the same sums at every level (one add per entry)
}

void linear_backward(int N, int in, int out, const float* X, int ldx, const float* dY, int ldy, const float* W,
                     float* dW, float* db, float* dX, int lddx, bool accumulate_dx) {
  if (N == 0) return;
  sgemm(true, false, out, in, N, 1.0f, dY, ldy, X, ldx, 1.0f, dW, in);
  if (db != nullptr)
    for (int r = 0; r < N; ++r) {
      const float* dyr = dY + static_cast<std::size_t>(r) * ldy;
      for (int o = 0; o < out; ++o) db[o] += dyr[o];
    }
  if (dX != nullptr) sgemm(false, false, N, in, out, 1.0f, dY, ldy, W, in, accumulate_dx ? 1.0f : 0.0f, dX, lddx);
}

// ---- Attention ---------------------------------------------------------------

void attention_forward(int T, int keys, int heads, int head_dim, const float* qkv, int ld_qkv, float* probs,
                       const float* drop_mask, float* context, int ld_ctx, float* scratch) {
  const int H = heads * head_dim;
  const float scale = 1.0f / std::sqrt(static_cast<float>(head_dim));
  const std::size_t block = static_cast<std::size_t>(T) * keys;
  for (int h = 0; h < heads; ++h) {
    const float* Q = qkv + h * head_dim;
    const float* K = qkv + H + h * head_dim;
    const float* V = qkv + 2 * H + h * head_dim;
    float* P = probs + h * block;
    // Scores of the valid keys only: masked keys (-inf) contribute exp(-inf) = 0,
    // so leaving them out of the product IS the mask.
    sgemm(false, true, T, keys, head_dim, scale, Q, ld_qkv, K, ld_qkv, 0.0f, P, keys);
    softmax_rows(T, keys, P, keys);
    const float* used = P;
    if (drop_mask != nullptr) {
      const float* M = drop_mask + h * block;
      for (std::size_t i = 0; i < block; ++i) scratch[i] = P[i] * M[i];
      used = scratch;
    }
    sgemm(false, false, T, head_dim, keys, 1.0f, used, keys, V, ld_qkv, 0.0f, context + h * head_dim, ld_ctx);
  }
}

void attention_backward(int T, int keys, int heads, int head_dim, const float* qkv, int ld_qkv, const float* probs,
                        const float* drop_mask, const float* dcontext, int ld_ctx, float* dqkv, int ld_dqkv,
                        float* scratch) {
  const int H = heads * head_dim;
  const float scale = 1.0f / std::sqrt(static_cast<float>(head_dim));
  const std::size_t block = static_cast<std::size_t>(T) * keys;
  float* dP = scratch;
  float* Pd = scratch + block;
  // Rows that are not keys get no dK / dV at all.
  for (int t = keys; t < T; ++t) std::memset(dqkv + static_cast<std::size_t>(t) * ld_dqkv + H, 0, sizeof(float) * 2 * H);
  for (int h = 0; h < heads; ++h) {
    const float* Q = qkv + h * head_dim;
    const float* K = qkv + H + h * head_dim;
    const float* V = qkv + 2 * H + h * head_dim;
    const float* P = probs + h * block;
    const float* M = drop_mask ? drop_mask + h * block : nullptr;
    const float* dC = dcontext + h * head_dim;
    float* dQ = dqkv + h * head_dim;
    float* dK = dqkv + H + h * head_dim;
    float* dV = dqkv + 2 * H + h * head_dim;
    const float* used = P;
    if (M != nullptr) {
      for (std::size_t i = 0; i < block; ++i) Pd[i] = P[i] * M[i];
      used = Pd;
    }
    // context = used V  =>  dV = used^T dC, d(used) = dC V^T.
    sgemm(true, false, keys, head_dim, T, 1.0f, used, keys, dC, ld_ctx, 0.0f, dV, ld_dqkv);
    sgemm(false, true, T, keys, head_dim, 1.0f, dC, ld_ctx, V, ld_qkv, 0.0f, dP, keys);
    // Through the dropout mask, then the softmax: dS = P * (dP - sum_k dP * P).
    for (int t = 0; t < T; ++t) {
      float* d = dP + static_cast<std::size_t>(t) * keys;
      const float* p = P + static_cast<std::size_t>(t) * keys;
      if (M != nullptr) {
        const float* m = M + static_cast<std::size_t>(t) * keys;
        for (int k = 0; k < keys; ++k) d[k] *= m[k];
      }
      float dot = 0.0f;
      for (int k = 0; k < keys; ++k) dot += d[k] * p[k];
      for (int k = 0; k < keys; ++k) d[k] = p[k] * (d[k] - dot);
    }
    // S = scale Q K^T  =>  dQ = scale dS K, dK = scale dS^T Q.
    sgemm(false, false, T, head_dim, keys, scale, dP, keys, K, ld_qkv, 0.0f, dQ, ld_dqkv);
    sgemm(true, false, keys, head_dim, T, scale, dP, keys, Q, ld_qkv, 0.0f, dK, ld_dqkv);
  }
}

}  // namespace tfops
}  // namespace md
