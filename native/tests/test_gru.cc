// Tests of the GRU student (native/core/gru.h): gradients against finite
// differences, the fast inference path against the plain reference, masking of
// padding, a case computed by hand, determinism and bad input.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "check.h"
#include "fixtures.h"
#include "gradcheck.h"
#include "gru.h"
#include "gru_cell.h"

namespace {

using fixtures::OwnedBatch;
using fixtures::max_abs_diff;
using fixtures::softmax_rows;

// Rows of the given lengths, random ids in [1, vocab) (never the padding id 0),
// padded with 0 to the longest row.
OwnedBatch random_batch(const std::vector<int>& lengths, int vocab, unsigned seed) {
  OwnedBatch b;
  b.lengths.assign(lengths.begin(), lengths.end());
  b.seq_len = *std::max_element(lengths.begin(), lengths.end());
  b.ids.assign(lengths.size() * b.seq_len, 0);
  md::Rng rng(seed);
  for (std::size_t r = 0; r < lengths.size(); ++r)
    for (int t = 0; t < lengths[r]; ++t) b.ids[r * b.seq_len + t] = 1 + static_cast<int32_t>(rng() % (vocab - 1));
  return b;
}

md::GruConfig small_config(bool bidirectional, float dropout, int hidden = 5) {
  md::GruConfig c;
  c.vocab_size = 20;
  c.embedding_dim = 6;
  c.hidden = hidden;
  c.num_classes = 3;
  c.bidirectional = bidirectional;
  c.dropout = dropout;
  return c;
}

// Mixed lengths including 1, rows not sorted (the model sorts internally).
const std::vector<int> kMixedLengths{3, 1, 7, 4, 7, 2, 1, 5};

void run_gradcheck(bool bidirectional, float dropout, int hidden) {
  md::Gru model(small_config(bidirectional, dropout, hidden), 7);
  OwnedBatch b = random_batch(kMixedLengths, 20, 11);
  gradcheck::Result r = gradcheck::check_model(model, b.view(), 30, 3e-2f);
  std::printf("  gradcheck bi=%d dropout=%.1f H=%d: %s (rel %.3g)\n", bidirectional, dropout, hidden,
                 r.worst.c_str(), r.max_rel_error);
  CHECK(r.checked > 100);
  CHECK(r.max_rel_error < 1e-2);
}

}  // namespace

TEST(gradcheck_unidirectional_without_dropout) { run_gradcheck(false, 0.0f, 5); }
TEST(gradcheck_unidirectional_with_dropout) { run_gradcheck(false, 0.5f, 5); }
TEST(gradcheck_bidirectional_without_dropout) { run_gradcheck(true, 0.0f, 5); }
TEST(gradcheck_bidirectional_with_dropout) { run_gradcheck(true, 0.5f, 5); }
// H = 16: the cell runs its vector path (two full 8-lane blocks) on AVX2 machines.
TEST(gradcheck_bidirectional_vector_width_hidden) { run_gradcheck(true, 0.3f, 16); }

TEST(padding_row_stays_zero_with_zero_gradient) {
  md::Gru model(small_config(true, 0.0f), 3);
  const md::Tensor& emb = model.parameters()[0]->value;
  for (int e = 0; e < 6; ++e) CHECK_EQ(emb.data[e], 0.0f);
  // A padding id inside a row's length contributes a zero vector and gets no gradient.
  OwnedBatch b = random_batch({4, 3}, 20, 5);
  b.ids[1] = 0;
  auto ctx = model.make_context();
  md::Rng rng(1);
  std::vector<float> logits(2 * 3), dlogits(2 * 3, 1.0f);
  model.forward_train(*ctx, b.view(), rng, logits.data());
  md::Gradients g = model.make_gradients();
  model.backward(*ctx, b.view(), dlogits.data(), g);
  for (int e = 0; e < 6; ++e) CHECK_EQ(g[0].data[e], 0.0f);
  double other = 0;
  for (std::size_t i = 6; i < g[0].size(); ++i) other += std::fabs(g[0].data[i]);
  CHECK(other > 0);  // the check above is not vacuous
}

TEST(parameter_names_and_shapes_follow_pytorch) {
  md::GruConfig c = small_config(true, 0.5f);
  md::Gru model(c, 1);
  std::vector<std::string> names;
  for (md::Parameter* p : model.parameters()) names.push_back(p->name);
  const std::vector<std::string> expected{"embedding.weight",        "gru.weight_ih_l0",         "gru.weight_hh_l0",
                                          "gru.bias_ih_l0",          "gru.bias_hh_l0",           "gru.weight_ih_l0_reverse",
                                          "gru.weight_hh_l0_reverse", "gru.bias_ih_l0_reverse",   "gru.bias_hh_l0_reverse",
                                          "fc.weight",               "fc.bias"};
  CHECK(names == expected);
  auto params = model.parameters();
  CHECK(params[1]->value.shape == std::vector<int64_t>({15, 6}));
  CHECK(params[2]->value.shape == std::vector<int64_t>({15, 5}));
  CHECK(params[9]->value.shape == std::vector<int64_t>({3, 10}));
  // PyTorch's init ranges.
  const float k = 1.0f / std::sqrt(5.0f);
  for (int i = 1; i <= 8; ++i)
    for (float w : params[i]->value.data) CHECK(std::fabs(w) <= k);
  for (float w : params[9]->value.data) CHECK(std::fabs(w) <= 1.0f / std::sqrt(10.0f));
  md::Gru uni(small_config(false, 0.5f), 1);
  CHECK_EQ(uni.parameters().size(), std::size_t{7});
}

// One step, H = 2, E = 2, C = 1, every weight set by hand and the output
// written out from PyTorch's equations with scalars.
TEST(one_step_matches_the_formula_by_hand) {
  md::GruConfig c;
  c.vocab_size = 3;
  c.embedding_dim = 2;
  c.hidden = 2;
  c.num_classes = 1;
  c.dropout = 0.0f;
  md::Gru model(c, 1);
  auto P = model.parameters();
  const float emb[] = {0, 0, 0.5f, -1.0f, 2.0f, 0.25f};
  std::copy(emb, emb + 6, P[0]->value.ptr());
  // weight_ih rows: r0 r1 z0 z1 n0 n1
  const float wih[] = {0.1f, 0.2f, -0.3f, 0.4f, 0.5f, -0.6f, 0.7f, 0.8f, -0.9f, 1.0f, 0.3f, -0.2f};
  const float bih[] = {0.01f, -0.02f, 0.03f, -0.04f, 0.05f, -0.06f};
  const float bhh[] = {-0.1f, 0.2f, 0.15f, -0.25f, 0.35f, 0.45f};
  std::copy(wih, wih + 12, P[1]->value.ptr());
  for (float& w : P[2]->value.data) w = 9.0f;  // multiplies h0 = 0: must not matter
  std::copy(bih, bih + 6, P[3]->value.ptr());
  std::copy(bhh, bhh + 6, P[4]->value.ptr());
  P[5]->value.data = {1.5f, -2.0f};
  P[6]->value.data = {0.3f};

  const double x0 = 2.0, x1 = 0.25;  // token 2
  auto sig = [](double v) { return 1.0 / (1.0 + std::exp(-v)); };
  double h[2];
  for (int j = 0; j < 2; ++j) {
    const double r = sig(wih[2 * j] * x0 + wih[2 * j + 1] * x1 + bih[j] + bhh[j]);
    const double z = sig(wih[2 * (2 + j)] * x0 + wih[2 * (2 + j) + 1] * x1 + bih[2 + j] + bhh[2 + j]);
    const double n = std::tanh(wih[2 * (4 + j)] * x0 + wih[2 * (4 + j) + 1] * x1 + bih[4 + j] + r * bhh[4 + j]);
    h[j] = (1 - z) * n;  // + z * h0, h0 = 0
  }
  const double expected = 1.5 * h[0] - 2.0 * h[1] + 0.3;

  OwnedBatch b;
  b.ids = {2};
  b.lengths = {1};
  b.seq_len = 1;
  float ref = 0, fast = 0, train = 0;
  model.forward_reference(b.view(), &ref);
  model.prepare_inference();
  model.forward_fast(b.view(), &fast);
  auto ctx = model.make_context();
  md::Rng rng(1);
  model.forward_train(*ctx, b.view(), rng, &train);
  CHECK_NEAR(ref, expected, 1e-6);
  CHECK_NEAR(fast, expected, 1e-6);
  CHECK_NEAR(train, expected, 1e-6);
}

// Two steps by hand: the second step exercises W_hh and r * (W_hn h + b_hn).
TEST(two_steps_match_the_formula_by_hand) {
  md::GruConfig c;
  c.vocab_size = 3;
  c.embedding_dim = 1;
  c.hidden = 1;
  c.num_classes = 1;
  c.dropout = 0.0f;
  md::Gru model(c, 1);
  auto P = model.parameters();
  P[0]->value.data = {0.0f, 0.7f, -1.2f};
  P[1]->value.data = {0.4f, -0.5f, 0.9f};   // W_ir W_iz W_in
  P[2]->value.data = {0.8f, 0.6f, -1.1f};   // W_hr W_hz W_hn
  P[3]->value.data = {0.1f, 0.2f, -0.3f};   // b_i*
  P[4]->value.data = {-0.2f, 0.05f, 0.4f};  // b_h*
  P[5]->value.data = {2.0f};
  P[6]->value.data = {-0.5f};
  auto sig = [](double v) { return 1.0 / (1.0 + std::exp(-v)); };
  double h = 0;
  for (double x : {0.7, -1.2}) {  // tokens 1, 2
    const double r = sig(0.4 * x + 0.1 + 0.8 * h - 0.2);
    const double z = sig(-0.5 * x + 0.2 + 0.6 * h + 0.05);
    const double n = std::tanh(0.9 * x - 0.3 + r * (-1.1 * h + 0.4));
    h = (1 - z) * n + z * h;
  }
  OwnedBatch b;
  b.ids = {1, 2, 1, 0};  // row 0: tokens 1 2; row 1: token 1 (then padding)
  b.lengths = {2, 1};
  b.seq_len = 2;
  float ref[2], fast[2];
  model.forward_reference(b.view(), ref);
  model.prepare_inference();
  model.forward_fast(b.view(), fast);
  CHECK_NEAR(ref[0], 2.0 * h - 0.5, 1e-6);
  CHECK_NEAR(fast[0], 2.0 * h - 0.5, 1e-6);
}

// Reverse direction of a one-token row sees the same token; for a longer row
// its final state is the forward recurrence over the reversed row.
TEST(reverse_direction_reads_the_row_backwards) {
  md::Gru bi(small_config(true, 0.0f, 4), 9);
  // A unidirectional model whose forward weights are bi's reverse weights.
  md::Gru uni(small_config(false, 0.0f, 4), 1);
  auto pb = bi.parameters();
  auto pu = uni.parameters();
  pu[0]->value = pb[0]->value;
  for (int i = 0; i < 4; ++i) pu[1 + i]->value = pb[5 + i]->value;
  OwnedBatch b = random_batch({5, 2}, 20, 3);
  OwnedBatch rev = b;
  for (int r = 0; r < 2; ++r)
    for (int t = 0; t < b.lengths[r]; ++t) rev.ids[r * b.seq_len + t] = b.ids[r * b.seq_len + b.lengths[r] - 1 - t];
  // Read the final states through fc: fc = identity on the reverse half.
  md::GruConfig cb = small_config(true, 0.0f, 4);
  cb.num_classes = 4;
  md::Gru bi4(cb, 9);
  auto p4 = bi4.parameters();
  for (std::size_t i = 0; i + 2 < p4.size(); ++i) p4[i]->value = pb[i]->value;
  p4[9]->value.zero();
  for (int j = 0; j < 4; ++j) p4[9]->value.data[j * 8 + 4 + j] = 1.0f;
  p4[10]->value.zero();
  md::GruConfig cu = small_config(false, 0.0f, 4);
  cu.num_classes = 4;
  md::Gru uni4(cu, 1);
  auto q4 = uni4.parameters();
  for (int i = 0; i < 5; ++i) q4[i]->value = pu[i]->value;
  q4[5]->value.zero();
  for (int j = 0; j < 4; ++j) q4[5]->value.data[j * 4 + j] = 1.0f;
  q4[6]->value.zero();
  std::vector<float> back(8), fwd_of_reversed(8);
  bi4.forward_reference(b.view(), back.data());
  uni4.forward_reference(rev.view(), fwd_of_reversed.data());
  CHECK(max_abs_diff(back, fwd_of_reversed) < 1e-6);
}

// A tiny bidirectional PyTorch GRU (test/fixtures/gen_gru_torch_tiny.py wrote its
// weights, a batch of mixed lengths, PyTorch's logits and autograd's gradients):
// loading the same weights by name must give the same logits, on every path,
// and the same gradients.
std::map<std::string, std::vector<double>> read_torch_fixture() {
  std::ifstream in("test/fixtures/gru_torch_tiny.txt");
  if (!in) {  // run from elsewhere: find it from this source file's folder (native/tests)
    const std::string here = __FILE__;
    in.open(here.substr(0, here.find_last_of('/') + 1) + "../../test/fixtures/gru_torch_tiny.txt");
  }
  std::map<std::string, std::vector<double>> items;
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream ls(line);
    std::string name, shape;
    ls >> name >> shape;
    double v;
    while (ls >> v) items[name].push_back(v);
  }
  return items;
}

TEST(matches_pytorch_logits_and_gradients_from_the_same_weights) {
  auto items = read_torch_fixture();
  CHECK(!items.empty());
  if (items.empty()) return;
  md::GruConfig c;
  c.vocab_size = 7;
  c.embedding_dim = 3;
  c.hidden = 4;
  c.num_classes = 3;
  c.bidirectional = true;
  md::Gru model(c, 99);
  int loaded = 0;
  for (md::Parameter* p : model.parameters()) {
    const std::vector<double>& v = items[p->name];
    CHECK_EQ(v.size(), p->value.size());
    if (v.size() != p->value.size()) return;
    std::copy(v.begin(), v.end(), p->value.data.begin());
    ++loaded;
  }
  CHECK_EQ(loaded, 11);
  OwnedBatch b;
  b.seq_len = 5;
  for (double x : items["ids"]) b.ids.push_back(static_cast<int32_t>(x));
  for (double x : items["lengths"]) b.lengths.push_back(static_cast<int32_t>(x));
  const std::vector<double>& expected = items["logits"];
  CHECK_EQ(expected.size(), std::size_t{15});
  std::vector<float> ref(15), fast(15), train(15);
  model.forward_reference(b.view(), ref.data());
  model.prepare_inference();
  model.forward_fast(b.view(), fast.data());
  c.dropout = 0.0f;
  md::Gru nodrop(c, 99);
  for (std::size_t i = 0; i < model.parameters().size(); ++i)
    nodrop.parameters()[i]->value = model.parameters()[i]->value;
  auto ctx = nodrop.make_context();
  md::Rng rng(1);
  nodrop.forward_train(*ctx, b.view(), rng, train.data());
  for (std::size_t i = 0; i < 15 && i < expected.size(); ++i) {
    CHECK_NEAR(ref[i], expected[i], 1e-6);
    CHECK_NEAR(fast[i], expected[i], 1e-6);
    CHECK_NEAR(train[i], expected[i], 1e-6);
  }
  // Gradients of sum(logit_weights * logits), parameter by parameter, as autograd computed them.
  std::vector<float> dlogits(items["logit_weights"].begin(), items["logit_weights"].end());
  CHECK_EQ(dlogits.size(), std::size_t{15});
  if (dlogits.size() != 15) return;
  md::Gradients g = nodrop.make_gradients();
  nodrop.backward(*ctx, b.view(), dlogits.data(), g);
  auto params = nodrop.parameters();
  for (std::size_t p = 0; p < params.size(); ++p) {
    const std::vector<double>& want = items["grad." + params[p]->name];
    CHECK_EQ(want.size(), g[p].size());
    double worst = 0;
    for (std::size_t i = 0; i < want.size() && i < g[p].size(); ++i)
      // |ours - torch| <= 1e-6 + 1e-4 |torch| (float sums in a different order)
      worst = std::max(worst, std::fabs(g[p].data[i] - want[i]) / (1e-6 + 1e-4 * std::fabs(want[i])));
    if (worst > 1) std::printf("  %s: gradient differs from PyTorch's (%.3g x the tolerance)\n", params[p]->name.c_str(), worst);
    CHECK(worst <= 1);
  }
}

void check_fast_matches_reference(bool bidirectional) {
  md::GruConfig c;
  c.vocab_size = 300;
  c.embedding_dim = 128;
  c.hidden = 128;
  c.num_classes = 4;
  c.bidirectional = bidirectional;
  md::Gru model(c, 21);
  std::vector<int> lengths;
  md::Rng rng(5);
  for (int i = 0; i < 24; ++i) lengths.push_back(1 + static_cast<int>(rng() % 128));
  lengths[3] = 128;
  lengths[7] = 1;
  OwnedBatch b = random_batch(lengths, c.vocab_size, 8);
  std::vector<float> ref(24 * 4), fast(24 * 4);
  model.forward_reference(b.view(), ref.data());
  model.prepare_inference();
  model.forward_fast(b.view(), fast.data());
  const double diff = max_abs_diff(softmax_rows(ref, 4), softmax_rows(fast, 4));
  std::printf("  fast vs reference (bi=%d): max |dp| = %.3g, max |dlogit| = %.3g\n", bidirectional, diff,
              max_abs_diff(ref, fast));
  CHECK(diff <= 1e-5);
  // Training forward without dropout computes the same function.
  c.dropout = 0.0f;
  md::Gru nodrop(c, 21);
  std::vector<float> train(24 * 4);
  auto ctx = nodrop.make_context();
  model.forward_reference(b.view(), ref.data());
  nodrop.forward_train(*ctx, b.view(), rng, train.data());
  CHECK(max_abs_diff(softmax_rows(ref, 4), softmax_rows(train, 4)) <= 1e-5);
}

TEST(fast_path_matches_reference_unidirectional) { check_fast_matches_reference(false); }
TEST(fast_path_matches_reference_bidirectional) { check_fast_matches_reference(true); }

TEST(vector_cell_matches_scalar_cell) {
  const int H = 37;  // four 8-lane blocks and a tail
  md::Rng rng(4);
  std::uniform_real_distribution<float> u(-6.0f, 6.0f);
  std::vector<float> gi(3 * H), gh(3 * H), bhh(3 * H), hp(H);
  for (auto* v : {&gi, &gh, &bhh, &hp})
    for (float& x : *v) x = u(rng);
  gi[0] = 90.0f;  // saturating inputs stay finite and exact enough
  gi[H + 1] = -95.0f;
  gi[2 * H + 2] = 50.0f;
  std::vector<float> h1(H), h2(H), g1(3 * H), g2(3 * H), n1(H), n2(H);
  md::gru_cell_forward(H, gi.data(), gh.data(), bhh.data(), hp.data(), h1.data(), g1.data(), n1.data());
  md::gru_cell_forward_scalar(H, gi.data(), gh.data(), bhh.data(), hp.data(), h2.data(), g2.data(), n2.data());
  CHECK(max_abs_diff(h1, h2) < 1e-6);
  CHECK(max_abs_diff(g1, g2) < 1e-6);
  CHECK(max_abs_diff(n1, n2) == 0.0);
  for (float x : h1) CHECK(std::isfinite(x));
}

TEST(ids_beyond_a_rows_length_do_not_change_its_logits) {
  for (bool bi : {false, true}) {
    md::Gru model(small_config(bi, 0.5f, 8), 13);
    model.prepare_inference();
    OwnedBatch a = random_batch(kMixedLengths, 20, 17);
    OwnedBatch b = a;
    for (std::size_t r = 0; r < b.lengths.size(); ++r)
      for (int t = b.lengths[r]; t < b.seq_len; ++t) b.ids[r * b.seq_len + t] = 1 + static_cast<int32_t>((r + t) % 19);
    CHECK(a.ids != b.ids);
    const std::size_t n = a.lengths.size() * 3;
    std::vector<float> ra(n), rb(n), fa(n), fb(n), ta(n), tb(n);
    model.forward_reference(a.view(), ra.data());
    model.forward_reference(b.view(), rb.data());
    model.forward_fast(a.view(), fa.data());
    model.forward_fast(b.view(), fb.data());
    auto ctx = model.make_context();
    md::Rng r1(3), r2(3);
    model.forward_train(*ctx, a.view(), r1, ta.data());
    model.forward_train(*ctx, b.view(), r2, tb.data());
    CHECK(ra == rb);
    CHECK(fa == fb);
    CHECK(ta == tb);
    // And padding a batch further (longer seq_len) changes nothing either.
    OwnedBatch wide;
    wide.seq_len = a.seq_len + 5;
    wide.lengths = a.lengths;
    wide.ids.assign(a.lengths.size() * wide.seq_len, 0);
    for (std::size_t r = 0; r < a.lengths.size(); ++r)
      std::copy_n(&a.ids[r * a.seq_len], a.seq_len, &wide.ids[r * wide.seq_len]);
    std::vector<float> fw(n);
    model.forward_fast(wide.view(), fw.data());
    CHECK(fw == fa);
  }
}

TEST(a_rows_logits_do_not_depend_on_the_rest_of_the_batch) {
  md::Gru model(small_config(true, 0.0f, 16), 2);
  model.prepare_inference();
  OwnedBatch all = random_batch(kMixedLengths, 20, 23);
  std::vector<float> batched(all.lengths.size() * 3);
  model.forward_fast(all.view(), batched.data());
  for (std::size_t r = 0; r < all.lengths.size(); ++r) {
    OwnedBatch one;
    one.seq_len = all.lengths[r];
    one.lengths = {all.lengths[r]};
    one.ids.assign(&all.ids[r * all.seq_len], &all.ids[r * all.seq_len] + one.seq_len);
    float alone[3];
    model.forward_fast(one.view(), alone);
    for (int c = 0; c < 3; ++c) CHECK_NEAR(alone[c], batched[r * 3 + c], 1e-5);
  }
}

TEST(training_is_deterministic_for_a_seed) {
  auto run = [](uint64_t seed, std::vector<float>& logits, md::Gradients& g) {
    md::Gru model(small_config(true, 0.5f, 16), seed);
    OwnedBatch b = random_batch(kMixedLengths, 20, 29);
    auto ctx = model.make_context();
    md::Rng rng(seed + 100);
    logits.assign(b.lengths.size() * 3, 0.0f);
    model.forward_train(*ctx, b.view(), rng, logits.data());
    std::vector<float> dl(logits.size());
    for (std::size_t i = 0; i < dl.size(); ++i) dl[i] = 0.1f * static_cast<float>(i % 7) - 0.3f;
    g = model.make_gradients();
    model.backward(*ctx, b.view(), dl.data(), g);
  };
  std::vector<float> l1, l2, l3;
  md::Gradients g1, g2, g3;
  run(5, l1, g1);
  run(5, l2, g2);
  run(6, l3, g3);
  CHECK(l1 == l2);
  bool same_grads = true;
  for (std::size_t i = 0; i < g1.size(); ++i) same_grads = same_grads && g1[i].data == g2[i].data;
  CHECK(same_grads);
  CHECK(l1 != l3);
}

TEST(dropout_only_in_training_and_inverted) {
  md::GruConfig c = small_config(false, 0.5f, 64);
  c.num_classes = 64;
  md::Gru model(c, 3);
  // fc = identity, so logits are the (dropped-out) final state.
  auto P = model.parameters();
  P[5]->value.zero();
  for (int j = 0; j < 64; ++j) P[5]->value.data[j * 64 + j] = 1.0f;
  P[6]->value.zero();
  OwnedBatch b = random_batch({6, 3}, 20, 1);
  std::vector<float> ref(2 * 64), train(2 * 64);
  model.forward_reference(b.view(), ref.data());
  auto ctx = model.make_context();
  md::Rng rng(8);
  model.forward_train(*ctx, b.view(), rng, train.data());
  int dropped = 0;
  for (std::size_t i = 0; i < ref.size(); ++i) {
    if (train[i] == 0.0f) {
      ++dropped;
    } else {
      CHECK_NEAR(train[i], 2.0 * ref[i], 1e-5);
    }
  }
  CHECK(dropped > 32 && dropped < 96);  // ~half of 128
}

TEST(set_embeddings_copies_and_keeps_padding_zero) {
  md::Gru model(small_config(false, 0.0f), 1);
  std::vector<float> m(20 * 6);
  for (std::size_t i = 0; i < m.size(); ++i) m[i] = 0.01f * static_cast<float>(i) + 1.0f;
  model.set_embeddings(m.data(), 20, 6);
  const md::Tensor& e = model.parameters()[0]->value;
  for (int i = 0; i < 6; ++i) CHECK_EQ(e.data[i], 0.0f);
  for (std::size_t i = 6; i < m.size(); ++i) CHECK_EQ(e.data[i], m[i]);
  CHECK_THROWS(model.set_embeddings(m.data(), 20, 5));
  CHECK_THROWS(model.set_embeddings(m.data(), 19, 6));
}

TEST(rejects_bad_config_and_bad_batches) {
  md::GruConfig c = small_config(false, 0.5f);
  c.hidden = 0;
  CHECK_THROWS(md::Gru(c, 1));
  c = small_config(false, 1.0f);
  CHECK_THROWS(md::Gru(c, 1));
  c = small_config(false, 0.5f);
  c.pad_id = 20;
  CHECK_THROWS(md::Gru(c, 1));

  md::Gru model(small_config(false, 0.5f), 1);
  std::vector<float> logits(2 * 3);
  CHECK_THROWS(model.forward_fast(random_batch({2, 2}, 20, 1).view(), logits.data()));  // not prepared
  model.prepare_inference();
  OwnedBatch b = random_batch({2, 2}, 20, 1);
  b.ids[1] = 20;  // outside the vocabulary
  CHECK_THROWS(model.forward_fast(b.view(), logits.data()));
  CHECK_THROWS(model.forward_reference(b.view(), logits.data()));
  b = random_batch({2, 2}, 20, 1);
  b.lengths[1] = 0;
  CHECK_THROWS(model.forward_fast(b.view(), logits.data()));
  b.lengths[1] = 3;  // longer than seq_len
  auto ctx = model.make_context();
  md::Rng rng(1);
  CHECK_THROWS(model.forward_train(*ctx, b.view(), rng, logits.data()));
  // The message names the problem.
  try {
    b = random_batch({2, 2}, 20, 1);
    b.ids[3] = -4;
    model.forward_fast(b.view(), logits.data());
    CHECK(false);
  } catch (const std::out_of_range& e) {
    CHECK(std::string(e.what()).find("token id -4 at row 1, position 1") != std::string::npos);
  }
}

CHECK_MAIN()
