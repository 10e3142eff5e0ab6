// The training loop of every StudentModel: shuffled mini-batches, data-parallel
// forward/backward over the global thread pool, loss (CE / distillation mix),
// clipping, Adam(W) with a learning-rate schedule, evaluation after each epoch,
// and the best epoch's parameters restored at the end.
//
// Determinism: for a given seed and `threads` option the run is bit-for-bit
// repeatable. Each batch is split into `threads` contiguous shards whose
// boundaries depend only on the batch (never on which pool thread runs what);
// every shard has its own TrainContext, Gradients, scratch and dropout Rng
// (seeded from seed, step and shard); the shard gradients are summed in shard
// order. Changing `threads` changes the summation order, so results then
// differ in the last bits (and dropout masks differ), not in quality.
//
// Padding: rows of the input are [max_len] wide; each shard copies its rows
// into a compact [rows, longest row of the shard] buffer (zeros after each
// row's length), so short texts cost short compute, as in the reference's
// "pad to the batch's longest text". Models are padding-invariant by contract.
//
// Threading: train_model() blocks its calling thread (run it off the event
// loop) and uses md::global_thread_pool(); callbacks run on the calling thread.
#pragma once
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "losses.h"
#include "metrics.h"
#include "optimizer.h"
#include "student_model.h"

namespace md {

// Training rows. ids are [rows, max_len] row-major; only the first lengths[i]
// ids of row i are read (the rest may hold anything). Every row needs a label
// in [0, C) or a soft target (or both): see losses.h.
struct TrainRows {
  const int32_t* ids = nullptr;
  const int32_t* lengths = nullptr;  // rows values, each in [1, max_len]
  int64_t rows = 0;
  int max_len = 0;
  const int32_t* labels = nullptr;       // rows values, -1 = no label; null = no labels at all
  const float* soft_targets = nullptr;   // [rows, C] teacher LOGITS; all-NaN row = none; null = none
};

// Evaluation rows: same layout, every row labelled in [0, C).
struct EvalRows {
  const int32_t* ids = nullptr;
  const int32_t* lengths = nullptr;
  int64_t rows = 0;
  int max_len = 0;
  const int32_t* labels = nullptr;
};

enum class EvalPath {
  reference,  // forward_reference: no preparation needed
  fast,       // forward_fast after prepare_inference() (rebuilt after every epoch)
};

struct TrainProgressEvent {
  int epoch = 0;             // 1-based
  int epochs = 0;
  int64_t step = 0;          // optimiser updates done so far (whole run), 1-based after the first
  int64_t total_steps = 0;   // epochs * batches per epoch
  double examples_per_s = 0; // this epoch so far, training only
  double running_loss = 0;   // mean training loss of this epoch so far
  double learning_rate = 0;  // used by the last update
};

struct EvalResult {
  double loss = 0;  // mean cross-entropy on the labels
  ClassificationReport report;
};

struct EpochReport {
  int epoch = 0;  // 1-based
  double train_loss = 0;  // mean over the epoch's rows (including dropout noise)
  int64_t examples = 0;
  double train_seconds = 0;
  double examples_per_s = 0;
  double learning_rate = 0;  // of the epoch's last update
  double gradient_norm = 0;  // global norm (before clipping) of the epoch's last update
  bool evaluated = false;    // false when there is no eval set
  double eval_loss = 0;
  double eval_accuracy = 0;
  double eval_macro_f1 = 0;
  double eval_seconds = 0;
};

struct TrainReport {
  std::vector<EpochReport> epochs;  // completed epochs only
  int best_epoch = 0;                // 1-based; 0 = none (no eval set, or cancelled before the first eval)
  bool restored_best = false;        // parameters are those of best_epoch
  bool cancelled = false;
  int64_t steps = 0;                 // optimiser updates done
  double train_seconds = 0;          // training passes only (no evaluation)
  double examples_per_s = 0;         // over the whole run
};

struct StudentTrainOptions {
  int epochs = 8;
  int batch_size = 64;
  uint64_t seed = 1;
  int threads = 0;  // shards per batch; <= 0: the global pool's size
  OptimizerOptions optimizer;
  LrSchedule schedule;
  LossOptions loss;
  // fast by default: the reference loops are the tests' oracle, 100x slower
  // on a TextCNN (7.8 s vs 0.04 s for 1,000 reviews, table build included).
  EvalPath eval_path = EvalPath::fast;
  int eval_batch_size = 256;
  bool keep_best = true;  // restore the best epoch (by eval accuracy, ties -> lower eval loss)

  // Called after every update (on the calling thread); keep it cheap.
  std::function<void(const TrainProgressEvent&)> on_progress;
  // Called after every epoch's evaluation.
  std::function<void(const EpochReport&)> on_epoch;
  // Checked between batches; when set, training stops after the current batch.
  const std::atomic<bool>* cancel = nullptr;

  // Throws std::invalid_argument naming the bad option and value.
  void validate() const;
};

// One training run whose rows arrive in parts, for data too large to hold at
// once (a pool of 500,000+ texts streamed from its file): the caller feeds each
// epoch as a sequence of parts and closes it with end_epoch(). The optimiser
// state, the learning-rate schedule, the step counter, the shuffling generator
// and the best-epoch bookkeeping live here across parts, so a run fed in parts
// makes exactly the updates train_model() would make on the rows in the same
// order. train_model() is itself this session fed one part per epoch.
//
// Determinism: the same (seed, threads, parts) give the same run. Each part is
// shuffled with the session's generator (train_part), or trained in the
// caller's order (train_rows).
class TrainSession {
 public:
  // total_steps: the updates the whole run will make (epochs x batches of all
  // its parts), the length of the learning-rate schedule. Validates options.
  TrainSession(StudentModel& model, const StudentTrainOptions& options, int64_t total_steps);
  ~TrainSession();
  TrainSession(const TrainSession&) = delete;
  TrainSession& operator=(const TrainSession&) = delete;

  // Checks the rows (naming the bad row, as train_model), shuffles them with
  // the session's generator and trains on them in batches of batch_size (the
  // last batch of the part may be smaller). Adds to the current epoch.
  void train_part(const TrainRows& part);
  // Trains on order[0..n) of already-checked rows, in that order.
  void train_rows(const TrainRows& data, const int64_t* order, int64_t n);
  // Shuffles `order` with the session's generator (train_model's per-epoch shuffle).
  void shuffle(std::vector<int64_t>& order);

  // Closes the current epoch: its metrics, the evaluation on `eval` (when
  // given and non-empty; checked), the best-epoch bookkeeping and on_epoch.
  // Throws std::logic_error when the epoch trained no rows.
  EpochReport end_epoch(const EvalRows* eval);
  // Ends the run: restores the best epoch's parameters (keep_best, when an
  // epoch was evaluated) and returns every epoch's metrics.
  TrainReport finish();

  // True once a batch found options.cancel set; train_* then return at once.
  bool cancelled() const { return result_.cancelled; }
  // 1-based number of the epoch being trained.
  int epoch() const { return epoch_; }
  int64_t steps() const { return step_; }
  // Rows trained in the current epoch so far.
  int64_t epoch_examples() const { return current_.examples; }

 private:
  struct State;
  StudentModel& model_;
  StudentTrainOptions options_;
  int64_t total_steps_;
  int threads_;
  std::unique_ptr<State> state_;
  TrainReport result_;
  EpochReport current_;
  double epoch_loss_ = 0;
  int epoch_ = 1;
  int64_t step_ = 0, examples_seen_ = 0;
  double best_accuracy_ = -1, best_loss_ = 0;
  std::vector<Tensor> best_params_;
  bool finished_ = false;
};

// Trains `model` in place. Throws std::invalid_argument for bad data (naming
// the row: "label 12 at row 345 is outside [0, 10)", "token id 30000 at row 7,
// position 2 is outside the vocabulary [0, 21128)") before any update, and
// std::runtime_error when the loss becomes NaN/inf. On cancel the result has
// cancelled = true and the best epoch so far (if any) is restored.
// With eval_path == fast (the default) the trainer leaves the inference tables
// prepared for the final parameters; with reference, call
// model.prepare_inference() afterwards before using forward_fast.
TrainReport train_model(StudentModel& model, const TrainRows& train, const EvalRows* eval, const StudentTrainOptions& options);

// Logits [rows, C] of every row, in input order. Rows are grouped by length
// into batches of batch_size (fixed grouping, independent of threads), each
// compacted to its longest row, the batches spread over `threads` (<= 0: all).
// path == fast requires model.prepare_inference() to have been called.
std::vector<float> predict_logits(const StudentModel& model, const int32_t* ids, const int32_t* lengths, int64_t rows,
                                  int max_len, EvalPath path, int batch_size = 256, int threads = 0);

// predict_logits + mean cross-entropy + metrics. Labels must be in [0, C).
EvalResult evaluate_model(const StudentModel& model, const EvalRows& data, EvalPath path, int batch_size = 256,
                          int threads = 0);

}  // namespace md
