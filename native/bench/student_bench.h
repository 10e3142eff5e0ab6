// What the student microbenchmarks (bench_textcnn.cc, bench_gru.cc) share: synthetic texts,
// shards padded like a trainer pads them, and the timing loops for training steps, batch
// inference and batch-1 latency. A model is any md::StudentModel with forward_train, backward
// and forward_fast (prepare_inference() called first for the inference loops).
//
// Texts: lengths log-normal with median 34 (sigma 1.05: mean ~48 and ~10% at the 128-token cap,
// like shop reviews truncated to 128 characters). A training step is one batch of 64 split into
// one shard per thread (md::global_thread_pool), forward_train + softmax cross-entropy gradient +
// backward; each shard is padded to its own longest text. The "step" figure adds what a trainer
// does around it: sum the per-thread gradients, zero them, and a dense Adam update of every
// parameter (spread over the threads) -- an estimate of a whole step, not the trainer's code.
#pragma once
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <random>
#include <vector>

#include "student_model.h"
#include "tensor.h"
#include "thread_pool.h"

namespace student_bench {

using Clock = std::chrono::steady_clock;
constexpr int kMaxLen = 128;

inline double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

struct Texts {
  std::vector<int32_t> ids;  // [n, kMaxLen]
  std::vector<int32_t> lengths;
  std::vector<int32_t> labels;
};

// Token ids over 1..vocab-1: Zipf(1) (characters of real text repeat; what a per-shard token
// table sees) or uniform (its worst case; a GRU's cost does not depend on the ids).
enum class Ids { zipf, uniform };

inline Texts make_texts(int n, int vocab, Ids ids, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::lognormal_distribution<double> len(std::log(34.0), 1.05);
  std::vector<double> cdf;  // Zipf through a cumulative table
  if (ids == Ids::zipf) {
    cdf.assign(vocab, 0.0);
    for (int v = 1; v < vocab; ++v) cdf[v] = cdf[v - 1] + 1.0 / v;
  }
  std::uniform_real_distribution<double> uni(0.0, ids == Ids::zipf ? cdf.back() : 1.0);
  Texts t;
  t.ids.assign(static_cast<std::size_t>(n) * kMaxLen, 0);
  for (int i = 0; i < n; ++i) {
    const int L = std::clamp(static_cast<int>(std::lround(len(rng))), 1, kMaxLen);
    t.lengths.push_back(L);
    t.labels.push_back(static_cast<int32_t>(rng() % 2));
    for (int s = 0; s < L; ++s)
      t.ids[static_cast<std::size_t>(i) * kMaxLen + s] =
          ids == Ids::zipf ? static_cast<int32_t>(std::lower_bound(cdf.begin(), cdf.end(), uni(rng)) - cdf.begin())
                           : 1 + static_cast<int32_t>(rng() % (vocab - 1));
  }
  return t;
}

inline double mean_length(const Texts& t) {
  double sum = 0;
  for (int L : t.lengths) sum += L;
  return sum / t.lengths.size();
}

// Rows [begin, end) as a batch padded to its longest text (as PyTorch's reference does).
struct Shard {
  std::vector<int32_t> ids, lengths;
  md::Batch batch;
};

inline Shard make_shard(const Texts& t, int begin, int end) {
  Shard s;
  int longest = 1;
  for (int i = begin; i < end; ++i) longest = std::max(longest, t.lengths[i]);
  s.ids.assign(static_cast<std::size_t>(end - begin) * longest, 0);
  for (int i = begin; i < end; ++i) {
    s.lengths.push_back(t.lengths[i]);
    std::copy_n(t.ids.begin() + static_cast<std::size_t>(i) * kMaxLen, longest,
                s.ids.begin() + static_cast<std::size_t>(i - begin) * longest);
  }
  s.batch.ids = s.ids.data();
  s.batch.lengths = s.lengths.data();
  s.batch.batch = end - begin;
  s.batch.seq_len = longest;
  return s;
}

// Every full batch of `batch_size` rows, split into `threads` shards (batch b's shards at
// [b * threads, (b + 1) * threads)).
inline std::vector<Shard> make_shards(const Texts& t, int batch_size, int threads) {
  std::vector<Shard> shards;
  const int n_batches = static_cast<int>(t.lengths.size()) / batch_size;
  for (int b = 0; b < n_batches; ++b)
    for (int s = 0; s < threads; ++s)
      shards.push_back(
          make_shard(t, b * batch_size + s * batch_size / threads, b * batch_size + (s + 1) * batch_size / threads));
  return shards;
}

struct TrainThroughput {
  double fwd_bwd_per_s = 0, step_per_s = 0;
};

// Training examples per second for `seconds` each: forward + backward alone, then whole steps.
template <typename Model>
TrainThroughput bench_train(Model& model, const Texts& texts, int threads, double seconds, float learning_rate) {
  const int B = 64, C = model.num_classes();
  const std::vector<Shard> shards = make_shards(texts, B, threads);
  const int n_batches = static_cast<int>(shards.size()) / threads;
  std::vector<std::unique_ptr<md::TrainContext>> ctx;
  std::vector<md::Gradients> grads;
  std::vector<md::Rng> rngs;
  for (int s = 0; s < threads; ++s) {
    ctx.push_back(model.make_context());
    grads.push_back(model.make_gradients());
    rngs.emplace_back(100 + s);
  }
  md::ThreadPool& pool = md::global_thread_pool();

  auto fwd_bwd = [&](int batch_index) {
    pool.parallel_for(
        threads,
        [&](std::size_t s, int) {
          const Shard& sh = shards[static_cast<std::size_t>(batch_index) * threads + s];
          const int n = sh.batch.batch;
          std::vector<float> logits(static_cast<std::size_t>(n) * C), dl(logits.size());
          model.forward_train(*ctx[s], sh.batch, rngs[s], logits.data());
          for (int i = 0; i < n; ++i) {  // softmax cross-entropy gradient, mean over the full batch
            const float* x = logits.data() + static_cast<std::size_t>(i) * C;
            const float m = *std::max_element(x, x + C);
            double z = 0;
            for (int c = 0; c < C; ++c) z += std::exp(x[c] - m);
            const int label = texts.labels[0] % C;
            for (int c = 0; c < C; ++c)
              dl[static_cast<std::size_t>(i) * C + c] = static_cast<float>((std::exp(x[c] - m) / z - (c == label)) / B);
          }
          model.backward(*ctx[s], sh.batch, dl.data(), grads[s]);
        },
        threads);
  };

  // Adam state for the "whole step" estimate.
  std::vector<md::Parameter*> params = model.parameters();
  std::vector<std::vector<float>> m1, m2;
  for (md::Parameter* p : params) {
    m1.emplace_back(p->value.size(), 0.0f);
    m2.emplace_back(p->value.size(), 0.0f);
  }
  auto optimiser_step = [&] {
    // Per parameter, in chunks over the threads: sum the shards' gradients, Adam update, zero
    // the gradients for the next step.
    constexpr std::size_t kChunk = 1 << 16;
    for (std::size_t p = 0; p < params.size(); ++p) {
      const std::size_t n = params[p]->value.size();
      pool.parallel_for(
          (n + kChunk - 1) / kChunk,
          [&](std::size_t c, int) {
            float* w = params[p]->value.ptr();
            for (std::size_t i = c * kChunk; i < std::min(n, (c + 1) * kChunk); ++i) {
              float g = 0;
              for (int s = 0; s < threads; ++s) {
                g += grads[s][p].data[i];
                grads[s][p].data[i] = 0.0f;
              }
              m1[p][i] = 0.9f * m1[p][i] + 0.1f * g;
              m2[p][i] = 0.999f * m2[p][i] + 0.001f * g * g;
              w[i] -= learning_rate * m1[p][i] / (std::sqrt(m2[p][i]) + 1e-8f);
            }
          },
          threads);
    }
  };

  TrainThroughput r;
  for (int pass = 0; pass < 2; ++pass) {
    fwd_bwd(0);  // warm-up (buffers grow to size)
    long examples = 0;
    int b = 0;
    const auto t0 = Clock::now();
    while (seconds_since(t0) < seconds) {
      fwd_bwd(b);
      if (pass == 1) optimiser_step();
      examples += B;
      b = (b + 1) % n_batches;
    }
    (pass == 0 ? r.fwd_bwd_per_s : r.step_per_s) = examples / seconds_since(t0);
  }
  return r;
}

// Texts per second of forward_fast on batches of 256 split over `threads`.
template <typename Model>
double bench_inference(const Model& model, const Texts& texts, int threads, double seconds) {
  const int B = 256, C = model.num_classes();
  const std::vector<Shard> shards = make_shards(texts, B, threads);
  const int n_batches = static_cast<int>(shards.size()) / threads;
  std::vector<std::vector<float>> logits(threads, std::vector<float>(static_cast<std::size_t>(B) * C));
  md::ThreadPool& pool = md::global_thread_pool();
  auto run = [&](int batch_index) {
    pool.parallel_for(
        threads,
        [&](std::size_t s, int) {
          model.forward_fast(shards[static_cast<std::size_t>(batch_index) * threads + s].batch, logits[s].data());
        },
        threads);
  };
  run(0);
  long done = 0;
  int b = 0;
  const auto t0 = Clock::now();
  while (seconds_since(t0) < seconds) {
    run(b);
    done += B;
    b = (b + 1) % n_batches;
  }
  return done / seconds_since(t0);
}

// Prints batch-1 latency percentiles of forward_fast over single texts (one thread, the calling one).
template <typename Model>
void bench_latency(const Model& model, const Texts& texts, double seconds) {
  std::vector<double> us;
  std::vector<float> logits(static_cast<std::size_t>(model.num_classes()));
  int i = 0;
  const auto t0 = Clock::now();
  while (seconds_since(t0) < seconds) {
    const Shard one = make_shard(texts, i, i + 1);
    const auto s = Clock::now();
    model.forward_fast(one.batch, logits.data());
    us.push_back(seconds_since(s) * 1e6);
    i = (i + 1) % static_cast<int>(texts.lengths.size());
  }
  std::sort(us.begin(), us.end());
  std::printf("inference batch 1: p50 %.1f us, p99 %.1f us (%zu calls)\n", us[us.size() / 2],
              us[us.size() * 99 / 100], us.size());
}

}  // namespace student_bench
