#include "mlm_pretrainer.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <stdexcept>
#include <string>

#include "safetensors.h"
#include "thread_pool.h"

namespace md {

const char* const kMlmCheckpointFormat = "model-distill-mlm-checkpoint";

namespace {

// splitmix64: turns (seed, epoch, row) or (seed, step, shard) into
// well-spread Rng seeds, so no two streams overlap.
uint64_t mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}
constexpr uint64_t kShuffleStream = 0x73687566666c65ULL;  // distinct tags per use of the seed
constexpr uint64_t kMaskStream = 0x6d61736b696e67ULL;
constexpr uint64_t kDropoutStream = 0x64726f706f7574ULL;

// Fisher-Yates with our own index draw (std::shuffle is implementation-defined).
void shuffle(std::vector<int64_t>& v, Rng& rng) {
  for (std::size_t i = v.size(); i > 1; --i) {
    const std::size_t j = static_cast<std::size_t>(rng() % i);
    std::swap(v[i - 1], v[j]);
  }
}

bool not_optimised(const std::string& name) {
  return name.rfind("bert.pooler.", 0) == 0 || name.rfind("classifier.", 0) == 0;
}

std::string exp_avg_name(const std::string& name) { return "optimizer.exp_avg." + name; }
std::string exp_avg_sq_name(const std::string& name) { return "optimizer.exp_avg_sq." + name; }

const std::string* meta(const Metadata& m, const std::string& key) {
  for (const auto& kv : m)
    if (kv.first == key) return &kv.second;
  return nullptr;
}

}  // namespace

struct MlmPretrainer::Shard {
  std::unique_ptr<TrainContext> ctx;
  MlmHead::Context head_ctx;
  Gradients model_grads, head_grads;
  std::vector<int32_t> ids, lengths, targets;
  std::vector<int32_t> positions, position_targets;  // masked positions (flat index into [n, longest]) and their ids
  std::vector<float> hidden, dhidden, masked_hidden, dmasked;
  int n = 0, longest = 0;
  double loss = 0;
};

void MlmPretrainOptions::validate() const {
  if (batch_size < 1) throw std::invalid_argument("batch_size must be >= 1, got " + std::to_string(batch_size));
  if (!(mask_prob > 0.0f && mask_prob < 1.0f))
    throw std::invalid_argument("mask_prob must be in (0, 1), got " + std::to_string(mask_prob));
  if (epochs < 1) throw std::invalid_argument("epochs must be >= 1, got " + std::to_string(epochs));
  if (max_steps < 0) throw std::invalid_argument("max_steps must be >= 0, got " + std::to_string(max_steps));
  optimizer.validate();
  schedule.validate();
}

MlmPretrainer::MlmPretrainer(const TransformerConfig& config, uint64_t model_seed, const MaskingVocab& vocab,
                             const MlmPretrainOptions& options, const MlmData& data)
    : config_(config),
      model_(std::make_unique<Transformer>(config, model_seed)),
      head_(config.hidden, config.vocab_size, config.layer_norm_eps, model_seed),
      vocab_(vocab),
      options_(options),
      data_(data) {
  options_.validate();
  if (vocab_.vocab_size() != config_.vocab_size)
    throw std::invalid_argument("MlmPretrainer: masking vocabulary has " + std::to_string(vocab_.vocab_size()) +
                                " ids, the transformer " + std::to_string(config_.vocab_size));
  if (data_.rows < 1) throw std::invalid_argument("MlmPretrainer: no pre-training rows");
  if (!data_.ids || !data_.lengths || data_.max_len < 1)
    throw std::invalid_argument("MlmPretrainer: rows need ids, lengths and max_len >= 1");
  for (int64_t r = 0; r < data_.rows; ++r) {
    const int len = data_.lengths[r];
    if (len < 1 || len > data_.max_len || len > config_.max_positions)
      throw std::invalid_argument("MlmPretrainer: length " + std::to_string(len) + " at row " + std::to_string(r) +
                                  " is outside [1, " + std::to_string(std::min(data_.max_len, config_.max_positions)) +
                                  "]");
    const int32_t* row = data_.ids + r * data_.max_len;
    for (int t = 0; t < len; ++t)
      if (row[t] < 0 || row[t] >= config_.vocab_size)
        throw std::invalid_argument("MlmPretrainer: token id " + std::to_string(row[t]) + " at row " +
                                    std::to_string(r) + ", position " + std::to_string(t) +
                                    " is outside the vocabulary [0, " + std::to_string(config_.vocab_size) + ")");
  }
  steps_per_epoch_ = (data_.rows + options_.batch_size - 1) / options_.batch_size;
  total_steps_ = options_.max_steps > 0 ? options_.max_steps : steps_per_epoch_ * options_.epochs;

  std::vector<Parameter*> params = model_->parameters();
  for (std::size_t i = 0; i < params.size(); ++i)
    if (!not_optimised(params[i]->name)) optimised_transformer_.push_back(static_cast<int>(i));
  adam_ = std::make_unique<Adam>(optimised_parameters(), options_.optimizer);

  threads_ = options_.threads > 0 ? options_.threads : global_thread_pool().size();
  shards_.resize(static_cast<std::size_t>(std::min(threads_, options_.batch_size)));
  for (Shard& s : shards_) {
    s.ctx = model_->make_context();
    s.model_grads = model_->make_gradients();
    s.head_grads = head_.make_gradients();
  }
}

MlmPretrainer::~MlmPretrainer() = default;

std::vector<Parameter*> MlmPretrainer::optimised_parameters() {
  std::vector<Parameter*> all = model_->parameters(), out;
  for (int i : optimised_transformer_) out.push_back(all[static_cast<std::size_t>(i)]);
  for (Parameter* p : head_.parameters()) out.push_back(p);
  return out;
}

void MlmPretrainer::order_for_epoch(int64_t epoch) {
  if (order_epoch_ == epoch) return;
  order_.resize(static_cast<std::size_t>(data_.rows));
  for (int64_t i = 0; i < data_.rows; ++i) order_[static_cast<std::size_t>(i)] = i;
  Rng rng(mix(mix(options_.seed ^ kShuffleStream) + static_cast<uint64_t>(epoch)));
  shuffle(order_, rng);
  order_epoch_ = epoch;
}

MlmStepResult MlmPretrainer::train_step() {
  if (finished()) throw std::logic_error("MlmPretrainer::train_step: all " + std::to_string(total_steps_) + " steps are done");
  const int H = config_.hidden;
  const int64_t epoch = step_ / steps_per_epoch_;
  const int64_t batch_index = step_ % steps_per_epoch_;
  order_for_epoch(epoch);
  const int64_t begin = batch_index * options_.batch_size;
  const int B = static_cast<int>(std::min<int64_t>(options_.batch_size, data_.rows - begin));
  const int used = std::min<int>(static_cast<int>(shards_.size()), B);

  MlmStepResult result;
  result.rows = B;
  // Masking first, serially (cheap next to the model): the loss is a mean over
  // the whole batch's masked positions, so every shard needs the total.
  int64_t total_masked = 0;
  for (int si = 0; si < used; ++si) {
    Shard& s = shards_[static_cast<std::size_t>(si)];
    const int lo = static_cast<int>(int64_t(B) * si / used), hi = static_cast<int>(int64_t(B) * (si + 1) / used);
    s.n = hi - lo;
    s.longest = 1;
    for (int i = 0; i < s.n; ++i) s.longest = std::max(s.longest, data_.lengths[order_[begin + lo + i]]);
    s.ids.assign(static_cast<std::size_t>(s.n) * s.longest, 0);
    s.targets.assign(s.ids.size(), -1);
    s.lengths.resize(static_cast<std::size_t>(s.n));
    s.positions.clear();
    s.position_targets.clear();
    for (int i = 0; i < s.n; ++i) {
      const int64_t row = order_[begin + lo + i];
      const int len = data_.lengths[row];
      s.lengths[i] = len;
      result.tokens += len;
      // A row's masking depends on (seed, epoch, row) only: not on the batch, the shard or the threads.
      Rng rng(mix(mix(options_.seed ^ kMaskStream) + static_cast<uint64_t>(epoch) * 0x100000001b3ULL +
                  static_cast<uint64_t>(row)));
      const std::size_t o = static_cast<std::size_t>(i) * s.longest;
      mask_row(data_.ids + row * data_.max_len, len, vocab_, options_.mask_prob, rng, s.ids.data() + o,
               s.targets.data() + o);
      for (int t = 0; t < len; ++t)
        if (s.targets[o + t] >= 0) {
          s.positions.push_back(static_cast<int32_t>(o + t));
          s.position_targets.push_back(s.targets[o + t]);
        }
    }
    total_masked += static_cast<int64_t>(s.positions.size());
  }
  result.masked = total_masked;
  result.learning_rate = options_.optimizer.learning_rate * options_.schedule.multiplier(step_, total_steps_);
  if (total_masked == 0) {
    result.skipped = true;
    result.step = ++step_;
    return result;
  }

  const float scale = static_cast<float>(1.0 / double(total_masked));
  const int word_index = model_->parameter_index("bert.embeddings.word_embeddings.weight");
  const float* E = model_->word_embeddings().value.ptr();
  const uint64_t step = static_cast<uint64_t>(step_);
  global_thread_pool().parallel_for(
      static_cast<std::size_t>(used),
      [&](std::size_t si, int) {
        Shard& s = shards_[si];
        // Shards 1.. were zeroed by the previous reduction (or are fresh); shard 0 holds the last sum.
        if (si == 0) {
          for (Tensor& g : s.model_grads) g.zero();
          for (Tensor& g : s.head_grads) g.zero();
        }
        s.loss = 0;
        const int M = static_cast<int>(s.positions.size());
        if (M == 0) return;  // nothing to predict: contributes no gradient
        Rng rng(mix(mix(options_.seed ^ kDropoutStream) + step * 1315423911ULL + si));
        Batch batch{s.ids.data(), s.lengths.data(), s.n, s.longest};
        const std::size_t NTH = static_cast<std::size_t>(s.n) * s.longest * H;
        s.hidden.resize(NTH);
        model_->forward_hidden_train(*s.ctx, batch, rng, s.hidden.data());
        s.masked_hidden.resize(static_cast<std::size_t>(M) * H);
        for (int m = 0; m < M; ++m)
          std::memcpy(s.masked_hidden.data() + static_cast<std::size_t>(m) * H,
                      s.hidden.data() + static_cast<std::size_t>(s.positions[m]) * H, sizeof(float) * H);
        s.dmasked.resize(s.masked_hidden.size());
        s.loss = head_.loss_and_backward(s.head_ctx, M, s.masked_hidden.data(), s.position_targets.data(), E, scale,
                                         s.head_grads, s.model_grads[static_cast<std::size_t>(word_index)].ptr(),
                                         s.dmasked.data());
        s.dhidden.assign(NTH, 0.0f);
        for (int m = 0; m < M; ++m)
          std::memcpy(s.dhidden.data() + static_cast<std::size_t>(s.positions[m]) * H,
                      s.dmasked.data() + static_cast<std::size_t>(m) * H, sizeof(float) * H);
        model_->backward_hidden(*s.ctx, batch, s.dhidden.data(), s.model_grads);
      },
      threads_);

  double loss_sum = 0;
  for (int si = 0; si < used; ++si) loss_sum += shards_[static_cast<std::size_t>(si)].loss;
  result.loss = loss_sum / double(total_masked);
  if (!std::isfinite(result.loss))
    throw std::runtime_error("MLM pre-training diverged: the loss is " + std::to_string(result.loss) + " at step " +
                             std::to_string(step_ + 1) + " (try a lower mlm_learning_rate)");

  // Sum the shard gradients into shard 0 (fixed shard order per element) and
  // take the global norm, in one parallel pass over fixed chunks.
  struct Chunk {
    bool head;
    std::size_t p, begin, end;
  };
  constexpr std::size_t kChunk = 1 << 16;
  std::vector<Chunk> chunks;
  Shard& sum = shards_[0];
  for (int head = 0; head < 2; ++head) {
    const Gradients& g = head ? sum.head_grads : sum.model_grads;
    for (std::size_t p = 0; p < g.size(); ++p)
      for (std::size_t b = 0; b < g[p].size(); b += kChunk) chunks.push_back({head != 0, p, b, std::min(g[p].size(), b + kChunk)});
  }
  std::vector<double> squares(chunks.size(), 0.0);
  global_thread_pool().parallel_for(chunks.size(), [&](std::size_t i, int) {
    const Chunk& c = chunks[i];
    float* dst = (c.head ? sum.head_grads : sum.model_grads)[c.p].ptr();
    for (int s = 1; s < used; ++s) {
      float* src = (c.head ? shards_[s].head_grads : shards_[s].model_grads)[c.p].ptr();
      for (std::size_t k = c.begin; k < c.end; ++k) dst[k] += src[k];
      std::fill(src + c.begin, src + c.end, 0.0f);
    }
    double sq = 0;
    for (std::size_t k = c.begin; k < c.end; ++k) sq += double(dst[k]) * dst[k];
    squares[i] = sq;
  });
  double total = 0;
  for (double sq : squares) total += sq;
  result.gradient_norm = std::sqrt(total);
  const float clip = options_.optimizer.clip_norm;
  const float grad_scale =
      clip > 0 && result.gradient_norm > clip ? static_cast<float>(clip / (result.gradient_norm + 1e-6)) : 1.0f;

  // AdamW over the optimised tensors: move them into one list and back (no copies).
  Gradients grads;
  for (int i : optimised_transformer_) grads.push_back(std::move(sum.model_grads[static_cast<std::size_t>(i)]));
  for (Tensor& g : sum.head_grads) grads.push_back(std::move(g));
  adam_->step(grads, static_cast<float>(result.learning_rate), grad_scale);
  std::size_t k = 0;
  for (int i : optimised_transformer_) sum.model_grads[static_cast<std::size_t>(i)] = std::move(grads[k++]);
  for (Tensor& g : sum.head_grads) g = std::move(grads[k++]);

  result.step = ++step_;
  return result;
}

void MlmPretrainer::save_checkpoint(const std::string& path, const Metadata& extra) const {
  auto* self = const_cast<MlmPretrainer*>(this);  // parameters() is non-const; nothing is modified
  std::vector<std::pair<std::string, const Tensor*>> tensors;
  for (Parameter* p : self->model_->parameters()) tensors.emplace_back(p->name, &p->value);
  for (Parameter* p : self->head_.parameters()) tensors.emplace_back(p->name, &p->value);
  const std::vector<Parameter*> optimised = self->optimised_parameters();
  for (std::size_t i = 0; i < optimised.size(); ++i) {
    tensors.emplace_back(exp_avg_name(optimised[i]->name), &adam_->first_moments()[i]);
    tensors.emplace_back(exp_avg_sq_name(optimised[i]->name), &adam_->second_moments()[i]);
  }
  Metadata metadata = {
      {"format", kMlmCheckpointFormat},
      {"version", std::to_string(kMlmCheckpointVersion)},
      {"step", std::to_string(step_)},
      {"total_steps", std::to_string(total_steps_)},
      {"optimizer_steps", std::to_string(adam_->steps())},
      {"batch_size", std::to_string(options_.batch_size)},
      {"seed", std::to_string(options_.seed)},
      {"mask_prob", std::to_string(options_.mask_prob)},
      {"rng", "derived: splitmix64 of (seed, epoch) for the order, (seed, epoch, row) for masking, (seed, step, shard) "
              "for dropout"},
  };
  for (const auto& kv : extra)
    if (!meta(metadata, kv.first)) metadata.push_back(kv);
  write_safetensors(path, tensors, metadata);
}

Metadata MlmPretrainer::load_checkpoint(const std::string& path) {
  const SafeTensors file = read_safetensors(path);
  auto fail = [&](const std::string& why) -> void { throw std::runtime_error(path + ": " + why); };
  const std::string* format = file.find_metadata("format");
  if (!format || *format != kMlmCheckpointFormat)
    fail("not a model-distill MLM checkpoint (metadata format is " + (format ? "'" + *format + "'" : std::string("missing")) +
         ", expected '" + kMlmCheckpointFormat + "')");
  const std::string* version = file.find_metadata("version");
  if (!version || *version != std::to_string(kMlmCheckpointVersion))
    fail("MLM checkpoint version " + (version ? *version : std::string("(missing)")) + " is not supported (expected " +
         std::to_string(kMlmCheckpointVersion) + ")");
  auto integer = [&](const char* key) -> int64_t {
    const std::string* v = file.find_metadata(key);
    if (!v) fail(std::string("metadata ") + key + " is missing");
    try {
      std::size_t used = 0;
      const long long x = std::stoll(*v, &used);
      if (used != v->size()) throw std::invalid_argument(*v);
      return x;
    } catch (const std::exception&) {
      fail(std::string("metadata ") + key + " = '" + *v + "' is not an integer");
    }
    return 0;
  };
  const int64_t step = integer("step"), total = integer("total_steps"), optimizer_steps = integer("optimizer_steps");
  const int64_t batch_size = integer("batch_size");
  const std::string* seed = file.find_metadata("seed");
  if (batch_size != options_.batch_size)
    fail("made with batch_size " + std::to_string(batch_size) + ", this run uses " + std::to_string(options_.batch_size));
  if (!seed || *seed != std::to_string(options_.seed))
    fail("made with seed " + (seed ? *seed : std::string("(missing)")) + ", this run uses " + std::to_string(options_.seed));
  if (total != total_steps_)
    fail("made for " + std::to_string(total) + " total steps, this run has " + std::to_string(total_steps_));
  if (step < 0 || step > total || optimizer_steps < 0 || optimizer_steps > step)
    fail("step " + std::to_string(step) + " / optimizer_steps " + std::to_string(optimizer_steps) +
         " are outside [0, total_steps = " + std::to_string(total) + "]");

  // Every tensor first (all problems listed), then copy: nothing changes on failure.
  std::string problems;
  auto find = [&](const std::string& name, const Tensor& like) -> const Tensor* {
    const NamedTensor* t = file.find(name);
    if (!t) {
      problems += (problems.empty() ? "" : "; ") + ("missing tensor " + name);
      return nullptr;
    }
    if (t->tensor.shape != like.shape) {
      problems += (problems.empty() ? "" : "; ") + ("shape mismatch for " + name + ": file " + t->tensor.shape_string() +
                                                   " vs model " + like.shape_string());
      return nullptr;
    }
    return &t->tensor;
  };
  std::vector<std::pair<Parameter*, const Tensor*>> values;
  for (Parameter* p : model_->parameters()) values.emplace_back(p, find(p->name, p->value));
  for (Parameter* p : head_.parameters()) values.emplace_back(p, find(p->name, p->value));
  const std::vector<Parameter*> optimised = optimised_parameters();
  std::vector<Tensor> first, second;
  for (Parameter* p : optimised) {
    const Tensor* m = find(exp_avg_name(p->name), p->value);
    const Tensor* v = find(exp_avg_sq_name(p->name), p->value);
    first.push_back(m ? *m : Tensor());
    second.push_back(v ? *v : Tensor());
  }
  if (!problems.empty()) fail(problems + " (not a checkpoint of this [teacher] architecture)");
  adam_->restore_state(std::move(first), std::move(second), optimizer_steps);
  for (auto& pv : values) pv.first->value.data = pv.second->data;
  step_ = step;
  order_epoch_ = -1;
  return file.metadata;
}

void MlmPretrainer::save_encoder(const std::string& path, const Metadata& metadata) const {
  save_parameters(*model_, path, metadata);
}

}  // namespace md
