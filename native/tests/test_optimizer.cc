// Optimiser: Adam/AdamW steps against hand-computed values, weight decay that
// skips no_decay parameters, global-norm clipping, and the learning-rate schedule.
#include <cmath>
#include <string>
#include <vector>

#include "check.h"
#include "optimizer.h"

namespace {

md::Parameter make_param(const std::string& name, std::vector<float> values, bool no_decay = false) {
  md::Parameter p;
  p.name = name;
  p.value = md::Tensor({static_cast<int64_t>(values.size())});
  p.value.data = std::move(values);
  p.no_decay = no_decay;
  return p;
}

md::Tensor make_tensor(std::vector<float> values) {
  md::Tensor t({static_cast<int64_t>(values.size())});
  t.data = std::move(values);
  return t;
}

}  // namespace

TEST(first_adam_step_moves_each_weight_by_lr_times_sign_of_gradient) {
  md::Parameter w = make_param("w", {1.0f, -2.0f, 0.5f, 3.0f});
  md::OptimizerOptions opt;
  opt.learning_rate = 0.01f;
  md::Adam adam({&w}, opt);
  md::Gradients g = {make_tensor({0.3f, -5.0f, 1e-3f, -0.02f})};
  adam.step(g, opt.learning_rate);
  // m_hat = g, v_hat = g^2, so the update is lr * g / (|g| + eps) ~ lr * sign(g).
  CHECK_NEAR(w.value.data[0], 1.0 - 0.01, 1e-6);
  CHECK_NEAR(w.value.data[1], -2.0 + 0.01, 1e-6);
  CHECK_NEAR(w.value.data[2], 0.5 - 0.01, 1e-6);
  CHECK_NEAR(w.value.data[3], 3.0 + 0.01, 1e-6);
  CHECK_EQ(adam.steps(), int64_t{1});
}

TEST(two_adam_steps_match_a_hand_computed_double_reference) {
  md::Parameter w = make_param("w", {0.2f, -0.7f});
  md::OptimizerOptions opt;
  opt.learning_rate = 0.1f;
  opt.beta1 = 0.8f;
  opt.beta2 = 0.9f;
  opt.eps = 1e-3f;
  md::Adam adam({&w}, opt);
  const double g1[2] = {0.5, -0.1}, g2[2] = {-0.25, 0.4};
  adam.step({make_tensor({0.5f, -0.1f})}, 0.1f);
  adam.step({make_tensor({-0.25f, 0.4f})}, 0.05f);
  for (int i = 0; i < 2; ++i) {
    double x = i == 0 ? 0.2 : -0.7, m = 0, v = 0;
    const double gs[2] = {g1[i], g2[i]}, lrs[2] = {0.1, 0.05};
    for (int t = 1; t <= 2; ++t) {
      m = 0.8 * m + 0.2 * gs[t - 1];
      v = 0.9 * v + 0.1 * gs[t - 1] * gs[t - 1];
      const double mhat = m / (1 - std::pow(0.8, t)), vhat = v / (1 - std::pow(0.9, t));
      x -= lrs[t - 1] * mhat / (std::sqrt(vhat) + 1e-3);
    }
    CHECK_NEAR(w.value.data[i], x, 1e-6);
  }
}

TEST(adamw_decays_weights_decoupled_and_skips_no_decay) {
  md::Parameter w = make_param("fc.weight", {1.0f, -2.0f});
  md::Parameter b = make_param("fc.bias", {1.0f, -2.0f}, /*no_decay=*/true);
  md::OptimizerOptions opt;
  opt.kind = md::OptimizerKind::adamw;
  opt.learning_rate = 0.1f;
  opt.weight_decay = 0.5f;
  md::Adam adam({&w, &b}, opt);
  // Zero gradients: the Adam part is 0 / (0 + eps) = 0, so only the decay acts.
  adam.step({make_tensor({0, 0}), make_tensor({0, 0})}, 0.1f);
  CHECK_NEAR(w.value.data[0], 1.0 * (1 - 0.1 * 0.5), 1e-7);
  CHECK_NEAR(w.value.data[1], -2.0 * (1 - 0.1 * 0.5), 1e-7);
  CHECK_EQ(b.value.data[0], 1.0f);
  CHECK_EQ(b.value.data[1], -2.0f);
}

TEST(adam_weight_decay_is_l2_through_the_moments) {
  md::Parameter w = make_param("w", {1.0f, -2.0f});
  md::Parameter b = make_param("b", {1.0f}, true);
  md::OptimizerOptions opt;
  opt.learning_rate = 0.01f;
  opt.weight_decay = 0.1f;
  md::Adam adam({&w, &b}, opt);
  // g = 0 + 0.1 * w, so the first step moves by lr * sign(w) (toward zero).
  adam.step({make_tensor({0, 0}), make_tensor({0})}, 0.01f);
  CHECK_NEAR(w.value.data[0], 0.99, 1e-6);
  CHECK_NEAR(w.value.data[1], -1.99, 1e-6);
  CHECK_EQ(b.value.data[0], 1.0f);
}

TEST(adam_minimises_a_quadratic) {
  md::Parameter w = make_param("w", std::vector<float>(300, 0.0f));
  md::OptimizerOptions opt;
  opt.learning_rate = 0.05f;
  md::Adam adam({&w}, opt);
  md::Gradients g = {md::Tensor({300})};
  for (int step = 0; step < 2000; ++step) {
    for (int i = 0; i < 300; ++i) g[0].data[i] = 2.0f * (w.value.data[i] - 0.01f * i);
    adam.step(g, opt.learning_rate * (step < 1000 ? 1.0f : 0.1f));
  }
  double worst = 0;
  for (int i = 0; i < 300; ++i) worst = std::max(worst, std::fabs(w.value.data[i] - 0.01 * i));
  CHECK(worst < 1e-2);
}

TEST(clipping_scales_to_the_global_norm) {
  md::Gradients g = {make_tensor({3.0f}), make_tensor({0.0f, 4.0f})};
  CHECK_NEAR(md::global_norm(g), 5.0, 1e-9);
  CHECK_NEAR(md::clip_gradients(g, 10.0f), 5.0, 1e-9);  // under the limit: unchanged
  CHECK_EQ(g[0].data[0], 3.0f);
  CHECK_NEAR(md::clip_gradients(g, 1.0f), 5.0, 1e-9);
  CHECK_NEAR(g[0].data[0], 0.6, 1e-6);
  CHECK_NEAR(g[1].data[1], 0.8, 1e-6);
  CHECK_NEAR(md::global_norm(g), 1.0, 1e-6);
  CHECK_NEAR(md::clip_gradients(g, 0.0f), 1.0, 1e-6);  // 0 = measure only
  CHECK_NEAR(g[0].data[0], 0.6, 1e-6);
}

TEST(schedule_warmup_then_linear_or_cosine_decay) {
  md::LrSchedule s;
  s.warmup_steps = 4;
  s.decay = md::DecayKind::constant;
  CHECK_NEAR(s.multiplier(0, 100), 0.25, 1e-12);
  CHECK_NEAR(s.multiplier(3, 100), 1.0, 1e-12);
  CHECK_NEAR(s.multiplier(50, 100), 1.0, 1e-12);

  s.decay = md::DecayKind::linear;  // 1 at step 4, 0 at step 99
  CHECK_NEAR(s.multiplier(4, 100), 1.0, 1e-12);
  CHECK_NEAR(s.multiplier(99, 100), 0.0, 1e-12);
  CHECK_NEAR(s.multiplier(4 + 95 / 5, 100), 0.8, 1e-12);
  s.min_ratio = 0.1f;
  CHECK_NEAR(s.multiplier(99, 100), 0.1, 1e-7);

  s.decay = md::DecayKind::cosine;
  s.min_ratio = 0.0f;
  s.warmup_steps = 0;
  CHECK_NEAR(s.multiplier(0, 101), 1.0, 1e-12);
  CHECK_NEAR(s.multiplier(50, 101), 0.5, 1e-12);
  CHECK_NEAR(s.multiplier(100, 101), 0.0, 1e-12);
  CHECK_NEAR(s.multiplier(25, 101), 0.5 * (1 + std::cos(3.14159265358979 / 4)), 1e-9);

  s.warmup_fraction = 0.1f;  // 10% of 200 = 20 steps
  CHECK_EQ(s.warmup_for(200), int64_t{20});
  CHECK_NEAR(s.multiplier(9, 200), 0.5, 1e-12);
}

TEST(bad_options_are_rejected_by_name) {
  md::OptimizerOptions opt;
  opt.learning_rate = -1;
  CHECK_THROWS(opt.validate());
  opt = md::OptimizerOptions();
  opt.beta2 = 1.0f;
  CHECK_THROWS(opt.validate());
  md::LrSchedule s;
  s.warmup_fraction = 1.5f;
  CHECK_THROWS(s.validate());
  CHECK_THROWS(md::parse_optimizer_kind("sgd"));
  CHECK_THROWS(md::parse_decay_kind("step"));
  CHECK(md::parse_decay_kind("cosine") == md::DecayKind::cosine);
  md::Parameter w = make_param("w", {1.0f, 2.0f});
  md::Adam adam({&w}, md::OptimizerOptions());
  CHECK_THROWS(adam.step({make_tensor({1.0f})}, 0.1f));
}

CHECK_MAIN()
