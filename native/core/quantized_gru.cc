#include "quantized_gru.h"

#include <algorithm>
#include <cstring>
#include <stdexcept>

#include "gemm.h"
#include "gru_cell.h"
#include "gru_packing.h"
#include "int8_kernels.h"
#include "int8_matmul.h"

namespace md {

QuantizedGru::QuantizedGru(const GruConfig& config)
    : QuantizedStudent("gru", config.vocab_size, config.num_classes), config_(config) {
  set_staging(make_staging());  // Gru's constructor validates the config
}

std::unique_ptr<StudentModel> QuantizedGru::make_staging() const { return std::make_unique<Gru>(config_, 1); }

std::size_t QuantizedGru::table_bytes() const {
  std::size_t bytes = 0;
  for (const Direction& d : dir_)
    bytes += d.table.size() + d.weight_hh.size() + (d.scale.size() + d.weight_hh_scale.size()) * sizeof(float);
  return bytes;
}

void QuantizedGru::build(StudentModel& float_model) {
  const int V = config_.vocab_size, E = config_.embedding_dim, G = 3 * config_.hidden;
  // parameters(): embedding, then (weight_ih, weight_hh, bias_ih, bias_hh) per direction, fc.weight, fc.bias.
  std::vector<Parameter*> p = float_model.parameters();
  const float* embedding = p[0]->value.ptr();
  const int D = directions();
  for (int d = 0; d < 2; ++d) {
    Direction& out = dir_[d];
    if (d >= D) {
      out = Direction{};
      continue;
    }
    const float* w_ih = p[1 + 4 * d]->value.ptr();
    // W_hh per output row, as the folder stored it (re-quantizing its dequantized rows gives back
    // the same integers).
    const int H = config_.hidden, Hp = int8::padded_row_length(H);
    const float* w_hh = p[2 + 4 * d]->value.ptr();
    std::vector<std::int8_t> rows(static_cast<std::size_t>(G) * Hp, 0);
    out.weight_hh_scale.assign(G, 0.0f);
    for (int g = 0; g < G; ++g)
      out.weight_hh_scale[g] = int8::quantize_row_scalar(w_hh + static_cast<std::size_t>(g) * H, H, Hp,
                                                         rows.data() + static_cast<std::size_t>(g) * Hp);
    out.weight_hh = int8::pack_weight_rows(rows.data(), G, Hp);
    const float* b_ih = p[3 + 4 * d]->value.ptr();
    out.bias_hh = p[4 + 4 * d]->value.data;
    // The float table in blocks of vocabulary rows (never whole): pass 1 column maxima, pass 2 int8.
    constexpr int kBlock = 512;
    std::vector<float> block(static_cast<std::size_t>(kBlock) * G), colmax(G, 0.0f), inv(G, 0.0f);
    const auto project = [&](int v0, int rows) {
      sgemm(false, true, rows, G, E, 1.0f, embedding + static_cast<std::size_t>(v0) * E, E, w_ih, E, 0.0f, block.data(), G);
      for (int r = 0; r < rows; ++r)
        for (int g = 0; g < G; ++g) block[static_cast<std::size_t>(r) * G + g] += b_ih[g];
    };
    for (int v0 = 0; v0 < V; v0 += kBlock) {
      const int rows = std::min(kBlock, V - v0);
      project(v0, rows);
      int8::column_abs_max(block.data(), rows, G, colmax.data());
    }
    out.scale.assign(G, 0.0f);
    for (int g = 0; g < G; ++g) {
      out.scale[g] = colmax[g] / 127.0f;
      inv[g] = out.scale[g] > 0.0f ? 1.0f / out.scale[g] : 0.0f;
    }
    out.table.assign(static_cast<std::size_t>(V) * G, 0);
    for (int v0 = 0; v0 < V; v0 += kBlock) {
      const int rows = std::min(kBlock, V - v0);
      project(v0, rows);
      int8::quantize_columns(block.data(), rows, G, inv.data(), out.table.data() + static_cast<std::size_t>(v0) * G);
    }
  }
  fc_weight_ = p[1 + 4 * D]->value.data;
  fc_bias_ = p[2 + 4 * D]->value.data;
}

void QuantizedGru::forward_reference(const Batch& batch, float* logits) const { forward(batch, logits, true); }
void QuantizedGru::forward_fast(const Batch& batch, float* logits) const { forward(batch, logits, false); }

void QuantizedGru::forward(const Batch& batch, float* logits, bool scalar) const {
  require_built();
  check_batch(batch);
  const int B = batch.batch, H = config_.hidden, G = 3 * H, C = config_.num_classes;
  const int D = directions(), F = D * H;
  if (B == 0) return;
  const gru_packing::Packing p = gru_packing::make_packing(batch);
  const int Hp = int8::padded_row_length(H);
  std::vector<float> h(static_cast<std::size_t>(B) * H), features(static_cast<std::size_t>(B) * F), gi(G), gh(G),
      h_scale(B);
  std::vector<std::int8_t> hq(static_cast<std::size_t>(B) * Hp);
  std::vector<std::int32_t> products(static_cast<std::size_t>(B) * G);
  for (int d = 0; d < D; ++d) {
    const Direction& w = dir_[d];
    std::fill(h.begin(), h.end(), 0.0f);
    for (int t = 0; t < p.steps; ++t) {
      const int n = p.active[t];
      // Each running text's state to int8 with its own scale, then h W_hh^T in integers.
      for (int i = 0; i < n; ++i) {
        const float* hi = &h[static_cast<std::size_t>(i) * H];
        std::int8_t* qi = &hq[static_cast<std::size_t>(i) * Hp];
        h_scale[i] = scalar ? int8::quantize_row_scalar(hi, H, Hp, qi) : int8::quantize_row(hi, H, Hp, qi);
      }
      if (scalar)
        int8::matmul_nt_scalar(hq.data(), n, w.weight_hh.data(), G, Hp, products.data());
      else
        int8::matmul_nt(hq.data(), n, w.weight_hh.data(), G, Hp, products.data());
      for (int i = 0; i < n; ++i) {
        const std::int8_t* q = w.table.data() + static_cast<std::size_t>(gru_packing::token_at(batch, p, d, t, i)) * G;
        float* hi = &h[static_cast<std::size_t>(i) * H];
        const std::int32_t* pi = &products[static_cast<std::size_t>(i) * G];
        if (scalar) {
          for (int g = 0; g < G; ++g) gi[g] = static_cast<float>(q[g]) * w.scale[g];
          int8::dequantize_products_scalar(pi, w.weight_hh_scale.data(), h_scale[i], G, gh.data());
          gru_cell_forward_scalar(H, gi.data(), gh.data(), w.bias_hh.data(), hi, hi, nullptr, nullptr);
        } else {
          int8::dequantize(q, w.scale.data(), G, gi.data());
          int8::dequantize_products(pi, w.weight_hh_scale.data(), h_scale[i], G, gh.data());
          gru_cell_forward(H, gi.data(), gh.data(), w.bias_hh.data(), hi, hi, nullptr, nullptr);
        }
      }
    }
    for (int i = 0; i < B; ++i)
      std::memcpy(&features[static_cast<std::size_t>(p.order[i]) * F + d * H], &h[static_cast<std::size_t>(i) * H],
                  sizeof(float) * H);
  }
  sgemm(false, true, B, C, F, 1.0f, features.data(), F, fc_weight_.data(), F, 0.0f, logits, C);
  for (int b = 0; b < B; ++b)
    for (int c = 0; c < C; ++c) logits[static_cast<std::size_t>(b) * C + c] += fc_bias_[c];
}

}  // namespace md
