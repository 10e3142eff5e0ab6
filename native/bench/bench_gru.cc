// Microbenchmark (not a test, not registered with ctest): GRU training and
// fast-inference throughput at the reference sizes (E=128, H=128, 2 classes,
// dropout 0.5, as torch_baseline.py's GRU), on synthetic batches.
//
//   bench_gru [seconds_per_case=3] [threads=2] [vocab_size=21128] [train|infer|all] [bi]
//
// Token ids uniform over the vocabulary (the GRU's cost does not depend on which
// ids occur). Inference: batches of 256 split over the threads, and batch-1
// latency. Texts, shards and timing loops: student_bench.h.
#include <cstdio>
#include <cstdlib>
#include <string>

#include "gru.h"
#include "student_bench.h"

using namespace student_bench;

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
    const Texts texts = make_texts(64 * 64, config.vocab_size, Ids::uniform, 1);
    std::printf("training batches of 64, mean length %.1f\n", mean_length(texts));
    for (int t : {threads, 1}) {
      const TrainThroughput tr = bench_train(model, texts, t, seconds, 2e-3f);
      std::printf("  %d thread(s): forward+backward %8.0f examples/s, step (+ grad sum, Adam) %8.0f examples/s\n", t,
                  tr.fwd_bwd_per_s, tr.step_per_s);
      if (threads == 1) break;
    }
  }
  if (what == "train") return 0;
  const auto t0 = Clock::now();
  model.prepare_inference();
  std::printf("prepare_inference: %.3f s\n", seconds_since(t0));
  const Texts texts = make_texts(256 * 32, config.vocab_size, Ids::uniform, 2);
  std::printf("inference batch 256: %9.0f texts/s on %d threads, %9.0f on 1\n",
              bench_inference(model, texts, threads, seconds), threads, bench_inference(model, texts, 1, seconds));
  bench_latency(model, texts, seconds);
  return 0;
}
