#include "metrics.h"

#include <stdexcept>
#include <string>

namespace md {

ClassificationReport classification_report(const int32_t* truth, const int32_t* predicted, int64_t n, int C) {
  if (C < 1) throw std::invalid_argument("number of classes must be >= 1, got " + std::to_string(C));
  ClassificationReport r;
  r.n = n;
  r.num_classes = C;
  r.per_class.resize(static_cast<std::size_t>(C));
  r.confusion.assign(static_cast<std::size_t>(C) * C, 0);
  int64_t correct = 0;
  for (int64_t i = 0; i < n; ++i) {
    const int t = truth[i], p = predicted[i];
    if (t < 0 || t >= C)
      throw std::invalid_argument("true label " + std::to_string(t) + " at row " + std::to_string(i) +
                                  " is outside [0, " + std::to_string(C) + ")");
    if (p < 0 || p >= C)
      throw std::invalid_argument("predicted label " + std::to_string(p) + " at row " + std::to_string(i) +
                                  " is outside [0, " + std::to_string(C) + ")");
    ++r.confusion[static_cast<std::size_t>(t) * C + p];
    ++r.per_class[t].support;
    ++r.per_class[p].predicted;
    if (t == p) ++correct;
  }
  r.accuracy = n > 0 ? double(correct) / double(n) : 0.0;
  double f1_sum = 0;
  int present = 0;
  for (int c = 0; c < C; ++c) {
    ClassMetrics& m = r.per_class[c];
    const double tp = double(r.confusion[static_cast<std::size_t>(c) * C + c]);
    m.precision = m.predicted > 0 ? tp / double(m.predicted) : 0.0;
    m.recall = m.support > 0 ? tp / double(m.support) : 0.0;
    m.f1 = m.precision + m.recall > 0 ? 2 * m.precision * m.recall / (m.precision + m.recall) : 0.0;
    if (m.support > 0 || m.predicted > 0) {
      f1_sum += m.f1;
      ++present;
    }
  }
  r.macro_f1 = present > 0 ? f1_sum / present : 0.0;
  return r;
}

std::vector<int32_t> argmax_rows(const float* logits, int64_t n, int C) {
  std::vector<int32_t> out(static_cast<std::size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    const float* row = logits + static_cast<std::size_t>(i) * C;
    int best = 0;
    for (int c = 1; c < C; ++c)
      if (row[c] > row[best]) best = c;
    out[static_cast<std::size_t>(i)] = best;
  }
  return out;
}

}  // namespace md
