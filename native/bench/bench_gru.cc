// Microbenchmark (not a test, not registered with ctest): GRU training and
// fast-inference throughput at the reference sizes (E=128, H=128, 2 classes,
// dropout 0.5, as torch_baseline.py's GRU), on synthetic batches.
//
//   bench_gru [seconds_per_case=3] [threads=2] [vocab_size=21128] [train|infer|all] [bi]
//
// Texts: lengths log-normal with median 34 (sigma 1.05: mean ~48 and ~10% at
// the 128-token cap, like shopsenti's reviews truncated to 128 characters);
// token ids uniform over the vocabulary (the GRU's cost does not depend on
// which ids occur). A training step is one batch of 64 split into one shard
// per thread (md::global_thread_pool), forward_train + softmax cross-entropy
// gradient + backward; each shard is padded to its own longest text. The
// "step" row adds what a trainer does around it: sum the per-thread gradients,
// zero them, and a dense Adam update of every parameter (spread over the
// threads) -- an estimate of a whole step, not the trainer's code.
// Inference: batches of 256 split over the threads, and batch-1 latency.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "gru.h"
#include "thread_pool.h"

namespace {

using Clock = std::chrono::steady_clock;
constexpr int kMaxLen = 128;

struct Texts {
  std::vector<int32_t> ids;  // [n, kMaxLen]
  std::vector<int32_t> lengths;
  std::vector<int32_t> labels;
};

Texts make_texts(int n, int vocab, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::lognormal_distribution<double> len(std::log(34.0), 1.05);
  Texts t;
  t.ids.assign(static_cast<std::size_t>(n) * kMaxLen, 0);
  for (int i = 0; i < n; ++i) {
    const int L = std::clamp(static_cast<int>(std::lround(len(rng))), 1, kMaxLen);
    t.lengths.push_back(L);
    t.labels.push_back(static_cast<int32_t>(rng() % 2));
    for (int s = 0; s < L; ++s)
      t.ids[static_cast<std::size_t>(i) * kMaxLen + s] = 1 + static_cast<int32_t>(rng() % (vocab - 1));
  }
  return t;
}

// Rows [begin, end) as a batch padded to its longest text.
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
  s.batch = {s.ids.data(), s.lengths.data(), end - begin, longest};
  return s;
}

std::vector<Shard> make_shards(const Texts& t, int batch_size, int threads) {
  std::vector<Shard> shards;
  const int n_batches = static_cast<int>(t.lengths.size()) / batch_size;
  for (int b = 0; b < n_batches; ++b)
    for (int s = 0; s < threads; ++s)
      shards.push_back(make_shard(t, b * batch_size + s * batch_size / threads, b * batch_size + (s + 1) * batch_size / threads));
  return shards;
}

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

struct TrainResult {
  double fwd_bwd_per_s = 0, step_per_s = 0;
};

TrainResult bench_train(md::Gru& model, const Texts& texts, int threads, double seconds) {
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
        const int label = sh.batch.ids[0] % C;
        for (int c = 0; c < C; ++c)
          dl[static_cast<std::size_t>(i) * C + c] = static_cast<float>((std::exp(x[c] - m) / z - (c == label)) / B);
      }
      model.backward(*ctx[s], sh.batch, dl.data(), grads[s]);
    }, threads);
  };

  std::vector<md::Parameter*> params = model.parameters();
  std::vector<std::vector<float>> m1, m2;
  for (md::Parameter* p : params) {
    m1.emplace_back(p->value.size(), 0.0f);
    m2.emplace_back(p->value.size(), 0.0f);
  }
  auto optimiser_step = [&] {
    constexpr std::size_t kChunk = 1 << 16;
    for (std::size_t p = 0; p < params.size(); ++p) {
      const std::size_t n = params[p]->value.size();
      pool.parallel_for((n + kChunk - 1) / kChunk, [&](std::size_t c, int) {
        float* w = params[p]->value.ptr();
        for (std::size_t i = c * kChunk; i < std::min(n, (c + 1) * kChunk); ++i) {
          float g = 0;
          for (int s = 0; s < threads; ++s) {
            g += grads[s][p].data[i];
            grads[s][p].data[i] = 0.0f;
          }
          m1[p][i] = 0.9f * m1[p][i] + 0.1f * g;
          m2[p][i] = 0.999f * m2[p][i] + 0.001f * g * g;
          w[i] -= 2e-3f * m1[p][i] / (std::sqrt(m2[p][i]) + 1e-8f);
        }
      }, threads);
    }
  };

  TrainResult r;
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

double bench_inference(const md::Gru& model, const Texts& texts, int threads, double seconds) {
  const int B = 256, C = model.num_classes();
  const std::vector<Shard> shards = make_shards(texts, B, threads);
  const int n_batches = static_cast<int>(shards.size()) / threads;
  std::vector<std::vector<float>> logits(threads, std::vector<float>(static_cast<std::size_t>(B) * C));
  md::ThreadPool& pool = md::global_thread_pool();
  auto run = [&](int batch_index) {
    pool.parallel_for(threads, [&](std::size_t s, int) {
      model.forward_fast(shards[static_cast<std::size_t>(batch_index) * threads + s].batch, logits[s].data());
    }, threads);
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

// Batch-1 latency percentiles over single texts (one thread, the calling one).
void bench_latency(const md::Gru& model, const Texts& texts, double seconds) {
  std::vector<double> us;
  float logits[16];
  int i = 0;
  const auto t0 = Clock::now();
  while (seconds_since(t0) < seconds) {
    const Shard one = make_shard(texts, i, i + 1);
    const auto s = Clock::now();
    model.forward_fast(one.batch, logits);
    us.push_back(seconds_since(s) * 1e6);
    i = (i + 1) % static_cast<int>(texts.lengths.size());
  }
  std::sort(us.begin(), us.end());
  std::printf("inference batch 1: p50 %.1f us, p99 %.1f us (%zu calls)\n", us[us.size() / 2],
              us[us.size() * 99 / 100], us.size());
}

}  // namespace

int main(int argc, char** argv) {
  const double seconds = argc > 1 ? std::atof(argv[1]) : 3.0;
  const int threads = argc > 2 ? std::atoi(argv[2]) : 2;
  md::GruConfig config;
  config.vocab_size = argc > 3 ? std::atoi(argv[3]) : 21128;
  const std::string what = argc > 4 ? argv[4] : "all";
  config.bidirectional = argc > 5 && std::string(argv[5]) == "bi";
  config.num_classes = 2;
  md::Gru model(config, 1);

  std::printf("GRU V=%d E=%d H=%d%s, C=%d, dropout %.1f\n", config.vocab_size, config.embedding_dim, config.hidden,
              config.bidirectional ? " bidirectional" : "", config.num_classes, config.dropout);
  if (what != "infer") {
    const Texts texts = make_texts(64 * 64, config.vocab_size, 1);
    double mean = 0;
    for (int L : texts.lengths) mean += L;
    std::printf("training batches of 64, mean length %.1f\n", mean / texts.lengths.size());
    for (int t : {threads, 1}) {
      const TrainResult tr = bench_train(model, texts, t, seconds);
      std::printf("  %d thread(s): forward+backward %8.0f examples/s, step (+ grad sum, Adam) %8.0f examples/s\n", t,
                  tr.fwd_bwd_per_s, tr.step_per_s);
      if (threads == 1) break;
    }
  }
  if (what == "train") return 0;
  const auto t0 = Clock::now();
  model.prepare_inference();
  std::printf("prepare_inference: %.3f s\n", seconds_since(t0));
  const Texts texts = make_texts(256 * 32, config.vocab_size, 2);
  std::printf("inference batch 256: %9.0f texts/s on %d threads, %9.0f on 1\n",
              bench_inference(model, texts, threads, seconds), threads, bench_inference(model, texts, 1, seconds));
  bench_latency(model, texts, seconds);
  return 0;
}
