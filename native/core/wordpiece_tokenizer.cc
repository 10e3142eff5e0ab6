#include "wordpiece_tokenizer.h"

#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <type_traits>

#include "thread_pool.h"
#include "unicode.h"

namespace md {


namespace {

const char* const kUnk = "[UNK]";
const char* const kPad = "[PAD]";
const char* const kCls = "[CLS]";
const char* const kSep = "[SEP]";
const char* const kMask = "[MASK]";
const char* const kContinuationPrefix = "##";

// Where encode() puts ids: grows without limit.
struct VectorSink {
  std::vector<std::int32_t>& out;
  bool full() const { return false; }
  void push(std::int32_t id) { out.push_back(id); }
};

// Where encode_batch() puts ids: one row of the result, stops at its capacity (truncation), which
// also lets the tokenizer skip the rest of a long text.
struct RowSink {
  std::int32_t* data;
  std::size_t capacity;
  std::size_t size = 0;
  bool full() const { return size >= capacity; }
  void push(std::int32_t id) {
    if (size < capacity) data[size++] = id;
  }
};

// Trie nodes number at most the vocabulary's bytes + 1, which the constructor keeps under 2^24,
// so a key fits 32 bits.
std::uint32_t edge_key(std::int32_t node, unsigned char byte) {
  return ((static_cast<std::uint32_t>(node) << 8) | byte) + 1;  // +1: key 0 marks an empty slot
}
const unsigned char* as_units(std::string_view utf8) { return reinterpret_cast<const unsigned char*>(utf8.data()); }

std::uint64_t edge_hash(std::uint64_t key) { return (key * 0x9E3779B97F4A7C15ull) >> 24; }

// The next code point of a text, in either encoding. Invalid UTF-8 and lone surrogates become
// U+FFFD (N-API hands a JS string with a lone surrogate over as U+FFFD too), which cleaning drops.
inline char32_t next_code_point(const unsigned char*& p, const unsigned char* end) {
  bool invalid = false;
  return unicode::decode_utf8(p, end, &invalid);
}
inline char32_t next_code_point(const char16_t*& p, const char16_t* end) {
  const char32_t u = *p++;
  if (u < 0xD800 || u > 0xDFFF) return u;
  if (u <= 0xDBFF && p < end && *p >= 0xDC00 && *p <= 0xDFFF) return 0x10000 + ((u - 0xD800) << 10) + (*p++ - 0xDC00);
  return 0xFFFD;
}

// Whether the units at p spell the ASCII `text` (specials are ASCII).
template <class Unit>
inline bool starts_with_ascii(const Unit* p, const Unit* end, const std::string& text) {
  if (static_cast<std::size_t>(end - p) < text.size()) return false;
  for (std::size_t i = 0; i < text.size(); ++i)
    if (p[i] != static_cast<unsigned char>(text[i])) return false;
  return true;
}

}  // namespace

struct WordPieceTokenizer::Scratch {
  std::string word;                  // UTF-8 bytes of the normalized word being built
  std::size_t word_chars = 0;        // its length in code points (the 100-character rule)
  std::vector<std::int32_t> pieces;  // pieces of the word, held back until the word proves good
  std::string utf8;                  // a UTF-16 text converted for encode_batch_utf16
};

WordPieceTokenizer::WordPieceTokenizer(std::vector<std::string> vocab, WordPieceOptions options)
    : options_(options), vocab_(std::move(vocab)), bmp_classes_(unicode::detail::bmp_classes()) {
  if (vocab_.size() >= static_cast<std::size_t>(INT32_MAX)) throw std::invalid_argument("vocabulary too large");
  std::size_t total_bytes = 0;
  for (const std::string& token : vocab_) total_bytes += token.size();
  if (total_bytes >= kMaxVocabBytes) {
    throw std::invalid_argument("vocabulary too large: its tokens hold " + std::to_string(total_bytes) +
                                " bytes, at most " + std::to_string(kMaxVocabBytes - 1) + " are supported");
  }

  // Trie: at most one node per vocabulary byte, so an edge table of twice that never fills.
  std::size_t capacity = 16;
  while (capacity < 2 * total_bytes + 16) capacity *= 2;
  edges_.assign(capacity, Edge{0, -1});
  edge_mask_ = capacity - 1;
  std::fill(std::begin(root_children_), std::end(root_children_), -1);
  terminal_id_.reserve(total_bytes + 1);
  terminal_id_.push_back(-1);  // the root
  for (std::size_t id = 0; id < vocab_.size(); ++id) add_to_trie(vocab_[id], static_cast<std::int32_t>(id));
  shrink_edge_table();
  terminal_id_.shrink_to_fit();
  unk_id_ = token_to_id(kUnk);
  if (unk_id_ < 0) throw std::invalid_argument("vocabulary has no [UNK] token; WordPiece needs it");
  pad_id_ = token_to_id(kPad);
  cls_id_ = token_to_id(kCls);
  sep_id_ = token_to_id(kSep);
  mask_id_ = token_to_id(kMask);
  continuation_root_ = 0;
  for (const char* c = kContinuationPrefix; *c != '\0' && continuation_root_ >= 0; ++c) {
    continuation_root_ = child(continuation_root_, static_cast<unsigned char>(*c));
  }

  for (std::size_t id = 0; id < vocab_.size(); ++id) {
    const std::string& token = vocab_[id];
    if (token.empty()) continue;
    const auto* p = reinterpret_cast<const unsigned char*>(token.data());
    const auto* end = p + token.size();
    bool invalid = false;
    const char32_t cp = unicode::decode_utf8(p, end, &invalid);
    if (p == end && !invalid && cp < 0x10000)
      single_char_ids_.emplace_back(static_cast<char16_t>(cp), static_cast<std::int32_t>(id));
  }
  // Sorted by code point. Each code point appears once: a token is one valid UTF-8 spelling (the
  // decoder refuses overlong forms) and add_to_trie refuses a token listed twice.
  std::sort(single_char_ids_.begin(), single_char_ids_.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });

  bmp_action_.assign(0x10000, kActionGeneral);
  for (char32_t cp = 0x80; cp < 0x10000; ++cp) {
    if (cp >= 0xD800 && cp <= 0xDFFF) continue;  // surrogates: decoded (paired or U+FFFD) first
    const std::uint8_t cls = classify(cp);
    const bool folds = options_.lowercase && (cls & unicode::kFolds);
    std::uint16_t& action = bmp_action_[cp];
    if (cls & unicode::kDrop) {
      action = kActionDrop;
    } else if (cls & unicode::kWhitespace) {
      action = kActionSpace;
    } else if (!folds && (cls & (unicode::kCjk | unicode::kPunctuation))) {
      const std::int32_t single = single_char_id(cp);
      const std::int32_t id = single >= 0 ? single : unk_id_;
      if (id < kActionSpace) action = static_cast<std::uint16_t>(id);  // else: the general path
    }
  }

  // ASCII fast path, derived from the same tables as everything else.
  for (int b = 0; b < 128; ++b) {
    const std::uint8_t cls = unicode::char_class(static_cast<char32_t>(b));
    ascii_class_[b] = cls & (unicode::kDrop | unicode::kWhitespace | unicode::kPunctuation);
    char32_t folded[unicode::kMaxFold];
    const bool fold = options_.lowercase && (cls & unicode::kFolds);
    ascii_fold_[b] = static_cast<unsigned char>(fold && unicode::fold(static_cast<char32_t>(b), folded) == 1 ? folded[0] : b);
  }

  for (const char* special : {kPad, kUnk, kCls, kSep, kMask}) {
    const std::int32_t id = token_to_id(special);
    if (id >= 0) specials_.push_back({special, id});
  }
  std::stable_sort(specials_.begin(), specials_.end(),
                   [](const Special& a, const Special& b) { return a.text.size() > b.text.size(); });
  if (!specials_.empty()) {
    special_first_byte_ = static_cast<unsigned char>(specials_[0].text[0]);
    for (const Special& s : specials_) {
      if (static_cast<unsigned char>(s.text[0]) != special_first_byte_) special_first_byte_ = -1;
    }
  }
}

std::int32_t WordPieceTokenizer::single_char_id(char32_t cp) const {
  const auto it = std::lower_bound(single_char_ids_.begin(), single_char_ids_.end(), cp,
                                   [](const std::pair<char16_t, std::int32_t>& e, char32_t c) { return e.first < c; });
  return it != single_char_ids_.end() && it->first == cp ? it->second : -1;
}

std::int32_t WordPieceTokenizer::token_to_id(std::string_view token) const {
  std::int32_t node = 0;
  for (unsigned char byte : token) {
    node = child(node, byte);
    if (node < 0) return -1;
  }
  return terminal_id_[static_cast<std::size_t>(node)];
}

std::int32_t WordPieceTokenizer::child(std::int32_t node, unsigned char byte) const {
  if (node == 0) return root_children_[byte];
  const std::uint32_t key = edge_key(node, byte);
  for (std::uint64_t slot = edge_hash(key) & edge_mask_;; slot = (slot + 1) & edge_mask_) {
    const Edge& e = edges_[slot];
    if (e.key == key) return e.child;
    if (e.key == 0) return -1;
  }
}

void WordPieceTokenizer::insert_edge(std::int32_t node, unsigned char byte, std::int32_t to) {
  if (node == 0) {
    root_children_[byte] = to;
    return;
  }
  place_edge(Edge{edge_key(node, byte), to});
  ++edge_count_;
}

void WordPieceTokenizer::place_edge(const Edge& edge) {
  std::uint64_t slot = edge_hash(edge.key) & edge_mask_;
  while (edges_[slot].key != 0) slot = (slot + 1) & edge_mask_;
  edges_[slot] = edge;
}

void WordPieceTokenizer::shrink_edge_table() {
  std::size_t capacity = 16;
  while (capacity < 2 * edge_count_ + 16) capacity *= 2;
  if (capacity >= edges_.size()) return;
  std::vector<Edge> old = std::move(edges_);
  edges_.assign(capacity, Edge{0, -1});
  edge_mask_ = capacity - 1;
  for (const Edge& e : old) {
    if (e.key != 0) place_edge(e);
  }
}

void WordPieceTokenizer::add_to_trie(const std::string& token, std::int32_t id) {
  std::int32_t node = 0;
  for (unsigned char byte : token) {
    std::int32_t next = child(node, byte);
    if (next < 0) {
      next = static_cast<std::int32_t>(terminal_id_.size());
      terminal_id_.push_back(-1);
      insert_edge(node, byte, next);
    }
    node = next;
  }
  // The trie holds every token, so it also finds a token listed twice.
  const std::int32_t earlier = terminal_id_[static_cast<std::size_t>(node)];
  if (earlier >= 0) {
    throw std::invalid_argument("duplicate token \"" + token + "\" at ids " + std::to_string(earlier) + " and " +
                                std::to_string(id));
  }
  terminal_id_[static_cast<std::size_t>(node)] = id;
}

// ---- the pipeline -----------------------------------------------------------------------

template <class Sink>
inline void WordPieceTokenizer::flush_word(Scratch& s, Sink& sink) const {
  // Called after every CJK character and space: the common empty case must stay inline.
  if (!s.word.empty()) spell_word(s, sink);
}

template <class Sink>
void WordPieceTokenizer::spell_word(Scratch& s, Sink& sink) const {
  if (s.word_chars > kMaxCharsPerWord) {
    sink.push(unk_id_);
  } else {
    // Greedy longest-match-first. Tokens are whole UTF-8 strings, so a match always ends on a
    // code point boundary of the word.
    const auto* w = reinterpret_cast<const unsigned char*>(s.word.data());
    const std::size_t n = s.word.size();
    s.pieces.clear();
    bool bad = false;
    for (std::size_t start = 0; start < n;) {
      std::int32_t node = start == 0 ? 0 : continuation_root_;
      std::int32_t best_id = -1;
      std::size_t best_end = start;
      for (std::size_t i = start; i < n && node >= 0; ++i) {
        node = child(node, w[i]);
        if (node >= 0 && terminal_id_[static_cast<std::size_t>(node)] >= 0) {
          best_id = terminal_id_[static_cast<std::size_t>(node)];
          best_end = i + 1;
        }
      }
      if (best_id < 0) {
        bad = true;
        break;
      }
      s.pieces.push_back(best_id);
      start = best_end;
    }
    if (bad) {
      sink.push(unk_id_);
    } else {
      for (std::int32_t id : s.pieces) sink.push(id);
    }
  }
  s.word.clear();
  s.word_chars = 0;
}

// A word made of one code point: its token, or [UNK] (no shorter piece can match part of a
// code point).
template <class Sink>
void WordPieceTokenizer::emit_single_char(char32_t cp, Scratch& s, Sink& sink) const {
  if (cp < 0x10000) {
    const std::int32_t id = single_char_id(cp);
    sink.push(id >= 0 ? id : unk_id_);
    return;
  }
  unicode::append_utf8(s.word, cp);
  s.word_chars = 1;
  spell_word(s, sink);
}

// A code point after normalization: judged by the pre-tokenizer.
template <class Sink>
void WordPieceTokenizer::emit_normalized_char(char32_t cp, Scratch& s, Sink& sink) const {
  const std::uint8_t cls = classify(cp);
  if (cls & unicode::kWhitespace) {
    flush_word(s, sink);
  } else if (cls & unicode::kPunctuation) {
    flush_word(s, sink);
    emit_single_char(cp, s, sink);
  } else {
    unicode::append_utf8(s.word, cp);
    ++s.word_chars;
  }
}

// Text with no special token in it: clean, normalize, pre-tokenize and WordPiece in one pass.
template <class Unit, class Sink>
void WordPieceTokenizer::encode_segment(const Unit* p, const Unit* end, Scratch& s, Sink& sink) const {
  const std::uint16_t* action_of = bmp_action_.data();
  const Special* const specials_begin = specials_.data();
  const Special* const specials_end = specials_begin + specials_.size();
  while (p < end) {
    if (sink.full()) break;  // truncated: the rest cannot show
    const std::uint32_t unit = *p;
    if (unit < 0x80) {  // ASCII fast path
      if (static_cast<int>(unit) == special_first_byte_) {  // a special token here? (see encode_text)
        const Special* match = specials_begin;
        while (match != specials_end && !starts_with_ascii(p, end, match->text)) ++match;
        if (match != specials_end) {
          flush_word(s, sink);
          if (sink.full()) break;
          sink.push(match->id);
          p += match->text.size();
          continue;
        }
      }
      ++p;
      const std::uint8_t cls = ascii_class_[unit];
      if (cls == 0) {
        s.word.push_back(static_cast<char>(ascii_fold_[unit]));
        ++s.word_chars;
      } else if (cls & unicode::kDrop) {
        // removed by cleaning
      } else if (cls & unicode::kWhitespace) {
        flush_word(s, sink);
      } else {  // punctuation
        flush_word(s, sink);
        emit_single_char(unit, s, sink);
      }
      continue;
    }
    const char32_t cp = next_code_point(p, end);
    if (cp < 0x10000) {  // the per-character decision, precomputed (bmp_action_)
      const std::uint16_t action = action_of[cp];
      if (action < kActionSpace) {
        flush_word(s, sink);
        sink.push(action);
        if constexpr (std::is_same_v<Unit, char16_t>) {
          // The rest of a run of such characters (most of a Chinese text): no word is open and
          // every special token starts with '[', so each is one load and one push.
          while (p < end && !sink.full()) {
            const std::uint32_t next = *p;
            if (next < 0x80 || (next >= 0xD800 && next <= 0xDFFF)) break;  // ASCII, or a surrogate
            const std::uint16_t next_action = action_of[next];
            if (next_action >= kActionSpace) break;
            sink.push(next_action);
            ++p;
          }
        }
        continue;
      }
      if (action == kActionDrop) continue;
      if (action == kActionSpace) {
        flush_word(s, sink);
        continue;
      }
    }
    encode_code_point(cp, s, sink);
  }
  flush_word(s, sink);
}

// The general path for one (non-ASCII) code point: letters, folding characters, astral planes.
template <class Sink>
void WordPieceTokenizer::encode_code_point(char32_t cp, Scratch& s, Sink& sink) const {
  const std::uint8_t cls = classify(cp);
  if (cls & unicode::kDrop) return;
  if (cls & unicode::kWhitespace) {
    flush_word(s, sink);
    return;
  }
  const bool folds = options_.lowercase && (cls & unicode::kFolds);
  if (cls & unicode::kCjk) {  // a word of its own
    flush_word(s, sink);
    if (!folds) {
      emit_single_char(cp, s, sink);
      return;
    }
    char32_t folded[unicode::kMaxFold];
    const std::size_t count = unicode::fold(cp, folded);
    for (std::size_t i = 0; i < count; ++i) emit_normalized_char(folded[i], s, sink);
    flush_word(s, sink);
    return;
  }
  if (folds) {
    char32_t folded[unicode::kMaxFold];
    const std::size_t count = unicode::fold(cp, folded);
    for (std::size_t i = 0; i < count; ++i) emit_normalized_char(folded[i], s, sink);
    return;
  }
  if (cls & unicode::kPunctuation) {
    flush_word(s, sink);
    emit_single_char(cp, s, sink);
    return;
  }
  unicode::append_utf8(s.word, cp);
  ++s.word_chars;
}

template <class Unit, class Sink>
void WordPieceTokenizer::encode_text(const Unit* p, const Unit* end, Scratch& s, Sink& sink) const {
  s.word.clear();
  s.word_chars = 0;
  if (specials_.empty() || special_first_byte_ >= 0) {
    // No specials, or all start with one byte: encode_segment matches them as it goes (one pass).
    encode_segment(p, end, s, sink);
    return;
  }
  // Specials are matched in the raw text, leftmost first, longest first at one position.
  const Unit* segment = p;
  const Unit* scan = p;
  while (scan < end) {
    const Unit* candidate = scan;
    const Special* match = nullptr;
    for (const Special& special : specials_) {
      if (starts_with_ascii(candidate, end, special.text)) {
        match = &special;
        break;
      }
    }
    if (match == nullptr) {
      scan = candidate + 1;
      continue;
    }
    encode_segment(segment, candidate, s, sink);
    if (sink.full()) return;
    sink.push(match->id);
    segment = scan = candidate + match->text.size();
  }
  encode_segment(segment, end, s, sink);
}

// ---- public entry points ----------------------------------------------------------------

std::vector<std::int32_t> WordPieceTokenizer::encode(std::string_view utf8, bool add_special_tokens) const {
  if (add_special_tokens && (cls_id_ < 0 || sep_id_ < 0)) {
    throw std::invalid_argument("vocabulary has no [CLS] or [SEP] token; encode without special tokens");
  }
  Scratch scratch;
  std::vector<std::int32_t> ids;
  ids.reserve(utf8.size() / 2 + 2);
  VectorSink sink{ids};
  if (add_special_tokens) ids.push_back(cls_id_);
  encode_text(as_units(utf8), as_units(utf8) + utf8.size(), scratch, sink);
  if (add_special_tokens) ids.push_back(sep_id_);
  return ids;
}

std::vector<std::string> WordPieceTokenizer::tokenize(std::string_view utf8) const {
  Scratch scratch;
  std::vector<std::int32_t> ids;
  VectorSink sink{ids};
  encode_text(as_units(utf8), as_units(utf8) + utf8.size(), scratch, sink);
  std::vector<std::string> pieces;
  pieces.reserve(ids.size());
  for (std::int32_t id : ids) pieces.push_back(vocab_[static_cast<std::size_t>(id)]);
  return pieces;
}

void WordPieceTokenizer::check_batch_options(const BatchEncodeOptions& options) const {
  const int min_length = options.add_special_tokens ? 2 : 1;
  if (options.max_length < min_length) {
    throw std::invalid_argument("max_length must be at least " + std::to_string(min_length) + ", got " +
                                std::to_string(options.max_length));
  }
  if (pad_id_ < 0) throw std::invalid_argument("vocabulary has no [PAD] token; encode_batch pads with it");
  if (options.add_special_tokens && (cls_id_ < 0 || sep_id_ < 0)) {
    throw std::invalid_argument("vocabulary has no [CLS] or [SEP] token; encode without special tokens");
  }
}

template <class TextAt>
void WordPieceTokenizer::encode_batch_impl(std::size_t n, const TextAt& text_at, const BatchEncodeOptions& options,
                                           std::int32_t* ids, std::int32_t* lengths, int threads,
                                           const std::function<void(ProgressGate&)>* fill) const {
  check_batch_options(options);
  const std::size_t width = static_cast<std::size_t>(options.max_length);
  const bool specials = options.add_special_tokens;
  ThreadPool& pool = global_thread_pool();
  std::vector<Scratch> scratch(static_cast<std::size_t>(pool.size()));
  // Chunks of texts, handed out dynamically: big enough that the hand-out cost vanishes, small
  // enough (several per thread) that a chunk of long texts cannot leave a thread idle at the end.
  // While the texts are being filled in, smaller chunks: the first one is ready, and a worker
  // can start, after 64 texts are copied rather than 256.
  const std::size_t most = fill ? 64 : 256;
  const std::size_t chunk = std::max<std::size_t>(1, std::min<std::size_t>(most, n / (8 * pool.size())));
  const std::size_t chunks = (n + chunk - 1) / chunk;
  ProgressGate gate;
  const std::function<void(std::size_t, int)> encode_chunk = [&](std::size_t c, int slot) {
    const std::size_t last = std::min(n, (c + 1) * chunk);
    if (fill && !gate.wait_for(last)) return;  // the filler failed: its error is rethrown
    Scratch& s = scratch[static_cast<std::size_t>(slot)];
    for (std::size_t i = c * chunk; i < last; ++i) {
      std::int32_t* row = ids + i * width;
      RowSink sink{row + (specials ? 1 : 0), width - (specials ? 2 : 0)};
      text_at(i, s, sink);
      std::size_t length = sink.size;
      if (specials) {
        row[0] = cls_id_;
        row[length + 1] = sep_id_;
        length += 2;
      }
      std::fill(row + length, row + width, pad_id_);
      lengths[i] = static_cast<std::int32_t>(length);
    }
  };
  if (!fill) {
    pool.parallel_for(chunks, encode_chunk, threads);
    return;
  }
  pool.parallel_for_led(
      chunks, encode_chunk,
      [&] {
        try {
          (*fill)(gate);
        } catch (...) {
          gate.abort();
          throw;
        }
        gate.publish(n);  // all of it, whatever the filler published last
      },
      threads);
}

void WordPieceTokenizer::encode_batch(const std::string_view* texts, std::size_t n, const BatchEncodeOptions& options,
                                      std::int32_t* ids, std::int32_t* lengths, int threads) const {
  encode_batch_impl(
      n,
      [this, texts](std::size_t i, Scratch& s, RowSink& sink) {
        encode_text(as_units(texts[i]), as_units(texts[i]) + texts[i].size(), s, sink);
      },
      options, ids, lengths, threads);
}

void WordPieceTokenizer::encode_batch_utf16(const char16_t* units, const std::uint32_t* offsets, std::size_t n,
                                            const BatchEncodeOptions& options, std::int32_t* ids,
                                            std::int32_t* lengths, int threads) const {
  encode_batch_impl(
      n,
      [this, units, offsets](std::size_t i, Scratch& s, RowSink& sink) {
        encode_text(units + offsets[i], units + offsets[i + 1], s, sink);
      },
      options, ids, lengths, threads);
}

void WordPieceTokenizer::encode_batch_utf16_filling(const char16_t* units, const std::uint32_t* offsets,
                                                    std::size_t n, const BatchEncodeOptions& options,
                                                    std::int32_t* ids, std::int32_t* lengths,
                                                    const std::function<void(ProgressGate&)>& fill,
                                                    int threads) const {
  encode_batch_impl(
      n,
      [this, units, offsets](std::size_t i, Scratch& s, RowSink& sink) {
        encode_text(units + offsets[i], units + offsets[i + 1], s, sink);
      },
      options, ids, lengths, threads, &fill);
}

void WordPieceTokenizer::encode_batch_utf16_via_utf8(const char16_t* units, const std::uint32_t* offsets,
                                                     std::size_t n, const BatchEncodeOptions& options,
                                                     std::int32_t* ids, std::int32_t* lengths, int threads) const {
  encode_batch_impl(
      n,
      [this, units, offsets](std::size_t i, Scratch& s, RowSink& sink) {
        unicode::utf16_to_utf8(units + offsets[i], offsets[i + 1] - offsets[i], s.utf8);
        encode_text(as_units(s.utf8), as_units(s.utf8) + s.utf8.size(), s, sink);
      },
      options, ids, lengths, threads);
}

std::uint64_t WordPieceTokenizer::profile_utf16(const char16_t* units, const std::uint32_t* offsets, std::size_t n,
                                                ProfileStage stage, int threads) const {
  if (n == 0) return 0;
  ThreadPool& pool = global_thread_pool();
  std::vector<std::uint64_t> sums(static_cast<std::size_t>(pool.size()), 0);
  std::vector<std::string> buffers(static_cast<std::size_t>(pool.size()));
  const std::size_t chunk = std::max<std::size_t>(1, std::min<std::size_t>(256, n / (8 * pool.size())));
  pool.parallel_for(
      (n + chunk - 1) / chunk,
      [&](std::size_t c, int slot) {
        std::uint64_t sum = 0;
        for (std::size_t i = c * chunk, last = std::min(n, (c + 1) * chunk); i < last; ++i) {
          const char16_t* p = units + offsets[i];
          const char16_t* end = units + offsets[i + 1];
          if (stage == ProfileStage::to_utf8) {
            unicode::utf16_to_utf8(p, static_cast<std::size_t>(end - p), buffers[static_cast<std::size_t>(slot)]);
            sum += buffers[static_cast<std::size_t>(slot)].size();
            continue;
          }
          while (p < end) {
            const char32_t cp = next_code_point(p, end);
            if (stage == ProfileStage::decode) {
              sum += cp;
              continue;
            }
            const std::uint8_t cls = cp < 0x80 ? ascii_class_[cp] : classify(cp);
            sum += cls;
            if (options_.lowercase && cp >= 0x80 && (cls & unicode::kFolds)) {
              char32_t folded[unicode::kMaxFold];
              sum += unicode::fold(cp, folded);
            }
          }
        }
        sums[static_cast<std::size_t>(slot)] += sum;
      },
      threads);
  std::uint64_t total = 0;
  for (std::uint64_t s : sums) total += s;
  return total;
}

}  // namespace md
