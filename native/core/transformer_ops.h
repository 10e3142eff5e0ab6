// The building blocks of the transformer (transformer.h), factored out so each
// one has its own finite-difference check (native/tests/test_transformer.cc):
// LayerNorm, exact GELU, masked multi-head self-attention of one sequence, and
// the Linear layer (y = x W^T + b, W stored [out, in] like PyTorch).
//
// Conventions: row-major; every backward ACCUMULATES (+=) into parameter
// gradients (dgamma, dbeta, dW, db), and writes (or, when said, adds to) the
// input gradient. All functions are single-threaded (models parallelise over
// the batch) and every matrix product goes through md::sgemm.
//
// SIMD: GELU, the attention softmax and LayerNorm run at the level sgemm uses
// (md::simd_default_level(), capped by MODEL_DISTILL_SIMD); the *_at variants
// take the level explicitly (tests compare every level with the scalar one).
// The scalar level is the plain code from the definitions (std::erfc, std::exp).
// The AVX2 and AVX-512 levels share one implementation (GCC vector extensions,
// FMA-contracted alike at both widths): GELU and its backward give bit-identical results at both
// (element-wise, same operations); LayerNorm and softmax reduce over 8 or 16
// lanes, so their sums round differently. Against the scalar level: GELU within
// 1e-6 relative (+ 1e-7 absolute; a polynomial erfc and exp instead of libm),
// softmax and LayerNorm within a few float ulps (see test_transformer.cc).
#pragma once
#include <cstddef>

#include "gemm.h"
#include "simd.h"

namespace md {
namespace tfops {

// ---- LayerNorm over the last dimension (biased variance, as PyTorch/BERT) ----
// y = gamma * xhat + beta, xhat = (x - mean) * rstd, rstd = 1 / sqrt(var + eps).
// xhat [rows, H] and rstd [rows] are what backward needs.
void layer_norm_forward(int rows, int H, const float* x, const float* gamma, const float* beta, float eps, float* y,
                        float* xhat, float* rstd);
// dx = rstd * (g - mean(g) - xhat * mean(g * xhat)) with g = dy * gamma (written);
// dgamma += sum_rows dy * xhat, dbeta += sum_rows dy. dx may alias dy.
void layer_norm_backward(int rows, int H, const float* dy, const float* xhat, const float* rstd, const float* gamma,
                         float* dx, float* dgamma, float* dbeta);
void layer_norm_forward_at(SimdLevel level, int rows, int H, const float* x, const float* gamma, const float* beta,
                           float eps, float* y, float* xhat, float* rstd);
void layer_norm_backward_at(SimdLevel level, int rows, int H, const float* dy, const float* xhat, const float* rstd,
                            const float* gamma, float* dx, float* dgamma, float* dbeta);

// ---- GELU, exact erf form (BERT's "gelu"): x * Phi(x) ----
void gelu_forward(std::size_t n, const float* x, float* y);
// dx = dy * (Phi(x) + x * phi(x)). dx may alias dy.
void gelu_backward(std::size_t n, const float* x, const float* dy, float* dx);
void gelu_forward_at(SimdLevel level, std::size_t n, const float* x, float* y);
void gelu_backward_at(SimdLevel level, std::size_t n, const float* x, const float* dy, float* dx);

// ---- y[r, :n] += b for each of `rows` rows (stride ld): a Linear layer's bias, SIMD-dispatched ----
void add_bias_rows(int rows, int n, const float* b, float* y, int ld);
void add_bias_rows_at(SimdLevel level, int rows, int n, const float* b, float* y, int ld);

// ---- softmax of each row, in place: p[r, :] = exp(p - max) / sum (rows of `cols`, stride ld) ----
void softmax_rows(int rows, int cols, float* p, int ld);
void softmax_rows_at(SimdLevel level, int rows, int cols, float* p, int ld);

// ---- Linear: Y[N, out] = X[N, in] W^T + b (W [out, in]; b may be null) ----
void linear_forward(int N, int in, int out, const float* X, int ldx, const float* W, const float* b, float* Y, int ldy);
// dW += dY^T X, db += column sums of dY (db may be null); when dX is not null,
// dX = dY W (accumulate_dx: dX += dY W).
void linear_backward(int N, int in, int out, const float* X, int ldx, const float* dY, int ldy, const float* W,
                     float* dW, float* db, float* dX, int lddx, bool accumulate_dx);

// ---- Multi-head self-attention of ONE sequence ----
// qkv holds T rows of [Q | K | V] (each H = heads * head_dim wide, head h at
// columns h*head_dim of its block), row stride ld_qkv. Only the first `keys`
// rows are valid keys/values: the scores of keys >= `keys` are -inf before the
// softmax (the padding mask), so they get zero weight and zero gradient.
// For each head: P = softmax(Q K^T / sqrt(head_dim)) [T, keys], context = (P * drop) V.
//   probs:     out, [heads, T, keys] (before dropout; backward needs it)
//   drop_mask: null = no attention dropout, else [heads, T, keys] of 0 or 1/keep
//   context:   out, [T, H] with row stride ld_ctx (heads concatenated)
//   scratch:   at least T * keys floats
void attention_forward(int T, int keys, int heads, int head_dim, const float* qkv, int ld_qkv, float* probs,
                       const float* drop_mask, float* context, int ld_ctx, float* scratch);
// Given dcontext [T, H] (stride ld_ctx), writes dqkv [T, 3H] (stride ld_dqkv;
// rows >= keys get zero dK, dV). scratch: at least 2 * T * keys floats.
void attention_backward(int T, int keys, int heads, int head_dim, const float* qkv, int ld_qkv, const float* probs,
                        const float* drop_mask, const float* dcontext, int ld_ctx, float* dqkv, int ld_dqkv,
                        float* scratch);

}  // namespace tfops
}  // namespace md
