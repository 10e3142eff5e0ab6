// Microbenchmark (not a test, not registered with ctest): the stages of WordPieceTokenizer's
// batch path on one thread, without N-API, so the per-stage cost is not hidden by the machine's
// other jobs or the JS side (bench/tokenizer.ts measures the whole call from Node).
//
//   bench_tokenizer VOCAB.txt TEXTS.txt [rounds=5]
//
// TEXTS: one text a line (a train.tsv works: the label after the tab is tokenized too). Prints
// the best thread CPU time of each stage and MB/s of UTF-8 input.
#include <algorithm>
#include <ctime>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "unicode.h"
#include "wordpiece_tokenizer.h"

namespace {

std::vector<std::string> read_lines(const char* path) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) lines.push_back(line);
  return lines;
}

// CPU time of this thread (the batch calls run with threads = 1, on the calling thread): on a
// shared machine, steadier than wall time.
double thread_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

template <class F>
double best_of(int rounds, F&& f) {
  double best = 1e30;
  for (int r = 0; r < rounds; ++r) {
    const double t0 = thread_seconds();
    f();
    best = std::min(best, thread_seconds() - t0);
  }
  return best;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: bench_tokenizer VOCAB.txt TEXTS.txt [rounds]\n");
    return 2;
  }
  const int rounds = argc > 3 ? std::atoi(argv[3]) : 5;
  md::WordPieceTokenizer tokenizer(read_lines(argv[1]));
  const std::vector<std::string> texts = read_lines(argv[2]);
  std::u16string joined;
  std::vector<std::uint32_t> offsets{0};
  std::size_t bytes = 0;
  for (const std::string& text : texts) {
    bytes += text.size();
    const auto* p = reinterpret_cast<const unsigned char*>(text.data());
    const auto* end = p + text.size();
    while (p < end) {
      bool bad = false;
      const char32_t cp = md::unicode::decode_utf8(p, end, &bad);
      if (cp >= 0x10000) {
        joined.push_back(static_cast<char16_t>(0xD800 + ((cp - 0x10000) >> 10)));
        joined.push_back(static_cast<char16_t>(0xDC00 + ((cp - 0x10000) & 0x3FF)));
      } else {
        joined.push_back(static_cast<char16_t>(cp));
      }
    }
    offsets.push_back(static_cast<std::uint32_t>(joined.size()));
  }
  const std::size_t n = texts.size();
  md::BatchEncodeOptions options;
  std::vector<std::int32_t> ids(n * options.max_length), lengths(n);
  using Stage = md::WordPieceTokenizer::ProfileStage;
  std::uint64_t sink = 0;
  const auto report = [&](const char* name, double s) {
    std::printf("%-36s %8.2f ms %8.0f MB/s\n", name, s * 1e3, bytes / 1e6 / s);
  };
  std::printf("%zu texts, %.2f MB UTF-8, 1 thread, thread CPU time, best of %d\n", n, bytes / 1e6, rounds);
  report("copy UTF-16 (memcpy)", best_of(rounds, [&] {
           std::u16string copy(joined);
           sink += copy.size();
         }));
  report("decode code points", best_of(rounds, [&] { sink += tokenizer.profile_utf16(joined.data(), offsets.data(), n, Stage::decode, 1); }));
  report("+ normalise", best_of(rounds, [&] { sink += tokenizer.profile_utf16(joined.data(), offsets.data(), n, Stage::normalize, 1); }));
  report("fill output with [PAD] only", best_of(rounds, [&] {
           std::fill(ids.begin(), ids.end(), 0);
           sink += ids[7];
         }));
  report("encode_batch_utf16 (direct)", best_of(rounds, [&] {
           tokenizer.encode_batch_utf16(joined.data(), offsets.data(), n, options, ids.data(), lengths.data(), 1);
           sink += lengths[0];
         }));
  report("before: UTF-16 -> UTF-8 per text", best_of(rounds, [&] { sink += tokenizer.profile_utf16(joined.data(), offsets.data(), n, Stage::to_utf8, 1); }));
  report("before: encode_batch_utf16_via_utf8", best_of(rounds, [&] {
           tokenizer.encode_batch_utf16_via_utf8(joined.data(), offsets.data(), n, options, ids.data(), lengths.data(), 1);
           sink += lengths[0];
         }));
  return sink == 42 ? 1 : 0;
}
