#include "gru.h"
#include "gru_packing.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>
#include <stdexcept>

#include "gemm.h"
#include "memory_trim.h"
#include "gru_cell.h"

namespace md {

using gru_packing::make_packing;
using gru_packing::Packing;
using gru_packing::token_at;

namespace {

void add_bias_rows(float* m, int rows, int cols, const float* bias) {
  for (int r = 0; r < rows; ++r) {
    float* row = m + static_cast<int64_t>(r) * cols;
    for (int c = 0; c < cols; ++c) row[c] += bias[c];
  }
}

void add_column_sums(const float* m, int rows, int cols, float* out) {
  for (int r = 0; r < rows; ++r) {
    const float* row = m + static_cast<int64_t>(r) * cols;
    for (int c = 0; c < cols; ++c) out[c] += row[c];
  }
}

// What forward_train keeps for backward (all per-thread).
struct GruContext : TrainContext {
  Packing packing;
  struct PerDirection {
    std::vector<int32_t> tokens;  // [tokens] packed token ids
    std::vector<float> x;         // [tokens, E] embeddings, packed
    std::vector<float> gates;     // [tokens, 3H] r, z, n
    std::vector<float> ghn;       // [tokens, H] W_hn h + b_hn
    std::vector<float> h_prev;    // [tokens, H] the state each step started from
  } dir[2];
  std::vector<float> final_state;  // [B, D*H] batch order, before dropout
  std::vector<float> mask;         // [B, D*H] 0 or 1/(1-p); empty = no dropout
  std::vector<float> features;     // [B, D*H] after dropout (input of fc)
  // Scratch reused between steps.
  std::vector<float> gi, gh, h, dgi, dgh, dh, dx, dfeatures;
};

template <typename T>
void ensure(std::vector<T>& v, std::size_t n) {
  if (v.size() < n) v.resize(n);
}

}  // namespace

Gru::Gru(const GruConfig& config, uint64_t seed) : config_(config) {
  auto bad = [](const std::string& what) { throw std::invalid_argument("GRU config: " + what); };
  if (config.vocab_size <= 0) bad("vocab_size must be positive, got " + std::to_string(config.vocab_size));
  if (config.embedding_dim <= 0) bad("embedding_dim must be positive, got " + std::to_string(config.embedding_dim));
  if (config.hidden <= 0) bad("hidden must be positive, got " + std::to_string(config.hidden));
  if (config.num_classes <= 0) bad("num_classes must be positive, got " + std::to_string(config.num_classes));
  if (!(config.dropout >= 0.0f && config.dropout < 1.0f))
    bad("dropout must be in [0, 1), got " + std::to_string(config.dropout));
  if (config.pad_id < 0 || config.pad_id >= config.vocab_size)
    bad("pad_id " + std::to_string(config.pad_id) + " is outside the vocabulary (size " +
        std::to_string(config.vocab_size) + ")");

  const int64_t V = config.vocab_size, E = config.embedding_dim, H = config.hidden, C = config.num_classes;
  const int64_t D = directions();
  Rng rng(seed);

  embedding_ = {"embedding.weight", Tensor({V, E}), false};
  std::normal_distribution<float> normal(0.0f, 1.0f);
  for (float& w : embedding_.value.data) w = normal(rng);
  std::fill_n(embedding_.value.ptr() + config.pad_id * E, E, 0.0f);

  const float k = 1.0f / std::sqrt(static_cast<float>(H));
  std::uniform_real_distribution<float> gru_init(-k, k);
  for (int d = 0; d < D; ++d) {
    const std::string suffix = d == 0 ? "_l0" : "_l0_reverse";
    Direction& dir = dir_[d];
    dir.weight_ih = {"gru.weight_ih" + suffix, Tensor({3 * H, E}), false};
    dir.weight_hh = {"gru.weight_hh" + suffix, Tensor({3 * H, H}), false};
    dir.bias_ih = {"gru.bias_ih" + suffix, Tensor({3 * H}), true};
    dir.bias_hh = {"gru.bias_hh" + suffix, Tensor({3 * H}), true};
    for (Parameter* p : {&dir.weight_ih, &dir.weight_hh, &dir.bias_ih, &dir.bias_hh})
      for (float& w : p->value.data) w = gru_init(rng);
  }

  const float bound = 1.0f / std::sqrt(static_cast<float>(D * H));
  std::uniform_real_distribution<float> fc_init(-bound, bound);
  fc_weight_ = {"fc.weight", Tensor({C, D * H}), false};
  fc_bias_ = {"fc.bias", Tensor({C}), true};
  for (float& w : fc_weight_.value.data) w = fc_init(rng);
  for (float& w : fc_bias_.value.data) w = fc_init(rng);
}

std::vector<Parameter*> Gru::parameters() {
  std::vector<Parameter*> out{&embedding_};
  for (int d = 0; d < directions(); ++d)
    for (Parameter* p : {&dir_[d].weight_ih, &dir_[d].weight_hh, &dir_[d].bias_ih, &dir_[d].bias_hh}) out.push_back(p);
  out.push_back(&fc_weight_);
  out.push_back(&fc_bias_);
  return out;
}

void Gru::set_embeddings(const float* data, int64_t rows, int64_t cols) {
  if (rows != config_.vocab_size || cols != config_.embedding_dim)
    throw std::invalid_argument("GRU embeddings: expected [" + std::to_string(config_.vocab_size) + ", " +
                                std::to_string(config_.embedding_dim) + "] but received [" + std::to_string(rows) +
                                ", " + std::to_string(cols) + "]");
  std::copy(data, data + rows * cols, embedding_.value.ptr());
  std::fill_n(embedding_.value.ptr() + static_cast<int64_t>(config_.pad_id) * cols, cols, 0.0f);
  prepared_ = false;
}

void Gru::check_batch(const Batch& batch) const {
  if (batch.batch < 0) throw std::invalid_argument("GRU: negative batch size " + std::to_string(batch.batch));
  if (batch.batch == 0) return;
  if (batch.seq_len <= 0) throw std::invalid_argument("GRU: seq_len must be positive, got " + std::to_string(batch.seq_len));
  for (int b = 0; b < batch.batch; ++b) {
    const int len = batch.lengths[b];
    if (len < 1 || len > batch.seq_len)
      throw std::out_of_range("GRU: length " + std::to_string(len) + " of row " + std::to_string(b) +
                              " is outside [1, " + std::to_string(batch.seq_len) + "]");
    const int32_t* row = batch.ids + static_cast<int64_t>(b) * batch.seq_len;
    for (int t = 0; t < len; ++t)
      if (row[t] < 0 || row[t] >= config_.vocab_size)
        throw std::out_of_range("GRU: token id " + std::to_string(row[t]) + " at row " + std::to_string(b) +
                                ", position " + std::to_string(t) + " is outside the vocabulary (size " +
                                std::to_string(config_.vocab_size) + ")");
  }
}

// logits[rows, C] = features[rows, D*H] . fc_weight^T + fc_bias
void Gru::dense(const float* features, int rows, float* logits, bool rows_independent) const {
  const int C = config_.num_classes, F = directions() * config_.hidden;
  if (rows == 0) return;
  // Inference: row-independent, so a text's logits do not depend on the texts batched with it.
  if (rows_independent)
    sgemm_rows_independent(true, rows, C, F, 1.0f, features, F, fc_weight_.value.ptr(), F, 0.0f, logits, C);
  else
    sgemm(false, true, rows, C, F, 1.0f, features, F, fc_weight_.value.ptr(), F, 0.0f, logits, C);
  add_bias_rows(logits, rows, C, fc_bias_.value.ptr());
}

std::unique_ptr<TrainContext> Gru::make_context() const { return std::make_unique<GruContext>(); }

void Gru::forward_train(TrainContext& base_ctx, const Batch& batch, Rng& rng, float* logits) const {
  check_batch(batch);
  GruContext& ctx = dynamic_cast<GruContext&>(base_ctx);
  const int B = batch.batch, E = config_.embedding_dim, H = config_.hidden, G = 3 * H;
  const int D = directions(), F = D * H;
  ctx.packing = make_packing(batch);
  const Packing& p = ctx.packing;
  const int N = p.tokens;

  ctx.final_state.assign(static_cast<std::size_t>(B) * F, 0.0f);
  ensure(ctx.gi, static_cast<std::size_t>(N) * G);
  ensure(ctx.gh, static_cast<std::size_t>(B) * G);
  ensure(ctx.h, static_cast<std::size_t>(B) * H);
  const float* emb = embedding_.value.ptr();

  for (int d = 0; d < D; ++d) {
    const Direction& w = dir_[d];
    GruContext::PerDirection& c = ctx.dir[d];
    c.tokens.resize(N);
    c.x.resize(static_cast<std::size_t>(N) * E);
    c.gates.resize(static_cast<std::size_t>(N) * G);
    c.ghn.resize(static_cast<std::size_t>(N) * H);
    c.h_prev.resize(static_cast<std::size_t>(N) * H);

    // Gather the shard's embeddings in packed order, then one GEMM for every input projection.
    for (int t = 0; t < p.steps; ++t)
      for (int i = 0; i < p.active[t]; ++i) {
        const int k = p.offset[t] + i;
        c.tokens[k] = token_at(batch, p, d, t, i);
        std::memcpy(&c.x[static_cast<std::size_t>(k) * E], emb + static_cast<int64_t>(c.tokens[k]) * E,
                    sizeof(float) * E);
      }
    if (N > 0) {
      sgemm(false, true, N, G, E, 1.0f, c.x.data(), E, w.weight_ih.value.ptr(), E, 0.0f, ctx.gi.data(), G);
      add_bias_rows(ctx.gi.data(), N, G, w.bias_ih.value.ptr());
    }

    float* h = ctx.h.data();
    std::fill_n(h, static_cast<std::size_t>(B) * H, 0.0f);
    for (int t = 0; t < p.steps; ++t) {
      const int n = p.active[t], off = p.offset[t];
      float* hp = &c.h_prev[static_cast<std::size_t>(off) * H];
      std::memcpy(hp, h, sizeof(float) * n * H);
      sgemm(false, true, n, G, H, 1.0f, hp, H, w.weight_hh.value.ptr(), H, 0.0f, ctx.gh.data(), G);
      for (int i = 0; i < n; ++i) {
        const std::size_t k = static_cast<std::size_t>(off + i);
        gru_cell_forward(H, &ctx.gi[k * G], &ctx.gh[static_cast<std::size_t>(i) * G], w.bias_hh.value.ptr(),
                         h + static_cast<std::size_t>(i) * H, h + static_cast<std::size_t>(i) * H, &c.gates[k * G],
                         &c.ghn[k * H]);
      }
    }
    // Rows stopped updating after their last step, so h holds each row's final state.
    for (int i = 0; i < B; ++i)
      std::memcpy(&ctx.final_state[static_cast<std::size_t>(p.order[i]) * F + d * H],
                  h + static_cast<std::size_t>(i) * H, sizeof(float) * H);
  }

  // Inverted dropout on the final state; the mask is drawn in batch order.
  ctx.features = ctx.final_state;
  const float drop = config_.dropout;
  if (drop > 0.0f) {
    ctx.mask.resize(ctx.features.size());
    const float keep_scale = 1.0f / (1.0f - drop);
    for (std::size_t j = 0; j < ctx.mask.size(); ++j) {
      // 24 random bits -> uniform in [0, 1), the same on every standard library.
      const float u = static_cast<float>(rng() >> 40) * (1.0f / 16777216.0f);
      ctx.mask[j] = u >= drop ? keep_scale : 0.0f;
      ctx.features[j] *= ctx.mask[j];
    }
  } else {
    ctx.mask.clear();
  }
  dense(ctx.features.data(), B, logits);
}

void Gru::backward(TrainContext& base_ctx, const Batch& batch, const float* dlogits, Gradients& grads) const {
  GruContext& ctx = dynamic_cast<GruContext&>(base_ctx);
  const int B = batch.batch, E = config_.embedding_dim, H = config_.hidden, G = 3 * H, C = config_.num_classes;
  const int D = directions(), F = D * H;
  const Packing& p = ctx.packing;
  const int N = p.tokens;
  if (B == 0) return;
  if (static_cast<int>(p.order.size()) != B)
    throw std::logic_error("GRU backward: the batch does not match the last forward_train on this context");

  // Gradient slots follow parameters(): embedding, 4 per direction, fc.weight, fc.bias.
  Tensor& g_emb = grads[0];
  Tensor& g_fc_w = grads[1 + 4 * D];
  Tensor& g_fc_b = grads[2 + 4 * D];

  // Dense layer.
  sgemm(true, false, C, F, B, 1.0f, dlogits, C, ctx.features.data(), F, 1.0f, g_fc_w.ptr(), F);
  add_column_sums(dlogits, B, C, g_fc_b.ptr());
  ensure(ctx.dfeatures, static_cast<std::size_t>(B) * F);
  sgemm(false, false, B, F, C, 1.0f, dlogits, C, fc_weight_.value.ptr(), F, 0.0f, ctx.dfeatures.data(), F);
  if (!ctx.mask.empty())
    for (std::size_t j = 0; j < static_cast<std::size_t>(B) * F; ++j) ctx.dfeatures[j] *= ctx.mask[j];

  ensure(ctx.dh, static_cast<std::size_t>(B) * H);
  ensure(ctx.dgi, static_cast<std::size_t>(N) * G);
  ensure(ctx.dgh, static_cast<std::size_t>(N) * G);
  ensure(ctx.dx, static_cast<std::size_t>(N) * E);
  for (int d = 0; d < D; ++d) {
    const Direction& w = dir_[d];
    const GruContext::PerDirection& c = ctx.dir[d];
    Tensor& g_w_ih = grads[1 + 4 * d];
    Tensor& g_w_hh = grads[2 + 4 * d];
    Tensor& g_b_ih = grads[3 + 4 * d];
    Tensor& g_b_hh = grads[4 + 4 * d];

    // dL/d(final state) in sorted order; a row's entry waits untouched until
    // the loop reaches that row's last step.
    float* dh = ctx.dh.data();
    for (int i = 0; i < B; ++i)
      std::memcpy(dh + static_cast<std::size_t>(i) * H, &ctx.dfeatures[static_cast<std::size_t>(p.order[i]) * F + d * H],
                  sizeof(float) * H);

    for (int t = p.steps - 1; t >= 0; --t) {
      const int n = p.active[t], off = p.offset[t];
      for (int i = 0; i < n; ++i) {
        const std::size_t k = static_cast<std::size_t>(off + i);
        gru_cell_backward(H, &c.gates[k * G], &c.ghn[k * H], &c.h_prev[k * H], dh + static_cast<std::size_t>(i) * H,
                          &ctx.dgi[k * G], &ctx.dgh[k * G]);
      }
      // dh_prev = z * dh (done by the cell) + dgh . W_hh; the initial state needs no gradient.
      if (t > 0)
        sgemm(false, false, n, H, G, 1.0f, &ctx.dgh[static_cast<std::size_t>(off) * G], G, w.weight_hh.value.ptr(), H,
              1.0f, dh, H);
    }

    // Weight gradients for all steps at once.
    sgemm(true, false, G, H, N, 1.0f, ctx.dgh.data(), G, c.h_prev.data(), H, 1.0f, g_w_hh.ptr(), H);
    sgemm(true, false, G, E, N, 1.0f, ctx.dgi.data(), G, c.x.data(), E, 1.0f, g_w_ih.ptr(), E);
    add_column_sums(ctx.dgh.data(), N, G, g_b_hh.ptr());
    add_column_sums(ctx.dgi.data(), N, G, g_b_ih.ptr());

    // Embedding rows: dx = dgi . W_ih, scattered by token (never into the padding row).
    sgemm(false, false, N, E, G, 1.0f, ctx.dgi.data(), G, w.weight_ih.value.ptr(), E, 0.0f, ctx.dx.data(), E);
    for (int k = 0; k < N; ++k) {
      const int32_t tok = c.tokens[k];
      if (tok == config_.pad_id) continue;
      float* dst = g_emb.ptr() + static_cast<int64_t>(tok) * E;
      const float* src = &ctx.dx[static_cast<std::size_t>(k) * E];
      for (int e = 0; e < E; ++e) dst[e] += src[e];
    }
  }
}

// The plain path, straight from the equations: one row at a time, dot products
// in double, std::exp / std::tanh. Slow, and independent of the packing,
// sgemm, the cell kernels and the tables -- which is what makes it a reference.
void Gru::forward_reference(const Batch& batch, float* logits) const {
  check_batch(batch);
  const int E = config_.embedding_dim, H = config_.hidden, C = config_.num_classes;
  const int D = directions(), F = D * H;
  std::vector<double> h(H), gi(3 * H), gh(3 * H), features(F);
  for (int b = 0; b < batch.batch; ++b) {
    const int len = batch.lengths[b];
    const int32_t* row = batch.ids + static_cast<int64_t>(b) * batch.seq_len;
    for (int d = 0; d < D; ++d) {
      const Direction& w = dir_[d];
      std::fill(h.begin(), h.end(), 0.0);
      for (int s = 0; s < len; ++s) {
        const int pos = d == 0 ? s : len - 1 - s;
        const float* x = embedding_.value.ptr() + static_cast<int64_t>(row[pos]) * E;
        for (int g = 0; g < 3 * H; ++g) {
          double a = w.bias_ih.value.data[g], c = w.bias_hh.value.data[g];
          for (int e = 0; e < E; ++e) a += double(w.weight_ih.value.data[static_cast<std::size_t>(g) * E + e]) * x[e];
          for (int k = 0; k < H; ++k) c += double(w.weight_hh.value.data[static_cast<std::size_t>(g) * H + k]) * h[k];
          gi[g] = a;
          gh[g] = c;
        }
        for (int j = 0; j < H; ++j) {
          const double r = 1.0 / (1.0 + std::exp(-(gi[j] + gh[j])));
          const double z = 1.0 / (1.0 + std::exp(-(gi[H + j] + gh[H + j])));
          const double n = std::tanh(gi[2 * H + j] + r * gh[2 * H + j]);
          h[j] = (1.0 - z) * n + z * h[j];
        }
      }
      for (int j = 0; j < H; ++j) features[d * H + j] = h[j];
    }
    for (int c = 0; c < C; ++c) {
      double s = fc_bias_.value.data[c];
      for (int f = 0; f < F; ++f) s += double(fc_weight_.value.data[static_cast<std::size_t>(c) * F + f]) * features[f];
      logits[static_cast<std::size_t>(b) * C + c] = static_cast<float>(s);
    }
  }
}

void Gru::prepare_inference() {
  const int V = config_.vocab_size, E = config_.embedding_dim, G = 3 * config_.hidden;
  for (int d = 0; d < 2; ++d) {
    if (d >= directions()) {
      input_table_[d].clear();
      continue;
    }
    input_table_[d].assign(static_cast<std::size_t>(V) * G, 0.0f);
    sgemm(false, true, V, G, E, 1.0f, embedding_.value.ptr(), E, dir_[d].weight_ih.value.ptr(), E, 0.0f,
          input_table_[d].data(), G);
    add_bias_rows(input_table_[d].data(), V, G, dir_[d].bias_ih.value.ptr());
  }
  prepared_ = true;
  release_free_memory();
}

void Gru::forward_fast(const Batch& batch, float* logits) const {
  if (!prepared_) throw std::logic_error("GRU: forward_fast called before prepare_inference()");
  check_batch(batch);
  const int B = batch.batch, H = config_.hidden, G = 3 * H;
  const int D = directions(), F = D * H;
  if (B == 0) return;
  const Packing p = make_packing(batch);
  std::vector<float> h(static_cast<std::size_t>(B) * H), gh(static_cast<std::size_t>(B) * G),
      features(static_cast<std::size_t>(B) * F);
  for (int d = 0; d < D; ++d) {
    const Direction& w = dir_[d];
    const float* table = input_table_[d].data();
    std::fill(h.begin(), h.end(), 0.0f);
    for (int t = 0; t < p.steps; ++t) {
      const int n = p.active[t];
      // Row-independent (see dense): the step's result for a text is the same in any batch.
      sgemm_rows_independent(true, n, G, H, 1.0f, h.data(), H, w.weight_hh.value.ptr(), H, 0.0f, gh.data(), G);
      for (int i = 0; i < n; ++i) {
        const float* gi = table + static_cast<int64_t>(token_at(batch, p, d, t, i)) * G;
        float* hi = &h[static_cast<std::size_t>(i) * H];
        gru_cell_forward(H, gi, &gh[static_cast<std::size_t>(i) * G], w.bias_hh.value.ptr(), hi, hi, nullptr, nullptr);
      }
    }
    for (int i = 0; i < B; ++i)
      std::memcpy(&features[static_cast<std::size_t>(p.order[i]) * F + d * H], &h[static_cast<std::size_t>(i) * H],
                  sizeof(float) * H);
  }
  dense(features.data(), B, logits, true);
}

}  // namespace md
