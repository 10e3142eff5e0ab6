// Masked-LM pre-training of the transformer teacher: the training loop around
// Transformer::forward_hidden_train/backward_hidden and MlmHead, one update at
// a time (train_step), with AdamW (warmup + linear decay, clipping) and a
// checkpoint that resumes exactly where it stopped.
//
// One step: the batch's rows are masked (mlm_head.h's rule), split into
// `threads` contiguous shards (boundaries from the batch alone, as the
// trainer), each shard compacted to its longest row and run forward + backward
// on the global thread pool with its own caches and gradients; the shard
// gradients are summed in shard order, clipped by global norm, and AdamW
// updates the encoder and the head. The loss is the mean cross-entropy over
// the batch's masked positions (a batch with none is skipped: no update, the
// step still counts, so the schedule and the data order stay aligned).
//
// What is optimised: the embeddings, the encoder layers and the MLM head. The
// transformer's pooler and classifier get no gradient from MLM (BERT trains
// its pooler with next-sentence prediction, which is not done here) and are
// left out of the optimiser, so they keep their seeded initial values.
//
// Determinism and resuming: every random draw is a pure function of (seed,
// step) - the epoch's shuffle of (seed, epoch), a row's masking of (seed,
// epoch, row), dropout of (seed, step, shard) - so the checkpoint needs only
// the weights, the AdamW moments and the step. A run resumed from a
// checkpoint at step s gives bit-for-bit the weights of an uninterrupted run
// (same thread count).
//
// Threading: train_step blocks its caller (run it off the event loop) and
// uses md::global_thread_pool(); not thread-safe itself.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "mlm_head.h"
#include "optimizer.h"
#include "transformer.h"

namespace md {

struct MlmPretrainOptions {
  int batch_size = 64;
  float mask_prob = 0.15f;
  int epochs = 1;
  int64_t max_steps = 0;  // > 0: exactly this many updates (the data cycles through epochs); 0: epochs decide
  uint64_t seed = 1;      // data order, masking and dropout (the weights' seed is the constructor's)
  int threads = 0;        // shards per batch; <= 0: the global pool's size
  OptimizerOptions optimizer;  // kind should be adamw; clip_norm 1.0 as BERT
  LrSchedule schedule;         // e.g. linear decay after a warmup fraction

  // Throws std::invalid_argument naming the bad option and value.
  void validate() const;
};

// Pre-training rows: [rows, max_len] ids (each row [CLS] pieces [SEP]); only
// the first lengths[i] of row i are read. The pointers must outlive the pretrainer.
struct MlmData {
  const int32_t* ids = nullptr;
  const int32_t* lengths = nullptr;
  int64_t rows = 0;
  int max_len = 0;
};

struct MlmStepResult {
  int64_t step = 0;         // updates done after this one (1-based)
  double loss = 0;          // mean cross-entropy over the batch's masked positions
  int64_t masked = 0;       // prediction targets in the batch
  int64_t tokens = 0;       // real tokens in the batch (including [CLS]/[SEP])
  int rows = 0;
  double gradient_norm = 0; // before clipping
  double learning_rate = 0;
  bool skipped = false;     // no masked position: no update
};

using Metadata = std::vector<std::pair<std::string, std::string>>;

class MlmPretrainer {
 public:
  // A fresh transformer (BERT initialisation from model_seed) and head. The
  // data is validated here (ids in the vocabulary, lengths in [1, max_len],
  // at most max_positions), naming the bad row.
  MlmPretrainer(const TransformerConfig& config, uint64_t model_seed, const MaskingVocab& vocab,
                const MlmPretrainOptions& options, const MlmData& data);
  ~MlmPretrainer();
  MlmPretrainer(const MlmPretrainer&) = delete;
  MlmPretrainer& operator=(const MlmPretrainer&) = delete;

  Transformer& model() { return *model_; }
  const Transformer& model() const { return *model_; }
  const MlmHead& head() const { return head_; }
  int64_t steps_per_epoch() const { return steps_per_epoch_; }
  int64_t total_steps() const { return total_steps_; }
  int64_t step() const { return step_; }
  bool finished() const { return step_ >= total_steps_; }

  // One update (throws std::logic_error when finished(); std::runtime_error
  // when the loss is not finite).
  MlmStepResult train_step();

  // Everything needed to resume, in one safetensors file written atomically
  // (temp + fsync + rename): the transformer's tensors under their Hugging
  // Face names, the head's (cls.predictions.*), the AdamW moments
  // (optimizer.exp_avg.<name>, optimizer.exp_avg_sq.<name>), and metadata:
  // format, version, step, total_steps, batch_size, seed, mask_prob, plus `extra`.
  void save_checkpoint(const std::string& path, const Metadata& extra = {}) const;
  // Restores a save_checkpoint file. Throws std::runtime_error starting with
  // the path and naming the problem (not a checkpoint, other version, missing
  // tensor, shape mismatch, other batch size / seed / total steps). Nothing
  // changes when it throws. Returns the file's metadata.
  Metadata load_checkpoint(const std::string& path);
  // The transformer alone (all its parameters, HF names), as a NativeStudent
  // transformer of the same spec loads it.
  void save_encoder(const std::string& path, const Metadata& metadata = {}) const;

 private:
  struct Shard;
  void order_for_epoch(int64_t epoch);
  std::vector<Parameter*> optimised_parameters();

  TransformerConfig config_;
  std::unique_ptr<Transformer> model_;
  MlmHead head_;
  MaskingVocab vocab_;
  MlmPretrainOptions options_;
  MlmData data_;
  std::vector<int> optimised_transformer_;  // indices into model_->parameters() that AdamW updates
  std::unique_ptr<Adam> adam_;
  std::vector<Shard> shards_;
  int threads_ = 1;
  int64_t steps_per_epoch_ = 0, total_steps_ = 0, step_ = 0;
  int64_t order_epoch_ = -1;
  std::vector<int64_t> order_;
};

// The checkpoint's format tag and version (metadata "format" / "version").
extern const char* const kMlmCheckpointFormat;
constexpr int kMlmCheckpointVersion = 1;

}  // namespace md
