// Classification metrics: accuracy, per-class precision / recall / F1, macro-F1
// and the confusion matrix. Used by the trainer's per-epoch evaluation and by
// the CLI's `eval` command.
//
// Conventions (those of scikit-learn's classification_report):
//   - a class with no predictions has precision 0, with no true rows recall 0;
//     F1 is 0 when precision + recall is 0;
//   - macro-F1 averages F1 over the classes that occur in the truth or in the
//     predictions (a class absent from both says nothing about the model);
//   - confusion[t * C + p] counts rows of true class t predicted as p.
#pragma once
#include <cstdint>
#include <vector>

namespace md {

struct ClassMetrics {
  double precision = 0;
  double recall = 0;
  double f1 = 0;
  int64_t support = 0;    // true rows of the class
  int64_t predicted = 0;  // rows predicted as the class
};

struct ClassificationReport {
  int64_t n = 0;
  int num_classes = 0;
  double accuracy = 0;
  double macro_f1 = 0;
  std::vector<ClassMetrics> per_class;  // num_classes entries
  std::vector<int64_t> confusion;       // [num_classes, num_classes], row = true class

  int64_t confusion_at(int truth, int predicted) const {
    return confusion[static_cast<std::size_t>(truth) * num_classes + predicted];
  }
};

// truth and predicted: n class ids in [0, C). Throws std::invalid_argument
// naming the row and value of an id outside that range. n == 0 gives zeros.
ClassificationReport classification_report(const int32_t* truth, const int32_t* predicted, int64_t n, int C);

// Index of the largest logit of each row of logits [n, C] (first one on ties).
std::vector<int32_t> argmax_rows(const float* logits, int64_t n, int C);

}  // namespace md
