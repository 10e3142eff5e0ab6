// Finite-difference gradient check for any StudentModel.
//
// The loss is a fixed random linear functional of the logits, L = sum(w * logits),
// so d L / d logits = w exactly and the check isolates the model's backward.
// Dropout stays in: the rng is re-seeded identically for every evaluation, so
// each forward draws the same mask. Differences are taken in double around
// float parameters with a central difference; entries are sampled so that big
// tensors stay cheap.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "student_model.h"

namespace gradcheck {

struct Result {
  double max_rel_error = 0;
  std::string worst;  // "param[index]: analytic vs numeric"
  int checked = 0;
};

inline double linear_loss(const md::StudentModel& model, md::TrainContext& ctx, const md::Batch& batch,
                          const std::vector<float>& w, unsigned seed, std::vector<float>& logits) {
  md::Rng rng(seed);
  model.forward_train(ctx, batch, rng, logits.data());
  double loss = 0;
  for (std::size_t i = 0; i < logits.size(); ++i) loss += double(w[i]) * logits[i];
  return loss;
}

// Checks up to `samples_per_param` entries of every parameter. Relative error is
// |a - n| / max(1e-3, |a| + |n|); entries whose perturbation crosses a kink
// (ReLU, max) are rare with random data and show up as isolated outliers, so the
// caller compares max_rel_error with a tolerance suited to float (~1e-2).
inline Result check_model(md::StudentModel& model, const md::Batch& batch, int samples_per_param = 20,
                          float eps = 1e-2f, unsigned seed = 1234) {
  const int C = model.num_classes();
  std::vector<float> w(static_cast<std::size_t>(batch.batch) * C), logits(w.size());
  md::Rng wrng(seed + 1);
  std::uniform_real_distribution<float> uni(-1.0f, 1.0f);
  for (float& x : w) x = uni(wrng);

  auto ctx = model.make_context();
  md::Gradients grads = model.make_gradients();
  linear_loss(model, *ctx, batch, w, seed, logits);
  model.backward(*ctx, batch, w.data(), grads);

  Result result;
  std::vector<md::Parameter*> params = model.parameters();
  md::Rng pick(seed + 2);
  for (std::size_t p = 0; p < params.size(); ++p) {
    md::Tensor& value = params[p]->value;
    const std::size_t n = value.size();
    const int samples = static_cast<int>(std::min<std::size_t>(n, static_cast<std::size_t>(samples_per_param)));
    for (int s = 0; s < samples; ++s) {
      const std::size_t idx = (n <= static_cast<std::size_t>(samples_per_param)) ? static_cast<std::size_t>(s)
                                                                                 : static_cast<std::size_t>(pick() % n);
      const float saved = value.data[idx];
      value.data[idx] = saved + eps;
      const double plus = linear_loss(model, *ctx, batch, w, seed, logits);
      value.data[idx] = saved - eps;
      const double minus = linear_loss(model, *ctx, batch, w, seed, logits);
      value.data[idx] = saved;
      const double numeric = (plus - minus) / (2.0 * eps);
      const double analytic = grads[p].data[idx];
      const double rel = std::fabs(analytic - numeric) / std::max(1e-3, std::fabs(analytic) + std::fabs(numeric));
      ++result.checked;
      if (rel > result.max_rel_error) {
        result.max_rel_error = rel;
        result.worst = params[p]->name + "[" + std::to_string(idx) + "]: analytic " + std::to_string(analytic) +
                       " vs numeric " + std::to_string(numeric);
      }
    }
  }
  return result;
}

}  // namespace gradcheck
