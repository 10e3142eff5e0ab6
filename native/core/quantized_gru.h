// Int8 GRU for serving (see quantized_student.h for loading and gru.h for the maths).
//
// The float model's fast path looks up a precomputed input projection per token,
// table[v] = E[v] W_ih^T + b_ih ([V, 3H]). Here that table is int8 with one scale per column
// (per gate unit: a row of W_ih), dequantized one row per step; the recurrent weights W_hh are
// stored int8 per row in the folder and dequantized to float at load (they are 3H x H, small,
// and the recurrence is where rounding would accumulate). Memory: V * 3H bytes instead of
// V * (3H + E) * 4.
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

#include "gru.h"
#include "quantized_student.h"

namespace md {

class QuantizedGru : public QuantizedStudent {
 public:
  explicit QuantizedGru(const GruConfig& config);

  const GruConfig& config() const { return config_; }
  std::size_t table_bytes() const;

  // Scalar GRU cell (the reference of tests); forward_fast: the SIMD cell. Agree to ~1e-6.
  void forward_reference(const Batch& batch, float* logits) const override;
  void forward_fast(const Batch& batch, float* logits) const override;

 protected:
  std::unique_ptr<StudentModel> make_staging() const override;
  void build(StudentModel& float_model) override;

 private:
  struct Direction {
    std::vector<std::int8_t> table;  // [V, 3H]
    std::vector<float> scale;        // [3H]
    std::vector<float> weight_hh;    // [3H, H]
    std::vector<float> bias_hh;      // [3H]
  };
  int directions() const { return config_.bidirectional ? 2 : 1; }
  void forward(const Batch& batch, float* logits, bool scalar) const;

  GruConfig config_;
  Direction dir_[2];
  std::vector<float> fc_weight_;  // [C, D*H]
  std::vector<float> fc_bias_;    // [C]
};

}  // namespace md
