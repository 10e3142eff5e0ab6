#include "transformer.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <stdexcept>
#include <string>

#include "transformer_ops.h"

namespace md {

namespace {

// Offsets of one layer's 16 tensors from the layer's first index in params_.
enum LayerTensor {
  kQueryW, kQueryB, kKeyW, kKeyB, kValueW, kValueB,
  kAttnOutW, kAttnOutB, kAttnLnW, kAttnLnB,
  kInterW, kInterB, kOutW, kOutB, kOutLnW, kOutLnB,
  kTensorsPerLayer
};
enum EmbeddingTensor { kWordEmb, kPosEmb, kTypeEmb, kEmbLnW, kEmbLnB };

// ---- seeded initialisation (own transforms: std:: distributions differ between
// standard libraries, and a seed must give the same model everywhere) ---------
double uniform01(Rng& rng) { return static_cast<double>(rng() >> 11) * (1.0 / 9007199254740992.0); }

void fill_normal(Tensor& t, double stddev, Rng& rng) {
  for (std::size_t i = 0; i < t.data.size(); i += 2) {
    const double u1 = 1.0 - uniform01(rng), u2 = uniform01(rng);
    const double r = std::sqrt(-2.0 * std::log(u1)) * stddev;
    t.data[i] = static_cast<float>(r * std::cos(2.0 * M_PI * u2));
    if (i + 1 < t.data.size()) t.data[i + 1] = static_cast<float>(r * std::sin(2.0 * M_PI * u2));
  }
}

// Inverted dropout mask: each entry 1/keep with probability keep, else 0.
void draw_mask(std::vector<float>& mask, std::size_t n, float rate, Rng& rng) {
  const float keep = 1.0f - rate, scale = 1.0f / keep;
  mask.resize(n);
  for (std::size_t i = 0; i < n; ++i) {
    const float u = static_cast<float>(rng() >> 40) * (1.0f / 16777216.0f);  // 24-bit uniform in [0, 1)
    mask[i] = u < keep ? scale : 0.0f;
  }
}

void multiply(std::vector<float>& x, const std::vector<float>& mask) {
  for (std::size_t i = 0; i < x.size(); ++i) x[i] *= mask[i];
}

}  // namespace

// ---- caches of one forward pass (per thread) ----------------------------------

struct Transformer::Context : TrainContext {
  struct Layer {
    std::vector<float> x;          // [N, H] input (previous layer's output)
    std::vector<float> qkv;        // [N, 3H]
    std::vector<float> probs;      // per row: [heads, L, L] softmax before dropout
    std::vector<float> prob_mask;  // same layout; empty = no attention dropout
    std::vector<float> context;    // [N, H] heads concatenated
    std::vector<float> attn_mask;  // [N, H] dropout after the attention output dense; empty = none
    std::vector<float> xhat1, rstd1, h1;  // attention LayerNorm
    std::vector<float> u, g;       // [N, I] intermediate pre-activation and GELU(u)
    std::vector<float> ffn_mask;   // [N, H]
    std::vector<float> xhat2, rstd2;
  };
  std::vector<int> offset;              // B + 1 prefix sums of lengths: row b is tokens [offset[b], offset[b+1])
  std::vector<std::size_t> prob_offset; // B + 1: row b's block in Layer::probs
  int tokens = 0;
  int rows = 0;
  bool encoded = false;  // encode() ran on this context (backward needs it)
  std::vector<float> emb_xhat, emb_rstd, emb_mask;
  std::vector<Layer> layer;
  std::vector<float> final_hidden;      // [N, H] (training; inference leaves it in layer[0].x)
  const float* final = nullptr;         // the final hidden states [N, H] of the last encode()
  std::vector<float> cls, pooled, head_mask, head_in;  // [B, H]
  // scratch
  std::vector<float> sum, attn_scratch;
  std::vector<float> dA, dB, d_h1, d_u, d_ctx, d_qkv, d_head, d_cls;
};

// ---- config and construction ---------------------------------------------------

void TransformerConfig::validate() const {
  auto bad = [](const std::string& field, const std::string& why) {
    throw std::invalid_argument("TransformerConfig: " + field + " " + why);
  };
  auto at_least = [&](const char* field, int value, int min) {
    if (value < min) bad(field, "must be >= " + std::to_string(min) + ", got " + std::to_string(value));
  };
  at_least("vocab_size", vocab_size, 1);
  at_least("hidden", hidden, 1);
  at_least("layers", layers, 1);
  at_least("heads", heads, 1);
  at_least("intermediate", intermediate, 1);
  at_least("max_positions", max_positions, 1);
  at_least("type_vocab_size", type_vocab_size, 1);
  at_least("num_classes", num_classes, 1);
  if (hidden % heads != 0)
    bad("hidden", "must be a multiple of heads (" + std::to_string(heads) + "), got " + std::to_string(hidden));
  if (!(dropout >= 0.0f && dropout < 1.0f)) bad("dropout", "must be in [0, 1), got " + std::to_string(dropout));
  if (!(attention_dropout >= 0.0f && attention_dropout < 1.0f))
    bad("attention_dropout", "must be in [0, 1), got " + std::to_string(attention_dropout));
  if (!(layer_norm_eps > 0.0f)) bad("layer_norm_eps", "must be > 0, got " + std::to_string(layer_norm_eps));
  if (pad_id < 0 || pad_id >= vocab_size) bad("pad_id", "must be in [0, vocab_size), got " + std::to_string(pad_id));
}

Transformer::Transformer(const TransformerConfig& config, uint64_t seed) : config_(config) {
  config_.validate();
  const int64_t V = config_.vocab_size, H = config_.hidden, I = config_.intermediate, C = config_.num_classes;
  auto add = [&](const std::string& name, std::vector<int64_t> shape, bool no_decay) {
    Parameter p;
    p.name = name;
    p.value = Tensor(std::move(shape));
    p.no_decay = no_decay;
    params_.push_back(std::move(p));
  };
  add("bert.embeddings.word_embeddings.weight", {V, H}, false);
  add("bert.embeddings.position_embeddings.weight", {config_.max_positions, H}, false);
  add("bert.embeddings.token_type_embeddings.weight", {config_.type_vocab_size, H}, false);
  add("bert.embeddings.LayerNorm.weight", {H}, true);
  add("bert.embeddings.LayerNorm.bias", {H}, true);
  for (int l = 0; l < config_.layers; ++l) {
    const std::string p = "bert.encoder.layer." + std::to_string(l) + ".";
    for (const char* qkv : {"query", "key", "value"}) {
      add(p + "attention.self." + qkv + ".weight", {H, H}, false);
      add(p + "attention.self." + qkv + ".bias", {H}, true);
    }
    add(p + "attention.output.dense.weight", {H, H}, false);
    add(p + "attention.output.dense.bias", {H}, true);
    add(p + "attention.output.LayerNorm.weight", {H}, true);
    add(p + "attention.output.LayerNorm.bias", {H}, true);
    add(p + "intermediate.dense.weight", {I, H}, false);
    add(p + "intermediate.dense.bias", {I}, true);
    add(p + "output.dense.weight", {H, I}, false);
    add(p + "output.dense.bias", {H}, true);
    add(p + "output.LayerNorm.weight", {H}, true);
    add(p + "output.LayerNorm.bias", {H}, true);
  }
  if (config_.pooler) {
    pooler_index_ = static_cast<int>(params_.size());
    add("bert.pooler.dense.weight", {H, H}, false);
    add("bert.pooler.dense.bias", {H}, true);
  }
  classifier_index_ = static_cast<int>(params_.size());
  add("classifier.weight", {C, H}, false);
  add("classifier.bias", {C}, true);

  // BERT's _init_weights: Linear and Embedding weights N(0, initializer_range = 0.02),
  // biases 0, LayerNorm 1 / 0, the padding row of the word embeddings 0.
  Rng rng(seed);
  for (Parameter& p : params_) {
    const bool is_layer_norm = p.name.find("LayerNorm") != std::string::npos;
    if (is_layer_norm && p.name.compare(p.name.size() - 7, 7, ".weight") == 0)
      std::fill(p.value.data.begin(), p.value.data.end(), 1.0f);
    else if (!p.no_decay)
      fill_normal(p.value, 0.02, rng);
  }
  std::fill_n(params_[kWordEmb].value.ptr() + static_cast<std::size_t>(config_.pad_id) * H, H, 0.0f);
}

std::vector<Parameter*> Transformer::parameters() {
  std::vector<Parameter*> out;
  for (Parameter& p : params_) out.push_back(&p);
  return out;
}

int Transformer::parameter_index(const std::string& name) const {
  for (std::size_t i = 0; i < params_.size(); ++i)
    if (params_[i].name == name) return static_cast<int>(i);
  return -1;
}

void Transformer::check_batch(const Batch& batch) const {
  if (batch.batch < 0) throw std::invalid_argument("Transformer: negative batch size " + std::to_string(batch.batch));
  if (batch.batch == 0) return;
  if (batch.ids == nullptr || batch.lengths == nullptr || batch.seq_len < 1)
    throw std::invalid_argument("Transformer: batch has no ids, no lengths or seq_len < 1");
  for (int b = 0; b < batch.batch; ++b) {
    const int L = batch.lengths[b];
    if (L < 1 || L > batch.seq_len)
      throw std::invalid_argument("Transformer: length " + std::to_string(L) + " of batch row " + std::to_string(b) +
                                  " is outside [1, seq_len=" + std::to_string(batch.seq_len) + "]");
    if (L > config_.max_positions)
      throw std::invalid_argument("Transformer: batch row " + std::to_string(b) + " has " + std::to_string(L) +
                                  " tokens, more than max_positions=" + std::to_string(config_.max_positions) +
                                  " (truncate texts to at most max_positions tokens)");
    const int32_t* ids = batch.ids + static_cast<std::size_t>(b) * batch.seq_len;
    for (int s = 0; s < L; ++s)
      if (ids[s] < 0 || ids[s] >= config_.vocab_size)
        throw std::invalid_argument("Transformer: token id " + std::to_string(ids[s]) + " at batch row " +
                                    std::to_string(b) + ", position " + std::to_string(s) +
                                    " is outside [0, vocab_size=" + std::to_string(config_.vocab_size) + ")");
  }
}

std::unique_ptr<TrainContext> Transformer::make_context() const { return std::make_unique<Context>(); }

// ---- the packed encoder ---------------------------------------------------------

const float* Transformer::encode(Context& ctx, const Batch& batch, Rng* rng, bool for_backward) const {
  using namespace tfops;
  const int B = batch.batch, H = config_.hidden, I = config_.intermediate, A = config_.heads, D = head_dim();
  const bool hidden_dropout = rng != nullptr && config_.dropout > 0.0f;
  const bool prob_dropout = rng != nullptr && config_.attention_dropout > 0.0f;

  ctx.rows = B;
  ctx.offset.assign(B + 1, 0);
  ctx.prob_offset.assign(B + 1, 0);
  for (int b = 0; b < B; ++b) {
    const std::size_t L = batch.lengths[b];
    ctx.offset[b + 1] = ctx.offset[b] + batch.lengths[b];
    ctx.prob_offset[b + 1] = ctx.prob_offset[b] + A * L * L;
  }
  const int N = ctx.offset[B];
  const std::size_t NH = static_cast<std::size_t>(N) * H;
  ctx.tokens = N;
  ctx.layer.resize(config_.layers);

  // Embeddings: word + position + token type 0, LayerNorm, dropout.
  ctx.sum.resize(NH);
  const float* word = w(kWordEmb);
  const float* pos = w(kPosEmb);
  const float* type0 = w(kTypeEmb);
  for (int b = 0; b < B; ++b) {
    const int32_t* ids = batch.ids + static_cast<std::size_t>(b) * batch.seq_len;
    for (int t = 0; t < batch.lengths[b]; ++t) {
      float* e = ctx.sum.data() + static_cast<std::size_t>(ctx.offset[b] + t) * H;
      const float* we = word + static_cast<std::size_t>(ids[t]) * H;
      const float* pe = pos + static_cast<std::size_t>(t) * H;
      for (int j = 0; j < H; ++j) e[j] = we[j] + pe[j] + type0[j];
    }
  }
  Context::Layer& first = ctx.layer[0];
  first.x.resize(NH);
  ctx.emb_xhat.resize(NH);
  ctx.emb_rstd.resize(N);
  layer_norm_forward(N, H, ctx.sum.data(), w(kEmbLnW), w(kEmbLnB), config_.layer_norm_eps, first.x.data(),
                     ctx.emb_xhat.data(), ctx.emb_rstd.data());
  ctx.emb_mask.clear();
  if (hidden_dropout) {
    draw_mask(ctx.emb_mask, NH, config_.dropout, *rng);
    multiply(first.x, ctx.emb_mask);
  }

  int longest = 0;
  for (int b = 0; b < B; ++b) longest = std::max(longest, batch.lengths[b]);
  ctx.attn_scratch.resize(static_cast<std::size_t>(longest) * longest);

  for (int l = 0; l < config_.layers; ++l) {
    const int base = layer_base_ + l * kTensorsPerLayer;
    // Backward needs every layer's activations. Inference runs every layer in layer[0]'s
    // buffers and writes the output over the input x (whose last read, the attention
    // residual, comes before it): a working set of one layer, not L (cache-resident for a
    // batch of short texts; no fresh pages per layer). Same arithmetic either way.
    Context::Layer& c = for_backward ? ctx.layer[l] : ctx.layer[0];
    std::vector<float>& out =
        !for_backward ? c.x : l + 1 < config_.layers ? ctx.layer[l + 1].x : ctx.final_hidden;
    out.resize(NH);

    // Q, K, V side by side in one [N, 3H] matrix.
    c.qkv.resize(NH * 3);
    for (int j = 0; j < 3; ++j)
      linear_forward(N, H, H, c.x.data(), H, w(base + kQueryW + 2 * j), w(base + kQueryB + 2 * j), c.qkv.data() + j * H,
                     3 * H);
    c.probs.resize(ctx.prob_offset[B]);
    c.prob_mask.clear();
    if (prob_dropout) draw_mask(c.prob_mask, ctx.prob_offset[B], config_.attention_dropout, *rng);
    c.context.resize(NH);
    for (int b = 0; b < B; ++b) {
      const int L = batch.lengths[b];
      const std::size_t o = ctx.offset[b];
      attention_forward(L, L, A, D, c.qkv.data() + o * 3 * H, 3 * H, c.probs.data() + ctx.prob_offset[b],
                        prob_dropout ? c.prob_mask.data() + ctx.prob_offset[b] : nullptr, c.context.data() + o * H, H,
                        ctx.attn_scratch.data());
    }
    // h1 = LayerNorm(x + dropout(context Wo^T + bo))
    linear_forward(N, H, H, c.context.data(), H, w(base + kAttnOutW), w(base + kAttnOutB), ctx.sum.data(), H);
    c.attn_mask.clear();
    if (hidden_dropout) {
      draw_mask(c.attn_mask, NH, config_.dropout, *rng);
      multiply(ctx.sum, c.attn_mask);
    }
    for (std::size_t i = 0; i < NH; ++i) ctx.sum[i] += c.x[i];
    c.h1.resize(NH);
    c.xhat1.resize(NH);
    c.rstd1.resize(N);
    layer_norm_forward(N, H, ctx.sum.data(), w(base + kAttnLnW), w(base + kAttnLnB), config_.layer_norm_eps,
                       c.h1.data(), c.xhat1.data(), c.rstd1.data());
    // out = LayerNorm(h1 + dropout(GELU(h1 W1^T + b1) W2^T + b2))
    const std::size_t NI = static_cast<std::size_t>(N) * I;
    c.u.resize(NI);
    c.g.resize(NI);
    linear_forward(N, H, I, c.h1.data(), H, w(base + kInterW), w(base + kInterB), c.u.data(), I);
    gelu_forward(NI, c.u.data(), c.g.data());
    linear_forward(N, I, H, c.g.data(), I, w(base + kOutW), w(base + kOutB), ctx.sum.data(), H);
    c.ffn_mask.clear();
    if (hidden_dropout) {
      draw_mask(c.ffn_mask, NH, config_.dropout, *rng);
      multiply(ctx.sum, c.ffn_mask);
    }
    for (std::size_t i = 0; i < NH; ++i) ctx.sum[i] += c.h1[i];
    c.xhat2.resize(NH);
    c.rstd2.resize(N);
    layer_norm_forward(N, H, ctx.sum.data(), w(base + kOutLnW), w(base + kOutLnB), config_.layer_norm_eps, out.data(),
                       c.xhat2.data(), c.rstd2.data());
  }
  ctx.encoded = for_backward;
  ctx.final = for_backward ? ctx.final_hidden.data() : ctx.layer[0].x.data();
  return ctx.final;
}

void Transformer::encode_backward(Context& ctx, const Batch& batch, float* dfinal, Gradients& grads) const {
  using namespace tfops;
  const int B = batch.batch, H = config_.hidden, I = config_.intermediate, A = config_.heads, D = head_dim();
  const int N = ctx.tokens;
  const std::size_t NH = static_cast<std::size_t>(N) * H;
  if (N == 0) return;
  auto g = [&](int index) { return grads[index].ptr(); };

  // dA: gradient w.r.t. the current layer's output; dB: w.r.t. its input.
  ctx.dA.assign(dfinal, dfinal + NH);
  ctx.dB.resize(NH);
  ctx.d_h1.resize(NH);
  ctx.d_ctx.resize(NH);
  ctx.d_qkv.resize(NH * 3);
  ctx.d_u.resize(static_cast<std::size_t>(N) * I);
  int longest = 0;
  for (int b = 0; b < B; ++b) longest = std::max(longest, batch.lengths[b]);
  ctx.attn_scratch.resize(2 * static_cast<std::size_t>(longest) * longest);

  for (int l = config_.layers - 1; l >= 0; --l) {
    const int base = layer_base_ + l * kTensorsPerLayer;
    Context::Layer& c = ctx.layer[l];
    // Output LayerNorm, in place: dA = d(h1 + dropout(ffn)).
    layer_norm_backward(N, H, ctx.dA.data(), c.xhat2.data(), c.rstd2.data(), w(base + kOutLnW), ctx.dA.data(),
                        g(base + kOutLnW), g(base + kOutLnB));
    std::copy(ctx.dA.begin(), ctx.dA.end(), ctx.d_h1.begin());  // residual path
    if (!c.ffn_mask.empty()) multiply(ctx.dA, c.ffn_mask);
    linear_backward(N, I, H, c.g.data(), I, ctx.dA.data(), H, w(base + kOutW), g(base + kOutW), g(base + kOutB),
                    ctx.d_u.data(), I, false);
    gelu_backward(ctx.d_u.size(), c.u.data(), ctx.d_u.data(), ctx.d_u.data());
    linear_backward(N, H, I, c.h1.data(), H, ctx.d_u.data(), I, w(base + kInterW), g(base + kInterW),
                    g(base + kInterB), ctx.d_h1.data(), H, true);
    // Attention LayerNorm, in place: d_h1 = d(x + dropout(attention output)).
    layer_norm_backward(N, H, ctx.d_h1.data(), c.xhat1.data(), c.rstd1.data(), w(base + kAttnLnW), ctx.d_h1.data(),
                        g(base + kAttnLnW), g(base + kAttnLnB));
    std::copy(ctx.d_h1.begin(), ctx.d_h1.end(), ctx.dB.begin());  // residual path
    if (!c.attn_mask.empty()) multiply(ctx.d_h1, c.attn_mask);
    linear_backward(N, H, H, c.context.data(), H, ctx.d_h1.data(), H, w(base + kAttnOutW), g(base + kAttnOutW),
                    g(base + kAttnOutB), ctx.d_ctx.data(), H, false);
    for (int b = 0; b < B; ++b) {
      const int L = batch.lengths[b];
      const std::size_t o = ctx.offset[b];
      attention_backward(L, L, A, D, c.qkv.data() + o * 3 * H, 3 * H, c.probs.data() + ctx.prob_offset[b],
                         c.prob_mask.empty() ? nullptr : c.prob_mask.data() + ctx.prob_offset[b],
                         ctx.d_ctx.data() + o * H, H, ctx.d_qkv.data() + o * 3 * H, 3 * H, ctx.attn_scratch.data());
    }
    for (int j = 0; j < 3; ++j)
      linear_backward(N, H, H, c.x.data(), H, ctx.d_qkv.data() + j * H, 3 * H, w(base + kQueryW + 2 * j),
                      g(base + kQueryW + 2 * j), g(base + kQueryB + 2 * j), ctx.dB.data(), H, true);
    std::swap(ctx.dA, ctx.dB);
  }

  // Embeddings: dropout, LayerNorm, then scatter to the looked-up rows.
  if (!ctx.emb_mask.empty()) multiply(ctx.dA, ctx.emb_mask);
  layer_norm_backward(N, H, ctx.dA.data(), ctx.emb_xhat.data(), ctx.emb_rstd.data(), w(kEmbLnW), ctx.dA.data(),
                      g(kEmbLnW), g(kEmbLnB));
  float* g_word = g(kWordEmb);
  float* g_pos = g(kPosEmb);
  float* g_type0 = g(kTypeEmb);
  for (int b = 0; b < B; ++b) {
    const int32_t* ids = batch.ids + static_cast<std::size_t>(b) * batch.seq_len;
    for (int t = 0; t < batch.lengths[b]; ++t) {
      const float* d = ctx.dA.data() + static_cast<std::size_t>(ctx.offset[b] + t) * H;
      float* gp = g_pos + static_cast<std::size_t>(t) * H;
      for (int j = 0; j < H; ++j) {
        gp[j] += d[j];
        g_type0[j] += d[j];
      }
      if (ids[t] == config_.pad_id) continue;  // padding_idx: that row never learns
      float* gw = g_word + static_cast<std::size_t>(ids[t]) * H;
      for (int j = 0; j < H; ++j) gw[j] += d[j];
    }
  }
}

// ---- classification head ------------------------------------------------------

void Transformer::head_forward(Context& ctx, int B, Rng* rng, float* logits) const {
  const int H = config_.hidden, C = config_.num_classes;
  const std::size_t BH = static_cast<std::size_t>(B) * H;
  ctx.cls.resize(BH);
  for (int b = 0; b < B; ++b)
    std::copy_n(ctx.final + static_cast<std::size_t>(ctx.offset[b]) * H, H,
                ctx.cls.data() + static_cast<std::size_t>(b) * H);
  if (config_.pooler) {
    ctx.pooled.resize(BH);
    tfops::linear_forward(B, H, H, ctx.cls.data(), H, w(pooler_index_), w(pooler_index_ + 1), ctx.pooled.data(), H);
    for (float& x : ctx.pooled) x = std::tanh(x);
  } else {
    ctx.pooled = ctx.cls;
  }
  ctx.head_in = ctx.pooled;
  ctx.head_mask.clear();
  if (rng != nullptr && config_.dropout > 0.0f) {
    draw_mask(ctx.head_mask, BH, config_.dropout, *rng);
    multiply(ctx.head_in, ctx.head_mask);
  }
  tfops::linear_forward(B, H, C, ctx.head_in.data(), H, w(classifier_index_), w(classifier_index_ + 1), logits, C);
}

// ---- StudentModel interface -----------------------------------------------------

void Transformer::forward_train(TrainContext& base_ctx, const Batch& batch, Rng& rng, float* logits) const {
  check_batch(batch);
  auto& ctx = static_cast<Context&>(base_ctx);
  encode(ctx, batch, &rng, true);
  head_forward(ctx, batch.batch, &rng, logits);
}

void Transformer::backward(TrainContext& base_ctx, const Batch& batch, const float* dlogits, Gradients& grads) const {
  auto& ctx = static_cast<Context&>(base_ctx);
  if (grads.size() != params_.size())
    throw std::invalid_argument("Transformer::backward: gradients do not match parameters()");
  if (!ctx.encoded || ctx.rows != batch.batch)
    throw std::logic_error("Transformer::backward: call forward_train on this context and batch first");
  const int B = batch.batch, H = config_.hidden, C = config_.num_classes;
  if (B == 0) return;
  const std::size_t BH = static_cast<std::size_t>(B) * H;
  ctx.d_head.resize(BH);
  tfops::linear_backward(B, H, C, ctx.head_in.data(), H, dlogits, C, w(classifier_index_),
                         grads[classifier_index_].ptr(), grads[classifier_index_ + 1].ptr(), ctx.d_head.data(), H,
                         false);
  if (!ctx.head_mask.empty()) multiply(ctx.d_head, ctx.head_mask);
  const float* d_cls = ctx.d_head.data();
  if (config_.pooler) {
    for (std::size_t i = 0; i < BH; ++i) ctx.d_head[i] *= 1.0f - ctx.pooled[i] * ctx.pooled[i];  // tanh'
    ctx.d_cls.resize(BH);
    tfops::linear_backward(B, H, H, ctx.cls.data(), H, ctx.d_head.data(), H, w(pooler_index_),
                           grads[pooler_index_].ptr(), grads[pooler_index_ + 1].ptr(), ctx.d_cls.data(), H, false);
    d_cls = ctx.d_cls.data();
  }
  // Only the [CLS] rows of the final hidden states reach the logits.
  std::vector<float>& dfinal = ctx.sum;
  dfinal.assign(static_cast<std::size_t>(ctx.tokens) * H, 0.0f);
  for (int b = 0; b < B; ++b)
    std::copy_n(d_cls + static_cast<std::size_t>(b) * H, H, dfinal.data() + static_cast<std::size_t>(ctx.offset[b]) * H);
  encode_backward(ctx, batch, dfinal.data(), grads);
}

void Transformer::forward_hidden_train(TrainContext& base_ctx, const Batch& batch, Rng& rng, float* hidden) const {
  check_batch(batch);
  auto& ctx = static_cast<Context&>(base_ctx);
  const float* packed = encode(ctx, batch, &rng, true);
  const int H = config_.hidden;
  std::fill_n(hidden, static_cast<std::size_t>(batch.batch) * batch.seq_len * H, 0.0f);
  for (int b = 0; b < batch.batch; ++b)
    std::copy_n(packed + static_cast<std::size_t>(ctx.offset[b]) * H, static_cast<std::size_t>(batch.lengths[b]) * H,
                hidden + static_cast<std::size_t>(b) * batch.seq_len * H);
}

void Transformer::backward_hidden(TrainContext& base_ctx, const Batch& batch, const float* dhidden,
                                  Gradients& grads) const {
  auto& ctx = static_cast<Context&>(base_ctx);
  if (grads.size() != params_.size())
    throw std::invalid_argument("Transformer::backward_hidden: gradients do not match parameters()");
  if (!ctx.encoded || ctx.rows != batch.batch)
    throw std::logic_error("Transformer::backward_hidden: call forward_hidden_train on this context and batch first");
  const int H = config_.hidden;
  std::vector<float>& dfinal = ctx.sum;
  dfinal.resize(static_cast<std::size_t>(ctx.tokens) * H);
  for (int b = 0; b < batch.batch; ++b)
    std::copy_n(dhidden + static_cast<std::size_t>(b) * batch.seq_len * H,
                static_cast<std::size_t>(batch.lengths[b]) * H,
                dfinal.data() + static_cast<std::size_t>(ctx.offset[b]) * H);
  encode_backward(ctx, batch, dfinal.data(), grads);
}

void Transformer::hidden_states(const Batch& batch, float* hidden) const {
  check_batch(batch);
  Context ctx;
  const float* packed = encode(ctx, batch, nullptr, false);
  const int H = config_.hidden;
  std::fill_n(hidden, static_cast<std::size_t>(batch.batch) * batch.seq_len * H, 0.0f);
  for (int b = 0; b < batch.batch; ++b)
    std::copy_n(packed + static_cast<std::size_t>(ctx.offset[b]) * H, static_cast<std::size_t>(batch.lengths[b]) * H,
                hidden + static_cast<std::size_t>(b) * batch.seq_len * H);
}

void Transformer::forward_fast(const Batch& batch, float* logits) const {
  check_batch(batch);
  // One cache per thread, reused across calls (its buffers only grow).
  thread_local Context ctx;
  encode(ctx, batch, nullptr, false);
  head_forward(ctx, batch.batch, nullptr, logits);
}

double Transformer::forward_flops(const int32_t* lengths, int rows) const {
  const double H = config_.hidden, I = config_.intermediate, C = config_.num_classes;
  double flops = 0;
  for (int b = 0; b < rows; ++b) {
    const double L = lengths[b];
    // per layer: Q, K, V and output projections (4 L H^2), FFN (2 L H I), scores + contexts (2 L^2 H)
    flops += config_.layers * 2.0 * (4.0 * L * H * H + 2.0 * L * H * I + 2.0 * L * L * H);
    flops += 2.0 * ((config_.pooler ? H * H : 0.0) + H * C);
  }
  return flops;
}

// ---- reference path: plain loops from the definition, in double ------------------

namespace {

using Vec = std::vector<double>;

// y[L, out] = x[L, in] W^T + b, W [out, in] float.
Vec ref_linear(const Vec& x, int L, int in, int out, const float* W, const float* b) {
  Vec y(static_cast<std::size_t>(L) * out);
  for (int t = 0; t < L; ++t)
    for (int o = 0; o < out; ++o) {
      double s = b[o];
      for (int i = 0; i < in; ++i) s += x[static_cast<std::size_t>(t) * in + i] * W[static_cast<std::size_t>(o) * in + i];
      y[static_cast<std::size_t>(t) * out + o] = s;
    }
  return y;
}

void ref_layer_norm(Vec& x, int L, int H, const float* gamma, const float* beta, double eps) {
  for (int t = 0; t < L; ++t) {
    double* r = x.data() + static_cast<std::size_t>(t) * H;
    double mean = 0, var = 0;
    for (int j = 0; j < H; ++j) mean += r[j];
    mean /= H;
    for (int j = 0; j < H; ++j) var += (r[j] - mean) * (r[j] - mean);
    var /= H;
    for (int j = 0; j < H; ++j) r[j] = (r[j] - mean) / std::sqrt(var + eps) * gamma[j] + beta[j];
  }
}

}  // namespace

void Transformer::forward_reference(const Batch& batch, float* logits) const {
  check_batch(batch);
  const int H = config_.hidden, I = config_.intermediate, A = config_.heads, D = head_dim(), C = config_.num_classes;
  const double eps = config_.layer_norm_eps;
  for (int b = 0; b < batch.batch; ++b) {
    const int32_t* ids = batch.ids + static_cast<std::size_t>(b) * batch.seq_len;
    const int L = batch.lengths[b];  // the padding mask: only these L tokens exist for this row
    Vec x(static_cast<std::size_t>(L) * H);
    for (int t = 0; t < L; ++t)
      for (int j = 0; j < H; ++j)
        x[static_cast<std::size_t>(t) * H + j] = double(w(kWordEmb)[static_cast<std::size_t>(ids[t]) * H + j]) +
                                                 w(kPosEmb)[static_cast<std::size_t>(t) * H + j] + w(kTypeEmb)[j];
    ref_layer_norm(x, L, H, w(kEmbLnW), w(kEmbLnB), eps);
    for (int l = 0; l < config_.layers; ++l) {
      const int base = layer_base_ + l * kTensorsPerLayer;
      const Vec q = ref_linear(x, L, H, H, w(base + kQueryW), w(base + kQueryB));
      const Vec k = ref_linear(x, L, H, H, w(base + kKeyW), w(base + kKeyB));
      const Vec v = ref_linear(x, L, H, H, w(base + kValueW), w(base + kValueB));
      Vec context(static_cast<std::size_t>(L) * H, 0.0);
      Vec p(L);
      for (int h = 0; h < A; ++h)
        for (int t = 0; t < L; ++t) {
          double m = -1e300;
          for (int s = 0; s < L; ++s) {
            double dot = 0;
            for (int d = 0; d < D; ++d)
              dot += q[static_cast<std::size_t>(t) * H + h * D + d] * k[static_cast<std::size_t>(s) * H + h * D + d];
            p[s] = dot / std::sqrt(double(D));
            m = std::max(m, p[s]);
          }
          double sum = 0;
          for (int s = 0; s < L; ++s) sum += (p[s] = std::exp(p[s] - m));
          for (int s = 0; s < L; ++s)
            for (int d = 0; d < D; ++d)
              context[static_cast<std::size_t>(t) * H + h * D + d] +=
                  p[s] / sum * v[static_cast<std::size_t>(s) * H + h * D + d];
        }
      Vec h1 = ref_linear(context, L, H, H, w(base + kAttnOutW), w(base + kAttnOutB));
      for (std::size_t i = 0; i < h1.size(); ++i) h1[i] += x[i];
      ref_layer_norm(h1, L, H, w(base + kAttnLnW), w(base + kAttnLnB), eps);
      Vec u = ref_linear(h1, L, H, I, w(base + kInterW), w(base + kInterB));
      for (double& z : u) z = 0.5 * z * (1.0 + std::erf(z / std::sqrt(2.0)));
      x = ref_linear(u, L, I, H, w(base + kOutW), w(base + kOutB));
      for (std::size_t i = 0; i < x.size(); ++i) x[i] += h1[i];
      ref_layer_norm(x, L, H, w(base + kOutLnW), w(base + kOutLnB), eps);
    }
    Vec cls(x.begin(), x.begin() + H);  // position 0: [CLS]
    if (config_.pooler) {
      cls = ref_linear(cls, 1, H, H, w(pooler_index_), w(pooler_index_ + 1));
      for (double& z : cls) z = std::tanh(z);
    }
    const Vec out = ref_linear(cls, 1, H, C, w(classifier_index_), w(classifier_index_ + 1));
    for (int c = 0; c < C; ++c) logits[static_cast<std::size_t>(b) * C + c] = static_cast<float>(out[c]);
  }
}

}  // namespace md
