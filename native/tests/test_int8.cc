// Tests of the int8 students: the SIMD kernels against their scalar references, and the
// quantized TextCNN / GRU against the float models they were quantized from.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "check.h"
#include "gru.h"
#include "int8_kernels.h"
#include "int8_matmul.h"
#include "quantized_gru.h"
#include "quantized_textcnn.h"
#include "textcnn.h"

namespace {

// What lib/quantize.ts writes: every int8 parameter as round(w / s) with s = max |row| / 127 per
// row, its scale beside it, every other parameter as is.
void quantize_into(md::StudentModel& float_model, md::QuantizedStudent& q) {
  std::map<std::string, md::Parameter*> by_name;
  for (md::Parameter* p : float_model.parameters()) by_name[p->name] = p;
  const std::vector<std::string> int8_names = md::QuantizedStudent::int8_parameter_names(float_model);
  std::vector<md::Parameter*> params = q.parameters();
  for (std::size_t i = 0; i < params.size(); ++i) {
    md::Parameter* target = params[i];
    const md::Parameter* source = by_name.at(target->name);
    const bool is_int8 = std::find(int8_names.begin(), int8_names.end(), target->name) != int8_names.end();
    if (!is_int8) {
      target->value.data = source->value.data;
      continue;
    }
    md::Parameter* scale = params.at(++i);  // "<name>.scale" follows
    CHECK_EQ(scale->name, target->name + ".scale");
    const std::size_t rows = static_cast<std::size_t>(source->value.shape[0]), cols = source->value.size() / rows;
    for (std::size_t r = 0; r < rows; ++r) {
      float m = 0;
      for (std::size_t c = 0; c < cols; ++c) m = std::max(m, std::fabs(source->value.data[r * cols + c]));
      const float s = m / 127.0f;
      scale->value.data[r] = s;
      for (std::size_t c = 0; c < cols; ++c)
        target->value.data[r * cols + c] = s > 0 ? std::nearbyint(source->value.data[r * cols + c] / s) : 0.0f;
    }
  }
}

struct Rows {
  std::vector<int32_t> ids, lengths;
  md::Batch batch;
};

Rows random_rows(int n, int seq_len, int vocab, std::mt19937& rng) {
  Rows r;
  r.ids.assign(static_cast<std::size_t>(n) * seq_len, 0);
  r.lengths.resize(n);
  for (int b = 0; b < n; ++b) {
    r.lengths[b] = 1 + static_cast<int>(rng() % seq_len);
    for (int t = 0; t < r.lengths[b]; ++t) r.ids[static_cast<std::size_t>(b) * seq_len + t] = static_cast<int32_t>(rng() % vocab);
  }
  r.batch = md::Batch{r.ids.data(), r.lengths.data(), n, seq_len};
  return r;
}

// Largest |a - b| over two logit arrays, relative to the largest |b|.
double relative_gap(const std::vector<float>& a, const std::vector<float>& b) {
  double gap = 0, scale = 1e-6;
  for (std::size_t i = 0; i < a.size(); ++i) {
    gap = std::max(gap, static_cast<double>(std::fabs(a[i] - b[i])));
    scale = std::max(scale, static_cast<double>(std::fabs(b[i])));
  }
  return gap / scale;
}

int argmax_agreement(const std::vector<float>& a, const std::vector<float>& b, int C) {
  int same = 0;
  for (std::size_t r = 0; r < a.size() / C; ++r) {
    int ia = 0, ib = 0;
    for (int c = 1; c < C; ++c) {
      if (a[r * C + c] > a[r * C + ia]) ia = c;
      if (b[r * C + c] > b[r * C + ib]) ib = c;
    }
    same += ia == ib;
  }
  return same;
}

}  // namespace

TEST(window_max_simd_equals_scalar) {
  std::mt19937 rng(5);
  for (int F : {128, 64, 16, 19, 3}) {
    for (int k : {1, 3, 5}) {
      const int R = 8, positions = 40;
      std::vector<std::vector<std::int8_t>> table(positions, std::vector<std::int8_t>(static_cast<std::size_t>(R) * F));
      for (auto& row : table)
        for (auto& v : row) v = static_cast<std::int8_t>(static_cast<int>(rng() % 255) - 127);
      std::vector<const std::int8_t*> rows;
      for (auto& row : table) rows.push_back(row.data());
      for (int nw : {1, 7, positions - k + 1}) {
        std::vector<std::int32_t> fast(F), ref(F);
        md::int8::window_max(rows.data(), nw, k, R - k, F, fast.data());
        md::int8::window_max_scalar(rows.data(), nw, k, R - k, F, ref.data());
        CHECK(fast == ref);
      }
    }
  }
}

TEST(int8_matmul_equals_a_plain_integer_product_exactly) {
  std::mt19937 rng(17);
  for (int K : {32, 64, 160}) {
    for (int G : {8, 40, 19, 3}) {  // 40: a 4-block tile and a single block; 19, 3: a partial block
      const int rows = 5;
      std::vector<std::int8_t> a(static_cast<std::size_t>(rows) * K), w(static_cast<std::size_t>(G) * K);
      for (auto& v : a) v = static_cast<std::int8_t>(static_cast<int>(rng() % 255) - 127);
      for (auto& v : w) v = static_cast<std::int8_t>(static_cast<int>(rng() % 255) - 127);
      // Row 0 and output row 0 at the extremes: every pair +-127 * +-127, where an unsigned-offset
      // trick (a + 128) would saturate int16.
      for (int k = 0; k < K; ++k) {
        a[k] = static_cast<std::int8_t>(k % 3 == 0 ? -127 : 127);
        w[k] = static_cast<std::int8_t>(k % 2 == 0 ? -127 : 127);
      }
      const std::vector<std::int8_t> packed = md::int8::pack_weight_rows(w.data(), G, K);
      std::vector<std::int32_t> fast(static_cast<std::size_t>(rows) * G), ref(fast.size());
      md::int8::matmul_nt(a.data(), rows, packed.data(), G, K, fast.data());
      md::int8::matmul_nt_scalar(a.data(), rows, packed.data(), G, K, ref.data());
      CHECK(fast == ref);
      for (int i = 0; i < rows; ++i)
        for (int g = 0; g < G; ++g) {
          long long plain = 0;
          for (int k = 0; k < K; ++k) plain += static_cast<long long>(a[static_cast<std::size_t>(i) * K + k]) * w[static_cast<std::size_t>(g) * K + k];
          CHECK_EQ(static_cast<long long>(fast[static_cast<std::size_t>(i) * G + g]), plain);
        }
    }
  }
}

TEST(quantize_row_scales_by_the_row_maximum_and_pads_with_zeros) {
  std::mt19937 rng(23);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  for (int n : {1, 7, 24, 32, 45, 128}) {
    const int padded = md::int8::padded_row_length(n);
    std::vector<float> x(n);
    for (float& v : x) v = u(rng);
    std::vector<std::int8_t> fast(padded, 99), ref(padded, 99);
    const float s_fast = md::int8::quantize_row(x.data(), n, padded, fast.data());
    const float s_ref = md::int8::quantize_row_scalar(x.data(), n, padded, ref.data());
    CHECK(fast == ref);
    CHECK_EQ(s_fast, s_ref);
    float m = 0;
    for (float v : x) m = std::max(m, std::fabs(v));
    CHECK_EQ(s_ref, m / 127.0f);
    int extreme = 0;
    for (int i = 0; i < n; ++i) {
      CHECK(std::fabs(static_cast<float>(ref[i]) * s_ref - x[i]) <= 0.5f * s_ref * 1.0001f);
      extreme += std::abs(static_cast<int>(ref[i])) == 127;
    }
    CHECK(extreme >= 1);  // the largest |x| maps to +-127
    for (int i = n; i < padded; ++i) CHECK_EQ(static_cast<int>(ref[i]), 0);
  }
  std::vector<float> zeros(10, 0.0f);
  std::vector<std::int8_t> q(32, 5);
  CHECK_EQ(md::int8::quantize_row(zeros.data(), 10, 32, q.data()), 0.0f);
  for (std::int8_t v : q) CHECK_EQ(static_cast<int>(v), 0);
  const std::int32_t acc[] = {3, -5, 100, 7, 1, 2, 3, 4, -9};
  const float ws[] = {0.5f, 0.25f, 2.0f, 1.0f, 1, 1, 1, 1, 3.0f};
  float out[9], out_ref[9];
  md::int8::dequantize_products(acc, ws, 0.5f, 9, out);
  md::int8::dequantize_products_scalar(acc, ws, 0.5f, 9, out_ref);
  for (int i = 0; i < 9; ++i) CHECK_EQ(out[i], out_ref[i]);
  CHECK_EQ(out[2], 100.0f);
  CHECK_EQ(out[8], -13.5f);
}

TEST(quantize_columns_rounds_and_clamps) {
  const float m[] = {1.0f, -2.0f, 0.49f, 300.0f, -300.0f, 5.0f};
  const float inv[] = {127.0f, 63.5f, 1.0f};
  std::int8_t q[6];
  md::int8::quantize_columns(m, 2, 3, inv, q);
  CHECK_EQ(static_cast<int>(q[0]), 127);
  CHECK_EQ(static_cast<int>(q[1]), -127);
  CHECK_EQ(static_cast<int>(q[2]), 0);
  CHECK_EQ(static_cast<int>(q[3]), 127);   // clamped
  CHECK_EQ(static_cast<int>(q[4]), -127);  // clamped
  CHECK_EQ(static_cast<int>(q[5]), 5);
  const std::int8_t d[] = {-127, 0, 3, 100, 1, 2, 3, 4, 5};
  const float s[] = {0.5f, 1, 2, 0.25f, 1, 1, 1, 1, -1};
  float out[9];
  md::int8::dequantize(d, s, 9, out);
  CHECK_EQ(out[0], -63.5f);
  CHECK_EQ(out[3], 25.0f);
  CHECK_EQ(out[8], -5.0f);
}

TEST(int8_textcnn_matches_its_reference_and_the_float_model) {
  md::TextCnnConfig config;
  config.vocab_size = 300;
  config.embedding_dim = 24;
  config.num_classes = 4;
  config.windows = {2, 3, 5};
  config.filters = 40;  // not a multiple of 64: every kernel branch runs
  md::TextCnn float_model(config, 11);
  md::QuantizedTextCnn q(config);
  quantize_into(float_model, q);
  q.prepare_inference();
  CHECK(q.table_bytes() > 0);
  std::mt19937 rng(3);
  Rows rows = random_rows(200, 30, config.vocab_size, rng);
  rows.lengths[0] = 1;  // shorter than every window
  std::vector<float> fast(200 * 4), ref(200 * 4), exact(200 * 4);
  q.forward_fast(rows.batch, fast.data());
  q.forward_reference(rows.batch, ref.data());
  float_model.forward_reference(rows.batch, exact.data());
  CHECK(relative_gap(fast, ref) < 1e-5);     // same integer sums, same float tail
  CHECK(relative_gap(fast, exact) < 0.05);   // int8 rounding only
  CHECK(argmax_agreement(fast, exact, 4) >= 190);
  CHECK_THROWS(q.make_context());  // inference only
  // A second prepare with nothing loaded keeps the tables.
  q.prepare_inference();
  q.forward_fast(rows.batch, ref.data());
  CHECK(fast == ref);
}

TEST(int8_gru_matches_its_reference_and_the_float_model) {
  for (bool bidirectional : {false, true}) {
    md::GruConfig config;
    config.vocab_size = 250;
    config.embedding_dim = 16;
    config.hidden = 24;
    config.num_classes = 3;
    config.bidirectional = bidirectional;
    md::Gru float_model(config, 7);
    md::QuantizedGru q(config);
    quantize_into(float_model, q);
    q.prepare_inference();
    std::mt19937 rng(9);
    Rows rows = random_rows(150, 40, config.vocab_size, rng);
    std::vector<float> fast(150 * 3), ref(150 * 3), exact(150 * 3);
    q.forward_fast(rows.batch, fast.data());
    q.forward_reference(rows.batch, ref.data());
    float_model.forward_reference(rows.batch, exact.data());
    // Same integer products; the SIMD cell's ~1e-7 can move a state across a rounding
    // boundary of the next step's quantization, hence more than the TextCNN's 1e-5.
    CHECK(relative_gap(fast, ref) < 1e-2);
    CHECK(relative_gap(fast, exact) < 0.05);
    CHECK(argmax_agreement(fast, exact, 3) >= 140);
  }
}

TEST(int8_load_rejects_values_outside_int8_and_bad_scales) {
  md::TextCnnConfig config;
  config.vocab_size = 10;
  config.embedding_dim = 4;
  config.num_classes = 2;
  config.windows = {2};
  config.filters = 4;
  md::QuantizedTextCnn q(config);
  std::vector<md::Parameter*> params = q.parameters();
  CHECK_EQ(params[0]->name, std::string("embedding.weight"));
  CHECK_EQ(params[1]->name, std::string("embedding.weight.scale"));
  params[0]->value.data[0] = 300.0f;
  CHECK_THROWS(q.prepare_inference());
  md::QuantizedTextCnn q2(config);
  q2.parameters()[1]->value.data[0] = std::nanf("");
  CHECK_THROWS(q2.prepare_inference());
  md::TextCnnConfig wide = config;
  wide.windows = {300};
  CHECK_THROWS(md::QuantizedTextCnn{wide});
}

CHECK_MAIN()
