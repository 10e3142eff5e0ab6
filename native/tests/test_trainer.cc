// Trainer: a tiny bag-of-embeddings classifier (written here against the
// StudentModel interface, gradient-checked first) learns a synthetic separable
// task; runs are deterministic for a seed and thread count; the best epoch is
// restored; cancel stops between batches; distillation from soft targets alone
// learns; bad data is rejected with the row named.
#include <atomic>
#include <cmath>
#include <cstring>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "check.h"
#include "fixtures.h"
#include "gradcheck.h"
#include "trainer.h"

namespace {

using fixtures::error_of;

// logits = fc.weight * dropout(mean of the embeddings of the text's tokens) + fc.bias.
class BagModel : public md::StudentModel {
 public:
  BagModel(int V, int E, int C, float dropout, uint64_t seed) : V_(V), E_(E), C_(C), dropout_(dropout) {
    emb_.name = "embedding.weight";
    emb_.value = md::Tensor({V, E});
    fc_w_.name = "fc.weight";
    fc_w_.value = md::Tensor({C, E});
    fc_b_.name = "fc.bias";
    fc_b_.value = md::Tensor({C});
    fc_b_.no_decay = true;
    md::Rng rng(seed);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    std::uniform_real_distribution<float> uni(-0.3f, 0.3f);
    for (float& x : emb_.value.data) x = normal(rng);
    for (float& x : fc_w_.value.data) x = uni(rng);
  }

  std::string kind() const override { return "bag"; }
  int num_classes() const override { return C_; }
  int vocab_size() const override { return V_; }
  std::vector<md::Parameter*> parameters() override { return {&emb_, &fc_w_, &fc_b_}; }

  struct Ctx : md::TrainContext {
    std::vector<float> h;     // [B, E] after dropout
    std::vector<float> mask;  // [B, E] dropout scale (0 or 1/(1-p))
  };
  std::unique_ptr<md::TrainContext> make_context() const override { return std::make_unique<Ctx>(); }

  void forward_train(md::TrainContext& base, const md::Batch& batch, md::Rng& rng, float* logits) const override {
    Ctx& ctx = static_cast<Ctx&>(base);
    ctx.h.assign(static_cast<std::size_t>(batch.batch) * E_, 0.0f);
    ctx.mask.assign(ctx.h.size(), 1.0f);
    std::uniform_real_distribution<float> uni(0.0f, 1.0f);
    for (int b = 0; b < batch.batch; ++b) {
      float* h = &ctx.h[static_cast<std::size_t>(b) * E_];
      mean_embedding(batch, b, h);
      for (int e = 0; e < E_; ++e) {
        float& m = ctx.mask[static_cast<std::size_t>(b) * E_ + e];
        m = dropout_ > 0 ? (uni(rng) < dropout_ ? 0.0f : 1.0f / (1.0f - dropout_)) : 1.0f;
        h[e] *= m;
      }
      dense(h, logits + static_cast<std::size_t>(b) * C_);
    }
  }

  void backward(md::TrainContext& base, const md::Batch& batch, const float* dlogits, md::Gradients& grads) const override {
    Ctx& ctx = static_cast<Ctx&>(base);
    std::vector<float> dh(E_);
    for (int b = 0; b < batch.batch; ++b) {
      const float* dz = dlogits + static_cast<std::size_t>(b) * C_;
      const float* h = &ctx.h[static_cast<std::size_t>(b) * E_];
      std::fill(dh.begin(), dh.end(), 0.0f);
      for (int c = 0; c < C_; ++c) {
        grads[2].data[c] += dz[c];
        for (int e = 0; e < E_; ++e) {
          grads[1].data[c * E_ + e] += dz[c] * h[e];
          dh[e] += dz[c] * fc_w_.value.data[c * E_ + e];
        }
      }
      const int len = batch.lengths[b];
      for (int e = 0; e < E_; ++e) dh[e] *= ctx.mask[static_cast<std::size_t>(b) * E_ + e] / len;
      for (int t = 0; t < len; ++t) {
        const int id = batch.ids[static_cast<std::size_t>(b) * batch.seq_len + t];
        for (int e = 0; e < E_; ++e) grads[0].data[static_cast<std::size_t>(id) * E_ + e] += dh[e];
      }
    }
  }

  void forward_reference(const md::Batch& batch, float* logits) const override {
    std::vector<float> h(E_);
    for (int b = 0; b < batch.batch; ++b) {
      mean_embedding(batch, b, h.data());
      dense(h.data(), logits + static_cast<std::size_t>(b) * C_);
    }
  }

  // The design's trick in miniature: table[v] = fc.weight . E[v], so inference is a mean of gathered rows.
  void prepare_inference() override {
    ++prepared_count;
    table_.assign(static_cast<std::size_t>(V_) * C_, 0.0f);
    for (int v = 0; v < V_; ++v)
      for (int c = 0; c < C_; ++c) {
        double s = 0;
        for (int e = 0; e < E_; ++e) s += double(fc_w_.value.data[c * E_ + e]) * emb_.value.data[static_cast<std::size_t>(v) * E_ + e];
        table_[static_cast<std::size_t>(v) * C_ + c] = static_cast<float>(s);
      }
  }
  void forward_fast(const md::Batch& batch, float* logits) const override {
    if (table_.empty()) throw std::logic_error("prepare_inference() was not called");
    for (int b = 0; b < batch.batch; ++b) {
      const int len = batch.lengths[b];
      for (int c = 0; c < C_; ++c) {
        double s = 0;
        for (int t = 0; t < len; ++t) s += table_[static_cast<std::size_t>(batch.ids[static_cast<std::size_t>(b) * batch.seq_len + t]) * C_ + c];
        logits[static_cast<std::size_t>(b) * C_ + c] = static_cast<float>(s / len) + fc_b_.value.data[c];
      }
    }
  }

  int prepared_count = 0;

 private:
  void mean_embedding(const md::Batch& batch, int b, float* h) const {
    std::fill(h, h + E_, 0.0f);
    const int len = batch.lengths[b];
    for (int t = 0; t < len; ++t) {
      const float* row = &emb_.value.data[static_cast<std::size_t>(batch.ids[static_cast<std::size_t>(b) * batch.seq_len + t]) * E_];
      for (int e = 0; e < E_; ++e) h[e] += row[e];
    }
    for (int e = 0; e < E_; ++e) h[e] /= len;
  }
  void dense(const float* h, float* z) const {
    for (int c = 0; c < C_; ++c) {
      double s = fc_b_.value.data[c];
      for (int e = 0; e < E_; ++e) s += double(fc_w_.value.data[c * E_ + e]) * h[e];
      z[c] = static_cast<float>(s);
    }
  }

  int V_, E_, C_;
  float dropout_;
  md::Parameter emb_, fc_w_, fc_b_;
  std::vector<float> table_;
};

constexpr int kVocab = 60, kClasses = 3, kMaxLen = 24;

// Rows of class c draw 60% of their tokens from {t : t % 3 == c, t >= 3}, the
// rest uniformly, so the mean embedding separates the classes.
struct Dataset {
  std::vector<int32_t> ids, lengths, labels;
  int64_t rows = 0;
  md::TrainRows train() const {
    md::TrainRows d;
    d.ids = ids.data();
    d.lengths = lengths.data();
    d.rows = rows;
    d.max_len = kMaxLen;
    d.labels = labels.data();
    return d;
  }
  md::EvalRows eval() const {
    md::EvalRows d;
    d.ids = ids.data();
    d.lengths = lengths.data();
    d.rows = rows;
    d.max_len = kMaxLen;
    d.labels = labels.data();
    return d;
  }
};

Dataset make_dataset(int rows, uint64_t seed) {
  Dataset d;
  d.rows = rows;
  d.ids.assign(static_cast<std::size_t>(rows) * kMaxLen, 0);
  md::Rng rng(seed);
  for (int r = 0; r < rows; ++r) {
    const int label = static_cast<int>(rng() % kClasses);
    const int len = 8 + static_cast<int>(rng() % (kMaxLen - 8 + 1));
    for (int t = 0; t < len; ++t) {
      int id;
      if (rng() % 10 < 6) {
        id = 3 + label + 3 * static_cast<int>(rng() % ((kVocab - 3) / 3));
      } else {
        id = 1 + static_cast<int>(rng() % (kVocab - 1));
      }
      d.ids[static_cast<std::size_t>(r) * kMaxLen + t] = id;
    }
    // Garbage after the length: the trainer must never read it.
    for (int t = len; t < kMaxLen; ++t) d.ids[static_cast<std::size_t>(r) * kMaxLen + t] = 1000000;
    d.lengths.push_back(len);
    d.labels.push_back(label);
  }
  return d;
}

md::StudentTrainOptions base_options() {
  md::StudentTrainOptions o;
  o.epochs = 6;
  o.batch_size = 32;
  o.seed = 7;
  o.threads = 2;
  o.optimizer.learning_rate = 0.02f;
  return o;
}

std::vector<float> all_weights(BagModel& m) {
  std::vector<float> w;
  for (const md::Parameter* p : m.parameters()) w.insert(w.end(), p->value.data.begin(), p->value.data.end());
  return w;
}

}  // namespace

TEST(the_test_model_passes_its_gradient_check) {
  BagModel model(kVocab, 8, kClasses, 0.3f, 1);
  const Dataset d = make_dataset(6, 2);
  // Compact the rows (garbage after the lengths is the trainer's to remove).
  std::vector<int32_t> ids(d.ids);
  for (int r = 0; r < 6; ++r)
    for (int t = d.lengths[r]; t < kMaxLen; ++t) ids[static_cast<std::size_t>(r) * kMaxLen + t] = 0;
  md::Batch batch{ids.data(), d.lengths.data(), 6, kMaxLen};
  const gradcheck::Result r = gradcheck::check_model(model, batch, 30);
  if (!(r.max_rel_error < 1e-2)) check::fail(__FILE__, __LINE__, "gradcheck: " + r.worst);
}

TEST(training_lowers_the_loss_and_reaches_high_accuracy) {
  const Dataset train = make_dataset(900, 11), eval = make_dataset(300, 12);
  BagModel model(kVocab, 16, kClasses, 0.1f, 3);
  const md::EvalRows ev = eval.eval();
  const md::EvalResult before = md::evaluate_model(model, ev, md::EvalPath::reference);
  const md::TrainRows tr = train.train();
  const md::TrainReport result = md::train_model(model, tr, &ev, base_options());
  CHECK_EQ(result.epochs.size(), std::size_t{6});
  CHECK(!result.cancelled);
  CHECK_EQ(result.steps, int64_t{6 * ((900 + 31) / 32)});
  CHECK(result.epochs.back().train_loss < result.epochs.front().train_loss);
  CHECK(result.epochs.front().eval_loss < before.loss);
  // The trainer evaluates on the fast path by default and leaves it prepared.
  const md::EvalResult after = md::evaluate_model(model, ev, md::EvalPath::fast);
  if (!(after.report.accuracy >= 0.97))
    check::fail(__FILE__, __LINE__, "eval accuracy " + std::to_string(after.report.accuracy));
  CHECK(after.report.macro_f1 > 0.95);
  CHECK(result.best_epoch >= 1);
  CHECK(result.restored_best);
  // The restored parameters are those of the best epoch: same accuracy and loss.
  const md::EpochReport& best = result.epochs[result.best_epoch - 1];
  CHECK_EQ(after.report.accuracy, best.eval_accuracy);
  CHECK_NEAR(after.loss, best.eval_loss, 1e-12);
  for (const md::EpochReport& m : result.epochs) {
    CHECK(m.evaluated);
    CHECK(m.eval_accuracy < best.eval_accuracy || (m.eval_accuracy == best.eval_accuracy && m.eval_loss >= best.eval_loss));
    CHECK(m.examples == 900);
  }
}

TEST(runs_are_deterministic_for_a_seed_and_thread_count) {
  const Dataset train = make_dataset(300, 21);
  const md::TrainRows tr = train.train();
  md::StudentTrainOptions o = base_options();
  o.epochs = 3;
  o.threads = 3;  // more shards than cores: boundaries must not depend on scheduling
  BagModel a(kVocab, 8, kClasses, 0.3f, 5), b(kVocab, 8, kClasses, 0.3f, 5);
  md::train_model(a, tr, nullptr, o);
  md::train_model(b, tr, nullptr, o);
  CHECK(all_weights(a) == all_weights(b));
  // A different seed shuffles and drops out differently.
  BagModel c(kVocab, 8, kClasses, 0.3f, 5);
  o.seed = 8;
  md::train_model(c, tr, nullptr, o);
  CHECK(all_weights(a) != all_weights(c));
  // Clipping acts (Adam is scale-invariant per step, but a clipped run sees
  // differently scaled gradients from step to step, so its weights differ).
  BagModel d(kVocab, 8, kClasses, 0.3f, 5);
  o.seed = 7;
  o.optimizer.clip_norm = 1e-3f;
  const md::TrainReport clipped = md::train_model(d, tr, nullptr, o);
  CHECK(all_weights(a) != all_weights(d));
  CHECK(clipped.epochs.back().gradient_norm > 1e-3);  // the norm reported is the one before clipping
}

TEST(the_best_epoch_is_restored_not_the_last) {
  const Dataset train = make_dataset(600, 31), eval = make_dataset(200, 32);
  const md::TrainRows tr = train.train();
  const md::EvalRows ev = eval.eval();
  BagModel model(kVocab, 16, kClasses, 0.0f, 9);
  md::StudentTrainOptions o = base_options();
  o.epochs = 4;
  // Sabotage from epoch 3 on: flip the classifier after every update, so the
  // later epochs evaluate badly and the restored copy must come from epoch <= 2.
  o.on_progress = [&](const md::TrainProgressEvent& p) {
    if (p.epoch >= 3)
      for (float& w : model.parameters()[1]->value.data) w = -w;
  };
  const md::TrainReport r = md::train_model(model, tr, &ev, o);
  CHECK(r.best_epoch == 1 || r.best_epoch == 2);
  CHECK(r.epochs[2].eval_accuracy < r.epochs[r.best_epoch - 1].eval_accuracy);
  const md::EvalResult now = md::evaluate_model(model, ev, md::EvalPath::fast);
  CHECK_EQ(now.report.accuracy, r.epochs[r.best_epoch - 1].eval_accuracy);
  CHECK_NEAR(now.loss, r.epochs[r.best_epoch - 1].eval_loss, 1e-12);
}

TEST(cancel_stops_between_batches_and_keeps_the_best_so_far) {
  const Dataset train = make_dataset(320, 41), eval = make_dataset(100, 42);
  const md::TrainRows tr = train.train();
  const md::EvalRows ev = eval.eval();
  BagModel model(kVocab, 8, kClasses, 0.0f, 9);
  std::atomic<bool> cancel{false};
  md::StudentTrainOptions o = base_options();
  o.cancel = &cancel;
  int64_t last_step = 0;
  o.on_progress = [&](const md::TrainProgressEvent& p) {
    last_step = p.step;
    CHECK_EQ(p.total_steps, int64_t{6 * 10});
    if (p.step == 15) cancel = true;  // in epoch 2 (10 batches per epoch)
  };
  const md::TrainReport r = md::train_model(model, tr, &ev, o);
  CHECK(r.cancelled);
  CHECK_EQ(r.steps, int64_t{15});
  CHECK_EQ(last_step, int64_t{15});
  CHECK_EQ(r.epochs.size(), std::size_t{1});  // the partial epoch 2 is not reported
  CHECK_EQ(r.best_epoch, 1);
  CHECK(r.restored_best);
  // Cancelled before anything: no update at all.
  BagModel fresh(kVocab, 8, kClasses, 0.0f, 9);
  const std::vector<float> w0 = all_weights(fresh);
  cancel = true;
  const md::TrainReport r0 = md::train_model(fresh, tr, &ev, o);
  CHECK(r0.cancelled);
  CHECK_EQ(r0.steps, int64_t{0});
  CHECK(all_weights(fresh) == w0);
}

TEST(distillation_from_soft_targets_alone_learns_the_task) {
  const Dataset train = make_dataset(900, 51), eval = make_dataset(300, 52);
  // A confident "teacher": logit 4 for the true class. Labels hidden (-1).
  std::vector<float> soft(static_cast<std::size_t>(train.rows) * kClasses, 0.0f);
  std::vector<int32_t> no_labels(static_cast<std::size_t>(train.rows), -1);
  for (int64_t r = 0; r < train.rows; ++r) soft[static_cast<std::size_t>(r) * kClasses + train.labels[r]] = 4.0f;
  md::TrainRows tr = train.train();
  tr.labels = no_labels.data();
  tr.soft_targets = soft.data();
  const md::EvalRows ev = eval.eval();
  for (md::DistillKind kind : {md::DistillKind::kl, md::DistillKind::mse}) {
    BagModel model(kVocab, 16, kClasses, 0.1f, 3);
    md::StudentTrainOptions o = base_options();
    o.loss.distill = kind;
    o.loss.temperature = 2.0f;
    o.eval_path = md::EvalPath::fast;
    const md::TrainReport r = md::train_model(model, tr, &ev, o);
    CHECK(model.prepared_count == 6 + 1);  // once per epoch, once after the restore
    const md::EvalResult e = md::evaluate_model(model, ev, md::EvalPath::fast);
    if (!(e.report.accuracy >= 0.95))
      check::fail(__FILE__, __LINE__, std::string(md::distill_kind_name(kind)) + " accuracy " + std::to_string(e.report.accuracy));
    CHECK_EQ(e.report.accuracy, r.epochs[r.best_epoch - 1].eval_accuracy);
  }
}

TEST(fast_and_reference_evaluation_agree) {
  const Dataset eval = make_dataset(200, 61);
  BagModel model(kVocab, 16, kClasses, 0.0f, 4);
  model.prepare_inference();
  const std::vector<float> ref = md::predict_logits(model, eval.ids.data(), eval.lengths.data(), eval.rows, kMaxLen,
                                                    md::EvalPath::reference, 17, 2);
  const std::vector<float> fast = md::predict_logits(model, eval.ids.data(), eval.lengths.data(), eval.rows, kMaxLen,
                                                     md::EvalPath::fast, 64, 1);
  double worst = 0;
  for (std::size_t i = 0; i < ref.size(); ++i) worst = std::max(worst, double(std::fabs(ref[i] - fast[i])));
  CHECK(worst < 1e-4);
}

TEST(bad_data_is_rejected_naming_the_row) {
  Dataset d = make_dataset(50, 71);
  BagModel model(kVocab, 8, kClasses, 0.0f, 1);
  const md::StudentTrainOptions o = base_options();
  {
    Dataset bad = d;
    bad.labels[34] = 12;
    const md::TrainRows tr = bad.train();
    CHECK_EQ(error_of([&] { md::train_model(model, tr, nullptr, o); }),
             std::string("training data: label 12 at row 34 is outside [0, 3)"));
  }
  {
    Dataset bad = d;
    bad.ids[7 * kMaxLen + 2] = 600;
    const md::TrainRows tr = bad.train();
    CHECK_EQ(error_of([&] { md::train_model(model, tr, nullptr, o); }),
             std::string("training data: token id 600 at row 7, position 2 is outside the vocabulary [0, 60)"));
  }
  {
    Dataset bad = d;
    bad.lengths[3] = 0;
    const md::TrainRows tr = bad.train();
    CHECK_EQ(error_of([&] { md::train_model(model, tr, nullptr, o); }),
             std::string("training data: length 0 at row 3 is outside [1, 24]"));
  }
  {
    Dataset bad = d;
    bad.labels[5] = -1;
    const md::TrainRows tr = bad.train();
    CHECK_EQ(error_of([&] { md::train_model(model, tr, nullptr, o); }),
             std::string("training data: row 5 has neither a label nor a soft target"));
  }
  {
    Dataset bad = d;
    bad.labels[9] = -1;
    const md::TrainRows tr = d.train();
    const md::EvalRows ev = bad.eval();
    CHECK_EQ(error_of([&] { md::train_model(model, tr, &ev, o); }),
             std::string("eval data: label -1 at row 9 is outside [0, 3)"));
  }
  md::StudentTrainOptions bad_opt = o;
  bad_opt.batch_size = 0;
  const md::TrainRows tr = d.train();
  CHECK_EQ(error_of([&] { md::train_model(model, tr, nullptr, bad_opt); }), std::string("batch_size must be >= 1, got 0"));
  // A diverging run stops with a clear error instead of training on NaN.
  md::StudentTrainOptions nan_opt = o;
  nan_opt.optimizer.learning_rate = 1e30f;
  nan_opt.epochs = 50;
  BagModel fragile(kVocab, 8, kClasses, 0.0f, 1);
  CHECK(error_of([&] { md::train_model(fragile, tr, nullptr, nan_opt); }).find("training diverged") == 0);
}

// A session fed each epoch's rows in several train_rows calls, split at batch
// boundaries, makes exactly train_model's updates: same weights, same metrics.
TEST(a_session_fed_in_parts_reproduces_train_model) {
  const Dataset train = make_dataset(300, 81), eval = make_dataset(100, 82);
  const md::TrainRows tr = train.train();
  const md::EvalRows ev = eval.eval();
  md::StudentTrainOptions o = base_options();
  o.epochs = 3;
  o.schedule.decay = md::DecayKind::linear;  // the schedule must span the parts
  o.schedule.warmup_fraction = 0.2f;
  BagModel whole(kVocab, 8, kClasses, 0.3f, 5), parts(kVocab, 8, kClasses, 0.3f, 5);
  const md::TrainReport a = md::train_model(whole, tr, &ev, o);

  const int64_t batches = (train.rows + o.batch_size - 1) / o.batch_size;
  md::TrainSession session(parts, o, batches * o.epochs);
  std::vector<int64_t> order(static_cast<std::size_t>(train.rows));
  for (int64_t i = 0; i < train.rows; ++i) order[static_cast<std::size_t>(i)] = i;
  for (int epoch = 1; epoch <= o.epochs; ++epoch) {
    session.shuffle(order);
    CHECK_EQ(session.epoch(), epoch);
    // 300 rows, batch 32: parts of 4 and 5 batches, then the last 44 rows.
    session.train_rows(tr, order.data(), 128);
    session.train_rows(tr, order.data() + 128, 128);
    session.train_rows(tr, order.data() + 256, 44);
    CHECK_EQ(session.epoch_examples(), int64_t{300});
    session.end_epoch(&ev);
  }
  const md::TrainReport b = session.finish();
  CHECK(all_weights(whole) == all_weights(parts));
  CHECK_EQ(a.steps, b.steps);
  CHECK_EQ(a.best_epoch, b.best_epoch);
  CHECK_EQ(a.epochs.size(), b.epochs.size());
  for (std::size_t e = 0; e < a.epochs.size(); ++e) {
    CHECK_EQ(a.epochs[e].train_loss, b.epochs[e].train_loss);
    CHECK_EQ(a.epochs[e].eval_accuracy, b.epochs[e].eval_accuracy);
    CHECK_EQ(a.epochs[e].examples, b.epochs[e].examples);
  }
}

// train_part shuffles each part with the session's generator: the same parts
// give the same run, the rows of a part are all trained, and bad rows in a part
// are named as train_model names them.
TEST(train_part_is_deterministic_and_checks_its_rows) {
  const Dataset first = make_dataset(200, 91), second = make_dataset(130, 92), eval = make_dataset(100, 93);
  const md::EvalRows ev = eval.eval();
  md::StudentTrainOptions o = base_options();
  o.epochs = 2;
  const int64_t steps = o.epochs * ((200 + 31) / 32 + (130 + 31) / 32);
  auto run = [&](BagModel& m) {
    md::TrainSession s(m, o, steps);
    for (int epoch = 0; epoch < o.epochs; ++epoch) {
      s.train_part(first.train());
      s.train_part(second.train());
      const md::EpochReport em = s.end_epoch(&ev);
      CHECK_EQ(em.examples, int64_t{330});
      CHECK(em.evaluated);
    }
    return s.finish();
  };
  BagModel a(kVocab, 8, kClasses, 0.3f, 5), b(kVocab, 8, kClasses, 0.3f, 5);
  const md::TrainReport ra = run(a), rb = run(b);
  CHECK(all_weights(a) == all_weights(b));
  CHECK_EQ(ra.steps, steps);
  CHECK_EQ(rb.epochs.size(), std::size_t{2});
  CHECK(ra.epochs.back().eval_accuracy > 0.8);

  BagModel c(kVocab, 8, kClasses, 0.0f, 1);
  md::TrainSession s(c, o, 10);
  Dataset bad = first;
  bad.labels[17] = 5;
  CHECK_EQ(error_of([&] { s.train_part(bad.train()); }), std::string("training data: label 5 at row 17 is outside [0, 3)"));
  CHECK(error_of([&] { s.end_epoch(&ev); }).find("trained no rows") != std::string::npos);
  CHECK_EQ(error_of([&] { md::TrainSession z(c, o, 0); }), std::string("total_steps must be >= 1, got 0"));
}

CHECK_MAIN()
