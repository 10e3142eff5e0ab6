// Unit tests of the native WordPiece tokenizer and its Unicode helpers. Parity with Hugging Face on
// real data is proven in test/tokenizer-parity.test.ts; these pin down each rule on small inputs.
#include <algorithm>
#include <cstdint>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "check.h"
#include "unicode.h"
#include "wordpiece_tokenizer.h"

using md::WordPieceTokenizer;
namespace uc = md::unicode;

namespace {

// Ids: 0 [PAD] 1 [UNK] 2 [CLS] 3 [SEP] 4 [MASK] then the rest in order.
std::vector<std::string> tiny_vocab() {
  return {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "un", "##aff", "##able", "hello", "world", ",", "!",
          "\xE4\xB8\xAD" /* 中 */, "\xE5\x9B\xBD" /* 国 */, "a", "##b", "[", "]", "sep", "\xC3\xA9" /* é */,
          "\xF0\x9F\x98\x80" /* 😀 */, "\xE1\x84\x80" /* ᄀ U+1100 */, "\xE1\x85\xA1" /* ᅡ U+1161 */, "ab",
          "##\xE1\x85\xA1", "##\xC3\xA9"};
}

std::int32_t id_of(const WordPieceTokenizer& t, const std::string& token) {
  const std::int32_t id = t.token_to_id(token);
  if (id < 0) throw std::logic_error("test vocab lacks " + token);
  return id;
}

std::vector<std::string> pieces(const WordPieceTokenizer& t, const std::string& text) { return t.tokenize(text); }
std::vector<std::string> list(std::initializer_list<const char*> items) { return {items.begin(), items.end()}; }

std::size_t invalid(const std::string& bytes) { return uc::count_invalid_utf8(bytes); }

}  // namespace

TEST(utf8_decoding_counts_each_maximal_ill_formed_subpart) {
  CHECK_EQ(invalid("plain ascii"), std::size_t{0});
  CHECK_EQ(invalid("\xE4\xB8\xAD\xF0\x9F\x98\x80\xC3\xA9"), std::size_t{0});  // 中 😀 é
  CHECK_EQ(invalid("\x80"), std::size_t{1});                // lone continuation byte
  CHECK_EQ(invalid("\xC0\x80"), std::size_t{2});            // overlong: C0 is never a lead
  CHECK_EQ(invalid("\xE0\x80\x80"), std::size_t{3});        // overlong 3-byte form
  CHECK_EQ(invalid("\xE4\xB8"), std::size_t{1});            // truncated at the end
  CHECK_EQ(invalid("\xE4\xB8x"), std::size_t{1});           // truncated before ASCII: 'x' survives
  CHECK_EQ(invalid("\xED\xA0\x80"), std::size_t{3});        // UTF-8-encoded lone surrogate U+D800
  CHECK_EQ(invalid("\xF4\x90\x80\x80"), std::size_t{4});    // above U+10FFFF
  CHECK_EQ(invalid("\xFF\xFE"), std::size_t{2});
}

TEST(utf8_decoder_reads_the_breaking_byte_again) {
  const std::string bytes = "\xE4\xB8\xE4\xB8\xAD";  // broken 中 then a whole 中
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  const auto* end = p + bytes.size();
  bool bad = false;
  CHECK_EQ(uc::decode_utf8(p, end, &bad), char32_t{0xFFFD});
  CHECK(bad);
  bad = false;
  CHECK_EQ(uc::decode_utf8(p, end, &bad), char32_t{0x4E2D});
  CHECK(!bad);
  CHECK(p == end);
}

TEST(utf16_to_utf8_replaces_lone_surrogates) {
  std::string out;
  const std::u16string pair = u"a\U0001F600b";
  CHECK_EQ(uc::utf16_to_utf8(pair.data(), pair.size(), out), std::size_t{0});
  CHECK_EQ(out, std::string("a\xF0\x9F\x98\x80" "b"));
  const char16_t lone[] = {u'x', 0xD800, u'y', 0xDC00};
  CHECK_EQ(uc::utf16_to_utf8(lone, 4, out), std::size_t{2});
  CHECK_EQ(out, std::string("x\xEF\xBF\xBDy\xEF\xBF\xBD"));
}

TEST(character_classes_follow_bert) {
  CHECK_EQ(uc::char_class('a') & (uc::kDrop | uc::kWhitespace | uc::kPunctuation | uc::kCjk), 0);
  CHECK(uc::char_class(' ') & uc::kWhitespace);
  CHECK(uc::char_class('\t') & uc::kWhitespace);
  CHECK(uc::char_class('\n') & uc::kWhitespace);
  CHECK(uc::char_class(0x3000) & uc::kWhitespace);  // ideographic space
  CHECK(uc::char_class(0x2028) & uc::kWhitespace);  // line separator
  CHECK(uc::char_class(0) & uc::kDrop);
  CHECK(uc::char_class(0x0B) & uc::kDrop);    // vertical tab is Cc: dropped, not a space
  CHECK(uc::char_class(0x85) & uc::kDrop);    // NEL likewise
  CHECK(uc::char_class(0x200B) & uc::kDrop);  // zero-width space is Cf
  CHECK(uc::char_class(0xFFFD) & uc::kDrop);
  CHECK(uc::char_class(0xE000) & uc::kDrop);  // private use
  CHECK_EQ(uc::char_class(0x0378) & uc::kDrop, 0);  // unassigned: kept, as the oracle keeps it
  CHECK(uc::char_class('$') & uc::kPunctuation);  // ASCII symbol, not P* in Unicode
  CHECK(uc::char_class('`') & uc::kPunctuation);
  CHECK(uc::char_class(0xFF0C) & uc::kPunctuation);  // full-width comma
  CHECK(uc::char_class(0x3002) & uc::kPunctuation);  // ideographic full stop
  CHECK(uc::char_class(0x4E2D) & uc::kCjk);
  CHECK(uc::char_class(0x20000) & uc::kCjk);
  CHECK_EQ(uc::char_class(0x2B820) & uc::kCjk, 0);  // outside the oracle's ranges (starts at U+2B920)
  CHECK_EQ(uc::char_class(0x3042) & uc::kCjk, 0);   // hiragana is not CJK for BERT
  CHECK(uc::char_class(0x0301) & uc::kNonspacingMark);
}

TEST(fold_decomposes_strips_marks_and_lower_cases) {
  char32_t out[uc::kMaxFold];
  CHECK_EQ(uc::fold(U'\u00C9', out), std::size_t{1});  // É -> e
  CHECK_EQ(out[0], char32_t{'e'});
  CHECK_EQ(uc::fold(U'\u0130', out), std::size_t{1});  // İ -> I + U+0307 -> i
  CHECK_EQ(out[0], char32_t{'i'});
  CHECK_EQ(uc::fold(U'\u0301', out), std::size_t{0});  // a lone accent vanishes
  CHECK_EQ(uc::fold(U'\u03A3', out), std::size_t{1});  // Σ -> σ, never final ς
  CHECK_EQ(out[0], char32_t{0x03C3});
  CHECK_EQ(uc::fold(U'\uAC01', out), std::size_t{3});  // 각 -> ᄀ ᅡ ᆨ (Hangul algorithm)
  CHECK_EQ(out[0], char32_t{0x1100});
  CHECK_EQ(out[1], char32_t{0x1161});
  CHECK_EQ(out[2], char32_t{0x11A8});
  CHECK_EQ(uc::fold(U'\u4E2D', out), std::size_t{1});
  CHECK_EQ(out[0], char32_t{0x4E2D});
}

TEST(wordpiece_takes_longest_pieces_and_unk_for_unmatched) {
  WordPieceTokenizer t(tiny_vocab());
  CHECK(pieces(t, "unaffable") == list({"un", "##aff", "##able"}));
  CHECK(pieces(t, "unaffablex") == list({"[UNK]"}));               // any unmatched piece: the whole word
  CHECK(pieces(t, "hello unaffablex world") == list({"hello", "[UNK]", "world"}));
  CHECK(pieces(t, "ab") == list({"ab"}));                          // "ab" beats "a" + "##b"
  CHECK(pieces(t, "abb") == list({"ab", "##b"}));
  CHECK(pieces(t, "") == list({}));
  CHECK(pieces(t, " \t\n ") == list({}));
}

TEST(cjk_and_punctuation_are_words_of_their_own) {
  WordPieceTokenizer t(tiny_vocab());
  CHECK(pieces(t, "\xE4\xB8\xAD\xE5\x9B\xBD") == list({"\xE4\xB8\xAD", "\xE5\x9B\xBD"}));
  CHECK(pieces(t, "hello\xE4\xB8\xADworld") == list({"hello", "\xE4\xB8\xAD", "world"}));
  CHECK(pieces(t, "\xE4\xB8\xAD\xE6\x96\x87") == list({"\xE4\xB8\xAD", "[UNK]"}));  // 文 not in vocab
  CHECK(pieces(t, "hello,world!") == list({"hello", ",", "world", "!"}));
  CHECK(pieces(t, "hello$") == list({"hello", "[UNK]"}));  // '$' splits off even though unknown
  CHECK(pieces(t, "\xF0\x9F\x98\x80\xF0\x9F\x98\x80") == list({"[UNK]"}));  // 😀😀 is one word, no "##😀"
}

TEST(lowercase_strips_accents_only_when_on) {
  WordPieceTokenizer lower(tiny_vocab());
  WordPieceTokenizer cased(tiny_vocab(), md::WordPieceOptions{false});
  CHECK(pieces(lower, "HELLO World") == list({"hello", "world"}));
  CHECK(pieces(lower, "H\xC3\x89LLO") == list({"hello"}));          // HÉLLO
  CHECK(pieces(lower, "he\xCC\x81llo") == list({"hello"}));         // decomposed accent stripped
  CHECK(pieces(lower, "\xC3\xA9") == list({"[UNK]"}));              // é -> e, not in vocab
  CHECK(pieces(cased, "\xC3\xA9") == list({"\xC3\xA9"}));           // kept as is without lowercase
  CHECK(pieces(cased, "HELLO") == list({"[UNK]"}));
  // 가 (U+AC00) decomposes into jamo in lower-casing mode only.
  CHECK(pieces(lower, "\xEA\xB0\x80") == list({"\xE1\x84\x80", "##\xE1\x85\xA1"}));
  CHECK(pieces(cased, "\xEA\xB0\x80") == list({"[UNK]"}));
}

TEST(cleaning_drops_controls_and_invalid_bytes_without_splitting) {
  WordPieceTokenizer t(tiny_vocab());
  CHECK(pieces(t, std::string("hel\0lo", 6)) == list({"hello"}));
  CHECK(pieces(t, "hel\xE2\x80\x8Blo") == list({"hello"}));    // zero-width space (Cf)
  CHECK(pieces(t, "hel\xFFlo") == list({"hello"}));            // invalid byte -> U+FFFD -> dropped
  CHECK(pieces(t, "hel\xED\xA0\x80lo") == list({"hello"}));    // encoded lone surrogate
  CHECK(pieces(t, "hel\xEF\xBF\xBDlo") == list({"hello"}));    // a real U+FFFD too
  CHECK(pieces(t, "hello\xE3\x80\x80world") == list({"hello", "world"}));  // U+3000 separates
  CHECK(pieces(t, "hello\x0Bworld") == list({"[UNK]"}));       // VT is dropped: "helloworld"
}

TEST(words_longer_than_100_code_points_are_unk) {
  WordPieceTokenizer t(tiny_vocab());
  std::string word = "a";
  for (int i = 1; i < 100; ++i) word += "b";
  const std::vector<std::string> hundred = pieces(t, word);
  CHECK_EQ(hundred.size(), std::size_t{99});  // "ab" then 98 x "##b"
  CHECK(pieces(t, word + "b") == list({"[UNK]"}));
  // Code points, not bytes: 100 x é (200 bytes) is still spelled in cased mode, 101 is not.
  WordPieceTokenizer cased(tiny_vocab(), md::WordPieceOptions{false});
  std::string accents;
  for (int i = 0; i < 100; ++i) accents += "\xC3\xA9";
  CHECK_EQ(pieces(cased, accents).size(), std::size_t{100});
  CHECK(pieces(cased, accents + "\xC3\xA9") == list({"[UNK]"}));
  // In lower-casing mode the length counts after accent stripping: "a" + 120 accents is "a".
  std::string marks = "a";
  for (int i = 0; i < 120; ++i) marks += "\xCC\x81";
  CHECK(pieces(t, marks) == list({"a"}));
  CHECK(pieces(cased, marks) == list({"[UNK]"}));
}

TEST(special_tokens_match_raw_text_and_are_never_split) {
  WordPieceTokenizer t(tiny_vocab());
  CHECK(pieces(t, "hello[SEP]world") == list({"hello", "[SEP]", "world"}));
  CHECK(pieces(t, "[CLS][MASK]") == list({"[CLS]", "[MASK]"}));
  CHECK(pieces(t, "[sep]") == list({"[", "sep", "]"}));  // case-sensitive, before lower-casing
  CHECK(pieces(t, std::string("[SE\0P]", 6)) == list({"[", "sep", "]"}));  // raw text differs
  CHECK(pieces(t, "[[SEP]") == list({"[", "[SEP]"}));
  CHECK(pieces(t, "[SEP") == list({"[", "sep"}));
}

TEST(encode_wraps_with_cls_and_sep) {
  WordPieceTokenizer t(tiny_vocab());
  const std::vector<std::int32_t> ids = t.encode("hello world");
  CHECK(ids == std::vector<std::int32_t>({2, id_of(t, "hello"), id_of(t, "world"), 3}));
  CHECK(t.encode("hello", false) == std::vector<std::int32_t>({id_of(t, "hello")}));
  CHECK(t.encode("") == std::vector<std::int32_t>({2, 3}));
}

TEST(batch_truncates_including_specials_and_pads) {
  WordPieceTokenizer t(tiny_vocab());
  const std::string_view texts[] = {"hello world hello", "unaffable", "", "hello"};
  md::BatchEncodeOptions options;
  options.max_length = 4;
  std::vector<std::int32_t> ids(4 * 4, -7), lengths(4, -7);
  t.encode_batch(texts, 4, options, ids.data(), lengths.data());
  const std::int32_t h = id_of(t, "hello"), w = id_of(t, "world");
  CHECK(std::vector<std::int32_t>(ids.begin(), ids.begin() + 4) == std::vector<std::int32_t>({2, h, w, 3}));
  // A word cut by the limit keeps its first pieces, as Hugging Face's truncation does.
  CHECK(std::vector<std::int32_t>(ids.begin() + 4, ids.begin() + 8) ==
        std::vector<std::int32_t>({2, id_of(t, "un"), id_of(t, "##aff"), 3}));
  CHECK(std::vector<std::int32_t>(ids.begin() + 8, ids.begin() + 12) == std::vector<std::int32_t>({2, 3, 0, 0}));
  CHECK(std::vector<std::int32_t>(ids.begin() + 12, ids.end()) == std::vector<std::int32_t>({2, h, 3, 0}));
  CHECK(lengths == std::vector<std::int32_t>({4, 4, 2, 3}));

  options.add_special_tokens = false;
  options.max_length = 2;
  std::vector<std::int32_t> bare(4 * 2), bare_lengths(4);
  t.encode_batch(texts, 4, options, bare.data(), bare_lengths.data());
  CHECK(bare == std::vector<std::int32_t>({h, w, id_of(t, "un"), id_of(t, "##aff"), 0, 0, h, 0}));
  CHECK(bare_lengths == std::vector<std::int32_t>({2, 2, 0, 1}));
}

TEST(batch_equals_one_by_one_on_random_texts) {
  WordPieceTokenizer t(tiny_vocab());
  const std::vector<std::string> parts = {"hello", "world", "un", "aff", "able", " ", "  ", ",", "!", "\xE4\xB8\xAD",
                                          "\xE5\x9B\xBD", "a", "b", "[SEP]", "[", "\xC3\x89", "\xFF", "\xED\xA0\x80",
                                          std::string("\0", 1), "\xF0\x9F\x98\x80", "\t", "X", "\xCC\x81"};
  std::mt19937 rng(12345);
  std::vector<std::string> texts(3000);
  for (std::string& text : texts) {
    const int n = static_cast<int>(rng() % 40);
    for (int i = 0; i < n; ++i) text += parts[rng() % parts.size()];
  }
  std::vector<std::string_view> views(texts.begin(), texts.end());
  std::u16string joined;
  std::vector<std::uint32_t> offsets{0};
  for (const std::string& text : texts) {
    // The UTF-16 path gets the same texts as V8 would hand over: invalid bytes already U+FFFD.
    std::string valid;
    const auto* p = reinterpret_cast<const unsigned char*>(text.data());
    const auto* end = p + text.size();
    while (p < end) {
      bool bad = false;
      uc::append_utf8(valid, uc::decode_utf8(p, end, &bad));
    }
    for (std::size_t i = 0; i < valid.size();) {
      const auto* q = reinterpret_cast<const unsigned char*>(valid.data() + i);
      const auto* q0 = q;
      bool bad = false;
      const char32_t cp = uc::decode_utf8(q, reinterpret_cast<const unsigned char*>(valid.data() + valid.size()), &bad);
      i += static_cast<std::size_t>(q - q0);
      if (cp >= 0x10000) {
        joined.push_back(static_cast<char16_t>(0xD800 + ((cp - 0x10000) >> 10)));
        joined.push_back(static_cast<char16_t>(0xDC00 + ((cp - 0x10000) & 0x3FF)));
      } else {
        joined.push_back(static_cast<char16_t>(cp));
      }
    }
    offsets.push_back(static_cast<std::uint32_t>(joined.size()));
  }
  for (int width : {8, 64}) {
    md::BatchEncodeOptions options;
    options.max_length = width;
    std::vector<std::int32_t> ids(texts.size() * width), lengths(texts.size());
    std::vector<std::int32_t> ids16(texts.size() * width), lengths16(texts.size());
    t.encode_batch(views.data(), views.size(), options, ids.data(), lengths.data());
    t.encode_batch_utf16(joined.data(), offsets.data(), texts.size(), options, ids16.data(), lengths16.data());
    CHECK(ids == ids16);
    CHECK(lengths == lengths16);
    int mismatches = 0;
    for (std::size_t i = 0; i < texts.size(); ++i) {
      std::vector<std::int32_t> one = t.encode(texts[i]);
      if (one.size() > static_cast<std::size_t>(width)) {  // truncate as the batch does
        one.resize(static_cast<std::size_t>(width) - 1);
        one.push_back(3);
      }
      one.resize(static_cast<std::size_t>(width), 0);
      const std::vector<std::int32_t> row(ids.begin() + i * width, ids.begin() + (i + 1) * width);
      if (row != one) ++mismatches;
    }
    CHECK_EQ(mismatches, 0);
  }
}

// The direct UTF-16 path against the reference (each text converted to UTF-8, then encoded), on
// random UTF-16 including lone and paired surrogates, both lower-casing modes and truncation.
TEST(utf16_direct_path_equals_the_utf8_reference_path) {
  const std::vector<char16_t> alphabet = {u'h', u'e', u'l', u'o', u'w', u'r', u'd', u'u', u'n', u'a', u'b', u' ',
                                          u'\t', u',', u'!', u'[', u']', u'S', u'E', u'P', 0x4E2D, 0x56FD, 0x00C9,
                                          0x00E9, 0x0301, 0x3000, 0xFF0C, 0x3002, 0x200B, 0xFFFD, 0x0000, 0xD83D,
                                          0xDE00, 0xDC00, 0xD800, 0x1100, 0x1161, 0x0130, 0xAC00, 0x00A0};
  std::mt19937 rng(777);
  const std::size_t n = 4000;
  std::u16string joined;
  std::vector<std::uint32_t> offsets{0};
  for (std::size_t i = 0; i < n; ++i) {
    const int len = static_cast<int>(rng() % 60);
    for (int k = 0; k < len; ++k) {
      if (rng() % 17 == 0) {
        joined += u"[SEP]";
      } else {
        joined.push_back(alphabet[rng() % alphabet.size()]);
      }
    }
    offsets.push_back(static_cast<std::uint32_t>(joined.size()));
  }
  for (bool lowercase : {true, false}) {
    md::WordPieceOptions wp;
    wp.lowercase = lowercase;
    WordPieceTokenizer t(tiny_vocab(), wp);
    for (int width : {4, 128}) {
      md::BatchEncodeOptions options;
      options.max_length = width;
      std::vector<std::int32_t> ids(n * width), lengths(n), ref_ids(n * width), ref_lengths(n);
      t.encode_batch_utf16(joined.data(), offsets.data(), n, options, ids.data(), lengths.data());
      t.encode_batch_utf16_via_utf8(joined.data(), offsets.data(), n, options, ref_ids.data(), ref_lengths.data());
      CHECK(ids == ref_ids);
      CHECK(lengths == ref_lengths);
    }
    // The profile stages run and see every code point (a surrogate pair is one).
    const std::uint64_t bytes = t.profile_utf16(joined.data(), offsets.data(), n, WordPieceTokenizer::ProfileStage::to_utf8);
    std::uint64_t expected = 0;
    std::string utf8;
    for (std::size_t i = 0; i < n; ++i) {  // per text: a pair split between two texts is two U+FFFD
      md::unicode::utf16_to_utf8(joined.data() + offsets[i], offsets[i + 1] - offsets[i], utf8);
      expected += utf8.size();
    }
    CHECK_EQ(bytes, expected);
    CHECK(t.profile_utf16(joined.data(), offsets.data(), n, WordPieceTokenizer::ProfileStage::normalize) > 0);
  }
}

// encode_batch_utf16_filling: the texts are written by the calling thread while the pool's other
// threads encode what is published; the result equals encode_batch_utf16 on the finished buffer,
// and a filler that fails mid-way is rethrown without leaving a thread waiting.
TEST(filling_path_equals_the_plain_path_and_rethrows_a_failed_fill) {
  std::mt19937 rng(4242);
  const std::vector<char16_t> alphabet = {u'h', u'e', u'l', u'o', u' ', u',', u'[', u'S', u'E', u'P', u']',
                                          0x4E2D, 0x56FD, 0x3002, 0x00E9, 0xD83D, 0xDE00, 0xD800};
  const std::size_t n = 3000;
  std::u16string source;
  std::vector<std::uint32_t> offsets{0};
  for (std::size_t i = 0; i < n; ++i) {
    const int len = static_cast<int>(rng() % 40);
    for (int k = 0; k < len; ++k) source.push_back(alphabet[rng() % alphabet.size()]);
    offsets.push_back(static_cast<std::uint32_t>(source.size()));
  }
  WordPieceTokenizer t(tiny_vocab());
  md::BatchEncodeOptions options;
  options.max_length = 12;
  std::vector<std::int32_t> want_ids(n * 12), want_lengths(n);
  t.encode_batch_utf16(source.data(), offsets.data(), n, options, want_ids.data(), want_lengths.data());

  std::u16string units(source.size(), u'x');  // garbage until the filler writes each text
  std::vector<std::int32_t> ids(n * 12, -7), lengths(n, -7);
  t.encode_batch_utf16_filling(units.data(), offsets.data(), n, options, ids.data(), lengths.data(),
                               [&](md::ProgressGate& gate) {
                                 for (std::size_t i = 0; i < n; ++i) {
                                   std::copy(source.begin() + offsets[i], source.begin() + offsets[i + 1],
                                             units.begin() + offsets[i]);
                                   gate.publish(i + 1);
                                 }
                               });
  CHECK(ids == want_ids);
  CHECK(lengths == want_lengths);

  bool rethrown = false;
  try {
    t.encode_batch_utf16_filling(units.data(), offsets.data(), n, options, ids.data(), lengths.data(),
                                 [&](md::ProgressGate& gate) {
                                   gate.publish(n / 2);
                                   throw std::runtime_error("text 1500 is not a string");
                                 });
  } catch (const std::runtime_error& e) {
    rethrown = std::string(e.what()) == "text 1500 is not a string";
  }
  CHECK(rethrown);
  // The pool is free again.
  t.encode_batch_utf16(source.data(), offsets.data(), n, options, ids.data(), lengths.data());
  CHECK(ids == want_ids);
}

TEST(bad_vocab_and_bad_options_throw) {
  CHECK_THROWS(WordPieceTokenizer(std::vector<std::string>{"a", "b"}));                 // no [UNK]
  CHECK_THROWS(WordPieceTokenizer(std::vector<std::string>{"[UNK]", "a", "a"}));        // duplicate
  WordPieceTokenizer no_specials(std::vector<std::string>{"[UNK]", "a"});
  CHECK_THROWS(no_specials.encode("a"));  // no [CLS]/[SEP] to wrap with
  CHECK(no_specials.encode("a", false) == std::vector<std::int32_t>({1}));
  const std::string_view text[] = {"a"};
  std::vector<std::int32_t> ids(4), lengths(1);
  md::BatchEncodeOptions options;
  options.add_special_tokens = false;
  CHECK_THROWS(no_specials.encode_batch(text, 1, options, ids.data(), lengths.data()));  // no [PAD]
  WordPieceTokenizer t(tiny_vocab());
  options.add_special_tokens = true;
  options.max_length = 1;
  CHECK_THROWS(t.encode_batch(text, 1, options, ids.data(), lengths.data()));
  CHECK_THROWS(t.id_to_token(-1));
  CHECK_THROWS(t.id_to_token(static_cast<std::int32_t>(t.vocab_size())));
  CHECK_EQ(t.token_to_id("nope"), -1);
}

CHECK_MAIN()
