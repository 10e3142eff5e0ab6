#include "losses.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <vector>

namespace md {

DistillKind parse_distill_kind(const std::string& name) {
  if (name == "kl") return DistillKind::kl;
  if (name == "mse") return DistillKind::mse;
  throw std::invalid_argument("unknown distillation loss '" + name + "' (expected kl or mse)");
}

const char* distill_kind_name(DistillKind kind) { return kind == DistillKind::kl ? "kl" : "mse"; }

void LossOptions::validate() const {
  if (!(temperature > 0.0f) || !std::isfinite(temperature))
    throw std::invalid_argument("temperature must be a positive number, got " + std::to_string(temperature));
  if (!(alpha >= 0.0f && alpha <= 1.0f))
    throw std::invalid_argument("alpha must be in [0, 1], got " + std::to_string(alpha));
}

namespace {

// log(sum_c exp(x_c * inv_t)) with the max subtracted; fills scaled[c] = x_c * inv_t.
double log_sum_exp(const float* x, int C, double inv_t, double* scaled) {
  double mx = -INFINITY;
  for (int c = 0; c < C; ++c) {
    scaled[c] = double(x[c]) * inv_t;
    mx = std::max(mx, scaled[c]);
  }
  double sum = 0;
  for (int c = 0; c < C; ++c) sum += std::exp(scaled[c] - mx);
  return mx + std::log(sum);
}

// Per-call scratch for C doubles without a heap allocation for the usual small C.
struct Scratch {
  explicit Scratch(int C) {
    if (C > kStack) heap.resize(static_cast<std::size_t>(C));
    data = C > kStack ? heap.data() : stack;
  }
  static constexpr int kStack = 64;
  double stack[kStack];
  std::vector<double> heap;
  double* data;
};

}  // namespace

double cross_entropy(const float* logits, int C, int label, float* dlogits, float grad_scale) {
  if (label < 0 || label >= C)
    throw std::invalid_argument("label " + std::to_string(label) + " is outside [0, " + std::to_string(C) + ")");
  Scratch s(C);
  const double lse = log_sum_exp(logits, C, 1.0, s.data);
  if (dlogits) {
    for (int c = 0; c < C; ++c) dlogits[c] = static_cast<float>(grad_scale * std::exp(s.data[c] - lse));
    dlogits[label] -= grad_scale;
  }
  return lse - s.data[label];
}

double kl_distill(const float* logits, const float* teacher_logits, int C, float temperature, float* dlogits,
                  float grad_scale) {
  const double T = temperature, inv_t = 1.0 / T;
  Scratch st(C), ss(C);
  const double lse_t = log_sum_exp(teacher_logits, C, inv_t, st.data);
  const double lse_s = log_sum_exp(logits, C, inv_t, ss.data);
  double kl = 0;
  for (int c = 0; c < C; ++c) {
    const double log_p = st.data[c] - lse_t, log_q = ss.data[c] - lse_s;
    const double p = std::exp(log_p);
    // p log p -> 0 as p -> 0; exp underflow to exactly 0 must not give 0 * -inf.
    if (p > 0) kl += p * (log_p - log_q);
    if (dlogits) dlogits[c] = static_cast<float>(grad_scale * T * (std::exp(log_q) - p));
  }
  // KL >= 0 mathematically; rounding can leave a tiny negative.
  return std::max(0.0, kl) * T * T;
}

double mse_distill(const float* logits, const float* teacher_logits, int C, float* dlogits, float grad_scale) {
  double sum = 0;
  for (int c = 0; c < C; ++c) {
    const double d = double(logits[c]) - double(teacher_logits[c]);
    sum += d * d;
    if (dlogits) dlogits[c] = static_cast<float>(grad_scale * 2.0 * d / C);
  }
  return sum / C;
}

bool soft_target_absent(const float* teacher_logits, int C, int64_t row) {
  int nan = 0;
  for (int c = 0; c < C; ++c) {
    if (std::isnan(teacher_logits[c])) {
      ++nan;
    } else if (!std::isfinite(teacher_logits[c])) {
      throw std::invalid_argument("soft target (teacher logit) " + std::to_string(teacher_logits[c]) + " at row " +
                                  std::to_string(row) + ", class " + std::to_string(c) + " is not finite");
    }
  }
  if (nan == 0) return false;
  if (nan == C) return true;
  throw std::invalid_argument("soft targets at row " + std::to_string(row) +
                              " are partly NaN (a row is either all NaN = no soft target, or all finite)");
}

double loss_sum(const float* logits, int rows, int C, const int32_t* labels, const float* teacher_logits,
                const LossOptions& options, float* dlogits, float grad_scale, int64_t first_row) {
  if (C < 1) throw std::invalid_argument("number of classes must be >= 1, got " + std::to_string(C));
  options.validate();
  std::vector<float> distill_grad(dlogits ? static_cast<std::size_t>(C) : 0);
  double total = 0;
  for (int r = 0; r < rows; ++r) {
    const int64_t row = first_row + r;
    const float* z = logits + static_cast<std::size_t>(r) * C;
    float* dz = dlogits ? dlogits + static_cast<std::size_t>(r) * C : nullptr;
    const int label = labels ? labels[r] : -1;
    if (label < -1 || label >= C)
      throw std::invalid_argument("label " + std::to_string(label) + " at row " + std::to_string(row) +
                                  " is outside [0, " + std::to_string(C) + ")");
    const float* t = teacher_logits ? teacher_logits + static_cast<std::size_t>(r) * C : nullptr;
    if (t && soft_target_absent(t, C, row)) t = nullptr;
    if (!t && label < 0)
      throw std::invalid_argument("row " + std::to_string(row) + " has neither a label nor a soft target");

    const float w_distill = !t ? 0.0f : (label < 0 ? 1.0f : options.alpha);
    const float w_ce = 1.0f - w_distill;
    double loss = 0;
    if (w_ce > 0) loss += w_ce * cross_entropy(z, C, label, dz, grad_scale * w_ce);
    else if (dz) std::fill(dz, dz + C, 0.0f);
    if (w_distill > 0) {
      float* g = dz ? distill_grad.data() : nullptr;
      const double d = options.distill == DistillKind::kl
                           ? kl_distill(z, t, C, options.temperature, g, grad_scale * w_distill)
                           : mse_distill(z, t, C, g, grad_scale * w_distill);
      loss += w_distill * d;
      if (dz)
        for (int c = 0; c < C; ++c) dz[c] += g[c];
    }
    total += loss;
  }
  return total;
}

double mean_loss(const float* logits, int rows, int C, const int32_t* labels, const float* teacher_logits,
                 const LossOptions& options, float* dlogits) {
  if (rows <= 0) throw std::invalid_argument("mean_loss of an empty batch");
  return loss_sum(logits, rows, C, labels, teacher_logits, options, dlogits, 1.0f / rows) / rows;
}

}  // namespace md
