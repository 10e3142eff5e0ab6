// Microbenchmark (not a test, not registered with ctest): TextCNN training and
// fast-inference throughput at the reference sizes (V=21128, E=128, windows
// 3/4/5 x 128 filters, 2 classes, dropout 0.5), on synthetic batches.
//
//   bench_textcnn [seconds_per_case=3] [threads=2] [vocab_size=21128] [train|infer|all]
//
// Token ids Zipf-distributed over the vocabulary (characters of real text repeat;
// the "uniform" rows are the worst case for the per-shard token table). Texts,
// shards and timing loops: student_bench.h.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "student_bench.h"
#include "textcnn.h"

using namespace student_bench;

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
    const Texts texts = make_texts(64 * 64, config.vocab_size, zipf ? Ids::zipf : Ids::uniform, zipf ? 1 : 2);
    std::printf("tokens %-8s mean length %.1f, %d threads\n", zipf ? "zipf" : "uniform", mean_length(texts), threads);
    const TrainThroughput tr = bench_train(model, texts, threads, seconds, 1e-3f);
    std::printf("  train forward+backward        %9.0f examples/s\n", tr.fwd_bwd_per_s);
    std::printf("  train step (+ grad sum, Adam) %9.0f examples/s\n", tr.step_per_s);
  }

  if (what == "train") return 0;
  const auto t0 = Clock::now();
  model.prepare_inference();
  const double prep = std::chrono::duration<double>(Clock::now() - t0).count();
  std::printf("prepare_inference: %.2f s, table %.0f MB\n", prep, model.inference_table_bytes() / 1e6);
  for (bool zipf : {true, false}) {
    const Texts texts = make_texts(256 * 64, config.vocab_size, zipf ? Ids::zipf : Ids::uniform, zipf ? 3 : 4);
    std::printf("inference %-8s batch 256: %9.0f texts/s on %d threads, %9.0f on 1\n", zipf ? "zipf" : "uniform",
                bench_inference(model, texts, threads, seconds), threads, bench_inference(model, texts, 1, seconds));
  }
  return 0;
}
