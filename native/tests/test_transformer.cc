// Transformer (BERT-style teacher): finite-difference checks of every piece
// (LayerNorm, GELU, Linear, masked attention) and of the whole model with and
// without dropout, with and without the pooler, the embeddings and the pooler
// entry by entry, the encoder-only path for MLM; the batched path agrees with
// the plain-loop reference; ids after a row's length are never read; a seed
// fixes the model; bad input is named; the generic trainer fine-tunes it.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "check.h"
#include "fixtures.h"
#include "gradcheck.h"
#include "student_factory.h"
#include "trainer.h"
#include "transformer.h"
#include "transformer_ops.h"

namespace {

using fixtures::OwnedBatch;
using fixtures::five_point_slope;
using fixtures::max_abs_diff;
using fixtures::softmax_rows;

// Texts of the given lengths: [CLS]-like id 2 first, then ids in [1, V);
// positions past each length hold `fill` (>= 0) or junk (fill < 0, incl. ids
// outside the vocabulary: they must never be read).
OwnedBatch make_batch(const std::vector<int>& lengths, int vocab, std::mt19937& rng, int fill = 0) {
  OwnedBatch out;
  out.lengths.assign(lengths.begin(), lengths.end());
  out.seq_len = *std::max_element(lengths.begin(), lengths.end());
  out.ids.assign(lengths.size() * out.seq_len, 0);
  std::uniform_int_distribution<int> tok(1, vocab - 1), junk(-3, vocab + 50);
  for (std::size_t b = 0; b < lengths.size(); ++b)
    for (int s = 0; s < out.seq_len; ++s)
      out.ids[b * out.seq_len + s] = s == 0 ? 2 : s < lengths[b] ? tok(rng) : fill >= 0 ? fill : junk(rng);
  return out;
}

md::TransformerConfig tiny_config(float dropout, bool pooler = true) {
  md::TransformerConfig c;
  c.vocab_size = 30;
  c.hidden = 8;
  c.heads = 2;
  c.layers = 2;
  c.intermediate = 16;
  c.max_positions = 16;
  c.num_classes = 3;
  c.dropout = dropout;
  c.attention_dropout = dropout;
  c.pooler = pooler;
  return c;
}

// BERT's N(0, 0.02) makes every signal tiny, which would let a gradient check
// pass on noise. For the checks, every tensor (LayerNorm and biases included)
// gets values of order one, so each path carries real signal.
void randomize(md::Transformer& model, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  for (md::Parameter* p : model.parameters()) {
    const bool ln_weight = p->name.find("LayerNorm.weight") != std::string::npos;
    // Small classifier weights keep the logits, and so the float round-off of
    // the loss, small next to the gradients being checked.
    const float scale = p->name == "classifier.weight" ? 0.05f : p->value.shape.size() == 2 ? 0.35f : 0.2f;
    for (float& x : p->value.data) x = (ln_weight ? 1.0f : 0.0f) + scale * normal(rng);
  }
  const int H = model.config().hidden;
  std::fill_n(model.word_embeddings().value.ptr() + model.config().pad_id * H, H, 0.0f);
}

std::vector<float> run_reference(const md::Transformer& m, const OwnedBatch& b) {
  std::vector<float> out(b.lengths.size() * m.num_classes());
  m.forward_reference(b.view(), out.data());
  return out;
}
std::vector<float> run_fast(const md::Transformer& m, const OwnedBatch& b) {
  std::vector<float> out(b.lengths.size() * m.num_classes());
  m.forward_fast(b.view(), out.data());
  return out;
}
std::vector<float> run_train(const md::Transformer& m, const OwnedBatch& b, unsigned seed = 9) {
  std::vector<float> out(b.lengths.size() * m.num_classes());
  auto ctx = m.make_context();
  md::Rng rng(seed);
  m.forward_train(*ctx, b.view(), rng, out.data());
  return out;
}

// Five-point check of d(sum w * f(x)) / dx for every entry of x:
// `loss` recomputes the scalar, `analytic` holds the claimed gradient.
double max_rel_error(std::vector<float>& x, const std::vector<float>& analytic, const std::function<double()>& loss,
                     float eps, std::string* worst = nullptr) {
  double max_rel = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    const double numeric = five_point_slope(x[i], loss, eps);
    const double rel = std::fabs(analytic[i] - numeric) / std::max(1e-3, std::fabs(analytic[i]) + std::fabs(numeric));
    if (rel > max_rel) {
      max_rel = rel;
      if (worst) *worst = "[" + std::to_string(i) + "] analytic " + std::to_string(analytic[i]) + " numeric " +
                          std::to_string(numeric);
    }
  }
  return max_rel;
}

double weighted_sum(const std::vector<float>& w, const std::vector<float>& y) {
  double s = 0;
  for (std::size_t i = 0; i < y.size(); ++i) s += double(w[i]) * y[i];
  return s;
}

}  // namespace

// ---- the pieces -----------------------------------------------------------------

TEST(layer_norm_backward_matches_finite_differences) {
  using namespace md::tfops;
  std::mt19937 rng(1);
  const int rows = 4, H = 7;
  std::vector<float> x = fixtures::normal_vector(rows * H, rng, 2.0f), gamma = fixtures::normal_vector(H, rng), beta = fixtures::normal_vector(H, rng);
  for (int j = 0; j < H; ++j) x[j] += 5.0f;  // a row with a large mean
  const std::vector<float> w = fixtures::normal_vector(rows * H, rng);
  std::vector<float> y(rows * H), xhat(rows * H), rstd(rows);
  auto loss = [&] {
    layer_norm_forward(rows, H, x.data(), gamma.data(), beta.data(), 1e-5f, y.data(), xhat.data(), rstd.data());
    return weighted_sum(w, y);
  };
  loss();
  // forward: every row has mean beta-weighted... check the normalised values directly
  for (int r = 0; r < rows; ++r) {
    double mean = 0, var = 0;
    for (int j = 0; j < H; ++j) mean += xhat[r * H + j];
    for (int j = 0; j < H; ++j) var += xhat[r * H + j] * xhat[r * H + j];
    CHECK_NEAR(mean / H, 0.0, 1e-5);
    CHECK_NEAR(var / H, 1.0, 1e-3);
  }
  std::vector<float> dx(rows * H), dgamma(H, 0.0f), dbeta(H, 0.0f);
  layer_norm_backward(rows, H, w.data(), xhat.data(), rstd.data(), gamma.data(), dx.data(), dgamma.data(), dbeta.data());
  std::string worst;
  double e = max_rel_error(x, dx, loss, 1e-3f, &worst);
  if (!(e < 1e-2)) check::fail(__FILE__, __LINE__, "dx " + std::to_string(e) + " " + worst);
  e = max_rel_error(gamma, dgamma, loss, 1e-3f, &worst);
  if (!(e < 1e-2)) check::fail(__FILE__, __LINE__, "dgamma " + std::to_string(e) + " " + worst);
  e = max_rel_error(beta, dbeta, loss, 1e-3f, &worst);
  if (!(e < 1e-2)) check::fail(__FILE__, __LINE__, "dbeta " + std::to_string(e) + " " + worst);
}

TEST(gelu_is_the_exact_erf_form_and_its_backward_matches_finite_differences) {
  using namespace md::tfops;
  // Values of x * Phi(x) (not the tanh approximation, which differs in the 4th digit).
  const std::vector<float> xs = {-3.0f, -1.0f, 0.0f, 0.5f, 1.0f, 2.0f};
  const std::vector<double> want = {-0.0040496, -0.1586553, 0.0, 0.3457312, 0.8413447, 1.9544997};
  std::vector<float> ys(xs.size());
  gelu_forward(xs.size(), xs.data(), ys.data());
  for (std::size_t i = 0; i < xs.size(); ++i) CHECK_NEAR(ys[i], want[i], 2e-6);

  std::mt19937 rng(2);
  std::vector<float> x = fixtures::normal_vector(64, rng, 2.5f);
  const std::vector<float> w = fixtures::normal_vector(64, rng);
  std::vector<float> y(64), dx(64);
  auto loss = [&] {
    gelu_forward(x.size(), x.data(), y.data());
    return weighted_sum(w, y);
  };
  gelu_backward(x.size(), x.data(), w.data(), dx.data());
  std::string worst;
  const double e = max_rel_error(x, dx, loss, 1e-3f, &worst);
  if (!(e < 1e-2)) check::fail(__FILE__, __LINE__, std::to_string(e) + " " + worst);
}

// ---- SIMD levels of the element-wise kernels against the scalar one -------------

std::vector<md::SimdLevel> simd_levels() {
  std::vector<md::SimdLevel> out;
  for (md::SimdLevel l : {md::SimdLevel::avx2, md::SimdLevel::avx512})
    if (md::simd_level_supported(l)) out.push_back(l);
  return out;
}

TEST(simd_gelu_matches_the_scalar_erfc_form_and_is_width_independent) {
  using namespace md::tfops;
  // A grid over [-12, 12] (both tails, around 0), plus n not a multiple of 8 or 16 (the tail path).
  std::vector<float> x;
  for (int i = -2400; i <= 2400; ++i) x.push_back(i * 0.005f);
  for (float v : {-40.0f, -9.5f, 7.25f, 30.0f, 1e-6f, -1e-6f, 0.0f}) x.push_back(v);
  std::mt19937 rng(21);
  const std::vector<float> dy = fixtures::normal_vector(x.size(), rng);
  std::vector<float> ref_y(x.size()), ref_dx(x.size());
  gelu_forward_at(md::SimdLevel::scalar, x.size(), x.data(), ref_y.data());
  gelu_backward_at(md::SimdLevel::scalar, x.size(), x.data(), dy.data(), ref_dx.data());
  std::vector<std::vector<float>> ys, dxs;
  for (md::SimdLevel level : simd_levels()) {
    std::vector<float> y(x.size()), dx(x.size());
    gelu_forward_at(level, x.size(), x.data(), y.data());
    gelu_backward_at(level, x.size(), x.data(), dy.data(), dx.data());
    double worst_y = 0, worst_dx = 0;
    for (std::size_t i = 0; i < x.size(); ++i) {
      worst_y = std::max(worst_y, std::fabs(double(y[i]) - ref_y[i]) / (1e-7 + 1e-6 * std::fabs(ref_y[i])));
      worst_dx = std::max(worst_dx, std::fabs(double(dx[i]) - ref_dx[i]) / (1e-7 + 1e-6 * std::fabs(ref_dx[i])));
    }
    std::printf("  %s: GELU error / (1e-7 + 1e-6 |y|) %.2f, backward %.2f\n", md::simd_level_name(level), worst_y, worst_dx);
    CHECK(worst_y <= 1.0);
    CHECK(worst_dx <= 1.0);
    ys.push_back(y);
    dxs.push_back(dx);
  }
  // Element-wise, the same operations at every width: bit-identical AVX2 and AVX-512 results.
  for (std::size_t l = 1; l < ys.size(); ++l) {
    CHECK(ys[l] == ys[0]);
    CHECK(dxs[l] == dxs[0]);
  }
}

TEST(simd_bias_add_equals_the_scalar_one_exactly) {
  using namespace md::tfops;
  std::mt19937 rng(24);
  for (int n : {1, 7, 16, 33, 256, 1024}) {
    const int rows = 5, ld = n + 5;  // the gap after each row is never touched
    const std::vector<float> b = fixtures::normal_vector(n, rng);
    const std::vector<float> y0 = fixtures::normal_vector(static_cast<std::size_t>(rows) * ld, rng);
    std::vector<float> ref = y0;
    add_bias_rows_at(md::SimdLevel::scalar, rows, n, b.data(), ref.data(), ld);
    for (int r = 0; r < rows; ++r) CHECK(ref[static_cast<std::size_t>(r) * ld] == y0[static_cast<std::size_t>(r) * ld] + b[0]);
    for (md::SimdLevel level : simd_levels()) {
      std::vector<float> y = y0;
      add_bias_rows_at(level, rows, n, b.data(), y.data(), ld);
      CHECK(y == ref);  // one add per entry: the same float at every level
    }
  }
}

TEST(simd_softmax_matches_the_scalar_one) {
  using namespace md::tfops;
  std::mt19937 rng(22);
  for (int cols : {1, 5, 8, 16, 17, 52, 128}) {
    const int rows = 7, ld = cols + 3;  // a stride wider than the row: the gap is never touched
    std::vector<float> p = fixtures::normal_vector(static_cast<std::size_t>(rows) * ld, rng, 4.0f);
    p[0] = 80.0f;  // a large score: exp(x - max) must not overflow
    std::vector<float> ref = p;
    softmax_rows_at(md::SimdLevel::scalar, rows, cols, ref.data(), ld);
    for (md::SimdLevel level : simd_levels()) {
      std::vector<float> q = p;
      softmax_rows_at(level, rows, cols, q.data(), ld);
      double worst = 0;
      for (int r = 0; r < rows; ++r) {
        double sum = 0;
        for (int k = 0; k < cols; ++k) {
          const std::size_t i = static_cast<std::size_t>(r) * ld + k;
          worst = std::max(worst, std::fabs(double(q[i]) - ref[i]) / (1e-30 + ref[i]));
          sum += q[i];
        }
        CHECK_NEAR(sum, 1.0, 1e-5);
        for (int k = cols; k < ld; ++k) CHECK(q[static_cast<std::size_t>(r) * ld + k] == p[static_cast<std::size_t>(r) * ld + k]);
      }
      if (!(worst <= 2e-6)) check::fail(__FILE__, __LINE__, std::string(md::simd_level_name(level)) + " cols " +
                                                                std::to_string(cols) + ": rel error " + std::to_string(worst));
    }
  }
}

TEST(simd_layer_norm_matches_the_scalar_one) {
  using namespace md::tfops;
  std::mt19937 rng(23);
  for (int H : {7, 16, 24, 256}) {
    const int rows = 5;
    std::vector<float> x = fixtures::normal_vector(static_cast<std::size_t>(rows) * H, rng, 2.0f);
    for (int j = 0; j < H; ++j) x[j] += 30.0f;  // a row with a large mean
    const std::vector<float> gamma = fixtures::normal_vector(H, rng), beta = fixtures::normal_vector(H, rng);
    const std::vector<float> dy = fixtures::normal_vector(x.size(), rng);
    auto run = [&](md::SimdLevel level, std::vector<float>& y, std::vector<float>& xhat, std::vector<float>& rstd,
                   std::vector<float>& dx, std::vector<float>& dgamma, std::vector<float>& dbeta) {
      y.assign(x.size(), 0.0f);
      xhat.assign(x.size(), 0.0f);
      rstd.assign(rows, 0.0f);
      dx.assign(x.size(), 0.0f);
      dgamma.assign(H, 0.5f);  // backward accumulates
      dbeta.assign(H, -0.5f);
      layer_norm_forward_at(level, rows, H, x.data(), gamma.data(), beta.data(), 1e-12f, y.data(), xhat.data(), rstd.data());
      layer_norm_backward_at(level, rows, H, dy.data(), xhat.data(), rstd.data(), gamma.data(), dx.data(), dgamma.data(),
                             dbeta.data());
    };
    std::vector<float> ry, rxhat, rrstd, rdx, rdg, rdb;
    run(md::SimdLevel::scalar, ry, rxhat, rrstd, rdx, rdg, rdb);
    for (md::SimdLevel level : simd_levels()) {
      std::vector<float> y, xhat, rstd, dx, dg, db;
      run(level, y, xhat, rstd, dx, dg, db);
      const double e = std::max({max_abs_diff(y, ry), max_abs_diff(xhat, rxhat), max_abs_diff(dx, rdx),
                                 max_abs_diff(dg, rdg), max_abs_diff(db, rdb)});
      double erstd = 0;
      for (int r = 0; r < rows; ++r) erstd = std::max(erstd, std::fabs(double(rstd[r]) - rrstd[r]) / rrstd[r]);
      if (!(e <= 2e-5 && erstd <= 1e-5))
        check::fail(__FILE__, __LINE__, std::string(md::simd_level_name(level)) + " H " + std::to_string(H) +
                                            ": max abs diff " + std::to_string(e) + ", rstd rel " + std::to_string(erstd));
    }
  }
}

TEST(linear_backward_matches_finite_differences) {
  using namespace md::tfops;
  std::mt19937 rng(3);
  const int N = 5, in = 6, out = 4;
  std::vector<float> X = fixtures::normal_vector(N * in, rng), W = fixtures::normal_vector(out * in, rng), b = fixtures::normal_vector(out, rng);
  const std::vector<float> w = fixtures::normal_vector(N * out, rng);
  std::vector<float> Y(N * out);
  auto loss = [&] {
    linear_forward(N, in, out, X.data(), in, W.data(), b.data(), Y.data(), out);
    return weighted_sum(w, Y);
  };
  std::vector<float> dW(out * in, 0.0f), db(out, 0.0f), dX(N * in, 7.0f);  // dX garbage: overwritten
  linear_backward(N, in, out, X.data(), in, w.data(), out, W.data(), dW.data(), db.data(), dX.data(), in, false);
  CHECK(max_rel_error(X, dX, loss, 1e-2f) < 1e-3);
  CHECK(max_rel_error(W, dW, loss, 1e-2f) < 1e-3);
  CHECK(max_rel_error(b, db, loss, 1e-2f) < 1e-3);
  // accumulate_dx adds.
  std::vector<float> dX2(N * in, 1.0f);
  linear_backward(N, in, out, X.data(), in, w.data(), out, W.data(), dW.data(), db.data(), dX2.data(), in, true);
  for (int i = 0; i < N * in; ++i) CHECK_NEAR(dX2[i], dX[i] + 1.0f, 1e-5);
}

// Attention of one sequence of T rows of which only the first `keys` are valid
// keys (the padding mask), with and without dropout on the probabilities.
TEST(masked_attention_backward_matches_finite_differences) {
  using namespace md::tfops;
  for (int with_dropout = 0; with_dropout < 2; ++with_dropout) {
    std::mt19937 rng(4 + with_dropout);
    const int T = 6, keys = 4, heads = 2, D = 3, H = heads * D, ld = 3 * H + 2;  // ld: a stride wider than 3H
    std::vector<float> qkv = fixtures::normal_vector(T * ld, rng);
    std::vector<float> mask;
    if (with_dropout) {
      std::uniform_real_distribution<float> u(0.0f, 1.0f);
      for (int i = 0; i < heads * T * keys; ++i) mask.push_back(u(rng) < 0.7f ? 1.0f / 0.7f : 0.0f);
    }
    const std::vector<float> w = fixtures::normal_vector(T * H, rng);
    std::vector<float> probs(heads * T * keys), ctx(T * H), scratch(2 * T * keys);
    auto loss = [&] {
      attention_forward(T, keys, heads, D, qkv.data(), ld, probs.data(), mask.empty() ? nullptr : mask.data(),
                        ctx.data(), H, scratch.data());
      return weighted_sum(w, ctx);
    };
    const double base = loss();
    // Probabilities: rows sum to 1 over the valid keys.
    for (int r = 0; r < heads * T; ++r) {
      double s = 0;
      for (int k = 0; k < keys; ++k) s += probs[r * keys + k];
      CHECK_NEAR(s, 1.0, 1e-5);
    }
    std::vector<float> dqkv(T * ld, 0.0f);
    attention_backward(T, keys, heads, D, qkv.data(), ld, probs.data(), mask.empty() ? nullptr : mask.data(), w.data(),
                       H, dqkv.data(), ld, scratch.data());
    // The padding columns of the stride are not part of the layout: give them zero analytic gradient.
    for (int t = 0; t < T; ++t) dqkv[t * ld + 3 * H] = dqkv[t * ld + 3 * H + 1] = 0.0f;
    std::string worst;
    const double e = max_rel_error(qkv, dqkv, loss, 1e-2f, &worst);
    if (!(e < 1e-2)) check::fail(__FILE__, __LINE__, "dqkv " + std::to_string(e) + " " + worst);
    // Masked keys: zero dK and dV, and changing them changes nothing.
    for (int t = keys; t < T; ++t)
      for (int j = H; j < 3 * H; ++j) CHECK_EQ(dqkv[t * ld + j], 0.0f);
    for (int t = keys; t < T; ++t)
      for (int j = H; j < 3 * H; ++j) qkv[t * ld + j] += 10.0f;
    CHECK_EQ(loss(), base);
  }
}

// ---- the whole model --------------------------------------------------------------

TEST(model_gradients_match_finite_differences_without_dropout) {
  md::Transformer model(tiny_config(0.0f), 42);
  randomize(model, 7);
  std::mt19937 rng(1);
  OwnedBatch batch = make_batch({5, 1, 3}, 30, rng);
  gradcheck::Result r = gradcheck::check_model(model, batch.view(), 30, 1e-2f);
  std::printf("  checked %d entries, max rel error %.2e (%s)\n", r.checked, r.max_rel_error, r.worst.c_str());
  CHECK(r.checked > 600);
  CHECK(r.max_rel_error < 1e-2);
}

TEST(model_gradients_match_finite_differences_with_dropout) {
  md::Transformer model(tiny_config(0.3f), 43);
  randomize(model, 8);
  std::mt19937 rng(2);
  OwnedBatch batch = make_batch({4, 6, 1}, 30, rng);
  // The 1/keep scaling sharpens the curvature: a smaller step keeps the central
  // difference's O(eps^2) error (largest on the token-type row, which moves
  // every token) below TextCNN's tolerance of 2e-2.
  gradcheck::Result r = gradcheck::check_model(model, batch.view(), 30, 5e-3f);
  std::printf("  checked %d entries, max rel error %.2e (%s)\n", r.checked, r.max_rel_error, r.worst.c_str());
  CHECK(r.max_rel_error < 2e-2);
}

TEST(model_gradients_match_finite_differences_without_pooler) {
  md::Transformer model(tiny_config(0.2f, false), 44);
  randomize(model, 9);
  CHECK_EQ(model.parameter_index("bert.pooler.dense.weight"), -1);
  std::mt19937 rng(3);
  OwnedBatch batch = make_batch({3, 7, 2, 1}, 30, rng);
  gradcheck::Result r = gradcheck::check_model(model, batch.view(), 30, 1e-2f);
  std::printf("  checked %d entries, max rel error %.2e (%s)\n", r.checked, r.max_rel_error, r.worst.c_str());
  CHECK(r.max_rel_error < 1e-2);
}

// Every entry of the embedding tables and the pooler, not a sample: rows that
// the batch uses, rows it does not (zero gradient), and the pad row.
TEST(embedding_and_pooler_gradients_entry_by_entry) {
  md::Transformer model(tiny_config(0.0f), 45);
  randomize(model, 10);
  std::mt19937 rng(4);
  OwnedBatch batch = make_batch({6, 2, 4}, 30, rng);
  batch.ids[3] = 0;  // a pad id inside a text: embedded as the (zero) pad row, which never learns
  const md::Batch view = batch.view();
  const int C = model.num_classes();
  std::vector<float> w = fixtures::normal_vector(view.batch * C, rng), logits(w.size());
  auto ctx = model.make_context();
  md::Gradients grads = model.make_gradients();
  gradcheck::linear_loss(model, *ctx, view, w, 5, logits);
  model.backward(*ctx, view, w.data(), grads);
  for (const char* name :
       {"bert.embeddings.word_embeddings.weight", "bert.embeddings.position_embeddings.weight",
        "bert.embeddings.token_type_embeddings.weight", "bert.embeddings.LayerNorm.weight",
        "bert.embeddings.LayerNorm.bias", "bert.pooler.dense.weight", "bert.pooler.dense.bias"}) {
    // The pad row (0) has no gradient by design (padding_idx), although its
    // finite difference is not zero when a pad id is inside a text: the word
    // embeddings are checked below without it.
    if (name == std::string("bert.embeddings.word_embeddings.weight")) continue;
    const int p = model.parameter_index(name);
    CHECK(p >= 0);
    std::vector<float>& value = model.parameters()[p]->value.data;
    std::string worst;
    const double e = max_rel_error(value, grads[p].data,
                                   [&] { return gradcheck::linear_loss(model, *ctx, view, w, 5, logits); }, 1e-2f,
                                   &worst);
    if (!(e < 1e-2)) check::fail(__FILE__, __LINE__, std::string(name) + " " + std::to_string(e) + " " + worst);
  }
  // Word embeddings: rows 1.. checked fully; row 0 gets exactly zero.
  const int p = model.parameter_index("bert.embeddings.word_embeddings.weight");
  const int H = model.config().hidden;
  for (int j = 0; j < H; ++j) CHECK_EQ(grads[p].data[j], 0.0f);
  std::vector<float>& emb = model.parameters()[p]->value.data;
  std::vector<float> rows(emb.begin() + H, emb.end()), g(grads[p].data.begin() + H, grads[p].data.end());
  auto loss = [&] {
    std::copy(rows.begin(), rows.end(), emb.begin() + H);
    return gradcheck::linear_loss(model, *ctx, view, w, 5, logits);
  };
  std::string worst;
  const double e = max_rel_error(rows, g, loss, 1e-2f, &worst);
  if (!(e < 1e-2)) check::fail(__FILE__, __LINE__, "word rows " + std::to_string(e) + " " + worst);
  // Position rows past the longest text and token type 1 get no gradient.
  const int pos = model.parameter_index("bert.embeddings.position_embeddings.weight");
  for (std::size_t i = 6 * H; i < grads[pos].size(); ++i) CHECK_EQ(grads[pos].data[i], 0.0f);
  const int type = model.parameter_index("bert.embeddings.token_type_embeddings.weight");
  for (int j = H; j < 2 * H; ++j) CHECK_EQ(grads[type].data[j], 0.0f);
}

// The encoder-only path for MLM: d(sum w * hidden) through backward_hidden.
TEST(hidden_state_path_gradients_match_finite_differences) {
  md::Transformer model(tiny_config(0.2f), 46);
  randomize(model, 11);
  std::mt19937 rng(5);
  OwnedBatch batch = make_batch({4, 1, 5}, 30, rng, -1);
  const md::Batch view = batch.view();
  const int H = model.config().hidden;
  std::vector<float> w = fixtures::normal_vector(static_cast<std::size_t>(view.batch) * view.seq_len * H, rng);
  std::vector<float> hidden(w.size());
  auto ctx = model.make_context();
  auto loss = [&] {
    md::Rng r(77);
    model.forward_hidden_train(*ctx, view, r, hidden.data());
    return weighted_sum(w, hidden);
  };
  loss();
  // Padding positions are written as zero.
  for (int b = 0; b < view.batch; ++b)
    for (int t = view.lengths[b]; t < view.seq_len; ++t)
      for (int j = 0; j < H; ++j) CHECK_EQ(hidden[(static_cast<std::size_t>(b) * view.seq_len + t) * H + j], 0.0f);
  md::Gradients grads = model.make_gradients();
  model.backward_hidden(*ctx, view, w.data(), grads);
  md::Rng pick(3);
  double worst_rel = 0;
  std::string worst;
  std::vector<md::Parameter*> params = model.parameters();
  for (std::size_t p = 0; p < params.size(); ++p) {
    const bool head = params[p]->name.rfind("classifier", 0) == 0 || params[p]->name.rfind("bert.pooler", 0) == 0;
    for (int s = 0; s < 6; ++s) {
      const std::size_t i = pick() % params[p]->value.size();
      if (head) {
        CHECK_EQ(grads[p].data[i], 0.0f);
        continue;
      }
      if (params[p]->name.find("attention.self.key.bias") != std::string::npos) {
        // Exactly 0 in exact arithmetic (softmax ignores a shift shared by all
        // keys); the numeric slope would only measure round-off.
        CHECK(std::fabs(grads[p].data[i]) < 1e-6);
        continue;
      }
      const double numeric = five_point_slope(params[p]->value.data[i], loss, 2e-2f);
      // Mixed tolerance: this loss sums every hidden value (O(10)), so its
      // float round-off puts a ~1e-4 floor under the numeric slopes (hence also
      // the wide 2e-2 step, harmless with the five-point stencil); above
      // it, 1% relative.
      const double err = std::fabs(grads[p].data[i] - numeric) / (2e-4 + 1e-2 * std::fabs(numeric));
      if (err > worst_rel) {
        worst_rel = err;
        worst = params[p]->name + "[" + std::to_string(i) + "]: analytic " + std::to_string(grads[p].data[i]) +
                " vs numeric " + std::to_string(numeric);
      }
    }
  }
  std::printf("  worst error / tolerance %.2f (%s)\n", worst_rel, worst.c_str());
  if (!(worst_rel < 1.0)) check::fail(__FILE__, __LINE__, std::to_string(worst_rel) + " at " + worst);
  // Without dropout, hidden_states gives the same values as the training path.
  md::Transformer plain(tiny_config(0.0f), 46);
  randomize(plain, 11);
  std::vector<float> a(hidden.size()), b(hidden.size());
  plain.hidden_states(view, a.data());
  md::Rng r(1);
  plain.forward_hidden_train(*plain.make_context(), view, r, b.data());
  CHECK(max_abs_diff(a, b) == 0.0);
}

TEST(parameter_names_shapes_and_initialisation_follow_bert) {
  md::TransformerConfig c = tiny_config(0.1f);
  md::Transformer model(c, 1);
  std::vector<std::string> names;
  for (const md::Parameter* p : model.parameters()) names.push_back(p->name + p->value.shape_string() + (p->no_decay ? " nd" : ""));
  CHECK_EQ(names.size(), std::size_t(5 + 16 * 2 + 2 + 2));
  CHECK_EQ(names[0], std::string("bert.embeddings.word_embeddings.weight[30, 8]"));
  CHECK_EQ(names[1], std::string("bert.embeddings.position_embeddings.weight[16, 8]"));
  CHECK_EQ(names[2], std::string("bert.embeddings.token_type_embeddings.weight[2, 8]"));
  CHECK_EQ(names[3], std::string("bert.embeddings.LayerNorm.weight[8] nd"));
  CHECK_EQ(names[4], std::string("bert.embeddings.LayerNorm.bias[8] nd"));
  const std::vector<std::string> layer1 = {
      "attention.self.query.weight[8, 8]",  "attention.self.query.bias[8] nd",
      "attention.self.key.weight[8, 8]",    "attention.self.key.bias[8] nd",
      "attention.self.value.weight[8, 8]",  "attention.self.value.bias[8] nd",
      "attention.output.dense.weight[8, 8]", "attention.output.dense.bias[8] nd",
      "attention.output.LayerNorm.weight[8] nd", "attention.output.LayerNorm.bias[8] nd",
      "intermediate.dense.weight[16, 8]",   "intermediate.dense.bias[16] nd",
      "output.dense.weight[8, 16]",         "output.dense.bias[8] nd",
      "output.LayerNorm.weight[8] nd",      "output.LayerNorm.bias[8] nd"};
  for (std::size_t i = 0; i < layer1.size(); ++i) CHECK_EQ(names[5 + 16 + i], "bert.encoder.layer.1." + layer1[i]);
  CHECK_EQ(names[37], std::string("bert.pooler.dense.weight[8, 8]"));
  CHECK_EQ(names[38], std::string("bert.pooler.dense.bias[8] nd"));
  CHECK_EQ(names[39], std::string("classifier.weight[3, 8]"));
  CHECK_EQ(names[40], std::string("classifier.bias[3] nd"));

  // Initialisation: N(0, 0.02) weights, pad row 0, biases 0, LayerNorm 1 / 0.
  md::TransformerConfig big = c;
  big.hidden = 64;
  big.intermediate = 256;
  big.heads = 4;
  md::Transformer m(big, 3);
  double sum = 0, sq = 0;
  std::size_t n = 0;
  for (const md::Parameter* p : m.parameters()) {
    if (p->name.find("LayerNorm.weight") != std::string::npos) {
      for (float x : p->value.data) CHECK_EQ(x, 1.0f);
    } else if (p->no_decay) {
      for (float x : p->value.data) CHECK_EQ(x, 0.0f);
    } else {
      for (float x : p->value.data) sum += x, sq += double(x) * x, ++n;
    }
  }
  CHECK_NEAR(sum / n, 0.0, 1e-3);
  CHECK_NEAR(std::sqrt(sq / n), 0.02, 5e-4);
  for (int j = 0; j < 64; ++j) CHECK_EQ(m.word_embeddings().value.data[j], 0.0f);
}

TEST(fast_and_train_paths_match_the_reference) {
  std::mt19937 rng(17);
  struct Size { int hidden, heads, layers, intermediate, vocab; bool pooler; };
  const std::vector<Size> sizes = {{8, 2, 2, 16, 30, true}, {24, 3, 1, 40, 50, false}, {256, 4, 2, 1024, 300, true}};
  for (const Size& s : sizes) {
    md::TransformerConfig c;
    c.vocab_size = s.vocab;
    c.hidden = s.hidden;
    c.heads = s.heads;
    c.layers = s.layers;
    c.intermediate = s.intermediate;
    c.max_positions = 64;
    c.num_classes = 4;
    c.pooler = s.pooler;
    c.dropout = 0.1f;  // forward_fast and forward_reference never drop
    md::Transformer model(c, 100 + s.hidden);
    if (s.hidden < 256) randomize(model, 5 + s.hidden);  // order-one signals at the small sizes; BERT init at 256
    model.prepare_inference();
    std::vector<int> lengths = {1, 2, 3, 17, 64, 40};
    std::uniform_int_distribution<int> len(1, 64);
    for (int i = 0; i < 6; ++i) lengths.push_back(len(rng));
    OwnedBatch batch = make_batch(lengths, c.vocab_size, rng, -1);
    const std::vector<float> ref_logits = run_reference(model, batch);
    const std::vector<float> ref = softmax_rows(ref_logits, c.num_classes);
    const double fast = max_abs_diff(ref, softmax_rows(run_fast(model, batch), c.num_classes));
    const double logit_diff = max_abs_diff(ref_logits, run_fast(model, batch));
    std::printf("  hidden %d: max |p_fast - p_ref| %.2e, max |logit diff| %.2e\n", s.hidden, fast, logit_diff);
    if (!(fast <= 1e-5)) check::fail(__FILE__, __LINE__, "fast vs reference: " + std::to_string(fast));
    md::TransformerConfig c0 = c;
    c0.dropout = c0.attention_dropout = 0.0f;
    md::Transformer same(c0, 100 + s.hidden);
    for (std::size_t p = 0; p < model.parameters().size(); ++p)
      same.parameters()[p]->value = model.parameters()[p]->value;
    const double train = max_abs_diff(ref, softmax_rows(run_train(same, batch), c.num_classes));
    if (!(train <= 1e-5)) check::fail(__FILE__, __LINE__, "train (no dropout) vs reference: " + std::to_string(train));
    // Inference reuses one layer's buffers for every layer; training keeps them all: same
    // arithmetic, so the same logits bit for bit.
    CHECK(run_train(same, batch) == run_fast(model, batch));
  }
}

TEST(ids_after_a_rows_length_never_change_its_logits) {
  md::Transformer model(tiny_config(0.0f), 8);
  randomize(model, 12);
  std::mt19937 rng(6);
  const std::vector<int> lengths = {1, 2, 4, 7, 10, 3};
  OwnedBatch a = make_batch(lengths, 30, rng, 0);  // padded with pad_id
  OwnedBatch b = a;                                 // junk after the end, even ids outside the vocabulary
  std::uniform_int_distribution<int> junk(-5, 100);
  for (std::size_t r = 0; r < lengths.size(); ++r)
    for (int s = lengths[r]; s < b.seq_len; ++s) b.ids[r * b.seq_len + s] = junk(rng);
  CHECK(run_fast(model, a) == run_fast(model, b));
  CHECK(run_reference(model, a) == run_reference(model, b));
  CHECK(run_train(model, a) == run_train(model, b));
  // A row's logits do not depend on the other rows (or on how far the batch is padded).
  const std::vector<float> all = run_fast(model, a);
  for (std::size_t r = 0; r < lengths.size(); ++r) {
    OwnedBatch one;
    one.lengths = {lengths[r]};
    one.seq_len = lengths[r];
    one.ids.assign(a.ids.begin() + r * a.seq_len, a.ids.begin() + r * a.seq_len + lengths[r]);
    const std::vector<float> single = run_fast(model, one);
    for (int c = 0; c < 3; ++c) CHECK_NEAR(single[c], all[r * 3 + c], 1e-5);
  }
}

TEST(a_seed_fixes_the_model_and_the_dropout_draws) {
  md::Transformer a(tiny_config(0.1f), 5), b(tiny_config(0.1f), 5), c(tiny_config(0.1f), 6);
  bool same_ab = true, same_ac = true;
  for (std::size_t p = 0; p < a.parameters().size(); ++p) {
    same_ab = same_ab && a.parameters()[p]->value.data == b.parameters()[p]->value.data;
    same_ac = same_ac && a.parameters()[p]->value.data == c.parameters()[p]->value.data;
  }
  CHECK(same_ab);
  CHECK(!same_ac);
  randomize(a, 1);
  std::mt19937 rng(7);
  OwnedBatch batch = make_batch({5, 3, 8}, 30, rng);
  CHECK(run_train(a, batch, 1) == run_train(a, batch, 1));
  CHECK(run_train(a, batch, 1) != run_train(a, batch, 2));
  CHECK(run_fast(a, batch) == run_fast(a, batch));
}

TEST(bad_input_and_bad_configs_are_named) {
  md::Transformer model(tiny_config(0.0f), 1);
  std::mt19937 rng(8);
  OwnedBatch batch = make_batch({3, 5}, 30, rng);
  batch.ids[batch.seq_len + 2] = 30;
  std::vector<float> logits(2 * 3);
  try {
    model.forward_fast(batch.view(), logits.data());
    check::fail(__FILE__, __LINE__, "token id 30 was accepted");
  } catch (const std::invalid_argument& e) {
    const std::string m = e.what();
    CHECK(m.find("token id 30") != std::string::npos && m.find("row 1") != std::string::npos &&
          m.find("position 2") != std::string::npos);
  }
  CHECK_THROWS(model.forward_reference(batch.view(), logits.data()));
  CHECK_THROWS(run_train(model, batch));
  OwnedBatch longer = make_batch({3, 17}, 30, rng);  // max_positions = 16
  try {
    model.forward_fast(longer.view(), logits.data());
    check::fail(__FILE__, __LINE__, "a 17-token row was accepted");
  } catch (const std::invalid_argument& e) {
    const std::string m = e.what();
    CHECK(m.find("row 1 has 17 tokens") != std::string::npos && m.find("max_positions=16") != std::string::npos);
  }
  OwnedBatch empty = make_batch({3, 2}, 30, rng);
  empty.lengths[0] = 0;
  CHECK_THROWS(model.forward_fast(empty.view(), logits.data()));

  md::TransformerConfig c = tiny_config(0.0f);
  c.hidden = 10;
  c.heads = 4;
  try {
    md::Transformer bad(c, 1);
    check::fail(__FILE__, __LINE__, "hidden 10 with 4 heads was accepted");
  } catch (const std::invalid_argument& e) {
    CHECK(std::string(e.what()).find("hidden must be a multiple of heads (4), got 10") != std::string::npos);
  }
  c = tiny_config(0.0f);
  c.attention_dropout = 1.0f;
  CHECK_THROWS(md::Transformer(c, 1));
  c = tiny_config(0.0f);
  c.vocab_size = 0;
  CHECK_THROWS(md::Transformer(c, 1));
}

// The generic trainer fine-tunes the transformer unchanged: a task that needs
// attention to the whole text (the class is which marker token occurs
// somewhere after [CLS]) is learnt from BERT's initialisation.
TEST(the_trainer_fine_tunes_it_on_a_synthetic_task) {
  const int V = 40, C = 3, max_len = 12;
  auto make = [&](int n, unsigned seed, std::vector<int32_t>& ids, std::vector<int32_t>& lengths,
                  std::vector<int32_t>& labels) {
    std::mt19937 rng(seed);
    std::uniform_int_distribution<int> len(2, max_len), tok(10, V - 1), cls(0, C - 1);
    ids.assign(static_cast<std::size_t>(n) * max_len, 0);
    for (int i = 0; i < n; ++i) {
      const int L = len(rng), y = cls(rng);
      lengths.push_back(L);
      labels.push_back(y);
      ids[static_cast<std::size_t>(i) * max_len] = 2;  // [CLS]
      for (int s = 1; s < L; ++s) ids[static_cast<std::size_t>(i) * max_len + s] = tok(rng);
      ids[static_cast<std::size_t>(i) * max_len + 1 + rng() % (L - 1)] = 3 + y;  // the marker
    }
  };
  std::vector<int32_t> tr_ids, tr_len, tr_lab, ev_ids, ev_len, ev_lab;
  make(600, 1, tr_ids, tr_len, tr_lab);
  make(200, 2, ev_ids, ev_len, ev_lab);
  md::TransformerConfig c;
  c.vocab_size = V;
  c.hidden = 32;
  c.heads = 4;
  c.layers = 2;
  c.intermediate = 64;
  c.max_positions = 16;
  c.num_classes = C;
  md::Transformer model(c, 3);
  md::TrainRows train;
  train.ids = tr_ids.data();
  train.lengths = tr_len.data();
  train.rows = 600;
  train.max_len = max_len;
  train.labels = tr_lab.data();
  md::EvalRows eval;
  eval.ids = ev_ids.data();
  eval.lengths = ev_len.data();
  eval.rows = 200;
  eval.max_len = max_len;
  eval.labels = ev_lab.data();
  md::StudentTrainOptions o;
  o.epochs = 8;
  o.batch_size = 32;
  o.threads = 2;
  o.optimizer.kind = md::OptimizerKind::adamw;
  o.optimizer.learning_rate = 2e-3f;
  o.optimizer.weight_decay = 0.01f;
  o.optimizer.clip_norm = 1.0f;
  o.schedule.decay = md::DecayKind::linear;
  o.schedule.warmup_fraction = 0.1f;
  const md::TrainReport r = md::train_model(model, train, &eval, o);
  const md::EvalResult e = md::evaluate_model(model, eval, md::EvalPath::fast);
  std::printf("  eval accuracy %.3f after %zu epochs (best %d), first-epoch loss %.3f -> last %.3f\n", e.report.accuracy,
              r.epochs.size(), r.best_epoch, r.epochs.front().train_loss, r.epochs.back().train_loss);
  CHECK(e.report.accuracy >= 0.95);
  CHECK(r.epochs.back().train_loss < r.epochs.front().train_loss);
  const md::EvalResult ref = md::evaluate_model(model, eval, md::EvalPath::reference);
  CHECK_NEAR(ref.report.accuracy, e.report.accuracy, 1e-9);
}

TEST(the_student_factory_creates_a_transformer_from_a_spec) {
  md::StudentSpec spec;
  spec.kind = "transformer";
  spec.transformer = tiny_config(0.1f);
  spec.seed = 4;
  std::unique_ptr<md::StudentModel> model = md::create_student(spec);
  CHECK_EQ(model->kind(), std::string("transformer"));
  md::Transformer direct(tiny_config(0.1f), 4);
  CHECK(model->parameters()[7]->value.data == direct.parameters()[7]->value.data);
  // 30*8 + 16*8 + 2*8 + 2*8 + 2 * (3*(64+8) + 64+8 + 2*8 + 128+16 + 128+8 + 2*8) + 64+8 + 3*8+3
  CHECK_EQ(md::parameter_count(*model), int64_t(240 + 128 + 16 + 16 + 2 * (216 + 72 + 16 + 144 + 136 + 16) + 72 + 27));
  CHECK_EQ(md::student_embedding_dim(*model), 8);
  // Pretrained vectors: found rows replaced, the others kept, the pad row zero.
  std::vector<float> vectors(30 * 8, 0.5f);
  std::vector<uint8_t> found(30, 0);
  found[0] = found[4] = 1;
  const std::vector<float> before = model->parameters()[0]->value.data;
  md::set_student_embeddings(*model, vectors.data(), 30, 8, found.data());
  const std::vector<float>& after = model->parameters()[0]->value.data;
  for (int j = 0; j < 8; ++j) {
    CHECK_EQ(after[j], 0.0f);
    CHECK_EQ(after[4 * 8 + j], 0.5f);
    CHECK_EQ(after[5 * 8 + j], before[5 * 8 + j]);
  }
  CHECK_THROWS(md::set_student_embeddings(*model, vectors.data(), 30, 7, nullptr));
}

CHECK_MAIN()
