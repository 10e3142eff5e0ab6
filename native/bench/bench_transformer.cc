// Microbenchmark (not a test, not registered with ctest): the transformer
// teacher at the reference size of torch_baseline.py's TF (4 layers, hidden
// 256, 4 heads, FFN 1024, GELU, post-LN; vocabulary 21128, 2 classes, BERT's
// pooler on), on synthetic batches.
//
//   bench_transformer [seconds_per_case=3] [threads=2] [length=64] [batch=32] [rows=both|forward|train]
//
// Every text has exactly `length` tokens (so the FLOP count is exact); a batch
// is split into one shard per thread (md::global_thread_pool), as the trainer
// and predict_logits do. Rows:
//   forward        forward_fast (inference, no dropout)
//   forward+back   forward_train (dropout 0.1) + backward into per-thread
//                  gradients (zeroed each step, as the trainer does); no
//                  optimiser update, no gradient reduction
// GFLOP/s counts the matrix products only (Transformer::forward_flops; a
// backward is counted as twice its forward: two products per forward product).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "simd.h"
#include "gemm.h"
#include "thread_pool.h"
#include "transformer.h"

namespace {

using Clock = std::chrono::steady_clock;

struct Shard {
  std::vector<int32_t> ids, lengths;
  md::Batch batch;
};

}  // namespace

int main(int argc, char** argv) {
  const double seconds = argc > 1 ? std::atof(argv[1]) : 3.0;
  const int threads = argc > 2 ? std::atoi(argv[2]) : 2;
  const int length = argc > 3 ? std::atoi(argv[3]) : 64;
  const int batch = argc > 4 ? std::atoi(argv[4]) : 32;
  const std::string rows = argc > 5 ? argv[5] : "both";  // forward | train | both (e.g. to profile one of them)

  md::TransformerConfig c;
  c.vocab_size = 21128;
  c.num_classes = 2;
  md::Transformer model(c, 1);
  const int C = c.num_classes;

  std::mt19937_64 rng(7);
  std::vector<Shard> shards(threads);
  for (int s = 0; s < threads; ++s) {
    const int rows = batch * (s + 1) / threads - batch * s / threads;
    Shard& sh = shards[s];
    sh.lengths.assign(rows, length);
    sh.ids.resize(static_cast<std::size_t>(rows) * length);
    for (std::size_t i = 0; i < sh.ids.size(); ++i) sh.ids[i] = i % length == 0 ? 2 : 5 + static_cast<int32_t>(rng() % (c.vocab_size - 5));
    sh.batch = {sh.ids.data(), sh.lengths.data(), rows, length};
  }
  std::vector<int32_t> all_lengths(batch, length);
  const double flops_forward = model.forward_flops(all_lengths.data(), batch);
  const double tokens = static_cast<double>(batch) * length;

  md::ThreadPool& pool = md::global_thread_pool();
  std::vector<std::vector<float>> logits(threads), dlogits(threads);
  std::vector<std::unique_ptr<md::TrainContext>> ctx;
  std::vector<md::Gradients> grads;
  for (int s = 0; s < threads; ++s) {
    logits[s].resize(static_cast<std::size_t>(shards[s].batch.batch) * C);
    dlogits[s].assign(logits[s].size(), 0.01f);
    ctx.push_back(model.make_context());
    grads.push_back(model.make_gradients());
  }

  auto run = [&](const char* name, double flop_factor, const std::function<void(int)>& shard_step) {
    auto step = [&] { pool.parallel_for(threads, [&](std::size_t s, int) { shard_step(static_cast<int>(s)); }, threads); };
    step();  // warm-up: buffers sized, pages touched
    int steps = 0;
    const auto t0 = Clock::now();
    double elapsed = 0;
    while (elapsed < seconds) {
      step();
      ++steps;
      elapsed = std::chrono::duration<double>(Clock::now() - t0).count();
    }
    const double per_step = elapsed / steps;
    const double gflops = flops_forward * flop_factor / per_step * 1e-9;
    std::printf("%-14s %8.0f tokens/s  %7.1f texts/s  %6.1f ms/batch  %6.1f GFLOP/s  (%4.1f per thread)  %d steps\n", name,
                tokens / per_step, batch / per_step, per_step * 1e3, gflops, gflops / threads, steps);
  };

  std::printf("transformer L=%d H=%d A=%d I=%d V=%d, batch %d x %d tokens, %d threads (pool size %d), gemm %s\n",
              c.layers, c.hidden, c.heads, c.intermediate, c.vocab_size, batch, length, threads, pool.size(),
              md::simd_level_name(md::simd_default_level()));
  std::printf("forward matmul FLOPs per batch: %.3f G\n", flops_forward * 1e-9);
  if (rows != "train") run("forward", 1.0, [&](int s) { model.forward_fast(shards[s].batch, logits[s].data()); });
  if (rows != "forward") run("forward+back", 3.0, [&](int s) {
    for (md::Tensor& g : grads[s]) g.zero();
    md::Rng r(static_cast<uint64_t>(s) + 1);
    model.forward_train(*ctx[s], shards[s].batch, r, logits[s].data());
    model.backward(*ctx[s], shards[s].batch, dlogits[s].data(), grads[s]);
  });
  return 0;
}
