// TextCNN student (Kim 2014): embedding -> one 1-D convolution per window size
// -> ReLU -> max over time -> concat -> dropout -> dense.
//
// Parameters (names are the safetensors keys, in this order):
//   embedding.weight  [V, E]        row pad_id is kept at zero and never gets a gradient
//   conv<k>.weight    [F, k, E]     one per window size k (e.g. conv3.weight); PyTorch's
//                                   Conv1d stores [F, E, k]: ours is weight.permute(0, 2, 1),
//                                   so the k*E inputs of one window are contiguous, exactly
//                                   k consecutive embedding rows
//   conv<k>.bias      [F]
//   fc.weight         [C, F * windows]   (features ordered window by window, as in the config)
//   fc.bias           [C]
//
// Semantics of the convolution over a text of true length L (padding excluded):
//   - position t of window k covers tokens t .. t+k-1; the valid positions are
//     t = 0 .. max(L - k, 0), i.e. max(L - k + 1, 1) of them;
//   - a text shorter than k is zero-padded to k tokens, so it still yields exactly
//     one window (its tokens plus zero vectors), and every text gets a value;
//   - tokens at or beyond L, and tokens equal to pad_id anywhere, embed to the
//     zero vector whatever the ids or the embedding row hold, so changing the ids
//     after a text's length never changes its logits.
// forward_reference, forward_train and forward_fast all implement exactly this.
//
// How it runs:
//   - forward_reference: loops straight from the definition (the oracle of tests).
//   - forward_fast: a convolution over embeddings is a sum of per-token,
//     per-offset vectors. prepare_inference() precomputes, for every vocabulary
//     entry v, window k and offset j, the F-vector T[v][k][j] = W_k[:, j, :] . E[v];
//     a window's pre-activation is then bias + sum_j T[id(t+j)][k][j] (gathers and
//     AVX2 adds of F-float rows), followed by max over t, ReLU and the dense layer.
//     The table holds V * (sum of window sizes) * F floats: V=21128, windows 3/4/5,
//     F=128 -> 130 MB. It is built only when prepare_inference() is called (never
//     during training) and must be rebuilt after the parameters change.
//   - forward_train: the same table trick restricted to the tokens of the shard:
//     one sgemm [unique tokens, E] x [E, (sum k) * F] per step, then the same
//     gather-add kernel, keeping the argmax position of every (text, filter).
//     Backward is sparse: only the argmax window of each (text, filter) gets a
//     gradient, so dW and dE are k rows of axpy per (text, filter).
// All methods are const-safe for concurrent use except the mutators
// (set_embeddings, prepare_inference, parameters()).
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "student_model.h"
#include "tensor.h"

namespace md {

struct TextCnnConfig {
  int vocab_size = 0;
  int embedding_dim = 128;
  int num_classes = 0;
  std::vector<int> windows = {3, 4, 5};
  int filters = 128;
  float dropout = 0.5f;
  int pad_id = 0;

  // Throws std::invalid_argument naming the bad field and value.
  void validate() const;
};

class TextCnn : public StudentModel {
 public:
  // Parameters initialised like PyTorch's defaults, from `seed`: embedding
  // N(0, 1) (pad row zero); conv and fc weights and biases U(-1/sqrt(fan_in),
  // 1/sqrt(fan_in)) (= kaiming_uniform with a = sqrt(5), and PyTorch's bias rule).
  TextCnn(const TextCnnConfig& config, uint64_t seed);

  const TextCnnConfig& config() const { return config_; }

  // Replaces the embedding matrix with pretrained vectors, row-major [V, E]
  // (rows = vocab_size, cols = embedding_dim). The pad row is set to zero.
  void set_embeddings(const float* vectors, int rows, int cols);
  void set_embeddings(const Tensor& vectors);

  // Bytes the inference table needs (V * sum(windows) * F * 4).
  std::size_t inference_table_bytes() const;
  bool inference_prepared() const { return !table_.empty(); }

  std::string kind() const override { return "textcnn"; }
  int num_classes() const override { return config_.num_classes; }
  int vocab_size() const override { return config_.vocab_size; }
  std::vector<Parameter*> parameters() override;

  std::unique_ptr<TrainContext> make_context() const override;
  void forward_train(TrainContext& ctx, const Batch& batch, Rng& rng, float* logits) const override;
  void backward(TrainContext& ctx, const Batch& batch, const float* dlogits, Gradients& grads) const override;

  void forward_reference(const Batch& batch, float* logits) const override;
  // Builds the table (parallel over vocabulary blocks on the global thread pool).
  void prepare_inference() override;
  // Single-threaded over the batch it is given (callers shard batches over
  // threads); throws std::logic_error if prepare_inference() was never called.
  void forward_fast(const Batch& batch, float* logits) const override;

  // Number of feature columns before the dense layer: F * windows.size().
  int feature_dim() const { return config_.filters * static_cast<int>(config_.windows.size()); }

 private:
  // Offsets (in F-rows) of each window's block inside one table row: window i
  // occupies rows window_offset_[i] .. window_offset_[i] + k_i - 1.
  int table_rows_per_token() const { return window_offset_.back(); }
  void check_batch(const Batch& batch) const;
  // Shared tail of every path: features [B, feature_dim] -> logits [B, C].
  // rows_independent (inference): each row as in a one-row call, see sgemm_rows_independent.
  void dense(const float* features, int batch, float* logits, bool rows_independent = false) const;

  TextCnnConfig config_;
  Parameter embedding_;
  std::vector<Parameter> conv_weight_, conv_bias_;
  Parameter fc_weight_, fc_bias_;
  std::vector<int> window_offset_;  // size windows + 1, prefix sums of window sizes
  int max_window_ = 0;

  std::vector<float> table_;       // [V, sum k, F], built by prepare_inference()
  std::vector<float> zero_block_;  // one table row of zeros: pads and positions past a text's end
};

}  // namespace md
