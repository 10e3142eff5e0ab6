// Microbenchmark (not a test, not registered with ctest): TextCNN training and
// fast-inference throughput at the reference sizes (V=21128, E=128, windows
// 3/4/5 x 128 filters, 2 classes, dropout 0.5), on synthetic batches.
//
//   bench_textcnn [seconds_per_case=3] [threads=2] [vocab_size=21128] [train|infer|all]
//
// Texts: lengths log-normal with median 34 (sigma 1.05, so ~10% reach the
// 128-token cap, like shop reviews truncated to 128); token ids Zipf-distributed
// over the vocabulary (characters of real text repeat; the "uniform" row is the
// worst case for the per-shard token table). Each training step is one batch of
// 64 split into one shard per thread (md::global_thread_pool), forward_train +
// softmax cross-entropy gradient + backward. "step" rows add what a trainer does
// around it: zero the per-thread gradients, sum them, and a dense Adam update of
// every parameter (spread over the threads) -- an estimate of the whole step.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "textcnn.h"
#include "thread_pool.h"

namespace {

using Clock = std::chrono::steady_clock;

struct Texts {
  std::vector<int32_t> ids;  // [n, 128]
  std::vector<int32_t> lengths;
  std::vector<int32_t> labels;
};

constexpr int kMaxLen = 128;

Texts make_texts(int n, int vocab, bool zipf, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::lognormal_distribution<double> len(std::log(34.0), 1.05);
  // Zipf(1) over ids 1..V-1 through a cumulative table.
  std::vector<double> cdf(vocab, 0.0);
  for (int v = 1; v < vocab; ++v) cdf[v] = cdf[v - 1] + (zipf ? 1.0 / v : 1.0);
  std::uniform_real_distribution<double> uni(0.0, cdf.back());
  Texts t;
  t.ids.assign(static_cast<std::size_t>(n) * kMaxLen, 0);
  for (int i = 0; i < n; ++i) {
    const int L = std::clamp(static_cast<int>(std::lround(len(rng))), 1, kMaxLen);
    t.lengths.push_back(L);
    t.labels.push_back(static_cast<int32_t>(rng() % 2));
    for (int s = 0; s < L; ++s)
      t.ids[static_cast<std::size_t>(i) * kMaxLen + s] =
          static_cast<int32_t>(std::lower_bound(cdf.begin(), cdf.end(), uni(rng)) - cdf.begin());
  }
  return t;
}

// Rows [begin, end) of `t` as a batch padded to its longest text (as PyTorch's reference does).
struct Shard {
  std::vector<int32_t> ids, lengths;
  md::Batch batch;
};
Shard make_shard(const Texts& t, int begin, int end) {
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

double mean_length(const Texts& t) {
  double sum = 0;
  for (int L : t.lengths) sum += L;
  return sum / t.lengths.size();
}

struct TrainResult {
  double fwd_bwd_per_s, step_per_s;
};

TrainResult bench_train(md::TextCnn& model, const Texts& texts, int threads, double seconds) {
  const int B = 64, C = model.num_classes();
  const int n_batches = static_cast<int>(texts.lengths.size()) / B;
  std::vector<Shard> shards;
  for (int b = 0; b < n_batches; ++b)
    for (int s = 0; s < threads; ++s)
      shards.push_back(make_shard(texts, b * B + s * B / threads, b * B + (s + 1) * B / threads));
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
    pool.parallel_for(threads, [&](std::size_t s, int) {
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
    });
  };

  // Adam state for the "whole step" estimate.
  std::vector<md::Parameter*> params = model.parameters();
  std::vector<std::vector<float>> m1, m2;
  for (md::Parameter* p : params) {
    m1.emplace_back(p->value.size(), 0.0f);
    m2.emplace_back(p->value.size(), 0.0f);
  }
  auto optimiser_step = [&] {
    // Per parameter, split into chunks over the threads: sum the shards' gradients,
    // Adam update, zero the gradients for the next step.
    constexpr std::size_t kChunk = 1 << 16;
    for (std::size_t p = 0; p < params.size(); ++p) {
      const std::size_t n = params[p]->value.size();
      const std::size_t chunks = (n + kChunk - 1) / kChunk;
      pool.parallel_for(chunks, [&](std::size_t c, int) {
        float* w = params[p]->value.ptr();
        for (std::size_t i = c * kChunk; i < std::min(n, (c + 1) * kChunk); ++i) {
          float g = 0;
          for (int s = 0; s < threads; ++s) {
            g += grads[s][p].data[i];
            grads[s][p].data[i] = 0.0f;
          }
          m1[p][i] = 0.9f * m1[p][i] + 0.1f * g;
          m2[p][i] = 0.999f * m2[p][i] + 0.001f * g * g;
          w[i] -= 1e-3f * m1[p][i] / (std::sqrt(m2[p][i]) + 1e-8f);
        }
      });
    }
  };

  TrainResult r{};
  for (int pass = 0; pass < 2; ++pass) {
    fwd_bwd(0);  // warm-up
    long examples = 0;
    int b = 0;
    const auto t0 = Clock::now();
    double elapsed = 0;
    while (elapsed < seconds) {
      fwd_bwd(b);
      if (pass == 1) optimiser_step();
      examples += B;
      b = (b + 1) % n_batches;
      elapsed = std::chrono::duration<double>(Clock::now() - t0).count();
    }
    (pass == 0 ? r.fwd_bwd_per_s : r.step_per_s) = examples / elapsed;
  }
  return r;
}

double bench_inference(const md::TextCnn& model, const Texts& texts, int threads, double seconds) {
  const int B = 256, C = model.num_classes();
  const int n_batches = static_cast<int>(texts.lengths.size()) / B;
  std::vector<Shard> shards;
  for (int b = 0; b < n_batches; ++b)
    for (int s = 0; s < threads; ++s)
      shards.push_back(make_shard(texts, b * B + s * B / threads, b * B + (s + 1) * B / threads));
  std::vector<std::vector<float>> logits(threads, std::vector<float>(static_cast<std::size_t>(B) * C));
  md::ThreadPool& pool = md::global_thread_pool();
  auto run = [&](int batch_index) {
    pool.parallel_for(threads, [&](std::size_t s, int) {
      model.forward_fast(shards[static_cast<std::size_t>(batch_index) * threads + s].batch, logits[s].data());
    }, threads);
  };
  run(0);
  long texts_done = 0;
  int b = 0;
  const auto t0 = Clock::now();
  double elapsed = 0;
  while (elapsed < seconds) {
    run(b);
    texts_done += B;
    b = (b + 1) % n_batches;
    elapsed = std::chrono::duration<double>(Clock::now() - t0).count();
  }
  return texts_done / elapsed;
}

}  // namespace

int main(int argc, char** argv) {
  const double seconds = argc > 1 ? std::atof(argv[1]) : 3.0;
  const int threads = argc > 2 ? std::atoi(argv[2]) : 2;
  md::TextCnnConfig config;
  config.vocab_size = argc > 3 ? std::atoi(argv[3]) : 21128;
  const std::string what = argc > 4 ? argv[4] : "all";
  config.num_classes = 2;
  md::TextCnn model(config, 1);

  std::printf("TextCNN V=%d E=%d windows 3/4/5 x %d filters, C=%d\n", config.vocab_size, config.embedding_dim,
              config.filters, config.num_classes);
  for (bool zipf : {true, false}) {
    if (what == "infer") break;
    const Texts texts = make_texts(64 * 64, config.vocab_size, zipf, zipf ? 1 : 2);
    std::printf("tokens %-8s mean length %.1f, %d threads\n", zipf ? "zipf" : "uniform", mean_length(texts), threads);
    const TrainResult tr = bench_train(model, texts, threads, seconds);
    std::printf("  train forward+backward        %9.0f examples/s\n", tr.fwd_bwd_per_s);
    std::printf("  train step (+ grad sum, Adam) %9.0f examples/s\n", tr.step_per_s);
  }

  if (what == "train") return 0;
  const auto t0 = Clock::now();
  model.prepare_inference();
  const double prep = std::chrono::duration<double>(Clock::now() - t0).count();
  std::printf("prepare_inference: %.2f s, table %.0f MB\n", prep, model.inference_table_bytes() / 1e6);
  for (bool zipf : {true, false}) {
    const Texts texts = make_texts(256 * 64, config.vocab_size, zipf, zipf ? 3 : 4);
    std::printf("inference %-8s batch 256: %9.0f texts/s on %d threads, %9.0f on 1\n", zipf ? "zipf" : "uniform",
                bench_inference(model, texts, threads, seconds), threads, bench_inference(model, texts, 1, seconds));
  }
  return 0;
}
