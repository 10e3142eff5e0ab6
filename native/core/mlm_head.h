// BERT's masked-LM head and the masking rule, for pre-training the transformer
// teacher (transformer.h) on unlabelled text.
//
// Head (Hugging Face BertOnlyMLMHead, same tensor names):
//   t      = LayerNorm(GELU(h W^T + b))            the "transform"
//   logits = t E^T + bias                          decoder TIED to the word embeddings E [V, H]
//   loss   = cross-entropy of logits against the original token, summed over
//            the masked positions only (the caller scales it to a mean)
// Parameters (owned here; E belongs to the transformer):
//   cls.predictions.transform.dense.weight      [H, H]
//   cls.predictions.transform.dense.bias        [H]      no_decay
//   cls.predictions.transform.LayerNorm.weight  [H]      no_decay
//   cls.predictions.transform.LayerNorm.bias    [H]      no_decay
//   cls.predictions.bias                        [V]      no_decay
//
// Why only masked positions: the decoder is a [M, H] x [H, V] product; with
// M = the ~15% masked tokens instead of every token it costs ~7x less, and
// the unmasked positions carry no loss anyway. Because E is tied, its gradient
// arrives from two places: this decoder (dE += dlogits^T t, here) and the
// embedding lookup (the transformer's backward). Both accumulate into the same
// gradient tensor.
//
// Masking (BERT, Devlin et al. 2019): each non-special token is selected with
// probability mask_prob; a selected token becomes [MASK] with probability 0.8,
// a random non-special token with 0.1, and stays unchanged with 0.1. Every
// selected position is a prediction target. Special tokens ([PAD], [UNK],
// [CLS], [SEP], [MASK], as Hugging Face's all_special_ids) are never selected
// and never drawn as the random replacement. Their ids come from the
// vocabulary (the caller), never hard-coded.
#pragma once
#include <cstdint>
#include <vector>

#include "student_model.h"
#include "tensor.h"

namespace md {

// Which ids masking may touch, built once from the vocabulary.
class MaskingVocab {
 public:
  // special_ids: ids never selected nor drawn (must include mask_id); all in [0, vocab_size).
  // Throws std::invalid_argument naming the bad id, or when no ordinary token is left.
  MaskingVocab(int vocab_size, int mask_id, const std::vector<int32_t>& special_ids);
  int vocab_size() const { return vocab_size_; }
  int mask_id() const { return mask_id_; }
  bool is_special(int32_t id) const { return special_[static_cast<std::size_t>(id)] != 0; }
  // The ids a "random token" replacement draws from (every non-special id).
  const std::vector<int32_t>& ordinary_ids() const { return ordinary_; }

 private:
  int vocab_size_, mask_id_;
  std::vector<uint8_t> special_;
  std::vector<int32_t> ordinary_;
};

// What happened to one selected position (for the statistics test).
enum class MaskAction : int8_t { none = 0, masked = 1, random = 2, kept = 3 };

// Masks one row: copies ids[0..length) to out_ids with the selected positions
// replaced, and writes targets[t] = the original id at selected positions,
// -1 elsewhere. actions (optional) records what happened at each position.
// Returns the number of selected positions. All draws come from rng, so a
// given rng state always gives the same masking.
int mask_row(const int32_t* ids, int length, const MaskingVocab& vocab, float mask_prob, Rng& rng, int32_t* out_ids,
             int32_t* targets, MaskAction* actions = nullptr);

class MlmHead {
 public:
  // BERT's initialisation from `seed`: dense N(0, 0.02), biases 0, LayerNorm 1 / 0.
  MlmHead(int hidden, int vocab_size, float layer_norm_eps, uint64_t seed);

  int hidden() const { return hidden_; }
  int vocab_size() const { return vocab_size_; }
  std::vector<Parameter*> parameters();
  std::vector<const Parameter*> parameters() const;
  Gradients make_gradients() const;

  // Per-thread caches and scratch (buffers only grow).
  struct Context {
    std::vector<float> u, g, xhat, rstd, t;  // transform: pre-GELU, GELU, LayerNorm caches, output [M, H]
    std::vector<float> logits;               // [M, V], then d logits
    std::vector<float> dt;                   // [M, H]
  };

  // Forward only: logits [M, V] of the hidden states h [M, H] at the masked
  // positions, with the tied decoder E [V, H].
  void logits(Context& ctx, int M, const float* h, const float* E, float* out) const;

  // Forward + backward in one pass (the logits are never needed afterwards):
  // returns the SUM over the M rows of -log softmax(logits)[target]; with
  // loss = scale * that sum, accumulates d loss / d head parameters into
  // head_grads (parameters() order), d loss / d E into dE [V, H], and WRITES
  // d loss / d h into dh [M, H]. targets in [0, V).
  double loss_and_backward(Context& ctx, int M, const float* h, const int32_t* targets, const float* E, float scale,
                           Gradients& head_grads, float* dE, float* dh) const;

 private:
  void transform_forward(Context& ctx, int M, const float* h) const;
  int hidden_, vocab_size_;
  float eps_;
  std::vector<Parameter> params_;  // dense.weight, dense.bias, LayerNorm.weight, LayerNorm.bias, bias
};

}  // namespace md
