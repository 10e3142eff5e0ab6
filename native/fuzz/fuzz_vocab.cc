// libFuzzer harness: building a WordPieceTokenizer from an arbitrary vocab.txt (one token a line,
// as lib/vocab.ts hands the lines to the addon). Duplicate, empty or missing-[UNK] vocabs must be
// rejected with std::invalid_argument; an accepted vocab must tokenise its own tokens.
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "wordpiece_tokenizer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  std::vector<std::string> lines;
  std::string line;
  for (std::size_t i = 0; i < size; ++i) {
    if (data[i] == '\n') {
      lines.push_back(line);
      line.clear();
    } else {
      line.push_back(static_cast<char>(data[i]));
    }
  }
  if (!line.empty()) lines.push_back(line);
  const std::string all(reinterpret_cast<const char*>(data), size);
  for (bool lowercase : {true, false}) {
    md::WordPieceOptions options;
    options.lowercase = lowercase;
    try {
      md::WordPieceTokenizer tokenizer(lines, options);
      for (std::int32_t id : tokenizer.encode(all, false))
        if (id < 0 || static_cast<std::size_t>(id) >= tokenizer.vocab_size()) __builtin_trap();
    } catch (const std::invalid_argument&) {
      // a bad vocab, reported with a message
    }
  }
  return 0;
}
