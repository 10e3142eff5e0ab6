#include "textcnn.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

#include "gemm.h"
#include "memory_trim.h"
#include "simd.h"
#include "thread_pool.h"

namespace md {

namespace {

// ---- seeded initialisation (own transforms: std:: distributions differ between
// standard libraries, and a seed must give the same model everywhere) ---------
double uniform01(Rng& rng) { return static_cast<double>(rng() >> 11) * (1.0 / 9007199254740992.0); }

void fill_uniform(Tensor& t, double bound, Rng& rng) {
  for (float& x : t.data) x = static_cast<float>((2.0 * uniform01(rng) - 1.0) * bound);
}

void fill_normal(Tensor& t, Rng& rng) {
  // Box-Muller; 1 - u keeps the log argument in (0, 1].
  for (std::size_t i = 0; i < t.data.size(); i += 2) {
    const double u1 = 1.0 - uniform01(rng), u2 = uniform01(rng);
    const double r = std::sqrt(-2.0 * std::log(u1));
    t.data[i] = static_cast<float>(r * std::cos(2.0 * M_PI * u2));
    if (i + 1 < t.data.size()) t.data[i + 1] = static_cast<float>(r * std::sin(2.0 * M_PI * u2));
  }
}

// ---- kernels ----------------------------------------------------------------

// y[0..n) += a * x[0..n)
void axpy_scalar(int n, float a, const float* x, float* y) {
  for (int i = 0; i < n; ++i) y[i] += a * x[i];
}

// Window max over a sequence of table rows. rows[s] points at the table row of
// the token at position s (R*F floats: window blocks of k F-vectors each), or at
// a zero row. For the window whose block starts at F-row `off`:
//   pre(t)[f] = bias[f] + sum_{j<k} rows[t+j][(off+j)*F + f],  t in [0, nw)
//   out_max[f] = max_t pre(t)[f], out_arg[f] = the first t reaching it.
// Summation order is bias, then j = 0, 1, ...: identical in every SIMD variant.
template <bool WithArg>
void window_max_scalar(const float* const* rows, int nw, int k, int off, int F, const float* bias, float* out_max,
                       int32_t* out_arg, int f_begin) {
  for (int f = f_begin; f < F; ++f) {
    float best = -std::numeric_limits<float>::infinity();
    int32_t arg = 0;
    for (int t = 0; t < nw; ++t) {
      float acc = bias[f];
      for (int j = 0; j < k; ++j) acc += rows[t + j][(off + j) * F + f];
      if (acc > best) {
        best = acc;
        arg = t;
      }
    }
    out_max[f] = best;
    if (WithArg) out_arg[f] = arg;
  }
}

#ifdef MD_SIMD_X86
__attribute__((target("avx2,fma"))) void axpy_avx2(int n, float a, const float* x, float* y) {
  const __m256 va = _mm256_set1_ps(a);
  int i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, _mm256_fmadd_ps(va, _mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i)));
  for (; i < n; ++i) y[i] += a * x[i];
}

// 32 filters at a time: 4 accumulators + 4 running maxima (+ 4 argmax vectors)
// stay in the 16 ymm registers.
template <bool WithArg>
__attribute__((target("avx2,fma"))) void window_max_avx2(const float* const* rows, int nw, int k, int off, int F,
                                                         const float* bias, float* out_max, int32_t* out_arg) {
  int c = 0;
  for (; c + 32 <= F; c += 32) {
    const __m256 neg_inf = _mm256_set1_ps(-std::numeric_limits<float>::infinity());
    __m256 m0 = neg_inf, m1 = neg_inf, m2 = neg_inf, m3 = neg_inf;
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;  // argmax t, as float bits of an int
    const __m256 b0 = _mm256_loadu_ps(bias + c), b1 = _mm256_loadu_ps(bias + c + 8);
    const __m256 b2 = _mm256_loadu_ps(bias + c + 16), b3 = _mm256_loadu_ps(bias + c + 24);
    for (int t = 0; t < nw; ++t) {
      __m256 s0 = b0, s1 = b1, s2 = b2, s3 = b3;
      for (int j = 0; j < k; ++j) {
        const float* r = rows[t + j] + (off + j) * F + c;
        s0 = _mm256_add_ps(s0, _mm256_loadu_ps(r));
        s1 = _mm256_add_ps(s1, _mm256_loadu_ps(r + 8));
        s2 = _mm256_add_ps(s2, _mm256_loadu_ps(r + 16));
        s3 = _mm256_add_ps(s3, _mm256_loadu_ps(r + 24));
      }
      if (WithArg) {
        const __m256 tv = _mm256_castsi256_ps(_mm256_set1_epi32(t));
        a0 = _mm256_blendv_ps(a0, tv, _mm256_cmp_ps(s0, m0, _CMP_GT_OQ));
        a1 = _mm256_blendv_ps(a1, tv, _mm256_cmp_ps(s1, m1, _CMP_GT_OQ));
        a2 = _mm256_blendv_ps(a2, tv, _mm256_cmp_ps(s2, m2, _CMP_GT_OQ));
        a3 = _mm256_blendv_ps(a3, tv, _mm256_cmp_ps(s3, m3, _CMP_GT_OQ));
      }
      // max(s, m) returns m when s is not greater: the first maximum wins, as in the scalar path.
      m0 = _mm256_max_ps(s0, m0);
      m1 = _mm256_max_ps(s1, m1);
      m2 = _mm256_max_ps(s2, m2);
      m3 = _mm256_max_ps(s3, m3);
    }
    _mm256_storeu_ps(out_max + c, m0);
    _mm256_storeu_ps(out_max + c + 8, m1);
    _mm256_storeu_ps(out_max + c + 16, m2);
    _mm256_storeu_ps(out_max + c + 24, m3);
    if (WithArg) {
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(out_arg + c), _mm256_castps_si256(a0));
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(out_arg + c + 8), _mm256_castps_si256(a1));
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(out_arg + c + 16), _mm256_castps_si256(a2));
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(out_arg + c + 24), _mm256_castps_si256(a3));
    }
  }
  if (c < F) window_max_scalar<WithArg>(rows, nw, k, off, F, bias, out_max, out_arg, c);
}
#endif

bool use_avx2() {
  static const bool yes = simd_default_level() >= SimdLevel::avx2;
  return yes;
}

void axpy(int n, float a, const float* x, float* y) {
#ifdef MD_SIMD_X86
  if (use_avx2()) return axpy_avx2(n, a, x, y);
#endif
  axpy_scalar(n, a, x, y);
}

template <bool WithArg>
void window_max(const float* const* rows, int nw, int k, int off, int F, const float* bias, float* out_max,
                int32_t* out_arg) {
#ifdef MD_SIMD_X86
  if (use_avx2()) return window_max_avx2<WithArg>(rows, nw, k, off, F, bias, out_max, out_arg);
#endif
  window_max_scalar<WithArg>(rows, nw, k, off, F, bias, out_max, out_arg, 0);
}

// Per-thread training state: the shard's token table and what backward needs.
struct TextCnnContext : TrainContext {
  std::vector<int32_t> slot_of;      // [V]: row of a token in `table`, -1 if absent (reset after each forward)
  std::vector<int32_t> unique_ids;   // tokens of the shard, first-seen order
  std::vector<float> unique_emb;     // [U, E]
  std::vector<float> w_all;          // [R*F, E]: row (off_i + j)*F + f = conv_i.weight[f, j, :]
  std::vector<float> table;          // [U, R*F]
  std::vector<const float*> rows;    // per text, max(L, max_window) row pointers
  std::vector<float> features;       // [B, D] after ReLU
  std::vector<int32_t> argmax;       // [B, D] position of each max
  std::vector<float> mask;           // [B, D] dropout scale (0 or 1/keep)
  std::vector<float> dropped;        // [B, D] features * mask (input of fc)
  std::vector<float> dfeatures;      // [B, D] backward scratch
};

}  // namespace

// ---- config -----------------------------------------------------------------

void TextCnnConfig::validate() const {
  auto bad = [](const std::string& field, const std::string& why) {
    throw std::invalid_argument("TextCnnConfig: " + field + " " + why);
  };
  if (vocab_size < 1) bad("vocab_size", "must be >= 1, got " + std::to_string(vocab_size));
  if (embedding_dim < 1) bad("embedding_dim", "must be >= 1, got " + std::to_string(embedding_dim));
  if (num_classes < 1) bad("num_classes", "must be >= 1, got " + std::to_string(num_classes));
  if (filters < 1) bad("filters", "must be >= 1, got " + std::to_string(filters));
  if (windows.empty()) bad("windows", "must list at least one window size");
  for (std::size_t i = 0; i < windows.size(); ++i) {
    if (windows[i] < 1) bad("windows", "entries must be >= 1, got " + std::to_string(windows[i]));
    for (std::size_t j = 0; j < i; ++j)
      if (windows[j] == windows[i]) bad("windows", "lists " + std::to_string(windows[i]) + " twice");
  }
  if (!(dropout >= 0.0f && dropout < 1.0f)) bad("dropout", "must be in [0, 1), got " + std::to_string(dropout));
  if (pad_id < 0 || pad_id >= vocab_size)
    bad("pad_id", "must be in [0, vocab_size), got " + std::to_string(pad_id));
}

// ---- construction -----------------------------------------------------------

TextCnn::TextCnn(const TextCnnConfig& config, uint64_t seed) : config_(config) {
  config_.validate();
  const int V = config_.vocab_size, E = config_.embedding_dim, F = config_.filters;
  Rng rng(seed);
  embedding_.name = "embedding.weight";
  embedding_.value = Tensor({V, E});
  fill_normal(embedding_.value, rng);
  std::fill_n(embedding_.value.ptr() + static_cast<std::size_t>(config_.pad_id) * E, E, 0.0f);

  window_offset_.assign(1, 0);
  for (int k : config_.windows) {
    Parameter w, b;
    w.name = "conv" + std::to_string(k) + ".weight";
    w.value = Tensor({F, k, E});
    b.name = "conv" + std::to_string(k) + ".bias";
    b.value = Tensor({F});
    b.no_decay = true;
    const double bound = 1.0 / std::sqrt(static_cast<double>(k) * E);  // fan_in = k * E
    fill_uniform(w.value, bound, rng);
    fill_uniform(b.value, bound, rng);
    conv_weight_.push_back(std::move(w));
    conv_bias_.push_back(std::move(b));
    window_offset_.push_back(window_offset_.back() + k);
    max_window_ = std::max(max_window_, k);
  }
  const int D = feature_dim();
  fc_weight_.name = "fc.weight";
  fc_weight_.value = Tensor({config_.num_classes, D});
  fc_bias_.name = "fc.bias";
  fc_bias_.value = Tensor({config_.num_classes});
  fc_bias_.no_decay = true;
  const double bound = 1.0 / std::sqrt(static_cast<double>(D));
  fill_uniform(fc_weight_.value, bound, rng);
  fill_uniform(fc_bias_.value, bound, rng);

  zero_block_.assign(static_cast<std::size_t>(table_rows_per_token()) * F, 0.0f);
}

std::vector<Parameter*> TextCnn::parameters() {
  std::vector<Parameter*> out{&embedding_};
  for (std::size_t i = 0; i < conv_weight_.size(); ++i) {
    out.push_back(&conv_weight_[i]);
    out.push_back(&conv_bias_[i]);
  }
  out.push_back(&fc_weight_);
  out.push_back(&fc_bias_);
  return out;
}

void TextCnn::set_embeddings(const float* vectors, int rows, int cols) {
  if (rows != config_.vocab_size || cols != config_.embedding_dim)
    throw std::invalid_argument("TextCnn::set_embeddings: expected [" + std::to_string(config_.vocab_size) + ", " +
                                std::to_string(config_.embedding_dim) + "] (vocab_size, embedding_dim), got [" +
                                std::to_string(rows) + ", " + std::to_string(cols) + "]");
  std::copy(vectors, vectors + static_cast<std::size_t>(rows) * cols, embedding_.value.ptr());
  std::fill_n(embedding_.value.ptr() + static_cast<std::size_t>(config_.pad_id) * cols, cols, 0.0f);
  table_.clear();  // stale now
}

void TextCnn::set_embeddings(const Tensor& vectors) {
  if (vectors.shape.size() != 2)
    throw std::invalid_argument("TextCnn::set_embeddings: expected a 2-D tensor, got " + vectors.shape_string());
  set_embeddings(vectors.ptr(), static_cast<int>(vectors.dim(0)), static_cast<int>(vectors.dim(1)));
}

std::size_t TextCnn::inference_table_bytes() const {
  return static_cast<std::size_t>(config_.vocab_size) * table_rows_per_token() * config_.filters * sizeof(float);
}

void TextCnn::check_batch(const Batch& batch) const {
  if (batch.batch < 0) throw std::invalid_argument("TextCnn: negative batch size " + std::to_string(batch.batch));
  if (batch.batch == 0) return;
  if (batch.ids == nullptr || batch.lengths == nullptr || batch.seq_len < 1)
    throw std::invalid_argument("TextCnn: batch has no ids, no lengths or seq_len < 1");
  for (int b = 0; b < batch.batch; ++b) {
    const int L = batch.lengths[b];
    if (L < 1 || L > batch.seq_len)
      throw std::invalid_argument("TextCnn: length " + std::to_string(L) + " of batch row " + std::to_string(b) +
                                  " is outside [1, seq_len=" + std::to_string(batch.seq_len) + "]");
    const int32_t* ids = batch.ids + static_cast<std::size_t>(b) * batch.seq_len;
    for (int s = 0; s < L; ++s) {
      if (ids[s] < 0 || ids[s] >= config_.vocab_size)
        throw std::invalid_argument("TextCnn: token id " + std::to_string(ids[s]) + " at batch row " +
                                    std::to_string(b) + ", position " + std::to_string(s) +
                                    " is outside [0, vocab_size=" + std::to_string(config_.vocab_size) + ")");
    }
  }
}

void TextCnn::dense(const float* features, int batch, float* logits, bool rows_independent) const {
  const int C = config_.num_classes, D = feature_dim();
  // Inference: row-independent, so a text's logits do not depend on the texts batched with it.
  if (rows_independent)
    sgemm_rows_independent(true, batch, C, D, 1.0f, features, D, fc_weight_.value.ptr(), D, 0.0f, logits, C);
  else
    sgemm(false, true, batch, C, D, 1.0f, features, D, fc_weight_.value.ptr(), D, 0.0f, logits, C);
  for (int b = 0; b < batch; ++b)
    for (int c = 0; c < C; ++c) logits[static_cast<std::size_t>(b) * C + c] += fc_bias_.value.data[c];
}

// ---- reference path: straight from the definition ---------------------------

void TextCnn::forward_reference(const Batch& batch, float* logits) const {
  check_batch(batch);
  const int E = config_.embedding_dim, F = config_.filters, C = config_.num_classes, D = feature_dim();
  const float* emb = embedding_.value.ptr();
  std::vector<double> features(D);
  for (int b = 0; b < batch.batch; ++b) {
    const int32_t* ids = batch.ids + static_cast<std::size_t>(b) * batch.seq_len;
    const int L = batch.lengths[b];
    // The embedding of position s: zero past the text's end and for pad tokens.
    auto embedded = [&](int s) -> const float* {
      if (s >= L || ids[s] == config_.pad_id) return nullptr;
      return emb + static_cast<std::size_t>(ids[s]) * E;
    };
    for (std::size_t w = 0; w < config_.windows.size(); ++w) {
      const int k = config_.windows[w];
      const int positions = std::max(L - k + 1, 1);
      const float* W = conv_weight_[w].value.ptr();
      for (int f = 0; f < F; ++f) {
        double best = -std::numeric_limits<double>::infinity();
        for (int t = 0; t < positions; ++t) {
          double sum = conv_bias_[w].value.data[f];
          for (int j = 0; j < k; ++j) {
            const float* x = embedded(t + j);
            if (x == nullptr) continue;
            const float* wrow = W + (static_cast<std::size_t>(f) * k + j) * E;
            for (int e = 0; e < E; ++e) sum += static_cast<double>(wrow[e]) * x[e];
          }
          best = std::max(best, sum);
        }
        features[w * F + f] = std::max(best, 0.0);  // ReLU after max == max after ReLU
      }
    }
    for (int c = 0; c < C; ++c) {
      double sum = fc_bias_.value.data[c];
      const float* wrow = fc_weight_.value.ptr() + static_cast<std::size_t>(c) * D;
      for (int i = 0; i < D; ++i) sum += static_cast<double>(wrow[i]) * features[i];
      logits[static_cast<std::size_t>(b) * C + c] = static_cast<float>(sum);
    }
  }
}

// ---- fast inference ---------------------------------------------------------

void TextCnn::prepare_inference() {
  const int V = config_.vocab_size, E = config_.embedding_dim, F = config_.filters;
  const int RF = table_rows_per_token() * F;
  // All windows' weights as one [R*F, E] matrix, row (off_i + j)*F + f = conv_i.weight[f, j, :].
  std::vector<float> w_all(static_cast<std::size_t>(RF) * E);
  for (std::size_t w = 0; w < config_.windows.size(); ++w) {
    const int k = config_.windows[w];
    const float* W = conv_weight_[w].value.ptr();
    for (int j = 0; j < k; ++j)
      for (int f = 0; f < F; ++f)
        std::copy_n(W + (static_cast<std::size_t>(f) * k + j) * E, E,
                    w_all.data() + (static_cast<std::size_t>(window_offset_[w] + j) * F + f) * E);
  }
  std::vector<float> table(static_cast<std::size_t>(V) * RF);
  constexpr int kBlock = 256;  // vocabulary rows per task
  const std::size_t blocks = (static_cast<std::size_t>(V) + kBlock - 1) / kBlock;
  global_thread_pool().parallel_for(blocks, [&](std::size_t i, int) {
    const int v0 = static_cast<int>(i) * kBlock, rows = std::min(kBlock, V - v0);
    sgemm(false, true, rows, RF, E, 1.0f, embedding_.value.ptr() + static_cast<std::size_t>(v0) * E, E,
          w_all.data(), E, 0.0f, table.data() + static_cast<std::size_t>(v0) * RF, RF);
  });
  table_ = std::move(table);
  release_free_memory();
}

void TextCnn::forward_fast(const Batch& batch, float* logits) const {
  if (table_.empty())
    throw std::logic_error("TextCnn::forward_fast: call prepare_inference() first (the token table is not built)");
  check_batch(batch);
  const int F = config_.filters, D = feature_dim();
  const int RF = table_rows_per_token() * F;
  thread_local std::vector<const float*> rows;
  thread_local std::vector<float> features;
  rows.resize(static_cast<std::size_t>(std::max(batch.seq_len, max_window_)));
  features.resize(static_cast<std::size_t>(batch.batch) * D);
  for (int b = 0; b < batch.batch; ++b) {
    const int32_t* ids = batch.ids + static_cast<std::size_t>(b) * batch.seq_len;
    const int L = batch.lengths[b];
    const int S = std::max(L, max_window_);
    for (int s = 0; s < S; ++s)
      rows[s] = (s < L && ids[s] != config_.pad_id) ? table_.data() + static_cast<std::size_t>(ids[s]) * RF
                                                    : zero_block_.data();
    float* feat = features.data() + static_cast<std::size_t>(b) * D;
    for (std::size_t w = 0; w < config_.windows.size(); ++w) {
      const int k = config_.windows[w];
      float* out = feat + w * F;
      window_max<false>(rows.data(), std::max(L - k + 1, 1), k, window_offset_[w], F, conv_bias_[w].value.ptr(),
                        out, nullptr);
      for (int f = 0; f < F; ++f) out[f] = std::max(out[f], 0.0f);
    }
  }
  dense(features.data(), batch.batch, logits, true);
}

// ---- training ---------------------------------------------------------------

std::unique_ptr<TrainContext> TextCnn::make_context() const { return std::make_unique<TextCnnContext>(); }

void TextCnn::forward_train(TrainContext& base_ctx, const Batch& batch, Rng& rng, float* logits) const {
  check_batch(batch);
  auto& ctx = static_cast<TextCnnContext&>(base_ctx);
  const int V = config_.vocab_size, E = config_.embedding_dim, F = config_.filters, D = feature_dim();
  const int RF = table_rows_per_token() * F;
  const int B = batch.batch;

  // 1. The shard's distinct tokens (pads and positions past the end excluded).
  if (ctx.slot_of.size() != static_cast<std::size_t>(V)) ctx.slot_of.assign(V, -1);
  ctx.unique_ids.clear();
  for (int b = 0; b < B; ++b) {
    const int32_t* ids = batch.ids + static_cast<std::size_t>(b) * batch.seq_len;
    for (int s = 0; s < batch.lengths[b]; ++s) {
      const int32_t id = ids[s];
      if (id == config_.pad_id || ctx.slot_of[id] >= 0) continue;
      ctx.slot_of[id] = static_cast<int32_t>(ctx.unique_ids.size());
      ctx.unique_ids.push_back(id);
    }
  }
  const int U = static_cast<int>(ctx.unique_ids.size());

  // 2. Their table rows: [U, E] x [E, R*F] in one sgemm.
  ctx.unique_emb.resize(static_cast<std::size_t>(U) * E);
  for (int u = 0; u < U; ++u)
    std::copy_n(embedding_.value.ptr() + static_cast<std::size_t>(ctx.unique_ids[u]) * E, E,
                ctx.unique_emb.data() + static_cast<std::size_t>(u) * E);
  ctx.w_all.resize(static_cast<std::size_t>(RF) * E);
  for (std::size_t w = 0; w < config_.windows.size(); ++w) {
    const int k = config_.windows[w];
    const float* W = conv_weight_[w].value.ptr();
    for (int j = 0; j < k; ++j)
      for (int f = 0; f < F; ++f)
        std::copy_n(W + (static_cast<std::size_t>(f) * k + j) * E, E,
                    ctx.w_all.data() + (static_cast<std::size_t>(window_offset_[w] + j) * F + f) * E);
  }
  ctx.table.resize(static_cast<std::size_t>(U) * RF);
  if (U > 0)
    sgemm(false, true, U, RF, E, 1.0f, ctx.unique_emb.data(), E, ctx.w_all.data(), E, 0.0f, ctx.table.data(), RF);

  // 3. Window sums, max over time with argmax, ReLU.
  ctx.features.resize(static_cast<std::size_t>(B) * D);
  ctx.argmax.resize(static_cast<std::size_t>(B) * D);
  ctx.rows.resize(static_cast<std::size_t>(std::max(batch.seq_len, max_window_)));
  for (int b = 0; b < B; ++b) {
    const int32_t* ids = batch.ids + static_cast<std::size_t>(b) * batch.seq_len;
    const int L = batch.lengths[b];
    const int S = std::max(L, max_window_);
    for (int s = 0; s < S; ++s)
      ctx.rows[s] = (s < L && ids[s] != config_.pad_id)
                        ? ctx.table.data() + static_cast<std::size_t>(ctx.slot_of[ids[s]]) * RF
                        : zero_block_.data();
    for (std::size_t w = 0; w < config_.windows.size(); ++w) {
      const int k = config_.windows[w];
      const std::size_t at = static_cast<std::size_t>(b) * D + w * F;
      window_max<true>(ctx.rows.data(), std::max(L - k + 1, 1), k, window_offset_[w], F, conv_bias_[w].value.ptr(),
                       ctx.features.data() + at, ctx.argmax.data() + at);
      for (int f = 0; f < F; ++f) ctx.features[at + f] = std::max(ctx.features[at + f], 0.0f);
    }
  }
  for (int32_t id : ctx.unique_ids) ctx.slot_of[id] = -1;  // ready for the next shard

  // 4. Inverted dropout: kept features are scaled by 1/keep so inference needs no rescale.
  ctx.mask.assign(static_cast<std::size_t>(B) * D, 1.0f);
  if (config_.dropout > 0.0f) {
    const float keep = 1.0f - config_.dropout;
    const float scale = 1.0f / keep;
    for (float& m : ctx.mask) {
      const float u = static_cast<float>(rng() >> 40) * (1.0f / 16777216.0f);  // 24-bit uniform in [0, 1)
      m = u < keep ? scale : 0.0f;
    }
  }
  ctx.dropped.resize(static_cast<std::size_t>(B) * D);
  for (std::size_t i = 0; i < ctx.dropped.size(); ++i) ctx.dropped[i] = ctx.features[i] * ctx.mask[i];

  // 5. Dense layer.
  dense(ctx.dropped.data(), B, logits);
}

void TextCnn::backward(TrainContext& base_ctx, const Batch& batch, const float* dlogits, Gradients& grads) const {
  auto& ctx = static_cast<TextCnnContext&>(base_ctx);
  const int E = config_.embedding_dim, F = config_.filters, C = config_.num_classes, D = feature_dim();
  const int B = batch.batch;
  const std::size_t nw = config_.windows.size();
  if (grads.size() != 3 + 2 * nw) throw std::invalid_argument("TextCnn::backward: gradients do not match parameters()");
  Tensor& g_emb = grads[0];
  Tensor& g_fc_w = grads[1 + 2 * nw];
  Tensor& g_fc_b = grads[2 + 2 * nw];
  if (B == 0) return;

  // Dense layer: dW += dlogits^T . dropped, db += column sums, dfeatures = dlogits . W.
  sgemm(true, false, C, D, B, 1.0f, dlogits, C, ctx.dropped.data(), D, 1.0f, g_fc_w.ptr(), D);
  for (int b = 0; b < B; ++b)
    for (int c = 0; c < C; ++c) g_fc_b.data[c] += dlogits[static_cast<std::size_t>(b) * C + c];
  ctx.dfeatures.resize(static_cast<std::size_t>(B) * D);
  sgemm(false, false, B, D, C, 1.0f, dlogits, C, fc_weight_.value.ptr(), D, 0.0f, ctx.dfeatures.data(), D);

  // Dropout, ReLU, max: only the argmax window of each (text, filter) with a
  // positive feature receives gradient. Its pre-activation was
  // bias[f] + sum_j W[f, j, :] . emb(t*+j), hence the k rows of axpy each.
  float* g_emb_data = g_emb.ptr();
  const float* emb = embedding_.value.ptr();
  for (int b = 0; b < B; ++b) {
    const int32_t* ids = batch.ids + static_cast<std::size_t>(b) * batch.seq_len;
    const int L = batch.lengths[b];
    for (std::size_t w = 0; w < nw; ++w) {
      const int k = config_.windows[w];
      const float* W = conv_weight_[w].value.ptr();
      float* gW = grads[1 + 2 * w].ptr();
      float* gB = grads[2 + 2 * w].ptr();
      const std::size_t at = static_cast<std::size_t>(b) * D + w * F;
      for (int f = 0; f < F; ++f) {
        if (!(ctx.features[at + f] > 0.0f)) continue;  // ReLU inactive (PyTorch: zero gradient at 0 too)
        const float g = ctx.dfeatures[at + f] * ctx.mask[at + f];
        if (g == 0.0f) continue;
        gB[f] += g;
        const int t = ctx.argmax[at + f];
        for (int j = 0; j < k; ++j) {
          const int s = t + j;
          if (s >= L || ids[s] == config_.pad_id) continue;  // zero input: no weight gradient, no embedding row
          const std::size_t wrow = (static_cast<std::size_t>(f) * k + j) * E;
          const std::size_t erow = static_cast<std::size_t>(ids[s]) * E;
          axpy(E, g, emb + erow, gW + wrow);
          axpy(E, g, W + wrow, g_emb_data + erow);
        }
      }
    }
  }
}

}  // namespace md
