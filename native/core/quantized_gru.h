// Int8 GRU for serving (see quantized_student.h for loading and gru.h for the maths).
//
// The float model's fast path looks up a precomputed input projection per token,
// table[v] = E[v] W_ih^T + b_ih ([V, 3H]). Here that table is int8 with one scale per column
// (per gate unit: a row of W_ih), dequantized one row per step. The recurrence is integer too:
// W_hh stays int8 with one scale per output row (as the folder stores it), and at every step
// each text's state h is quantized with a scale of its own (max |h| / 127, chosen per row and
// step, so a state of small values keeps its precision); gh = h W_hh^T is then an int8 matrix
// product with int32 sums (int8_matmul.h) scaled back by the two scales. The gates and the
// state update stay float. Memory: V * 3H + 3H * H bytes instead of (V * 3H + 3H * H) * 4.
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

  // forward_reference: the scalar kernels (the reference of tests); forward_fast: the SIMD ones.
  // Their integer products are identical; the cells differ by ~1e-7, which can move a state
  // across a rounding boundary of the next step's quantization, so logits agree to ~1e-3.
  void forward_reference(const Batch& batch, float* logits) const override;
  void forward_fast(const Batch& batch, float* logits) const override;

 protected:
  std::unique_ptr<StudentModel> make_staging() const override;
  void build(StudentModel& float_model) override;

 private:
  struct Direction {
    std::vector<std::int8_t> table;  // [V, 3H]
    std::vector<float> scale;        // [3H]
    std::vector<std::int8_t> weight_hh;  // int8::pack_weight_rows of [3H, Hp] (rows padded with zeros)
    std::vector<float> weight_hh_scale;  // [3H]
    std::vector<float> bias_hh;          // [3H]
  };
  int directions() const { return config_.bidirectional ? 2 : 1; }
  void forward(const Batch& batch, float* logits, bool scalar) const;

  GruConfig config_;
  Direction dir_[2];
  std::vector<float> fc_weight_;  // [C, D*H]
  std::vector<float> fc_bias_;    // [C]
};

}  // namespace md
