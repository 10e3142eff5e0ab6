// BERT/ERNIE-style transformer classifier (the teacher): token + position
// (+ segment) embeddings -> LayerNorm -> dropout -> L encoder layers -> the
// [CLS] state (position 0) -> pooler dense + tanh (optional) -> dropout ->
// classifier.
//
// One encoder layer (post-LayerNorm, as BERT):
//   qkv  = x Wq|Wk|Wv + b                      (three Linear layers)
//   ctx  = per head softmax(Q K^T / sqrt(d) + mask) V, with attention-prob dropout
//   h1   = LayerNorm(x + dropout(ctx Wo^T + bo))
//   h2   = LayerNorm(h1 + dropout(GELU(h1 W1^T + b1) W2^T + b2))     (exact erf GELU)
//
// Parameters (Hugging Face BertForSequenceClassification names and order;
// weights [out, in] like PyTorch Linear, so an HF checkpoint maps 1:1):
//   bert.embeddings.word_embeddings.weight        [V, H]   (row pad_id zero, never updated:
//   bert.embeddings.position_embeddings.weight    [P, H]    nn.Embedding(padding_idx) semantics)
//   bert.embeddings.token_type_embeddings.weight  [S, H]   (single texts use type 0)
//   bert.embeddings.LayerNorm.weight / .bias      [H]
//   bert.encoder.layer.N.attention.self.query|key|value.weight [H, H] / .bias [H]
//   bert.encoder.layer.N.attention.output.dense.weight [H, H] / .bias
//   bert.encoder.layer.N.attention.output.LayerNorm.weight / .bias
//   bert.encoder.layer.N.intermediate.dense.weight [I, H] / .bias [I]
//   bert.encoder.layer.N.output.dense.weight [H, I] / .bias [H]
//   bert.encoder.layer.N.output.LayerNorm.weight / .bias
//   bert.pooler.dense.weight [H, H] / .bias        (only when config.pooler)
//   classifier.weight [C, H] / .bias [C]
// Biases and LayerNorm tensors are no_decay (as HF's fine-tuning recipe).
//
// Padding: a row's tokens are its first lengths[b] ids; the rest of the row is
// never read. Mathematically this is BERT with attention_mask = 1 for
// positions < length: keys at or after a row's length get -inf before the
// softmax. The implementation packs the real tokens of the batch into one
// [tokens, H] matrix (offsets by row), so dense layers never compute padding
// rows and the mask is exact by construction (attention of a row only sees its
// own keys). The [CLS] token is simply position 0 (the tokenizer puts it there).
//
// How it runs: forward/backward over a shard as batched sgemm calls (one
// [tokens, H] x [H, H] per Q/K/V projection, per-(row, head) score and context
// products, [tokens, H] x [H, I] for the feed-forward), activations cached in
// the TrainContext. forward_fast is the same batched path without dropout;
// forward_reference is plain loops from the definition in double (the tests'
// oracle). Every method is single-threaded per call (the trainer and
// predict_logits shard batches over the thread pool) and const-safe, except
// parameters() and the mutators.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "student_model.h"
#include "tensor.h"

namespace md {

struct TransformerConfig {
  int vocab_size = 0;
  int hidden = 256;
  int layers = 4;
  int heads = 4;
  int intermediate = 1024;
  int max_positions = 512;
  int type_vocab_size = 2;
  int num_classes = 0;
  float dropout = 0.1f;            // hidden dropout: embeddings, sublayer outputs, before the classifier
  float attention_dropout = 0.1f;  // on the attention probabilities
  float layer_norm_eps = 1e-12f;   // BERT's value
  bool pooler = true;              // BERT's [CLS] pooler (dense + tanh); false = classifier on the raw [CLS] state
  int pad_id = 0;

  // Throws std::invalid_argument naming the bad field and value.
  void validate() const;
};

class Transformer : public StudentModel {
 public:
  // BERT's initialisation from `seed`: weights and embeddings N(0, 0.02), the
  // pad_id row of the word embeddings zero, biases 0, LayerNorm weight 1 / bias 0.
  Transformer(const TransformerConfig& config, uint64_t seed);

  const TransformerConfig& config() const { return config_; }
  int head_dim() const { return config_.hidden / config_.heads; }

  std::string kind() const override { return "transformer"; }
  int num_classes() const override { return config_.num_classes; }
  int vocab_size() const override { return config_.vocab_size; }
  std::vector<Parameter*> parameters() override;

  // The word embedding matrix [V, H] (an MLM output layer ties its weight to it).
  Parameter& word_embeddings() { return params_[0]; }
  const Parameter& word_embeddings() const { return params_[0]; }
  // Index of a parameter in parameters() (and so in Gradients), or -1.
  int parameter_index(const std::string& name) const;

  std::unique_ptr<TrainContext> make_context() const override;
  void forward_train(TrainContext& ctx, const Batch& batch, Rng& rng, float* logits) const override;
  void backward(TrainContext& ctx, const Batch& batch, const float* dlogits, Gradients& grads) const override;

  // The encoder alone, for MLM pre-training: final hidden states [B, T, H]
  // (T = batch.seq_len; positions at or after a row's length are written as 0).
  // forward_hidden_train uses dropout from rng and caches for backward_hidden,
  // which takes d loss / d hidden [B, T, H] (padding positions ignored) and
  // accumulates into grads (the classifier head's gradients stay untouched).
  void forward_hidden_train(TrainContext& ctx, const Batch& batch, Rng& rng, float* hidden) const;
  void backward_hidden(TrainContext& ctx, const Batch& batch, const float* dhidden, Gradients& grads) const;
  // Inference (no dropout) final hidden states [B, T, H], zeros at padding.
  void hidden_states(const Batch& batch, float* hidden) const;

  void forward_reference(const Batch& batch, float* logits) const override;
  // Nothing to precompute: forward_fast reads the parameters directly.
  void prepare_inference() override {}
  void forward_fast(const Batch& batch, float* logits) const override;

  // Multiply-adds x 2 of one forward pass over rows of these lengths (matrix
  // products only: projections, attention scores and contexts, feed-forward,
  // pooler, classifier). Backward costs about twice that.
  double forward_flops(const int32_t* lengths, int rows) const;

 private:
  struct Context;
  struct LayerIndex;  // positions of one layer's tensors in params_
  void check_batch(const Batch& batch) const;
  // Packed encoder: fills ctx (offsets, activations); returns the final hidden [tokens, H].
  // for_backward: keep every layer's activations for encode_backward (else one layer's
  // buffers are reused by all layers, and backward on this context is refused).
  const float* encode(Context& ctx, const Batch& batch, Rng* rng, bool for_backward) const;
  // Backward of the encoder from d final hidden (packed [tokens, H], overwritten).
  void encode_backward(Context& ctx, const Batch& batch, float* dfinal, Gradients& grads) const;
  void head_forward(Context& ctx, int B, Rng* rng, float* logits) const;
  const float* w(int index) const { return params_[index].value.ptr(); }

  TransformerConfig config_;
  std::vector<Parameter> params_;
  int layer_base_ = 5;  // params_ index of layer 0's first tensor (after the 5 embedding tensors)
  int pooler_index_ = -1, classifier_index_ = -1;
};

}  // namespace md
