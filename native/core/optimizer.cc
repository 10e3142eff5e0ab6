#include "optimizer.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "simd.h"
#include "thread_pool.h"

namespace md {

namespace {

constexpr double kPi = 3.14159265358979323846;
// Elements per parallel chunk of elementwise work: big enough that the pool's
// hand-off cost is negligible, small enough to spread a 2.7M-weight embedding.
constexpr std::size_t kChunk = 1 << 16;

std::string num(double v) {
  std::string s = std::to_string(v);
  return s;
}

// Runs f(param_index, begin, end) over all elements of all tensors, in fixed chunks.
template <class Sizes, class F>
void for_chunks(const Sizes& sizes, F&& f) {
  struct Chunk {
    std::size_t p, begin, end;
  };
  std::vector<Chunk> chunks;
  for (std::size_t p = 0; p < sizes.size(); ++p)
    for (std::size_t b = 0; b < sizes[p]; b += kChunk) chunks.push_back({p, b, std::min(sizes[p], b + kChunk)});
  global_thread_pool().parallel_for(chunks.size(), [&](std::size_t i, int) { f(chunks[i].p, chunks[i].begin, chunks[i].end); });
}

}  // namespace

OptimizerKind parse_optimizer_kind(const std::string& name) {
  if (name == "adam") return OptimizerKind::adam;
  if (name == "adamw") return OptimizerKind::adamw;
  throw std::invalid_argument("unknown optimizer '" + name + "' (expected adam or adamw)");
}

DecayKind parse_decay_kind(const std::string& name) {
  if (name == "constant") return DecayKind::constant;
  if (name == "linear") return DecayKind::linear;
  if (name == "cosine") return DecayKind::cosine;
  throw std::invalid_argument("unknown learning-rate decay '" + name + "' (expected constant, linear or cosine)");
}

void OptimizerOptions::validate() const {
  if (!(learning_rate > 0) || !std::isfinite(learning_rate))
    throw std::invalid_argument("learning_rate must be a positive number, got " + num(learning_rate));
  if (!(beta1 >= 0 && beta1 < 1)) throw std::invalid_argument("beta1 must be in [0, 1), got " + num(beta1));
  if (!(beta2 >= 0 && beta2 < 1)) throw std::invalid_argument("beta2 must be in [0, 1), got " + num(beta2));
  if (!(eps > 0)) throw std::invalid_argument("eps must be positive, got " + num(eps));
  if (!(weight_decay >= 0) || !std::isfinite(weight_decay))
    throw std::invalid_argument("weight_decay must be >= 0, got " + num(weight_decay));
  if (!(clip_norm >= 0) || !std::isfinite(clip_norm))
    throw std::invalid_argument("clip_norm must be >= 0 (0 = off), got " + num(clip_norm));
}

void LrSchedule::validate() const {
  if (warmup_steps < 0) throw std::invalid_argument("warmup_steps must be >= 0, got " + std::to_string(warmup_steps));
  if (!(warmup_fraction >= 0 && warmup_fraction < 1))
    throw std::invalid_argument("warmup_fraction must be in [0, 1), got " + num(warmup_fraction));
  if (!(min_ratio >= 0 && min_ratio <= 1)) throw std::invalid_argument("min_ratio must be in [0, 1], got " + num(min_ratio));
}

int64_t LrSchedule::warmup_for(int64_t total_steps) const {
  // Rounded, not ceil'd: 0.1f is 0.100000001, and 10% of 200 steps must be 20.
  if (warmup_fraction > 0) return std::max<int64_t>(1, std::llround(double(warmup_fraction) * double(total_steps)));
  return warmup_steps;
}

double LrSchedule::multiplier(int64_t step, int64_t total_steps) const {
  const int64_t warmup = warmup_for(total_steps);
  if (step < warmup) return double(step + 1) / double(warmup);
  if (decay == DecayKind::constant) return 1.0;
  // Progress through the decay phase: 0 at the first post-warmup step, 1 at the last step.
  const int64_t span = total_steps - warmup - 1;
  const double progress = span <= 0 ? 0.0 : std::min(1.0, double(step - warmup) / double(span));
  const double shape = decay == DecayKind::linear ? 1.0 - progress : 0.5 * (1.0 + std::cos(kPi * progress));
  return min_ratio + (1.0 - min_ratio) * shape;
}

double global_norm(const Gradients& grads) {
  // Double accumulation in a fixed order: the norm (and so the clipping) is
  // identical for every thread count.
  double sum = 0;
  for (const Tensor& g : grads)
    for (float x : g.data) sum += double(x) * x;
  return std::sqrt(sum);
}

double clip_gradients(Gradients& grads, float max_norm) {
  const double norm = global_norm(grads);
  if (max_norm > 0 && norm > max_norm) {
    // torch adds 1e-6 to the norm for the same reason: never divide by ~0.
    const float scale = static_cast<float>(max_norm / (norm + 1e-6));
    for (Tensor& g : grads)
      for (float& x : g.data) x *= scale;
  }
  return norm;
}

Adam::Adam(StudentModel& model, const OptimizerOptions& options) : Adam(model.parameters(), options) {}

Adam::Adam(std::vector<Parameter*> params, const OptimizerOptions& options)
    : params_(std::move(params)), options_(options) {
  options_.validate();
  for (const Parameter* p : params_) {
    m_.emplace_back(p->value.shape);
    v_.emplace_back(p->value.shape);
  }
}

void Adam::restore_state(std::vector<Tensor> first, std::vector<Tensor> second, int64_t steps) {
  if (first.size() != params_.size() || second.size() != params_.size())
    throw std::invalid_argument("Adam::restore_state: " + std::to_string(first.size()) + " / " +
                                std::to_string(second.size()) + " moment tensors for " +
                                std::to_string(params_.size()) + " parameters");
  for (std::size_t p = 0; p < params_.size(); ++p)
    if (first[p].shape != params_[p]->value.shape || second[p].shape != params_[p]->value.shape)
      throw std::invalid_argument("Adam::restore_state: moments of " + params_[p]->name + " have shape " +
                                  first[p].shape_string() + " / " + second[p].shape_string() + ", parameter " +
                                  params_[p]->value.shape_string());
  if (steps < 0) throw std::invalid_argument("Adam::restore_state: negative step count " + std::to_string(steps));
  m_ = std::move(first);
  v_ = std::move(second);
  steps_ = steps;
}

namespace {

struct AdamScalars {
  float b1, b2, eps, step_size, inv_sqrt_bc2, shrink, l2, grad_scale;
};

// The per-element update (torch.optim.Adam / AdamW order of operations).
__attribute__((always_inline)) inline void adam_update(float* w, const float* g, float* m, float* v, std::size_t n,
                                                       const AdamScalars& k) {
  for (std::size_t i = 0; i < n; ++i) {
    const float gi = g[i] * k.grad_scale + k.l2 * w[i];
    m[i] = k.b1 * m[i] + (1.0f - k.b1) * gi;
    v[i] = k.b2 * v[i] + (1.0f - k.b2) * gi * gi;
    const float denom = std::sqrt(v[i]) * k.inv_sqrt_bc2 + k.eps;
    w[i] = w[i] * k.shrink - k.step_size * m[i] / denom;
  }
}

// AVX2 only (no "fma"): the compiler vectorises the same IEEE operations, so
// results equal the portable loop bit for bit.
__attribute__((target("avx2"))) void adam_update_avx2(float* w, const float* g, float* m, float* v, std::size_t n,
                                                      const AdamScalars& k) {
  adam_update(w, g, m, v, n, k);
}

void adam_update_portable(float* w, const float* g, float* m, float* v, std::size_t n, const AdamScalars& k) {
  adam_update(w, g, m, v, n, k);
}

}  // namespace

void Adam::step(const Gradients& grads, float lr, float grad_scale) {
  if (grads.size() != params_.size())
    throw std::invalid_argument("Adam::step: " + std::to_string(grads.size()) + " gradient tensors for " +
                                std::to_string(params_.size()) + " parameters");
  for (std::size_t p = 0; p < params_.size(); ++p)
    if (grads[p].size() != params_[p]->value.size())
      throw std::invalid_argument("Adam::step: gradient of " + params_[p]->name + " has shape " +
                                  grads[p].shape_string() + ", parameter " + params_[p]->value.shape_string());
  ++steps_;
  const double bc1 = 1.0 - std::pow(double(options_.beta1), double(steps_));
  const double bc2 = 1.0 - std::pow(double(options_.beta2), double(steps_));
  const bool decoupled = options_.kind == OptimizerKind::adamw;
  const bool avx2 = simd_default_level() >= SimdLevel::avx2;

  std::vector<std::size_t> sizes;
  for (const Parameter* p : params_) sizes.push_back(p->value.size());
  for_chunks(sizes, [&](std::size_t p, std::size_t begin, std::size_t end) {
    const float decay = params_[p]->no_decay ? 0.0f : options_.weight_decay;
    AdamScalars k;
    k.b1 = options_.beta1;
    k.b2 = options_.beta2;
    k.eps = options_.eps;
    k.step_size = static_cast<float>(lr / bc1);
    k.inv_sqrt_bc2 = static_cast<float>(1.0 / std::sqrt(bc2));
    k.shrink = decoupled ? 1.0f - lr * decay : 1.0f;
    k.l2 = decoupled ? 0.0f : decay;
    k.grad_scale = grad_scale;
    float* w = params_[p]->value.ptr() + begin;
    const float* g = grads[p].ptr() + begin;
    float* m = m_[p].ptr() + begin;
    float* v = v_[p].ptr() + begin;
    (avx2 ? adam_update_avx2 : adam_update_portable)(w, g, m, v, end - begin, k);
  });
}

}  // namespace md
