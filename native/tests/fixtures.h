// Setup shared by the C++ tests of native/core: padded batches that own their storage, random
// vectors, reference softmax, comparisons, the five-point finite difference, and catching an
// error's message. Each helper was repeated in several test files; the data they produce (for a
// given generator state) is what those copies produced, so no test's numbers moved.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <exception>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "tensor.h"

namespace fixtures {

// A padded batch that owns its buffers; view() is the md::Batch the models read.
struct OwnedBatch {
  std::vector<int32_t> ids, lengths;
  int seq_len = 0;
  md::Batch view() const {
    md::Batch b;
    b.ids = ids.data();
    b.lengths = lengths.data();
    b.batch = static_cast<int>(lengths.size());
    b.seq_len = seq_len;
    return b;
  }
};

// n floats drawn uniformly from [-scale, scale].
inline std::vector<float> uniform_vector(std::size_t n, std::mt19937& rng, float scale = 1.0f) {
  std::uniform_real_distribution<float> uni(-scale, scale);
  std::vector<float> v(n);
  for (float& x : v) x = uni(rng);
  return v;
}

// n floats drawn from N(0, scale^2).
inline std::vector<float> normal_vector(std::size_t n, std::mt19937& rng, float scale = 1.0f) {
  std::normal_distribution<float> normal(0.0f, scale);
  std::vector<float> v(n);
  for (float& x : v) x = normal(rng);
  return v;
}

// Row-wise softmax of [rows, C] logits, computed in double: the reference the models' float
// probabilities are compared with.
inline std::vector<float> softmax_rows(const std::vector<float>& logits, int C) {
  std::vector<float> p(logits.size());
  for (std::size_t r = 0; r < logits.size() / C; ++r) {
    const float* x = logits.data() + r * C;
    const float m = *std::max_element(x, x + C);
    double sum = 0;
    for (int c = 0; c < C; ++c) sum += std::exp(double(x[c]) - m);
    for (int c = 0; c < C; ++c) p[r * C + c] = static_cast<float>(std::exp(double(x[c]) - m) / sum);
  }
  return p;
}

// Largest |a[i] - b[i]| (a and b of one size).
inline double max_abs_diff(const std::vector<float>& a, const std::vector<float>& b) {
  double d = 0;
  for (std::size_t i = 0; i < a.size(); ++i) d = std::max(d, std::fabs(double(a[i]) - double(b[i])));
  return d;
}

// d f / d x by the five-point stencil (error O(h^4)) around x, which is restored afterwards.
// Float forward passes need a step large enough to rise above round-off, and at such steps a
// central difference's O(h^2) error shows on strongly curved paths.
inline double five_point_slope(float& x, const std::function<double()>& f, float h) {
  const float saved = x;
  auto at = [&](float step) {
    x = saved + step;
    const double v = f();
    x = saved;
    return v;
  };
  return (-at(2 * h) + 8 * at(h) - 8 * at(-h) + at(-2 * h)) / (12.0 * h);
}

// The message of the exception f throws; "" when it throws none.
inline std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

}  // namespace fixtures
