// Masked-LM pre-training: finite-difference checks of the MLM head (transform,
// tied decoder, bias, and the input hidden states), of the whole MLM loss
// through the transformer (the tied word embeddings get their gradient from
// both the decoder and the embedding lookup), the masking rule's statistics
// (15% of non-special tokens; 80/10/10; specials never touched; deterministic
// per seed), and the pretrainer: the loss falls, a run resumed from a
// checkpoint equals an uninterrupted one bit for bit, bad checkpoints are
// rejected naming the file, and the pooler/classifier are left alone.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <functional>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "check.h"
#include "fixtures.h"
#include "mlm_head.h"
#include "mlm_pretrainer.h"
#include "safetensors.h"
#include "transformer.h"

namespace {

using fixtures::five_point_slope;

struct Worst {
  double ratio = 0;
  std::string where;
  // err / (abs_floor + rel * |numeric|); < 1 passes.
  void add(const std::string& name, double analytic, double numeric, double abs_floor, double rel) {
    const double r = std::fabs(analytic - numeric) / (abs_floor + rel * std::fabs(numeric));
    if (r > ratio) {
      ratio = r;
      where = name + ": analytic " + std::to_string(analytic) + " vs numeric " + std::to_string(numeric);
    }
  }
};

md::TransformerConfig tiny_config(int vocab, float dropout) {
  md::TransformerConfig c;
  c.vocab_size = vocab;
  c.hidden = 8;
  c.layers = 2;
  c.heads = 2;
  c.intermediate = 16;
  c.max_positions = 16;
  c.num_classes = 3;
  c.dropout = dropout;
  c.attention_dropout = dropout;
  c.layer_norm_eps = 1e-5f;
  return c;
}

// Moves the parameters away from BERT's tiny init so every path carries signal.
void randomize(std::vector<md::Parameter*> params, unsigned seed, float scale) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> uni(-scale, scale);
  for (md::Parameter* p : params)
    for (float& x : p->value.data) x += uni(rng);
}

}  // namespace

// ---- the head alone -------------------------------------------------------------

TEST(mlm_head_gradients_match_finite_differences) {
  const int H = 8, V = 13, M = 5;
  md::MlmHead head(H, V, 1e-5f, 7);
  randomize(head.parameters(), 3, 0.3f);
  std::mt19937 rng(11);
  std::vector<float> h = fixtures::uniform_vector(static_cast<std::size_t>(M) * H, rng);
  std::vector<float> E = fixtures::uniform_vector(static_cast<std::size_t>(V) * H, rng, 0.5f);
  const std::vector<int32_t> targets = {3, 0, 12, 3, 7};
  const float scale = 1.0f / M;

  md::MlmHead::Context ctx;
  md::Gradients grads = head.make_gradients();
  std::vector<float> dE(E.size(), 0.0f), dh(h.size(), 0.0f);
  const double sum = head.loss_and_backward(ctx, M, h.data(), targets.data(), E.data(), scale, grads, dE.data(), dh.data());

  // The loss is the plain softmax cross-entropy of logits().
  std::vector<float> logits(static_cast<std::size_t>(M) * V);
  auto loss = [&] {
    md::MlmHead::Context c;
    head.logits(c, M, h.data(), E.data(), logits.data());
    double total = 0;
    for (int m = 0; m < M; ++m) {
      const float* row = logits.data() + static_cast<std::size_t>(m) * V;
      double mx = row[0], s = 0;
      for (int v = 1; v < V; ++v) mx = std::max(mx, double(row[v]));
      for (int v = 0; v < V; ++v) s += std::exp(row[v] - mx);
      total += std::log(s) + mx - row[targets[m]];
    }
    return total * scale;
  };
  CHECK_NEAR(sum * scale, loss(), 1e-5);

  Worst worst;
  std::vector<md::Parameter*> params = head.parameters();
  for (std::size_t p = 0; p < params.size(); ++p)
    for (std::size_t i = 0; i < params[p]->value.size(); i += 3)
      worst.add(params[p]->name + "[" + std::to_string(i) + "]", grads[p].data[i],
                five_point_slope(params[p]->value.data[i], loss, 1e-2f), 1e-4, 1e-2);
  for (std::size_t i = 0; i < E.size(); i += 2)
    worst.add("decoder E[" + std::to_string(i) + "]", dE[i], five_point_slope(E[i], loss, 1e-2f), 1e-4, 1e-2);
  for (std::size_t i = 0; i < h.size(); ++i)
    worst.add("h[" + std::to_string(i) + "]", dh[i], five_point_slope(h[i], loss, 1e-2f), 1e-4, 1e-2);
  std::printf("  worst error / tolerance %.2f (%s)\n", worst.ratio, worst.where.c_str());
  CHECK(worst.ratio < 1.0);
  // The decoder bias gradient is the column sum of softmax - onehot: it sums to 0.
  double bias_sum = 0;
  for (float g : grads[4].data) bias_sum += g;
  CHECK_NEAR(bias_sum, 0.0, 1e-6);
}

TEST(mlm_loss_through_the_transformer_reaches_the_tied_embeddings_by_both_paths) {
  const int V = 11;
  md::Transformer model(tiny_config(V, 0.1f), 5);
  randomize(model.parameters(), 9, 0.2f);
  md::MlmHead head(8, V, 1e-5f, 5);
  randomize(head.parameters(), 10, 0.2f);
  const int H = 8, T = 6;
  // Two rows; the masked positions carry input id 4 ([MASK]-like) and predict other ids.
  std::vector<int32_t> ids = {2, 5, 4, 7, 4, 3, 2, 8, 9, 4, 3, 0};
  std::vector<int32_t> lengths = {6, 5};
  const std::vector<int32_t> positions = {2, 4, 9};  // flat indices into [2, T]
  const std::vector<int32_t> targets = {6, 5, 10};
  const int M = static_cast<int>(positions.size());
  md::Batch batch{ids.data(), lengths.data(), 2, T};
  const float scale = 1.0f / M;
  auto ctx = model.make_context();
  std::vector<float> hidden(static_cast<std::size_t>(2) * T * H), hm(static_cast<std::size_t>(M) * H);
  auto run = [&](md::Gradients* grads, md::Gradients* head_grads, std::vector<float>* decoder_dE) {
    md::Rng rng(42);  // the same dropout masks every time
    model.forward_hidden_train(*ctx, batch, rng, hidden.data());
    for (int m = 0; m < M; ++m)
      std::copy_n(hidden.data() + static_cast<std::size_t>(positions[m]) * H, H, hm.data() + static_cast<std::size_t>(m) * H);
    md::MlmHead::Context hctx;
    md::Gradients scratch = head.make_gradients();
    std::vector<float> dE(static_cast<std::size_t>(V) * H, 0.0f), dhm(hm.size());
    const double sum = head.loss_and_backward(hctx, M, hm.data(), targets.data(), model.word_embeddings().value.ptr(),
                                              scale, head_grads ? *head_grads : scratch, dE.data(), dhm.data());
    if (grads) {
      if (decoder_dE) *decoder_dE = dE;
      float* g = (*grads)[0].ptr();
      for (std::size_t i = 0; i < dE.size(); ++i) g[i] += dE[i];
      std::vector<float> dhidden(hidden.size(), 0.0f);
      for (int m = 0; m < M; ++m)
        std::copy_n(dhm.data() + static_cast<std::size_t>(m) * H, H, dhidden.data() + static_cast<std::size_t>(positions[m]) * H);
      model.backward_hidden(*ctx, batch, dhidden.data(), *grads);
    }
    return sum * scale;
  };
  md::Gradients grads = model.make_gradients(), head_grads = head.make_gradients();
  std::vector<float> decoder_dE;
  run(&grads, &head_grads, &decoder_dE);
  auto loss = [&] { return run(nullptr, nullptr, nullptr); };

  Worst worst;
  std::vector<md::Parameter*> params = model.parameters();
  for (std::size_t p = 0; p < params.size(); ++p) {
    const std::string& name = params[p]->name;
    if (name.rfind("classifier", 0) == 0 || name.rfind("bert.pooler", 0) == 0) {
      for (float g : grads[p].data) CHECK_EQ(g, 0.0f);  // MLM never reaches the classification head
      continue;
    }
    if (name.find("attention.self.key.bias") != std::string::npos) continue;  // exactly 0 (softmax shift)
    const bool word = p == 0;
    const std::size_t step = word ? 1 : std::max<std::size_t>(1, params[p]->value.size() / 7);
    for (std::size_t i = 0; i < params[p]->value.size(); i += step)
      worst.add(name + "[" + std::to_string(i) + "]", grads[p].data[i],
                five_point_slope(params[p]->value.data[i], loss, 1e-2f), 2e-4, 1e-2);
  }
  std::vector<md::Parameter*> hp = head.parameters();
  for (std::size_t p = 0; p < hp.size(); ++p)
    for (std::size_t i = 0; i < hp[p]->value.size(); i += 2)
      worst.add(hp[p]->name + "[" + std::to_string(i) + "]", head_grads[p].data[i],
                five_point_slope(hp[p]->value.data[i], loss, 1e-2f), 2e-4, 1e-2);
  std::printf("  worst error / tolerance %.2f (%s)\n", worst.ratio, worst.where.c_str());
  CHECK(worst.ratio < 1.0);

  // Both paths carry signal into the word embeddings: row 4 ([MASK]-like, an
  // input) gets a lookup gradient beyond its decoder part, and row 10 (only a
  // target, never an input) gets the decoder part alone.
  double lookup_part = 0, only_decoder_diff = 0;
  for (int j = 0; j < H; ++j) {
    lookup_part += std::fabs(grads[0].data[4 * H + j] - decoder_dE[4 * H + j]);
    only_decoder_diff += std::fabs(grads[0].data[10 * H + j] - decoder_dE[10 * H + j]);
    CHECK(decoder_dE[10 * H + j] != 0.0f);
  }
  CHECK(lookup_part > 1e-4);
  CHECK_EQ(only_decoder_diff, 0.0);
}

// ---- masking ------------------------------------------------------------------------

TEST(masking_selects_15_percent_of_ordinary_tokens_80_10_10_and_never_specials) {
  const int V = 500;
  // [PAD] 0, [UNK] 100, [CLS] 101, [SEP] 102, [MASK] 103 (bert-base-chinese layout)
  const std::vector<int32_t> specials = {0, 100, 101, 102};
  md::MaskingVocab vocab(V, 103, specials);
  CHECK_EQ(vocab.ordinary_ids().size(), std::size_t(V - 5));
  std::mt19937 gen(4);
  std::uniform_int_distribution<int> any(0, V - 1);
  const int rows = 4000, len = 60;
  int64_t ordinary = 0, selected = 0, masked = 0, random = 0, kept = 0;
  std::vector<int32_t> ids(len), out(len), targets(len);
  std::vector<md::MaskAction> actions(len);
  for (int r = 0; r < rows; ++r) {
    for (int t = 0; t < len; ++t) ids[t] = any(gen);
    ids[0] = 101;
    ids[len - 1] = 102;
    ids[7] = 100;
    md::Rng rng(1000 + r);
    const int n = md::mask_row(ids.data(), len, vocab, 0.15f, rng, out.data(), targets.data(), actions.data());
    int counted = 0;
    for (int t = 0; t < len; ++t) {
      const bool special = ids[t] == 0 || ids[t] == 100 || ids[t] == 101 || ids[t] == 102 || ids[t] == 103;
      if (special) {
        CHECK(targets[t] == -1 && out[t] == ids[t]);
        continue;
      }
      ++ordinary;
      if (targets[t] < 0) {
        CHECK_EQ(out[t], ids[t]);
        continue;
      }
      ++counted;
      CHECK_EQ(targets[t], ids[t]);
      switch (actions[t]) {
        case md::MaskAction::masked: ++masked; CHECK_EQ(out[t], 103); break;
        case md::MaskAction::random: ++random; CHECK(!vocab.is_special(out[t])); break;
        case md::MaskAction::kept: ++kept; CHECK_EQ(out[t], ids[t]); break;
        default: CHECK(false);
      }
    }
    CHECK_EQ(counted, n);
    selected += counted;
  }
  const double rate = double(selected) / ordinary;
  std::printf("  selected %.4f of %lld ordinary tokens; [MASK] %.4f, random %.4f, kept %.4f\n", rate,
              static_cast<long long>(ordinary), double(masked) / selected, double(random) / selected,
              double(kept) / selected);
  // ~230,000 ordinary tokens: sd of the rate ~0.0007; of the 80/10/10 shares ~0.002.
  CHECK_NEAR(rate, 0.15, 0.004);
  CHECK_NEAR(double(masked) / selected, 0.8, 0.01);
  CHECK_NEAR(double(random) / selected, 0.1, 0.01);
  CHECK_NEAR(double(kept) / selected, 0.1, 0.01);
}

TEST(masking_is_deterministic_per_seed) {
  md::MaskingVocab vocab(50, 3, {0, 1, 2});
  std::vector<int32_t> ids(40);
  for (int t = 0; t < 40; ++t) ids[t] = 4 + t;
  std::vector<int32_t> a(40), b(40), c(40), ta(40), tb(40), tc(40);
  md::Rng r1(9), r2(9), r3(10);
  md::mask_row(ids.data(), 40, vocab, 0.3f, r1, a.data(), ta.data());
  md::mask_row(ids.data(), 40, vocab, 0.3f, r2, b.data(), tb.data());
  md::mask_row(ids.data(), 40, vocab, 0.3f, r3, c.data(), tc.data());
  CHECK(a == b && ta == tb);
  CHECK(!(ta == tc));
  CHECK_THROWS(md::MaskingVocab(50, 50, {}));
  CHECK_THROWS(md::MaskingVocab(3, 0, {1, 2}));  // nothing left to predict
}

// ---- the pretrainer -------------------------------------------------------------------

namespace {

// A toy language: each row counts up from a random start (mod 20) over ids
// 5..24, framed by [CLS] 2 and [SEP] 3 - predictable from the neighbours.
struct ToyCorpus {
  std::vector<int32_t> ids, lengths;
  int max_len = 12;
  explicit ToyCorpus(int rows, unsigned seed) {
    std::mt19937 gen(seed);
    ids.assign(static_cast<std::size_t>(rows) * max_len, 0);
    for (int r = 0; r < rows; ++r) {
      const int len = 6 + static_cast<int>(gen() % 7);
      const int start = static_cast<int>(gen() % 20);
      int32_t* row = ids.data() + static_cast<std::size_t>(r) * max_len;
      row[0] = 2;
      for (int t = 1; t + 1 < len; ++t) row[t] = 5 + (start + t) % 20;
      row[len - 1] = 3;
      lengths.push_back(len);
    }
  }
  md::MlmData data() const { return {ids.data(), lengths.data(), static_cast<int64_t>(lengths.size()), max_len}; }
};

md::MlmPretrainOptions toy_options(int epochs) {
  md::MlmPretrainOptions o;
  o.batch_size = 16;
  o.epochs = epochs;
  o.seed = 3;
  o.threads = 2;
  o.mask_prob = 0.2f;
  o.optimizer.kind = md::OptimizerKind::adamw;
  o.optimizer.learning_rate = 3e-3f;
  o.optimizer.weight_decay = 0.01f;
  o.optimizer.clip_norm = 1.0f;
  o.schedule.decay = md::DecayKind::linear;
  o.schedule.warmup_fraction = 0.1f;
  return o;
}

md::TransformerConfig toy_config() {
  md::TransformerConfig c = tiny_config(25, 0.0f);
  c.hidden = 16;
  c.intermediate = 32;
  c.layer_norm_eps = 1e-12f;
  return c;
}

std::vector<float> all_weights(md::MlmPretrainer& p) {
  std::vector<float> out;
  for (md::Parameter* x : p.model().parameters()) out.insert(out.end(), x->value.data.begin(), x->value.data.end());
  for (const md::Parameter* x : p.head().parameters()) out.insert(out.end(), x->value.data.begin(), x->value.data.end());
  return out;
}

std::string temp_path(const char* name) { return std::string("/tmp/md_test_mlm_") + name; }

}  // namespace

TEST(pretraining_lowers_the_masked_lm_loss_and_leaves_the_classifier_alone) {
  ToyCorpus corpus(256, 1);
  md::MaskingVocab vocab(25, 4, {0, 1, 2, 3});
  md::MlmPretrainOptions options = toy_options(40);
  options.optimizer.learning_rate = 1e-2f;
  md::MlmPretrainer p(toy_config(), 7, vocab, options, corpus.data());
  md::Transformer fresh(toy_config(), 7);
  CHECK_EQ(p.steps_per_epoch(), int64_t(16));
  CHECK_EQ(p.total_steps(), int64_t(640));
  double first = 0, last = 0;
  int64_t masked = 0, tokens = 0;
  while (!p.finished()) {
    const md::MlmStepResult r = p.train_step();
    if (r.step <= 16) first += r.loss / 16;
    if (r.step > p.total_steps() - 16) last += r.loss / 16;
    masked += r.masked;
    tokens += r.tokens;
  }
  std::printf("  mean loss of the first epoch %.3f, of the last %.3f (log 20 = %.3f); %.3f of tokens masked\n", first,
              last, std::log(20.0), double(masked) / tokens);
  CHECK(first > 2.0);
  CHECK(last < 0.5 * first);
  const int cls = p.model().parameter_index("classifier.weight"), pool = p.model().parameter_index("bert.pooler.dense.weight");
  CHECK(p.model().parameters()[cls]->value.data == fresh.parameters()[cls]->value.data);
  CHECK(p.model().parameters()[pool]->value.data == fresh.parameters()[pool]->value.data);
  CHECK(!(p.model().word_embeddings().value.data == fresh.word_embeddings().value.data));
  CHECK_THROWS(p.train_step());
}

TEST(a_run_resumed_from_a_checkpoint_equals_an_uninterrupted_run) {
  ToyCorpus corpus(100, 2);  // 7 steps per epoch, the last batch short
  md::MaskingVocab vocab(25, 4, {0, 1, 2, 3});
  md::TransformerConfig config = toy_config();
  config.dropout = 0.1f;  // dropout streams must resume too
  config.attention_dropout = 0.1f;
  md::MlmPretrainer straight(config, 7, vocab, toy_options(3), corpus.data());
  while (!straight.finished()) straight.train_step();

  const std::string file = temp_path("resume.safetensors");
  {
    md::MlmPretrainer first(config, 7, vocab, toy_options(3), corpus.data());
    for (int i = 0; i < 10; ++i) first.train_step();  // stops inside epoch 2
    first.save_checkpoint(file, {{"fingerprint", "abc"}});
  }
  md::MlmPretrainer resumed(config, 99, vocab, toy_options(3), corpus.data());  // other init: all overwritten
  const md::Metadata meta = resumed.load_checkpoint(file);
  CHECK_EQ(resumed.step(), int64_t(10));
  bool has_fingerprint = false;
  for (const auto& kv : meta) has_fingerprint = has_fingerprint || (kv.first == "fingerprint" && kv.second == "abc");
  CHECK(has_fingerprint);
  while (!resumed.finished()) resumed.train_step();
  CHECK(all_weights(resumed) == all_weights(straight));

  // The encoder file loads into a plain transformer of the same spec.
  const std::string encoder = temp_path("encoder.safetensors");
  resumed.save_encoder(encoder);
  md::Transformer t(config, 1);
  md::load_parameters(t, md::read_safetensors(encoder));
  CHECK(t.word_embeddings().value.data == resumed.model().word_embeddings().value.data);
  std::remove(file.c_str());
  std::remove(encoder.c_str());
}

TEST(bad_checkpoints_are_rejected_naming_the_file_and_the_problem) {
  ToyCorpus corpus(64, 3);
  md::MaskingVocab vocab(25, 4, {0, 1, 2, 3});
  md::MlmPretrainer p(toy_config(), 7, vocab, toy_options(1), corpus.data());
  p.train_step();
  const std::string file = temp_path("bad.safetensors");
  p.save_checkpoint(file);
  auto message = [&](md::MlmPretrainer& target, const std::string& path) {
    try {
      target.load_checkpoint(path);
    } catch (const std::exception& e) {
      return std::string(e.what());
    }
    return std::string("(no error)");
  };
  auto contains = [](const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; };

  md::MlmPretrainOptions other_batch = toy_options(1);
  other_batch.batch_size = 8;
  md::MlmPretrainer q(toy_config(), 7, vocab, other_batch, corpus.data());
  std::string m = message(q, file);
  CHECK(contains(m, file) && contains(m, "batch_size 16"));
  CHECK_EQ(q.step(), int64_t(0));

  md::TransformerConfig bigger = toy_config();
  bigger.hidden = 32;
  md::MlmPretrainer r(bigger, 7, vocab, toy_options(1), corpus.data());
  m = message(r, file);
  CHECK(contains(m, file) && contains(m, "shape mismatch for bert.embeddings.word_embeddings.weight"));

  // Truncated (a process killed mid-write without the atomic rename would leave this).
  std::string bytes;
  {
    std::ifstream in(file, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  {
    std::ofstream out(file, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size() / 2));
  }
  md::MlmPretrainer s(toy_config(), 7, vocab, toy_options(1), corpus.data());
  m = message(s, file);
  CHECK(contains(m, file));
  // A weights file that is not a checkpoint.
  s.save_encoder(file);
  m = message(s, file);
  CHECK(contains(m, file) && contains(m, "not a model-distill MLM checkpoint"));
  std::remove(file.c_str());
}

CHECK_MAIN()
