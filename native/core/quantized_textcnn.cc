#include "quantized_textcnn.h"

#include <algorithm>
#include <stdexcept>
#include <string>

#include "gemm.h"
#include "int8_kernels.h"
#include "thread_pool.h"

namespace md {

QuantizedTextCnn::QuantizedTextCnn(const TextCnnConfig& config)
    : QuantizedStudent("textcnn", config.vocab_size, config.num_classes), config_(config) {
  config_.validate();
  window_offset_.push_back(0);
  for (int k : config_.windows) {
    if (k > int8::kMaxWindow) {
      throw std::invalid_argument("int8 TextCNN: window " + std::to_string(k) + " is wider than " +
                                  std::to_string(int8::kMaxWindow) + " (its int8 sums would overflow int16)");
    }
    window_offset_.push_back(window_offset_.back() + k);
    max_window_ = std::max(max_window_, k);
  }
  set_staging(make_staging());
}

std::unique_ptr<StudentModel> QuantizedTextCnn::make_staging() const { return std::make_unique<TextCnn>(config_, 1); }

std::size_t QuantizedTextCnn::table_bytes() const { return table_.size() + scale_.size() * sizeof(float); }

void QuantizedTextCnn::build(StudentModel& float_model) {
  const int V = config_.vocab_size, E = config_.embedding_dim, F = config_.filters;
  const int W = static_cast<int>(config_.windows.size());
  const int R = window_offset_.back(), RF = R * F;
  // parameters(): embedding, then (weight, bias) per window, then fc.weight, fc.bias.
  std::vector<Parameter*> p = float_model.parameters();
  const float* embedding = p[0]->value.ptr();
  std::vector<float> w_all(static_cast<std::size_t>(RF) * E);  // row (off_w + j) * F + f = conv_w.weight[f, j, :]
  conv_bias_.assign(static_cast<std::size_t>(W) * F, 0.0f);
  for (int w = 0; w < W; ++w) {
    const int k = config_.windows[w];
    const float* weight = p[1 + 2 * w]->value.ptr();
    for (int j = 0; j < k; ++j)
      for (int f = 0; f < F; ++f)
        std::copy_n(weight + (static_cast<std::size_t>(f) * k + j) * E, E,
                    w_all.data() + (static_cast<std::size_t>(window_offset_[w] + j) * F + f) * E);
    std::copy_n(p[2 + 2 * w]->value.ptr(), F, conv_bias_.data() + static_cast<std::size_t>(w) * F);
  }
  fc_weight_ = p[1 + 2 * W]->value.data;
  fc_bias_ = p[2 + 2 * W]->value.data;

  // The float table, a block of vocabulary rows at a time (never whole): pass 1 finds each
  // window's per-filter maximum, pass 2 quantizes.
  constexpr int kBlock = 256;
  const std::size_t blocks = (static_cast<std::size_t>(V) + kBlock - 1) / kBlock;
  ThreadPool& pool = global_thread_pool();
  std::vector<std::vector<float>> block_buffer(static_cast<std::size_t>(pool.size()));
  std::vector<std::vector<float>> colmax_of_slot(static_cast<std::size_t>(pool.size()), std::vector<float>(RF, 0.0f));
  const auto block_table = [&](std::size_t b, int slot) -> float* {
    const int v0 = static_cast<int>(b) * kBlock, rows = std::min(kBlock, V - v0);
    std::vector<float>& buffer = block_buffer[static_cast<std::size_t>(slot)];
    buffer.resize(static_cast<std::size_t>(kBlock) * RF);
    sgemm(false, true, rows, RF, E, 1.0f, embedding + static_cast<std::size_t>(v0) * E, E, w_all.data(), E, 0.0f,
          buffer.data(), RF);
    return buffer.data();
  };
  pool.parallel_for(blocks, [&](std::size_t b, int slot) {
    const int rows = std::min(kBlock, V - static_cast<int>(b) * kBlock);
    int8::column_abs_max(block_table(b, slot), rows, RF, colmax_of_slot[static_cast<std::size_t>(slot)].data());
  });
  scale_.assign(static_cast<std::size_t>(W) * F, 0.0f);
  std::vector<float> inv_scale(RF, 0.0f);
  for (int w = 0; w < W; ++w) {
    for (int f = 0; f < F; ++f) {
      float m = 0.0f;
      for (int r = window_offset_[w]; r < window_offset_[w + 1]; ++r)
        for (const std::vector<float>& colmax : colmax_of_slot) m = std::max(m, colmax[static_cast<std::size_t>(r) * F + f]);
      const float s = m / 127.0f;
      scale_[static_cast<std::size_t>(w) * F + f] = s;
      for (int r = window_offset_[w]; r < window_offset_[w + 1]; ++r)
        inv_scale[static_cast<std::size_t>(r) * F + f] = s > 0.0f ? 1.0f / s : 0.0f;
    }
  }
  std::vector<std::int8_t> table(static_cast<std::size_t>(V) * RF);
  pool.parallel_for(blocks, [&](std::size_t b, int slot) {
    const int v0 = static_cast<int>(b) * kBlock, rows = std::min(kBlock, V - v0);
    int8::quantize_columns(block_table(b, slot), rows, RF, inv_scale.data(), table.data() + static_cast<std::size_t>(v0) * RF);
  });
  table_ = std::move(table);
  zero_row_.assign(static_cast<std::size_t>(RF), 0);
}

void QuantizedTextCnn::forward_reference(const Batch& batch, float* logits) const { forward(batch, logits, true); }
void QuantizedTextCnn::forward_fast(const Batch& batch, float* logits) const { forward(batch, logits, false); }

void QuantizedTextCnn::forward(const Batch& batch, float* logits, bool scalar) const {
  require_built();
  check_batch(batch);
  const int F = config_.filters, W = static_cast<int>(config_.windows.size()), D = W * F;
  const int C = config_.num_classes;
  const std::size_t RF = static_cast<std::size_t>(window_offset_.back()) * F;
  thread_local std::vector<const std::int8_t*> rows;
  thread_local std::vector<float> features;
  thread_local std::vector<std::int32_t> sums;
  rows.resize(static_cast<std::size_t>(std::max(batch.seq_len, max_window_)));
  features.resize(static_cast<std::size_t>(batch.batch) * D);
  sums.resize(static_cast<std::size_t>(F));
  for (int b = 0; b < batch.batch; ++b) {
    const int32_t* ids = batch.ids + static_cast<std::size_t>(b) * batch.seq_len;
    const int L = batch.lengths[b];
    const int S = std::max(L, max_window_);
    for (int s = 0; s < S; ++s)
      rows[s] = (s < L && ids[s] != config_.pad_id) ? table_.data() + static_cast<std::size_t>(ids[s]) * RF : zero_row_.data();
    float* feat = features.data() + static_cast<std::size_t>(b) * D;
    for (int w = 0; w < W; ++w) {
      const int k = config_.windows[w];
      const int nw = std::max(L - k + 1, 1);
      if (scalar) {
        int8::window_max_scalar(rows.data(), nw, k, window_offset_[w], F, sums.data());
      } else {
        int8::window_max(rows.data(), nw, k, window_offset_[w], F, sums.data());
      }
      const float* scale = scale_.data() + static_cast<std::size_t>(w) * F;
      const float* bias = conv_bias_.data() + static_cast<std::size_t>(w) * F;
      for (int f = 0; f < F; ++f) feat[w * F + f] = std::max(0.0f, bias[f] + scale[f] * static_cast<float>(sums[f]));
    }
  }
  if (batch.batch == 0) return;
  sgemm(false, true, batch.batch, C, D, 1.0f, features.data(), D, fc_weight_.data(), D, 0.0f, logits, C);
  for (int b = 0; b < batch.batch; ++b)
    for (int c = 0; c < C; ++c) logits[static_cast<std::size_t>(b) * C + c] += fc_bias_[c];
}

}  // namespace md
