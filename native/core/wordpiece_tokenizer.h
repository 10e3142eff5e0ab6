// BERT WordPiece tokenizer: the ids of Hugging Face's BertTokenizer / `tokenizers` BertWordPiece
// setup for a given vocab.txt, computed in one pass over UTF-8 or UTF-16 with no per-token allocation.
//
// Pipeline (the oracle's order; lib/wordpiece.ts is the same in TypeScript):
//  1. Special tokens ([PAD] [UNK] [CLS] [SEP] [MASK], those in the vocab) are found in the RAW text,
//     leftmost-longest, case-sensitive, and never split; the text between them is processed alone.
//  2. Cleaning: U+0000, U+FFFD, control characters (Cc/Cf/Co except \t \n \r) are removed; invalid
//     UTF-8 decodes to U+FFFD and so is removed too; whitespace becomes a word break.
//  3. Every CJK ideograph (BERT's ranges) is a word of its own.
//  4. Lower-casing mode: NFD, drop non-spacing marks, lower-case code point by code point.
//  5. Split on whitespace; every punctuation character is a word of its own.
//  6. WordPiece: greedy longest-match-first over a byte trie of the vocab, continuation pieces
//     prefixed "##"; a word with an unmatched piece, or longer than 100 code points, is one [UNK].
//
// Thread safety: all methods are const and may run concurrently; scratch space is per call
// (encode) or per thread-pool slot (encode_batch).
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "progress_gate.h"
#include "unicode.h"

namespace md {

struct WordPieceOptions {
  bool lowercase = true;  // lower-case and strip accents (uncased BERT)
};

struct BatchEncodeOptions {
  int max_length = 128;            // row width, specials included
  bool add_special_tokens = true;  // [CLS] ... [SEP]
};

class WordPieceTokenizer {
 public:
  static constexpr std::size_t kMaxCharsPerWord = 100;  // Hugging Face's default

  // Throws std::invalid_argument for a duplicate token or a vocab without [UNK] (an empty token is
  // accepted: no text spells it, so it never matches).
  WordPieceTokenizer(std::vector<std::string> vocab, WordPieceOptions options = {});

  std::size_t vocab_size() const { return vocab_.size(); }
  bool lowercase() const { return options_.lowercase; }
  // Ids of the specials; -1 when the vocab lacks one.
  std::int32_t unk_id() const { return unk_id_; }
  std::int32_t pad_id() const { return pad_id_; }
  std::int32_t cls_id() const { return cls_id_; }
  std::int32_t sep_id() const { return sep_id_; }
  std::int32_t mask_id() const { return mask_id_; }
  // -1 when absent.
  std::int32_t token_to_id(std::string_view token) const;
  // Throws std::out_of_range for an id outside the vocab.
  const std::string& id_to_token(std::int32_t id) const { return vocab_.at(static_cast<std::size_t>(id)); }

  // Ids of one text, untruncated; [CLS]/[SEP] around them when add_special_tokens (throws
  // std::invalid_argument when the vocab lacks them). Invalid UTF-8 is replaced, then removed.
  std::vector<std::int32_t> encode(std::string_view utf8, bool add_special_tokens = true) const;
  // Word pieces of one text, no [CLS]/[SEP].
  std::vector<std::string> tokenize(std::string_view utf8) const;

  // Encodes n texts into `ids` (n x max_length, row-major, padded with [PAD]) and `lengths` (real
  // length of each row): [CLS] + the first max_length-2 pieces + [SEP] (or the first max_length
  // pieces without specials). Runs on md::global_thread_pool(), `threads` slots at most (<= 0: all).
  // Throws std::invalid_argument for max_length too small or missing [PAD]/[CLS]/[SEP].
  void encode_batch(const std::string_view* texts, std::size_t n, const BatchEncodeOptions& options,
                    std::int32_t* ids, std::int32_t* lengths, int threads = 0) const;
  // The same for texts given as one UTF-16 buffer: text i is units[offsets[i], offsets[i+1]).
  // The tokenizer reads the UTF-16 units directly (no UTF-8 copy of the text): a lone surrogate
  // counts as U+FFFD, as when N-API converts a JS string, and so is removed like any U+FFFD.
  void encode_batch_utf16(const char16_t* units, const std::uint32_t* offsets, std::size_t n,
                          const BatchEncodeOptions& options, std::int32_t* ids, std::int32_t* lengths,
                          int threads = 0) const;
  // encode_batch_utf16 while the texts are still being written: `fill` runs on the calling
  // thread, writes the texts into `units` in order (offsets are complete beforehand) and
  // publishes on the gate how many are in place; the pool's other threads encode each chunk of
  // texts as soon as it is there. So the copy of the texts out of JS, which only the calling
  // thread may do, overlaps the tokenizing instead of preceding it. If `fill` throws, the
  // exception is rethrown once every thread has stopped; rows not encoded are left as they were.
  void encode_batch_utf16_filling(const char16_t* units, const std::uint32_t* offsets, std::size_t n,
                                  const BatchEncodeOptions& options, std::int32_t* ids, std::int32_t* lengths,
                                  const std::function<void(ProgressGate& gate)>& fill, int threads = 0) const;
  // The former path, kept as the reference of tests and of the benchmark's profile: each text is
  // converted to UTF-8 on the worker threads, then encoded as encode_batch does.
  void encode_batch_utf16_via_utf8(const char16_t* units, const std::uint32_t* offsets, std::size_t n,
                                   const BatchEncodeOptions& options, std::int32_t* ids, std::int32_t* lengths,
                                   int threads = 0) const;

  // The stages of encode_batch_utf16 run alone, for the benchmark's profile (each does the work
  // of the stages before it too; differences between stages are the cost of each). Returns a
  // checksum so the work cannot be optimised away.
  enum class ProfileStage {
    to_utf8,    // the former path's first step: UTF-16 -> UTF-8 per text
    decode,     // walk the code points (surrogate pairs joined)
    normalize,  // + character class and lower-case fold of each code point
  };
  std::uint64_t profile_utf16(const char16_t* units, const std::uint32_t* offsets, std::size_t n, ProfileStage stage,
                              int threads = 0) const;

  // Scratch space reused across texts by one thread; opaque to callers.
  struct Scratch;

 private:
  // Byte trie of the vocab: node 0 is the root; children through an open-addressing hash of
  // (node, byte) edges, so one step costs one multiply and (usually) one probe.
  std::int32_t child(std::int32_t node, unsigned char byte) const;
  void add_to_trie(const std::string& token, std::int32_t id);
  void insert_edge(std::int32_t node, unsigned char byte, std::int32_t child);
  // Stores an edge in the first free slot of its probe sequence (insert_edge, shrink_edge_table).
  struct Edge;
  void place_edge(const Edge& edge);
  // The edge table is sized for the worst case while the trie is built (one node per vocabulary
  // byte); shared prefixes leave most of it empty. This re-inserts the edges into the smallest
  // power of two at most half full: probes stay short and the rest is given back (half of the
  // table for a 3,500-token vocab).
  void shrink_edge_table();

  // Unit: unsigned char (UTF-8) or char16_t (UTF-16); one pipeline for both.
  template <class Unit, class Sink>
  void encode_text(const Unit* begin, const Unit* end, Scratch& scratch, Sink& sink) const;
  template <class Unit, class Sink>
  void encode_segment(const Unit* p, const Unit* end, Scratch& scratch, Sink& sink) const;
  template <class Sink>
  void encode_code_point(char32_t cp, Scratch& scratch, Sink& sink) const;
  template <class Sink>
  void flush_word(Scratch& scratch, Sink& sink) const;
  template <class Sink>
  void spell_word(Scratch& scratch, Sink& sink) const;
  // unicode::char_class with the BMP table pointer held here (no static-guard check per call).
  std::uint8_t classify(char32_t cp) const {
    return cp < 0x10000 ? bmp_classes_[cp] : unicode::detail::astral_class(cp);
  }
  template <class Sink>
  void emit_single_char(char32_t cp, Scratch& scratch, Sink& sink) const;
  template <class Sink>
  void emit_normalized_char(char32_t cp, Scratch& scratch, Sink& sink) const;
  void check_batch_options(const BatchEncodeOptions& options) const;
  template <class TextAt>
  void encode_batch_impl(std::size_t n, const TextAt& text_at, const BatchEncodeOptions& options, std::int32_t* ids,
                         std::int32_t* lengths, int threads,
                         const std::function<void(ProgressGate&)>* fill = nullptr) const;

  WordPieceOptions options_;
  std::vector<std::string> vocab_;
  const std::uint8_t* bmp_classes_;

  std::vector<std::int32_t> terminal_id_;  // per trie node: token id ending here, or -1
  struct Edge {
    std::uint32_t key;  // (node << 8 | byte) + 1; 0 = empty slot (8-byte edges: half the table)
    std::int32_t child;
  };
  // Trie nodes must fit 24 bits of an edge key: the vocabulary's tokens hold fewer bytes than this.
  static constexpr std::size_t kMaxVocabBytes = (std::size_t{1} << 24) - 1;
  std::vector<Edge> edges_;
  std::uint64_t edge_mask_ = 0;
  std::size_t edge_count_ = 0;
  std::int32_t root_children_[256];       // the root's edges, direct
  std::int32_t continuation_root_ = -1;   // node after "##", or -1 if no token starts so

  // The whole-word tokens made of one BMP code point, as (code point, id) sorted by code point:
  // only the vocab's single characters (a 64K-entry id array cost 256 KB per tokenizer, most
  // of it -1). Read while building bmp_action_ and on the general path; see single_char_id().
  std::vector<std::pair<char16_t, std::int32_t>> single_char_ids_;
  // Id of the token made of BMP code point cp alone, or -1.
  std::int32_t single_char_id(char32_t cp) const;
  // What the pipeline does with each BMP code point, decided once at construction: below
  // kActionGeneral, it is a word of its own (CJK or punctuation that lower-casing leaves alone)
  // with this id ([UNK] when the vocab lacks it); kActionDrop / kActionSpace: removed / a word
  // break; kActionGeneral: the general path (letters, folding characters, surrogates, and ids too
  // big for 16 bits). One 2-byte load (the CJK block's 42 KB stay in cache) instead of a class
  // lookup, a fold test and an id lookup for nearly every character of Chinese text.
  static constexpr std::uint16_t kActionSpace = 0xFFFD, kActionDrop = 0xFFFE, kActionGeneral = 0xFFFF;
  std::vector<std::uint16_t> bmp_action_;
  // ASCII fast path: class bits and the lower-cased byte for each ASCII byte.
  std::uint8_t ascii_class_[128];
  unsigned char ascii_fold_[128];

  struct Special {
    std::string text;
    std::int32_t id;
  };
  std::vector<Special> specials_;  // longest first
  int special_first_byte_ = -1;    // the one first byte all specials share, or -1 (scan every byte)

  std::int32_t unk_id_ = -1, pad_id_ = -1, cls_id_ = -1, sep_id_ = -1, mask_id_ = -1;
};

}  // namespace md
