// Int8 TextCNN for serving (see quantized_student.h for loading and textcnn.h for the maths).
//
// The float model's fast path sums, per window position, k rows of the table
// T[v][j][f] = W_k[f, j, :] . E[v]. Here T is int8 with one scale per filter column of each
// window, s[w][f] = max over v, j of |T[v][j][f]| / 127 (the scale of a conv weight row's
// outputs). Then a window's pre-activation is bias[f] + s[w][f] * sum_j q[v_j][j][f], the sum is
// an integer (int16 in the AVX2 kernel, 16 lanes per add, exact), and the max over positions is
// taken on the integers, since s > 0: relu(max_t(bias + s * sum)) = relu(bias + s * max_t sum).
// The table is V * sum(windows) * F bytes, a quarter of the float one.
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

#include "quantized_student.h"
#include "textcnn.h"

namespace md {

class QuantizedTextCnn : public QuantizedStudent {
 public:
  // Throws std::invalid_argument for a bad config or a window wider than int8::kMaxWindow.
  explicit QuantizedTextCnn(const TextCnnConfig& config);

  const TextCnnConfig& config() const { return config_; }
  // Bytes of the int8 table (and its scales) once built.
  std::size_t table_bytes() const;

  // The scalar kernel (the reference of tests); forward_fast: the SIMD one. Identical results.
  void forward_reference(const Batch& batch, float* logits) const override;
  void forward_fast(const Batch& batch, float* logits) const override;

 protected:
  std::unique_ptr<StudentModel> make_staging() const override;
  void build(StudentModel& float_model) override;

 private:
  void forward(const Batch& batch, float* logits, bool scalar) const;

  TextCnnConfig config_;
  std::vector<int> window_offset_;  // prefix sums of the window sizes (rows of a token's table block)
  int max_window_ = 0;
  std::vector<std::int8_t> table_;  // [V, sum k, F]
  std::vector<std::int8_t> zero_row_;
  std::vector<float> scale_;        // [windows, F]
  std::vector<float> conv_bias_;    // [windows, F]
  std::vector<float> fc_weight_;    // [C, windows * F]
  std::vector<float> fc_bias_;      // [C]
};

}  // namespace md
