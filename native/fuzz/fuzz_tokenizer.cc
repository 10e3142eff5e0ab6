// libFuzzer harness: WordPiece tokenisation (native/core/wordpiece_tokenizer.cc + unicode.cc) of
// arbitrary bytes (invalid UTF-8 included) with a fixed small vocab, one text and a batch.
// Every id must be inside the vocab; lengths must fit max_length.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "wordpiece_tokenizer.h"

namespace {

const md::WordPieceTokenizer& tokenizer() {
  static const md::WordPieceTokenizer instance(
      {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "a", "b", "##a", "##b", "ab", "中", "文", "##文", "é", "##s", "the", "!"});
  return instance;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  const md::WordPieceTokenizer& t = tokenizer();
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  for (std::int32_t id : t.encode(text, true))
    if (id < 0 || static_cast<std::size_t>(id) >= t.vocab_size()) __builtin_trap();
  (void)t.tokenize(text);

  // The same bytes as a batch of up to 4 texts split at arbitrary points.
  std::vector<std::string_view> texts;
  for (std::size_t from = 0, i = 0; i < 4; ++i) {
    const std::size_t to = i == 3 ? size : std::min(size, from + (size / 4) + (i % 2));
    texts.push_back(text.substr(from, to - from));
    from = to;
  }
  md::BatchEncodeOptions options;
  options.max_length = 8;
  std::vector<std::int32_t> ids(texts.size() * options.max_length), lengths(texts.size());
  t.encode_batch(texts.data(), texts.size(), options, ids.data(), lengths.data(), 1);
  for (std::size_t i = 0; i < texts.size(); ++i)
    if (lengths[i] < 0 || lengths[i] > options.max_length) __builtin_trap();
  return 0;
}
