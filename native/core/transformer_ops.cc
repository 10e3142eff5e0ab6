#include "transformer_ops.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "gemm.h"

namespace md {
namespace tfops {

// ---- LayerNorm ---------------------------------------------------------------

void layer_norm_forward(int rows, int H, const float* x, const float* gamma, const float* beta, float eps, float* y,
                        float* xhat, float* rstd) {
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

void layer_norm_backward(int rows, int H, const float* dy, const float* xhat, const float* rstd, const float* gamma,
                         float* dx, float* dgamma, float* dbeta) {
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

// ---- GELU --------------------------------------------------------------------

void gelu_forward(std::size_t n, const float* x, float* y) {
  constexpr float kInvSqrt2 = 0.70710678118654752f;
  // Phi(x) = erfc(-x / sqrt 2) / 2: unlike 1 + erf(.), no cancellation for negative x.
  for (std::size_t i = 0; i < n; ++i) y[i] = 0.5f * x[i] * std::erfc(-x[i] * kInvSqrt2);
}

void gelu_backward(std::size_t n, const float* x, const float* dy, float* dx) {
  constexpr float kInvSqrt2 = 0.70710678118654752f;
  constexpr float kInvSqrt2Pi = 0.39894228040143268f;
  for (std::size_t i = 0; i < n; ++i) {
    const float cdf = 0.5f * std::erfc(-x[i] * kInvSqrt2);
    const float pdf = kInvSqrt2Pi * std::exp(-0.5f * x[i] * x[i]);
    dx[i] = dy[i] * (cdf + x[i] * pdf);
  }
}

// ---- Linear ------------------------------------------------------------------

void linear_forward(int N, int in, int out, const float* X, int ldx, const float* W, const float* b, float* Y, int ldy) {
  if (N == 0) return;
  sgemm(false, true, N, out, in, 1.0f, X, ldx, W, in, 0.0f, Y, ldy);
  if (b == nullptr) return;
  for (int r = 0; r < N; ++r) {
    float* yr = Y + static_cast<std::size_t>(r) * ldy;
    for (int o = 0; o < out; ++o) yr[o] += b[o];
  }
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
    for (int t = 0; t < T; ++t) {
      float* row = P + static_cast<std::size_t>(t) * keys;
      const float m = *std::max_element(row, row + keys);
      float sum = 0.0f;
      for (int k = 0; k < keys; ++k) {
        row[k] = std::exp(row[k] - m);
        sum += row[k];
      }
      const float inv = 1.0f / sum;
      for (int k = 0; k < keys; ++k) row[k] *= inv;
    }
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
