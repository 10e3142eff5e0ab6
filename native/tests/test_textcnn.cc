// TextCNN: gradients (finite differences), the three forward paths agree,
// padding is masked, a seed fixes the model, bad input is rejected.
// ctest also runs this file with MODEL_DISTILL_SIMD=scalar, so both the AVX2 and
// the portable kernels are checked against the loop reference.
#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "check.h"
#include "fixtures.h"
#include "gradcheck.h"
#include "textcnn.h"

namespace {

using fixtures::OwnedBatch;
using fixtures::max_abs_diff;
using fixtures::softmax_rows;

// Random texts with the given lengths; ids in [1, V) with some pad ids (0) inside
// texts too; positions past each length hold `fill` (or random junk when fill < 0).
OwnedBatch make_batch(const std::vector<int>& lengths, int vocab, std::mt19937& rng, int fill = 0,
                      bool pads_inside = true) {
  OwnedBatch out;
  out.lengths.assign(lengths.begin(), lengths.end());
  out.seq_len = *std::max_element(lengths.begin(), lengths.end());
  out.ids.assign(lengths.size() * out.seq_len, 0);
  std::uniform_int_distribution<int> tok(1, vocab - 1), any(0, vocab - 1), coin(0, 9);
  for (std::size_t b = 0; b < lengths.size(); ++b) {
    for (int s = 0; s < out.seq_len; ++s) {
      int32_t& id = out.ids[b * out.seq_len + s];
      if (s < lengths[b]) {
        id = (pads_inside && coin(rng) == 0) ? 0 : tok(rng);
      } else {
        id = fill >= 0 ? fill : any(rng);
      }
    }
  }
  return out;
}

md::TextCnnConfig small_config(float dropout) {
  md::TextCnnConfig c;
  c.vocab_size = 23;
  c.embedding_dim = 8;
  c.num_classes = 3;
  c.windows = {2, 3, 5};
  c.filters = 6;
  c.dropout = dropout;
  return c;
}

std::vector<float> run_reference(const md::TextCnn& m, const OwnedBatch& b) {
  std::vector<float> out(b.lengths.size() * m.num_classes());
  m.forward_reference(b.view(), out.data());
  return out;
}
std::vector<float> run_fast(const md::TextCnn& m, const OwnedBatch& b) {
  std::vector<float> out(b.lengths.size() * m.num_classes());
  m.forward_fast(b.view(), out.data());
  return out;
}
std::vector<float> run_train(const md::TextCnn& m, const OwnedBatch& b, unsigned seed = 9) {
  std::vector<float> out(b.lengths.size() * m.num_classes());
  auto ctx = m.make_context();
  md::Rng rng(seed);
  m.forward_train(*ctx, b.view(), rng, out.data());
  return out;
}

}  // namespace

// Max-pooling has kinks: a finite-difference step that changes which window is
// the max gives a wrong numeric slope. With PyTorch's initial scales the gaps
// between a filter's best windows are small next to an eps step, so these checks
// scale the conv weights by 10 (gaps grow 10x relative to the step), which makes
// such switches rare without shrinking eps into float round-off.
void sharpen_convolutions(md::TextCnn& model) {
  for (md::Parameter* p : model.parameters())
    if (p->name.rfind("conv", 0) == 0 && p->name.find(".weight") != std::string::npos)
      for (float& x : p->value.data) x *= 10.0f;
}

TEST(gradients_match_finite_differences_without_dropout) {
  md::TextCnn model(small_config(0.0f), 42);
  sharpen_convolutions(model);
  std::mt19937 rng(1);
  // Length 1 and lengths below every window size, pads inside texts.
  OwnedBatch batch = make_batch({1, 4, 9, 2, 7, 12}, 23, rng);
  gradcheck::Result r = gradcheck::check_model(model, batch.view(), 40, 1e-2f);
  std::printf("  checked %d entries, max rel error %.2e (%s)\n", r.checked, r.max_rel_error, r.worst.c_str());
  CHECK(r.checked > 200);
  CHECK(r.max_rel_error < 2e-2);
}

TEST(gradients_match_finite_differences_with_dropout) {
  md::TextCnn model(small_config(0.5f), 43);
  sharpen_convolutions(model);
  std::mt19937 rng(2);
  OwnedBatch batch = make_batch({3, 1, 8, 11, 5}, 23, rng);
  gradcheck::Result r = gradcheck::check_model(model, batch.view(), 40, 1e-2f);
  std::printf("  checked %d entries, max rel error %.2e (%s)\n", r.checked, r.max_rel_error, r.worst.c_str());
  CHECK(r.max_rel_error < 2e-2);
}

TEST(pad_row_stays_zero_and_gets_no_gradient) {
  md::TextCnn model(small_config(0.0f), 5);
  const md::Parameter* emb = model.parameters()[0];
  CHECK_EQ(emb->name, std::string("embedding.weight"));
  for (int e = 0; e < 8; ++e) CHECK_EQ(emb->value.data[e], 0.0f);
  std::mt19937 rng(3);
  OwnedBatch batch = make_batch({6, 6, 3}, 23, rng);
  batch.ids[1] = 0;  // a pad inside a text
  auto ctx = model.make_context();
  md::Gradients g = model.make_gradients();
  std::vector<float> logits(3 * 3), dl(3 * 3, 1.0f);
  md::Rng r(1);
  model.forward_train(*ctx, batch.view(), r, logits.data());
  model.backward(*ctx, batch.view(), dl.data(), g);
  for (int e = 0; e < 8; ++e) CHECK_EQ(g[0].data[e], 0.0f);
  double used = 0;
  for (float x : g[0].data) used += std::fabs(x);
  CHECK(used > 0);  // other rows did get gradient
}

TEST(parameter_names_and_shapes) {
  md::TextCnnConfig c = small_config(0.5f);
  md::TextCnn model(c, 1);
  std::vector<std::string> names;
  for (const md::Parameter* p : model.parameters()) names.push_back(p->name + p->value.shape_string());
  const std::vector<std::string> want = {"embedding.weight[23, 8]", "conv2.weight[6, 2, 8]", "conv2.bias[6]",
                                         "conv3.weight[6, 3, 8]",   "conv3.bias[6]",         "conv5.weight[6, 5, 8]",
                                         "conv5.bias[6]",           "fc.weight[3, 18]",      "fc.bias[3]"};
  CHECK(names == want);
}

TEST(fast_and_train_paths_match_reference_on_random_models) {
  std::mt19937 rng(17);
  for (int trial = 0; trial < 6; ++trial) {
    md::TextCnnConfig c;
    c.vocab_size = 50 + trial * 37;
    c.embedding_dim = trial % 2 ? 128 : 20;
    c.num_classes = 2 + trial;
    c.filters = trial % 3 == 0 ? 128 : 37;  // 37: exercises the kernels' scalar tail
    c.windows = trial == 5 ? std::vector<int>{1, 7} : std::vector<int>{3, 4, 5};
    c.dropout = 0.0f;  // so forward_train is deterministic and comparable
    md::TextCnn model(c, 100 + trial);
    model.prepare_inference();
    std::vector<int> lengths = {1, 2, 3, 4, 5, 6, 17, 40, 64};
    std::uniform_int_distribution<int> len(1, 64);
    for (int i = 0; i < 20; ++i) lengths.push_back(len(rng));
    OwnedBatch batch = make_batch(lengths, c.vocab_size, rng, -1);
    const std::vector<float> ref = softmax_rows(run_reference(model, batch), c.num_classes);
    const double fast = max_abs_diff(ref, softmax_rows(run_fast(model, batch), c.num_classes));
    const double train = max_abs_diff(ref, softmax_rows(run_train(model, batch), c.num_classes));
    if (!(fast <= 1e-5)) check::fail(__FILE__, __LINE__, "fast vs reference: " + std::to_string(fast));
    if (!(train <= 1e-5)) check::fail(__FILE__, __LINE__, "train vs reference: " + std::to_string(train));
  }
}

TEST(padding_ids_beyond_length_do_not_change_logits) {
  md::TextCnnConfig c = small_config(0.0f);
  md::TextCnn model(c, 8);
  model.prepare_inference();
  std::mt19937 rng(4);
  const std::vector<int> lengths = {1, 2, 4, 7, 10, 3};
  OwnedBatch a = make_batch(lengths, c.vocab_size, rng, 0);  // padded with pad_id
  OwnedBatch b = a;                                          // same texts, random junk after the end
  std::uniform_int_distribution<int> junk(0, c.vocab_size - 1);
  for (std::size_t r = 0; r < lengths.size(); ++r)
    for (int s = lengths[r]; s < b.seq_len; ++s) b.ids[r * b.seq_len + s] = junk(rng);
  CHECK(a.ids != b.ids);
  CHECK(run_reference(model, a) == run_reference(model, b));
  CHECK(run_fast(model, a) == run_fast(model, b));
  CHECK(run_train(model, a) == run_train(model, b));
  // A longer seq_len (more padding columns) changes nothing either.
  OwnedBatch wide = a;
  wide.seq_len = a.seq_len + 5;
  wide.ids.assign(lengths.size() * wide.seq_len, 7);
  for (std::size_t r = 0; r < lengths.size(); ++r)
    std::copy_n(a.ids.begin() + r * a.seq_len, a.seq_len, wide.ids.begin() + r * wide.seq_len);
  CHECK(run_fast(model, a) == run_fast(model, wide));
  CHECK(run_reference(model, a) == run_reference(model, wide));
}

TEST(short_text_is_zero_padded_to_the_window) {
  // A text of length 1 scores as if it were followed by pad tokens.
  md::TextCnnConfig c = small_config(0.0f);
  md::TextCnn model(c, 12);
  OwnedBatch one, padded;
  one.ids = {5};
  one.lengths = {1};
  one.seq_len = 1;
  padded.ids = {5, 0, 0, 0, 0};
  padded.lengths = {5};
  padded.seq_len = 5;
  // Not equal in general (the padded text has more windows), but the longest
  // window (5) sees the same single window in both.
  std::vector<float> a = run_reference(model, one), b = run_reference(model, padded);
  CHECK(std::isfinite(a[0]) && std::isfinite(a[1]) && std::isfinite(a[2]));
  // With one window size only, both texts have features max over windows that all
  // contain the token 5 once plus zeros: same with window = 5.
  md::TextCnnConfig c5 = c;
  c5.windows = {5};
  md::TextCnn m5(c5, 12);
  m5.prepare_inference();
  CHECK_NEAR(run_reference(m5, one)[0], run_reference(m5, padded)[0], 1e-6);
  CHECK_NEAR(run_fast(m5, one)[0], run_reference(m5, one)[0], 1e-5);
}

TEST(same_seed_same_model_and_outputs) {
  md::TextCnnConfig c = small_config(0.5f);
  md::TextCnn a(c, 77), b(c, 77), other(c, 78);
  auto pa = a.parameters(), pb = b.parameters(), po = other.parameters();
  bool all_equal = true, any_differs = false;
  for (std::size_t i = 0; i < pa.size(); ++i) {
    all_equal = all_equal && pa[i]->value.data == pb[i]->value.data;
    any_differs = any_differs || pa[i]->value.data != po[i]->value.data;
  }
  CHECK(all_equal);
  CHECK(any_differs);
  std::mt19937 rng(5);
  OwnedBatch batch = make_batch({5, 9, 2}, c.vocab_size, rng);
  CHECK(run_train(a, batch, 3) == run_train(b, batch, 3));
  CHECK(run_train(a, batch, 3) != run_train(a, batch, 4));  // dropout draws from the rng
}

TEST(initialisation_follows_pytorch_defaults) {
  md::TextCnnConfig c;
  c.vocab_size = 2000;
  c.num_classes = 2;
  md::TextCnn model(c, 3);
  auto params = model.parameters();
  // Embedding ~ N(0, 1) (pad row excluded).
  const auto& emb = params[0]->value.data;
  double sum = 0, sq = 0;
  for (std::size_t i = 128; i < emb.size(); ++i) {
    sum += emb[i];
    sq += double(emb[i]) * emb[i];
  }
  const double n = emb.size() - 128;
  CHECK_NEAR(sum / n, 0.0, 0.01);
  CHECK_NEAR(sq / n, 1.0, 0.02);
  // conv3.weight ~ U(-1/sqrt(3*128), 1/sqrt(3*128)).
  const auto& w3 = params[1]->value.data;
  const double bound = 1.0 / std::sqrt(384.0);
  float lo = 1, hi = -1;
  for (float x : w3) lo = std::min(lo, x), hi = std::max(hi, x);
  CHECK(lo >= -bound && hi <= bound);
  CHECK(lo < -0.95 * bound && hi > 0.95 * bound);
}

TEST(set_embeddings_copies_vectors_and_zeroes_pad) {
  md::TextCnnConfig c = small_config(0.0f);
  md::TextCnn model(c, 1);
  model.prepare_inference();
  std::vector<float> vectors(23 * 8);
  for (std::size_t i = 0; i < vectors.size(); ++i) vectors[i] = 0.01f * static_cast<float>(i);
  model.set_embeddings(vectors.data(), 23, 8);
  const auto& emb = model.parameters()[0]->value.data;
  for (int e = 0; e < 8; ++e) CHECK_EQ(emb[e], 0.0f);
  CHECK_EQ(emb[8 * 5 + 3], vectors[8 * 5 + 3]);
  CHECK(!model.inference_prepared());  // the table is stale and was dropped
  CHECK_THROWS(model.set_embeddings(vectors.data(), 23, 7));
  md::Tensor wrong({22, 8});
  CHECK_THROWS(model.set_embeddings(wrong));
}

TEST(rejects_bad_input) {
  md::TextCnnConfig c = small_config(0.0f);
  md::TextCnn model(c, 1);
  std::vector<float> logits(3);
  OwnedBatch b;
  b.ids = {1, 2, 23};
  b.lengths = {3};
  b.seq_len = 3;
  CHECK_THROWS(model.forward_reference(b.view(), logits.data()));  // id 23 >= vocab_size
  CHECK_THROWS(model.forward_fast(b.view(), logits.data()));       // not prepared
  b.ids = {1, 2, 3};
  b.lengths = {4};
  CHECK_THROWS(model.forward_reference(b.view(), logits.data()));  // length > seq_len
  b.lengths = {0};
  CHECK_THROWS(model.forward_reference(b.view(), logits.data()));  // empty text
  md::TextCnnConfig bad = c;
  bad.windows = {3, 3};
  CHECK_THROWS(md::TextCnn(bad, 1));
  bad = c;
  bad.dropout = 1.0f;
  CHECK_THROWS(md::TextCnn(bad, 1));
  bad = c;
  bad.pad_id = 23;
  CHECK_THROWS(md::TextCnn(bad, 1));
}

CHECK_MAIN()
