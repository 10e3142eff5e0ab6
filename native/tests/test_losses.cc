// Losses: known values, finite-difference gradients of every loss and of the
// mixed batch loss, numerical stability, and the errors for bad rows.
#include <cmath>
#include <functional>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "check.h"
#include "fixtures.h"
#include "losses.h"

namespace {

using fixtures::error_of;

std::vector<float> random_logits(int n, unsigned seed, float scale = 3.0f) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> uni(-scale, scale);
  std::vector<float> v(n);
  for (float& x : v) x = uni(rng);
  return v;
}

// Central differences of f around x (in double), compared with the analytic gradient.
double max_grad_error(std::vector<float> x, const std::vector<float>& analytic,
                      const std::function<double(const std::vector<float>&)>& f, float eps = 1e-2f) {
  double worst = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    const float saved = x[i];
    x[i] = saved + eps;
    const double plus = f(x);
    x[i] = saved - eps;
    const double minus = f(x);
    x[i] = saved;
    const double numeric = (plus - minus) / (2.0 * eps);
    worst = std::max(worst, std::fabs(numeric - analytic[i]) / std::max(1e-3, std::fabs(numeric) + std::fabs(analytic[i])));
  }
  return worst;
}

}  // namespace

TEST(cross_entropy_of_uniform_logits_is_log_C) {
  for (int C : {2, 10, 100}) {
    std::vector<float> z(C, 0.37f), dz(C);
    CHECK_NEAR(md::cross_entropy(z.data(), C, 1, dz.data()), std::log(double(C)), 1e-9);
    // gradient = softmax - onehot = 1/C everywhere except -1 + 1/C at the label.
    CHECK_NEAR(dz[0], 1.0 / C, 1e-7);
    CHECK_NEAR(dz[1], 1.0 / C - 1.0, 1e-7);
  }
}

TEST(cross_entropy_known_value) {
  const float z[3] = {1.0f, 2.0f, 3.0f};
  const double lse = std::log(std::exp(1.0) + std::exp(2.0) + std::exp(3.0));
  CHECK_NEAR(md::cross_entropy(z, 3, 0, nullptr), lse - 1.0, 1e-9);
  CHECK_NEAR(md::cross_entropy(z, 3, 2, nullptr), lse - 3.0, 1e-9);
}

TEST(cross_entropy_is_stable_for_huge_logits) {
  const float z[3] = {1000.0f, 0.0f, -1000.0f};
  float dz[3];
  CHECK_NEAR(md::cross_entropy(z, 3, 0, dz), 0.0, 1e-9);
  CHECK_NEAR(md::cross_entropy(z, 3, 1, dz), 1000.0, 1e-6);
  CHECK(std::isfinite(dz[0]) && std::isfinite(dz[1]) && std::isfinite(dz[2]));
  CHECK_NEAR(dz[0], 1.0, 1e-7);
  CHECK_NEAR(dz[1], -1.0, 1e-7);
}

TEST(kl_of_identical_distributions_is_zero) {
  std::vector<float> z = random_logits(7, 1), dz(7);
  for (float T : {0.5f, 1.0f, 2.0f, 5.0f}) {
    CHECK_NEAR(md::kl_distill(z.data(), z.data(), 7, T, dz.data()), 0.0, 1e-9);
    for (float g : dz) CHECK_NEAR(g, 0.0, 1e-7);
  }
  // Shifting all logits by a constant changes neither distribution.
  std::vector<float> shifted = z;
  for (float& x : shifted) x += 50.0f;
  CHECK_NEAR(md::kl_distill(z.data(), shifted.data(), 7, 2.0f, nullptr), 0.0, 1e-9);
}

TEST(kl_known_value_with_temperature) {
  // teacher logits log(0.75), log(0.25) at T = 1 -> p = (0.75, 0.25); student q = (0.5, 0.5).
  const float t[2] = {std::log(0.75f), std::log(0.25f)}, s[2] = {0.0f, 0.0f};
  const double expected = 0.75 * std::log(0.75 / 0.5) + 0.25 * std::log(0.25 / 0.5);
  CHECK_NEAR(md::kl_distill(s, t, 2, 1.0f, nullptr), expected, 1e-6);
  // At T = 2, teacher logits 2*log(.75), 2*log(.25) give the same p; scaled by T^2 = 4.
  const float t2[2] = {2 * std::log(0.75f), 2 * std::log(0.25f)};
  CHECK_NEAR(md::kl_distill(s, t2, 2, 2.0f, nullptr), 4 * expected, 1e-5);
}

TEST(kl_is_stable_for_huge_logits) {
  const float t[3] = {800.0f, -800.0f, 0.0f}, s[3] = {-900.0f, 900.0f, 0.0f};
  float dz[3];
  const double kl = md::kl_distill(s, t, 3, 1.0f, dz);
  CHECK(std::isfinite(kl));
  CHECK_NEAR(kl, 1800.0, 1e-3);  // p = onehot(0); -log q_0 = lse(s) - s_0 = 900 + 900
  for (float g : dz) CHECK(std::isfinite(g));
}

TEST(mse_known_value) {
  const float s[2] = {1.0f, 3.0f}, t[2] = {0.0f, 0.0f};
  float dz[2];
  CHECK_NEAR(md::mse_distill(s, t, 2, dz), (1.0 + 9.0) / 2.0, 1e-9);
  CHECK_NEAR(dz[0], 1.0, 1e-7);
  CHECK_NEAR(dz[1], 3.0, 1e-7);
}

TEST(gradients_of_each_loss_match_finite_differences) {
  const int C = 6;
  std::vector<float> z = random_logits(C, 11), t = random_logits(C, 12), dz(C);
  md::cross_entropy(z.data(), C, 4, dz.data());
  CHECK(max_grad_error(z, dz, [&](const std::vector<float>& x) { return md::cross_entropy(x.data(), C, 4, nullptr); }) <
        2e-3);
  for (float T : {1.0f, 2.0f, 4.0f}) {
    md::kl_distill(z.data(), t.data(), C, T, dz.data());
    const double err = max_grad_error(
        z, dz, [&](const std::vector<float>& x) { return md::kl_distill(x.data(), t.data(), C, T, nullptr); });
    if (!(err < 2e-3)) check::fail(__FILE__, __LINE__, "kl T=" + std::to_string(T) + " err " + std::to_string(err));
  }
  md::mse_distill(z.data(), t.data(), C, dz.data());
  CHECK(max_grad_error(z, dz, [&](const std::vector<float>& x) { return md::mse_distill(x.data(), t.data(), C, nullptr); }) <
        2e-3);
}

TEST(mixed_batch_loss_gradient_matches_finite_differences) {
  const int rows = 5, C = 4;
  std::vector<float> z = random_logits(rows * C, 21), t = random_logits(rows * C, 22), dz(z.size());
  // row 0-1 labelled + soft (mix), row 2 labelled without soft (NaN row), rows 3-4 pool rows.
  for (int c = 0; c < C; ++c) t[2 * C + c] = std::numeric_limits<float>::quiet_NaN();
  const int32_t labels[rows] = {0, 3, 1, -1, -1};
  for (md::DistillKind kind : {md::DistillKind::kl, md::DistillKind::mse}) {
    md::LossOptions opt;
    opt.distill = kind;
    opt.temperature = 2.0f;
    opt.alpha = 0.7f;
    const double mean = md::mean_loss(z.data(), rows, C, labels, t.data(), opt, dz.data());
    // The mean equals the hand-assembled mix of the per-example losses.
    auto distill = [&](int r) {
      return kind == md::DistillKind::kl ? md::kl_distill(&z[r * C], &t[r * C], C, 2.0f, nullptr)
                                         : md::mse_distill(&z[r * C], &t[r * C], C, nullptr);
    };
    double expected = 0;
    for (int r = 0; r < 2; ++r) expected += 0.7 * distill(r) + 0.3 * md::cross_entropy(&z[r * C], C, labels[r], nullptr);
    expected += md::cross_entropy(&z[2 * C], C, 1, nullptr);
    expected += distill(3) + distill(4);
    CHECK_NEAR(mean, expected / rows, 1e-6);
    const double err = max_grad_error(z, dz, [&](const std::vector<float>& x) {
      return md::mean_loss(x.data(), rows, C, labels, t.data(), opt, nullptr);
    });
    if (!(err < 2e-3)) check::fail(__FILE__, __LINE__, std::string(md::distill_kind_name(kind)) + " err " + std::to_string(err));
  }
}

TEST(shards_with_grad_scale_add_up_to_the_batch_mean) {
  const int rows = 6, C = 3;
  std::vector<float> z = random_logits(rows * C, 31), whole(z.size()), split(z.size());
  const int32_t labels[rows] = {0, 1, 2, 2, 1, 0};
  md::LossOptions opt;
  const double mean = md::mean_loss(z.data(), rows, C, labels, nullptr, opt, whole.data());
  const double a = md::loss_sum(z.data(), 2, C, labels, nullptr, opt, split.data(), 1.0f / rows, 0);
  const double b = md::loss_sum(z.data() + 2 * C, 4, C, labels + 2, nullptr, opt, split.data() + 2 * C, 1.0f / rows, 2);
  CHECK_NEAR((a + b) / rows, mean, 1e-9);
  for (std::size_t i = 0; i < z.size(); ++i) CHECK_NEAR(split[i], whole[i], 1e-7);
}

TEST(bad_rows_give_clear_errors) {
  const int C = 10;
  std::vector<float> z(3 * C, 0.0f);
  md::LossOptions opt;
  const int32_t bad_label[3] = {0, 12, 1};
  CHECK_EQ(error_of([&] { md::loss_sum(z.data(), 3, C, bad_label, nullptr, opt, nullptr, 1.0f, 344); }),
           std::string("label 12 at row 345 is outside [0, 10)"));
  const int32_t unlabelled[3] = {0, -1, 1};
  CHECK_EQ(error_of([&] { md::loss_sum(z.data(), 3, C, unlabelled, nullptr, opt, nullptr, 1.0f, 0); }),
           std::string("row 1 has neither a label nor a soft target"));
  std::vector<float> t(3 * C, 0.0f);
  t[C + 3] = std::numeric_limits<float>::quiet_NaN();
  CHECK(error_of([&] { md::loss_sum(z.data(), 3, C, unlabelled, t.data(), opt, nullptr, 1.0f, 0); })
            .find("row 1 are partly NaN") != std::string::npos);
  t[C + 3] = std::numeric_limits<float>::infinity();
  CHECK(error_of([&] { md::loss_sum(z.data(), 3, C, unlabelled, t.data(), opt, nullptr, 1.0f, 0); })
            .find("at row 1, class 3 is not finite") != std::string::npos);
  md::LossOptions bad = opt;
  bad.temperature = 0.0f;
  CHECK(error_of([&] { md::mean_loss(z.data(), 3, C, bad_label, nullptr, bad, nullptr); }).find("temperature") == 0);
  bad = opt;
  bad.alpha = 1.5f;
  CHECK(error_of([&] { md::mean_loss(z.data(), 3, C, bad_label, nullptr, bad, nullptr); }).find("alpha") == 0);
  CHECK_THROWS(md::parse_distill_kind("kld"));
  CHECK(md::parse_distill_kind("mse") == md::DistillKind::mse);
}

CHECK_MAIN()
