// Metrics: accuracy, per-class precision/recall/F1, macro-F1 and the confusion
// matrix on a hand-worked example (values as scikit-learn computes them).
#include <string>
#include <vector>

#include "check.h"
#include "metrics.h"

TEST(report_on_a_hand_worked_example) {
  // truth:     0 0 0 1 1 2
  // predicted: 0 0 1 1 2 2
  const int32_t truth[6] = {0, 0, 0, 1, 1, 2}, pred[6] = {0, 0, 1, 1, 2, 2};
  const md::ClassificationReport r = md::classification_report(truth, pred, 6, 3);
  CHECK_EQ(r.n, int64_t{6});
  CHECK_NEAR(r.accuracy, 4.0 / 6.0, 1e-12);
  // class 0: P = 2/2, R = 2/3; class 1: P = 1/2, R = 1/2; class 2: P = 1/2, R = 1/1.
  CHECK_NEAR(r.per_class[0].precision, 1.0, 1e-12);
  CHECK_NEAR(r.per_class[0].recall, 2.0 / 3.0, 1e-12);
  CHECK_NEAR(r.per_class[0].f1, 0.8, 1e-12);
  CHECK_NEAR(r.per_class[1].f1, 0.5, 1e-12);
  CHECK_NEAR(r.per_class[2].f1, 2 * 0.5 * 1.0 / 1.5, 1e-12);
  CHECK_NEAR(r.macro_f1, (0.8 + 0.5 + 2.0 / 3.0) / 3.0, 1e-12);
  CHECK_EQ(r.per_class[0].support, int64_t{3});
  CHECK_EQ(r.per_class[2].predicted, int64_t{2});
  CHECK_EQ(r.confusion_at(0, 1), int64_t{1});
  CHECK_EQ(r.confusion_at(1, 2), int64_t{1});
  CHECK_EQ(r.confusion_at(0, 0), int64_t{2});
  CHECK_EQ(r.confusion_at(2, 0), int64_t{0});
}

TEST(macro_f1_ignores_classes_absent_from_truth_and_predictions) {
  const int32_t truth[4] = {0, 0, 1, 1}, pred[4] = {0, 0, 1, 1};
  const md::ClassificationReport r = md::classification_report(truth, pred, 4, 5);
  CHECK_NEAR(r.accuracy, 1.0, 1e-12);
  CHECK_NEAR(r.macro_f1, 1.0, 1e-12);
  // A class predicted but never true counts (F1 = 0) and lowers macro-F1.
  const int32_t pred2[4] = {0, 3, 1, 1};
  const md::ClassificationReport r2 = md::classification_report(truth, pred2, 4, 5);
  CHECK_NEAR(r2.per_class[3].f1, 0.0, 1e-12);
  CHECK_NEAR(r2.macro_f1, (2 * 1.0 * 0.5 / 1.5 + 1.0 + 0.0) / 3.0, 1e-12);
}

TEST(argmax_takes_the_first_of_ties) {
  const float logits[6] = {0.1f, 0.9f, 0.9f, -1.0f, -2.0f, -3.0f};
  const std::vector<int32_t> a = md::argmax_rows(logits, 2, 3);
  CHECK_EQ(a[0], 1);
  CHECK_EQ(a[1], 0);
}

TEST(out_of_range_ids_name_the_row) {
  const int32_t truth[2] = {0, 7}, pred[2] = {0, 1};
  std::string message;
  try {
    md::classification_report(truth, pred, 2, 3);
  } catch (const std::exception& e) {
    message = e.what();
  }
  CHECK_EQ(message, std::string("true label 7 at row 1 is outside [0, 3)"));
}

CHECK_MAIN()
