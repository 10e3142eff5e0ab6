#include "trainer.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <memory>
#include <numeric>
#include <stdexcept>
#include <string>

#include "thread_pool.h"

namespace md {

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// splitmix64: turns (seed, step, shard) into well-spread Rng seeds, so shards
// and steps never share a dropout stream.
uint64_t mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// Fisher-Yates with our own index draw: std::shuffle's use of the engine is
// implementation-defined, and a run must be the same with any standard library.
void shuffle(std::vector<int64_t>& v, Rng& rng) {
  for (std::size_t i = v.size(); i > 1; --i) {
    const std::size_t j = static_cast<std::size_t>(rng() % i);
    std::swap(v[i - 1], v[j]);
  }
}

int resolve_threads(int threads) { return threads > 0 ? threads : global_thread_pool().size(); }

// Checks the rows' shape data (lengths and ids) of a data set, naming the row.
void validate_tokens(const char* what, const int32_t* ids, const int32_t* lengths, int64_t rows, int max_len,
                     int vocab_size) {
  if (rows < 0) throw std::invalid_argument(std::string(what) + ": negative row count " + std::to_string(rows));
  if (rows == 0) return;
  if (!ids || !lengths) throw std::invalid_argument(std::string(what) + ": ids and lengths are required");
  if (max_len < 1) throw std::invalid_argument(std::string(what) + ": max_len must be >= 1, got " + std::to_string(max_len));
  for (int64_t r = 0; r < rows; ++r) {
    const int len = lengths[r];
    if (len < 1 || len > max_len)
      throw std::invalid_argument(std::string(what) + ": length " + std::to_string(len) + " at row " + std::to_string(r) +
                                  " is outside [1, " + std::to_string(max_len) + "]");
    const int32_t* row = ids + r * max_len;
    for (int t = 0; t < len; ++t)
      if (row[t] < 0 || row[t] >= vocab_size)
        throw std::invalid_argument(std::string(what) + ": token id " + std::to_string(row[t]) + " at row " +
                                    std::to_string(r) + ", position " + std::to_string(t) +
                                    " is outside the vocabulary [0, " + std::to_string(vocab_size) + ")");
  }
}

void validate_train(const StudentModel& model, const TrainRows& d) {
  const int C = model.num_classes();
  if (d.rows < 1) throw std::invalid_argument("training data: no rows");
  validate_tokens("training data", d.ids, d.lengths, d.rows, d.max_len, model.vocab_size());
  for (int64_t r = 0; r < d.rows; ++r) {
    const int label = d.labels ? d.labels[r] : -1;
    if (label < -1 || label >= C)
      throw std::invalid_argument("training data: label " + std::to_string(label) + " at row " + std::to_string(r) +
                                  " is outside [0, " + std::to_string(C) + ")");
    const bool has_soft = d.soft_targets && !soft_target_absent(d.soft_targets + r * C, C, r);
    if (label < 0 && !has_soft)
      throw std::invalid_argument("training data: row " + std::to_string(r) + " has neither a label nor a soft target");
  }
}

void validate_eval(const StudentModel& model, const EvalRows& d) {
  validate_tokens("eval data", d.ids, d.lengths, d.rows, d.max_len, model.vocab_size());
  if (d.rows > 0 && !d.labels) throw std::invalid_argument("eval data: labels are required");
  const int C = model.num_classes();
  for (int64_t r = 0; r < d.rows; ++r)
    if (d.labels[r] < 0 || d.labels[r] >= C)
      throw std::invalid_argument("eval data: label " + std::to_string(d.labels[r]) + " at row " + std::to_string(r) +
                                  " is outside [0, " + std::to_string(C) + ")");
}

// Copies rows[0..n) of a [*, max_len] id matrix into a compact [n, longest]
// buffer, zero after each row's length. Returns longest.
int compact_rows(const int32_t* ids, const int32_t* lengths, int max_len, const int64_t* rows, int n,
                 std::vector<int32_t>& out_ids, std::vector<int32_t>& out_lengths) {
  int longest = 1;
  for (int i = 0; i < n; ++i) longest = std::max(longest, static_cast<int>(lengths[rows[i]]));
  out_ids.assign(static_cast<std::size_t>(n) * longest, 0);
  out_lengths.resize(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) {
    const int len = lengths[rows[i]];
    std::memcpy(out_ids.data() + static_cast<std::size_t>(i) * longest, ids + rows[i] * max_len,
                sizeof(int32_t) * static_cast<std::size_t>(len));
    out_lengths[i] = len;
  }
  return longest;
}

// Everything one shard of a training batch owns; allocated once per run.
struct Shard {
  std::unique_ptr<TrainContext> ctx;
  Gradients grads;
  std::vector<int32_t> ids, lengths, labels;
  std::vector<float> soft, logits, dlogits;
  double loss_sum = 0;
};

void copy_parameters(StudentModel& model, std::vector<Tensor>& out) {
  out.clear();
  for (const Parameter* p : model.parameters()) out.push_back(p->value);
}

void restore_parameters(StudentModel& model, const std::vector<Tensor>& saved) {
  std::vector<Parameter*> params = model.parameters();
  for (std::size_t i = 0; i < params.size(); ++i) params[i]->value.data = saved[i].data;
}

// grads[0] += grads[s] for s = 1.. in that order (zeroing grads[s] for the
// next step), and returns the global L2
// norm of the sum, in one parallel pass over fixed element chunks. Each
// element's sum order is fixed and the per-chunk squares are added in chunk
// order, so the result does not depend on scheduling.
double reduce_gradients(std::vector<Shard>& shards, int used) {
  constexpr std::size_t kChunk = 1 << 16;
  struct Chunk {
    std::size_t p, begin, end;
  };
  std::vector<Chunk> chunks;
  Gradients& sum = shards[0].grads;
  for (std::size_t p = 0; p < sum.size(); ++p)
    for (std::size_t b = 0; b < sum[p].size(); b += kChunk) chunks.push_back({p, b, std::min(sum[p].size(), b + kChunk)});
  std::vector<double> squares(chunks.size(), 0.0);
  global_thread_pool().parallel_for(chunks.size(), [&](std::size_t i, int) {
    const Chunk& c = chunks[i];
    float* dst = sum[c.p].ptr();
    for (int s = 1; s < used; ++s) {
      float* src = shards[s].grads[c.p].ptr();
      for (std::size_t k = c.begin; k < c.end; ++k) dst[k] += src[k];
      // Zero the shard's buffer while it is in cache, ready for the next step.
      std::fill(src + c.begin, src + c.end, 0.0f);
    }
    // Four independent accumulators: a single one is latency-bound.
    double sq[4] = {0, 0, 0, 0};
    std::size_t k = c.begin;
    for (; k + 4 <= c.end; k += 4)
      for (int j = 0; j < 4; ++j) sq[j] += double(dst[k + j]) * dst[k + j];
    for (; k < c.end; ++k) sq[0] += double(dst[k]) * dst[k];
    squares[i] = (sq[0] + sq[1]) + (sq[2] + sq[3]);
  });
  double total = 0;
  for (double sq : squares) total += sq;
  return std::sqrt(total);
}

}  // namespace

void StudentTrainOptions::validate() const {
  if (epochs < 1) throw std::invalid_argument("epochs must be >= 1, got " + std::to_string(epochs));
  if (batch_size < 1) throw std::invalid_argument("batch_size must be >= 1, got " + std::to_string(batch_size));
  if (eval_batch_size < 1)
    throw std::invalid_argument("eval_batch_size must be >= 1, got " + std::to_string(eval_batch_size));
  optimizer.validate();
  schedule.validate();
  loss.validate();
}

std::vector<float> predict_logits(const StudentModel& model, const int32_t* ids, const int32_t* lengths, int64_t rows,
                                  int max_len, EvalPath path, int batch_size, int threads) {
  const int C = model.num_classes();
  std::vector<float> logits(static_cast<std::size_t>(rows) * C);
  if (rows == 0) return logits;
  if (batch_size < 1) throw std::invalid_argument("batch_size must be >= 1, got " + std::to_string(batch_size));
  // Group rows of similar length (stable order by length) so batches carry
  // little padding; the grouping depends on the data only.
  std::vector<int64_t> order(static_cast<std::size_t>(rows));
  std::iota(order.begin(), order.end(), int64_t{0});
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return lengths[a] < lengths[b]; });
  const std::size_t batches = static_cast<std::size_t>((rows + batch_size - 1) / batch_size);
  global_thread_pool().parallel_for(
      batches,
      [&](std::size_t task, int) {
        // Longest batches first: a thread's scratch buffers (the transformer's per-thread
        // context) reach their largest size at once instead of growing (fresh pages) with
        // every batch, and the last tasks to finish are the short ones. Which rows form a
        // batch does not change, so neither do the logits.
        const std::size_t b = batches - 1 - task;
        const int64_t begin = static_cast<int64_t>(b) * batch_size;
        const int n = static_cast<int>(std::min<int64_t>(batch_size, rows - begin));
        std::vector<int32_t> bids, blens;
        const int longest = compact_rows(ids, lengths, max_len, order.data() + begin, n, bids, blens);
        std::vector<float> out(static_cast<std::size_t>(n) * C);
        Batch batch{bids.data(), blens.data(), n, longest};
        if (path == EvalPath::fast)
          model.forward_fast(batch, out.data());
        else
          model.forward_reference(batch, out.data());
        for (int i = 0; i < n; ++i)
          std::memcpy(logits.data() + order[begin + i] * C, out.data() + static_cast<std::size_t>(i) * C,
                      sizeof(float) * C);
      },
      resolve_threads(threads));
  return logits;
}

EvalResult evaluate_model(const StudentModel& model, const EvalRows& data, EvalPath path, int batch_size, int threads) {
  validate_eval(model, data);
  const int C = model.num_classes();
  const std::vector<float> logits =
      predict_logits(model, data.ids, data.lengths, data.rows, data.max_len, path, batch_size, threads);
  EvalResult result;
  if (data.rows > 0) {
    LossOptions ce;
    result.loss = loss_sum(logits.data(), static_cast<int>(data.rows), C, data.labels, nullptr, ce, nullptr, 1.0f) /
                  double(data.rows);
  }
  const std::vector<int32_t> predicted = argmax_rows(logits.data(), data.rows, C);
  result.report = classification_report(data.labels, predicted.data(), data.rows, C);
  return result;
}

// ---- TrainSession ----

// What a session allocates once and reuses for every batch.
struct TrainSession::State {
  std::vector<Shard> shards;
  Adam adam;
  Rng shuffle_rng;
  State(StudentModel& model, const StudentTrainOptions& options, int threads)
      : shards(static_cast<std::size_t>(std::min<int64_t>(threads, options.batch_size))),
        adam(model, options.optimizer),
        shuffle_rng(mix(options.seed)) {
    for (Shard& s : shards) {
      s.ctx = model.make_context();
      s.grads = model.make_gradients();
    }
  }
};

TrainSession::TrainSession(StudentModel& model, const StudentTrainOptions& options, int64_t total_steps)
    : model_(model), options_(options), total_steps_(total_steps) {
  options_.validate();
  if (total_steps < 1) throw std::invalid_argument("total_steps must be >= 1, got " + std::to_string(total_steps));
  threads_ = resolve_threads(options_.threads);
  state_ = std::make_unique<State>(model_, options_, threads_);
  current_.epoch = 1;
}

TrainSession::~TrainSession() = default;

void TrainSession::shuffle(std::vector<int64_t>& order) { md::shuffle(order, state_->shuffle_rng); }

void TrainSession::train_part(const TrainRows& part) {
  if (finished_) throw std::logic_error("TrainSession: train_part after finish");
  validate_train(model_, part);
  std::vector<int64_t> order(static_cast<std::size_t>(part.rows));
  std::iota(order.begin(), order.end(), int64_t{0});
  shuffle(order);
  train_rows(part, order.data(), part.rows);
}

void TrainSession::train_rows(const TrainRows& train, const int64_t* order, int64_t n) {
  if (finished_) throw std::logic_error("TrainSession: train_rows after finish");
  const int C = model_.num_classes();
  const StudentTrainOptions& options = options_;
  std::vector<Shard>& shards = state_->shards;
  EpochReport& m = current_;
  const int64_t batches = (n + options.batch_size - 1) / options.batch_size;
  for (int64_t b = 0; b < batches; ++b) {
    if (options.cancel && options.cancel->load()) {
      result_.cancelled = true;
      return;
    }
    const Clock::time_point t0 = Clock::now();
    const int64_t begin = b * options.batch_size;
    const int B = static_cast<int>(std::min<int64_t>(options.batch_size, n - begin));
    const int used = std::min<int>(static_cast<int>(shards.size()), B);
    const int64_t* batch_rows = order + begin;
    const uint64_t step = static_cast<uint64_t>(step_);

    global_thread_pool().parallel_for(
        static_cast<std::size_t>(used),
        [&](std::size_t si, int) {
          Shard& s = shards[si];
          // Contiguous shard boundaries from the batch size alone.
          const int lo = static_cast<int>(int64_t(B) * int64_t(si) / used);
          const int hi = static_cast<int>(int64_t(B) * int64_t(si + 1) / used);
          const int rows_n = hi - lo;
          const int64_t* rows = batch_rows + lo;
          const int longest = compact_rows(train.ids, train.lengths, train.max_len, rows, rows_n, s.ids, s.lengths);
          s.labels.resize(static_cast<std::size_t>(rows_n));
          for (int i = 0; i < rows_n; ++i) s.labels[i] = train.labels ? train.labels[rows[i]] : -1;
          if (train.soft_targets) {
            s.soft.resize(static_cast<std::size_t>(rows_n) * C);
            for (int i = 0; i < rows_n; ++i)
              std::memcpy(s.soft.data() + static_cast<std::size_t>(i) * C, train.soft_targets + rows[i] * C,
                          sizeof(float) * C);
          }
          s.logits.resize(static_cast<std::size_t>(rows_n) * C);
          s.dlogits.resize(s.logits.size());
          // Shards 1.. were zeroed by the previous reduce_gradients (or are
          // fresh); shard 0 holds the previous step's sum.
          if (si == 0)
            for (Tensor& g : s.grads) g.zero();
          Rng rng(mix(mix(options.seed ^ 0x5bd1e995ULL) + step * 1315423911ULL + si));
          Batch batch{s.ids.data(), s.lengths.data(), rows_n, longest};
          model_.forward_train(*s.ctx, batch, rng, s.logits.data());
          s.loss_sum = loss_sum(s.logits.data(), rows_n, C, s.labels.data(), train.soft_targets ? s.soft.data() : nullptr,
                                options.loss, s.dlogits.data(), 1.0f / B, begin + lo);
          model_.backward(*s.ctx, batch, s.dlogits.data(), s.grads);
        },
        threads_);

    double batch_loss = 0;
    for (int s = 0; s < used; ++s) batch_loss += shards[s].loss_sum;
    if (!std::isfinite(batch_loss))
      throw std::runtime_error("training diverged: the loss is " + std::to_string(batch_loss) + " at epoch " +
                               std::to_string(epoch_) + ", batch " + std::to_string(b + 1) +
                               " (try a lower learning rate or gradient clipping)");
    m.gradient_norm = reduce_gradients(shards, used);
    // Clipping as torch's clip_grad_norm_, folded into the optimiser's pass.
    const float clip = options.optimizer.clip_norm;
    const float grad_scale =
        clip > 0 && m.gradient_norm > clip ? static_cast<float>(clip / (m.gradient_norm + 1e-6)) : 1.0f;
    const double lr = options.optimizer.learning_rate * options.schedule.multiplier(step_, total_steps_);
    state_->adam.step(shards[0].grads, static_cast<float>(lr), grad_scale);
    ++step_;

    const double seconds = seconds_since(t0);
    m.train_seconds += seconds;
    result_.train_seconds += seconds;
    result_.steps = step_;
    examples_seen_ += B;
    epoch_loss_ += batch_loss;
    m.examples += B;
    m.learning_rate = lr;
    if (options.on_progress) {
      TrainProgressEvent p;
      p.epoch = epoch_;
      p.epochs = options.epochs;
      p.step = step_;
      p.total_steps = total_steps_;
      p.examples_per_s = m.train_seconds > 0 ? m.examples / m.train_seconds : 0;
      p.running_loss = epoch_loss_ / m.examples;
      p.learning_rate = lr;
      options.on_progress(p);
    }
  }
}

EpochReport TrainSession::end_epoch(const EvalRows* eval) {
  if (finished_) throw std::logic_error("TrainSession: end_epoch after finish");
  if (current_.examples == 0) throw std::logic_error("TrainSession: epoch " + std::to_string(epoch_) + " trained no rows");
  EpochReport m = current_;
  m.epoch = epoch_;
  m.train_loss = epoch_loss_ / m.examples;
  m.examples_per_s = m.train_seconds > 0 ? m.examples / m.train_seconds : 0;
  if (eval && eval->rows > 0) {
    const Clock::time_point t0 = Clock::now();
    if (options_.eval_path == EvalPath::fast) model_.prepare_inference();
    const EvalResult e = evaluate_model(model_, *eval, options_.eval_path, options_.eval_batch_size, options_.threads);
    m.evaluated = true;
    m.eval_loss = e.loss;
    m.eval_accuracy = e.report.accuracy;
    m.eval_macro_f1 = e.report.macro_f1;
    m.eval_seconds = seconds_since(t0);
    if (e.report.accuracy > best_accuracy_ || (e.report.accuracy == best_accuracy_ && e.loss < best_loss_)) {
      best_accuracy_ = e.report.accuracy;
      best_loss_ = e.loss;
      result_.best_epoch = m.epoch;
      if (options_.keep_best) copy_parameters(model_, best_params_);
    }
  }
  result_.epochs.push_back(m);
  current_ = EpochReport();
  epoch_loss_ = 0;
  ++epoch_;
  current_.epoch = epoch_;
  if (options_.on_epoch) options_.on_epoch(m);
  return m;
}

TrainReport TrainSession::finish() {
  if (finished_) throw std::logic_error("TrainSession: finish called twice");
  finished_ = true;
  result_.examples_per_s = result_.train_seconds > 0 ? double(examples_seen_) / result_.train_seconds : 0;
  if (options_.keep_best && !best_params_.empty()) {
    restore_parameters(model_, best_params_);
    result_.restored_best = true;
    if (options_.eval_path == EvalPath::fast) model_.prepare_inference();
  }
  return result_;
}

TrainReport train_model(StudentModel& model, const TrainRows& train, const EvalRows* eval, const StudentTrainOptions& options) {
  options.validate();
  validate_train(model, train);
  const bool has_eval = eval && eval->rows > 0;
  if (eval) validate_eval(model, *eval);

  const int64_t batches_per_epoch = (train.rows + options.batch_size - 1) / options.batch_size;
  TrainSession session(model, options, batches_per_epoch * options.epochs);
  std::vector<int64_t> order(static_cast<std::size_t>(train.rows));
  std::iota(order.begin(), order.end(), int64_t{0});
  for (int epoch = 1; epoch <= options.epochs; ++epoch) {
    // One order, reshuffled every epoch: the whole data set is one part per epoch.
    session.shuffle(order);
    session.train_rows(train, order.data(), train.rows);
    if (session.cancelled()) break;  // a cancelled, partial epoch is neither evaluated nor reported
    session.end_epoch(has_eval ? eval : nullptr);
  }
  return session.finish();
}

}  // namespace md
