#include "mlm_head.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "gemm.h"
#include "transformer_ops.h"

namespace md {

namespace {

// Own transforms of the engine's output (std:: distributions differ between
// standard libraries; a seed must give the same masks everywhere).
double uniform01(Rng& rng) { return static_cast<double>(rng() >> 11) * (1.0 / 9007199254740992.0); }

void fill_normal(Tensor& t, double stddev, Rng& rng) {
  for (std::size_t i = 0; i < t.data.size(); i += 2) {
    const double u1 = 1.0 - uniform01(rng), u2 = uniform01(rng);
    const double r = std::sqrt(-2.0 * std::log(u1)) * stddev;
    t.data[i] = static_cast<float>(r * std::cos(2.0 * M_PI * u2));
    if (i + 1 < t.data.size()) t.data[i + 1] = static_cast<float>(r * std::sin(2.0 * M_PI * u2));
  }
}

enum HeadTensor { kDenseW, kDenseB, kLnW, kLnB, kDecoderBias };

}  // namespace

// ---- masking ----------------------------------------------------------------------

MaskingVocab::MaskingVocab(int vocab_size, int mask_id, const std::vector<int32_t>& special_ids)
    : vocab_size_(vocab_size), mask_id_(mask_id) {
  if (vocab_size < 1) throw std::invalid_argument("MaskingVocab: vocab_size must be >= 1, got " + std::to_string(vocab_size));
  if (mask_id < 0 || mask_id >= vocab_size)
    throw std::invalid_argument("MaskingVocab: mask id " + std::to_string(mask_id) + " is outside [0, " +
                                std::to_string(vocab_size) + ")");
  special_.assign(static_cast<std::size_t>(vocab_size), 0);
  special_[static_cast<std::size_t>(mask_id)] = 1;
  for (int32_t id : special_ids) {
    if (id < 0 || id >= vocab_size)
      throw std::invalid_argument("MaskingVocab: special id " + std::to_string(id) + " is outside [0, " +
                                  std::to_string(vocab_size) + ")");
    special_[static_cast<std::size_t>(id)] = 1;
  }
  for (int32_t id = 0; id < vocab_size; ++id)
    if (!special_[static_cast<std::size_t>(id)]) ordinary_.push_back(id);
  if (ordinary_.empty()) throw std::invalid_argument("MaskingVocab: every token of the vocabulary is special");
}

int mask_row(const int32_t* ids, int length, const MaskingVocab& vocab, float mask_prob, Rng& rng, int32_t* out_ids,
             int32_t* targets, MaskAction* actions) {
  int selected = 0;
  const std::vector<int32_t>& ordinary = vocab.ordinary_ids();
  for (int t = 0; t < length; ++t) {
    const int32_t id = ids[t];
    out_ids[t] = id;
    targets[t] = -1;
    if (actions) actions[t] = MaskAction::none;
    if (vocab.is_special(id)) continue;
    if (!(uniform01(rng) < mask_prob)) continue;
    ++selected;
    targets[t] = id;
    const double r = uniform01(rng);
    MaskAction action;
    if (r < 0.8) {
      out_ids[t] = vocab.mask_id();
      action = MaskAction::masked;
    } else if (r < 0.9) {
      out_ids[t] = ordinary[static_cast<std::size_t>(rng() % ordinary.size())];
      action = MaskAction::random;
    } else {
      action = MaskAction::kept;
    }
    if (actions) actions[t] = action;
  }
  return selected;
}

// ---- head -------------------------------------------------------------------------

MlmHead::MlmHead(int hidden, int vocab_size, float layer_norm_eps, uint64_t seed)
    : hidden_(hidden), vocab_size_(vocab_size), eps_(layer_norm_eps) {
  if (hidden < 1 || vocab_size < 1)
    throw std::invalid_argument("MlmHead: hidden and vocab_size must be >= 1, got " + std::to_string(hidden) + " and " +
                                std::to_string(vocab_size));
  const int64_t H = hidden, V = vocab_size;
  auto add = [&](const char* name, std::vector<int64_t> shape, bool no_decay) {
    Parameter p;
    p.name = name;
    p.value = Tensor(std::move(shape));
    p.no_decay = no_decay;
    params_.push_back(std::move(p));
  };
  add("cls.predictions.transform.dense.weight", {H, H}, false);
  add("cls.predictions.transform.dense.bias", {H}, true);
  add("cls.predictions.transform.LayerNorm.weight", {H}, true);
  add("cls.predictions.transform.LayerNorm.bias", {H}, true);
  add("cls.predictions.bias", {V}, true);
  Rng rng(seed ^ 0x6d6c6d2d68656164ULL);  // "mlm-head": not the transformer's stream
  fill_normal(params_[kDenseW].value, 0.02, rng);
  std::fill(params_[kLnW].value.data.begin(), params_[kLnW].value.data.end(), 1.0f);
}

std::vector<Parameter*> MlmHead::parameters() {
  std::vector<Parameter*> out;
  for (Parameter& p : params_) out.push_back(&p);
  return out;
}

std::vector<const Parameter*> MlmHead::parameters() const {
  std::vector<const Parameter*> out;
  for (const Parameter& p : params_) out.push_back(&p);
  return out;
}

Gradients MlmHead::make_gradients() const {
  Gradients g;
  for (const Parameter& p : params_) g.emplace_back(p.value.shape);
  return g;
}

void MlmHead::transform_forward(Context& ctx, int M, const float* h) const {
  const int H = hidden_;
  const std::size_t MH = static_cast<std::size_t>(M) * H;
  ctx.u.resize(MH);
  ctx.g.resize(MH);
  ctx.xhat.resize(MH);
  ctx.rstd.resize(static_cast<std::size_t>(M));
  ctx.t.resize(MH);
  tfops::linear_forward(M, H, H, h, H, params_[kDenseW].value.ptr(), params_[kDenseB].value.ptr(), ctx.u.data(), H);
  tfops::gelu_forward(MH, ctx.u.data(), ctx.g.data());
  tfops::layer_norm_forward(M, H, ctx.g.data(), params_[kLnW].value.ptr(), params_[kLnB].value.ptr(), eps_,
                            ctx.t.data(), ctx.xhat.data(), ctx.rstd.data());
}

void MlmHead::logits(Context& ctx, int M, const float* h, const float* E, float* out) const {
  if (M == 0) return;
  transform_forward(ctx, M, h);
  const int H = hidden_, V = vocab_size_;
  // out[M, V] = t[M, H] E^T (E stored [V, H]) + bias
  sgemm(false, true, M, V, H, 1.0f, ctx.t.data(), H, E, H, 0.0f, out, V);
  const float* bias = params_[kDecoderBias].value.ptr();
  for (int m = 0; m < M; ++m) {
    float* row = out + static_cast<std::size_t>(m) * V;
    for (int v = 0; v < V; ++v) row[v] += bias[v];
  }
}

double MlmHead::loss_and_backward(Context& ctx, int M, const float* h, const int32_t* targets, const float* E,
                                  float scale, Gradients& head_grads, float* dE, float* dh) const {
  if (head_grads.size() != params_.size())
    throw std::invalid_argument("MlmHead::loss_and_backward: gradients do not match parameters()");
  if (M == 0) return 0.0;
  const int H = hidden_, V = vocab_size_;
  ctx.logits.resize(static_cast<std::size_t>(M) * V);
  logits(ctx, M, h, E, ctx.logits.data());

  // Softmax cross-entropy, then d logits = scale * (softmax - onehot) in place.
  double loss = 0;
  float* dbias = head_grads[kDecoderBias].ptr();
  for (int m = 0; m < M; ++m) {
    float* row = ctx.logits.data() + static_cast<std::size_t>(m) * V;
    const int32_t target = targets[m];
    if (target < 0 || target >= V)
      throw std::invalid_argument("MlmHead: target " + std::to_string(target) + " at masked row " + std::to_string(m) +
                                  " is outside [0, " + std::to_string(V) + ")");
    float max = row[0];
    for (int v = 1; v < V; ++v) max = std::max(max, row[v]);
    const double target_logit = double(row[target]) - max;  // before exp: exp may underflow to 0
    double sum = 0;
    for (int v = 0; v < V; ++v) {
      row[v] = std::exp(row[v] - max);
      sum += row[v];
    }
    loss += std::log(sum) - target_logit;
    const float inv = static_cast<float>(scale / sum);
    for (int v = 0; v < V; ++v) row[v] *= inv;
    row[target] -= scale;
    for (int v = 0; v < V; ++v) dbias[v] += row[v];
  }
  const float* dlogits = ctx.logits.data();
  // Tied decoder: dE += dlogits^T t ([V, M] x [M, H]); dt = dlogits E ([M, V] x [V, H]).
  sgemm(true, false, V, H, M, 1.0f, dlogits, V, ctx.t.data(), H, 1.0f, dE, H);
  ctx.dt.resize(static_cast<std::size_t>(M) * H);
  sgemm(false, false, M, H, V, 1.0f, dlogits, V, E, H, 0.0f, ctx.dt.data(), H);
  // Transform backward: LayerNorm, GELU, dense.
  tfops::layer_norm_backward(M, H, ctx.dt.data(), ctx.xhat.data(), ctx.rstd.data(), params_[kLnW].value.ptr(),
                             ctx.dt.data(), head_grads[kLnW].ptr(), head_grads[kLnB].ptr());
  tfops::gelu_backward(ctx.dt.size(), ctx.u.data(), ctx.dt.data(), ctx.dt.data());
  tfops::linear_backward(M, H, H, h, H, ctx.dt.data(), H, params_[kDenseW].value.ptr(), head_grads[kDenseW].ptr(),
                         head_grads[kDenseB].ptr(), dh, H, false);
  return loss;
}

}  // namespace md
