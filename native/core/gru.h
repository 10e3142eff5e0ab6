// GRU text classifier (a student model): embedding -> GRU (optionally
// bidirectional) -> the state at each text's true last step -> dropout -> dense.
//
// Same maths, gate order, parameter shapes and names as PyTorch's
//   nn.Embedding(V, E, padding_idx) -> nn.GRU(E, H, bidirectional) over a packed
//   sequence -> h_n (both directions concatenated [fwd, bwd]) -> nn.Dropout -> nn.Linear
// so weights can be compared with, or imported from, a PyTorch model.
//
// How it runs:
// - Rows are processed sorted by length (longest first), time-major, like a
//   PyTorch PackedSequence: at step t the rows still running are a prefix of
//   the batch, so every per-step matrix product covers only those rows.
// - Training: the input projection of every token of the shard is one sgemm
//   ([tokens, E] x [E, 3H]); each step is one sgemm for the recurrent product
//   plus the element-wise cell (gru_cell.h). Backward through time stores the
//   gate gradients of all steps and forms dW_ih and dW_hh with one sgemm each.
// - Fast inference: the input projection is precomputed per vocabulary entry
//   (table [V, 3H] = E[v] W_ih^T + b_ih), so a step is a table lookup plus the
//   recurrence. forward_reference is the plain loop from the definition.
//
// The reverse direction reads each row from its last real token back to the
// first; its final state is the one after the first token (PyTorch's h_n[1]).
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "student_model.h"
#include "tensor.h"

namespace md {

struct GruConfig {
  int vocab_size = 0;
  int embedding_dim = 128;
  int hidden = 128;
  int num_classes = 0;
  bool bidirectional = false;
  float dropout = 0.5f;  // on the final state, training only (inverted dropout)
  int pad_id = 0;        // embedding row kept at zero, with zero gradient
};

class Gru : public StudentModel {
 public:
  // Initialises like PyTorch (embedding N(0,1) with the padding row zero; GRU
  // weights and biases U(-1/sqrt(H), 1/sqrt(H)); dense weight kaiming-uniform,
  // i.e. U(-1/sqrt(fan_in), 1/sqrt(fan_in)), bias likewise), from `seed`.
  // Throws std::invalid_argument naming the bad config field.
  explicit Gru(const GruConfig& config, uint64_t seed = 1);

  const GruConfig& config() const { return config_; }
  int directions() const { return config_.bidirectional ? 2 : 1; }

  std::string kind() const override { return "gru"; }
  int num_classes() const override { return config_.num_classes; }
  int vocab_size() const override { return config_.vocab_size; }
  std::vector<Parameter*> parameters() override;

  // Copies pretrained vectors ([vocab_size, embedding_dim], row-major) into the
  // embedding. The padding row is then zeroed again (it must stay zero).
  // Throws std::invalid_argument when the shape does not match.
  void set_embeddings(const float* data, int64_t rows, int64_t cols);

  std::unique_ptr<TrainContext> make_context() const override;
  void forward_train(TrainContext& ctx, const Batch& batch, Rng& rng, float* logits) const override;
  void backward(TrainContext& ctx, const Batch& batch, const float* dlogits, Gradients& grads) const override;

  void forward_reference(const Batch& batch, float* logits) const override;
  void prepare_inference() override;
  // Single-threaded per call and never touches the thread pool, so callers can
  // shard big batches over md::global_thread_pool() and call it from the tasks;
  // safe to call from several threads at once (it only reads the model).
  // Throws std::logic_error if prepare_inference() was not called since the
  // last set_embeddings().
  void forward_fast(const Batch& batch, float* logits) const override;

 private:
  // Parameters of one direction, PyTorch's names with suffix "_l0" or "_l0_reverse".
  struct Direction {
    Parameter weight_ih;  // [3H, E]
    Parameter weight_hh;  // [3H, H]
    Parameter bias_ih;    // [3H]
    Parameter bias_hh;    // [3H]
  };

  void check_batch(const Batch& batch) const;
  // rows_independent (inference): each row as in a one-row call, see sgemm_rows_independent.
  void dense(const float* features, int rows, float* logits, bool rows_independent = false) const;

  GruConfig config_;
  Parameter embedding_;  // [V, E]
  Direction dir_[2];     // [1] only when bidirectional
  Parameter fc_weight_;  // [C, D*H]
  Parameter fc_bias_;    // [C]

  // Fast-inference tables, one per direction: [V, 3H] = E W_ih^T + b_ih.
  std::vector<float> input_table_[2];
  bool prepared_ = false;
};

}  // namespace md
