// Unicode helpers of the tokenizer: UTF-8 decoding with replacement (and a count of what was
// replaced), UTF-8 encoding, UTF-16 -> UTF-8, and the per-code-point classes and lower-casing fold
// of the BERT normalizer, looked up in the generated unicode_tables.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace md {
namespace unicode {

constexpr char32_t kReplacementCharacter = 0xFFFD;

// Decodes one code point at `p` (p < end) and advances `p` past it. An ill-formed sequence
// becomes U+FFFD and sets *invalid; replacement follows the WHATWG Encoding Standard (one U+FFFD
// per maximal subpart, the byte that broke a sequence is read again), which is also what
// TextDecoder and Node's Buffer#toString do. Surrogates encoded in UTF-8 (ED A0..BF xx) are
// ill-formed: each of their bytes becomes one U+FFFD.
inline char32_t decode_utf8(const unsigned char*& p, const unsigned char* end, bool* invalid) {
  const unsigned char lead = *p++;
  if (lead < 0x80) return lead;
  int need;
  char32_t cp;
  unsigned char lower = 0x80, upper = 0xBF;
  if (lead >= 0xC2 && lead <= 0xDF) {
    need = 1;
    cp = lead & 0x1F;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    need = 2;
    cp = lead & 0x0F;
    if (lead == 0xE0) lower = 0xA0;
    if (lead == 0xED) upper = 0x9F;  // excludes the surrogates D800..DFFF
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    need = 3;
    cp = lead & 0x07;
    if (lead == 0xF0) lower = 0x90;
    if (lead == 0xF4) upper = 0x8F;  // nothing above U+10FFFF
  } else {
    *invalid = true;
    return kReplacementCharacter;
  }
  for (int i = 0; i < need; ++i) {
    if (p == end || *p < lower || *p > upper) {  // do not consume the offending byte
      *invalid = true;
      return kReplacementCharacter;
    }
    cp = (cp << 6) | (*p++ & 0x3F);
    lower = 0x80;
    upper = 0xBF;
  }
  return cp;
}

// How many ill-formed sequences decoding `bytes` replaces with U+FFFD.
std::size_t count_invalid_utf8(std::string_view bytes);

// Appends the UTF-8 encoding of `cp` (a scalar value) to `out`.
inline void append_utf8(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

// Replaces `out` with the UTF-8 form of UTF-16 `units`; a lone surrogate becomes U+FFFD (what
// V8 does when N-API hands a JS string over as UTF-8). Returns the number of lone surrogates.
std::size_t utf16_to_utf8(const char16_t* units, std::size_t count, std::string& out);

// Character classes of the BERT normalizer / pre-tokenizer; a code point may have several bits.
enum CharClass : std::uint8_t {
  kDrop = 1,            // removed by cleaning (U+0000, U+FFFD, controls except \t \n \r)
  kWhitespace = 2,      // becomes ' ', separates words
  kPunctuation = 4,     // a word of its own (Unicode P* and ASCII symbols)
  kCjk = 8,             // a word of its own (BERT's CJK ideograph ranges)
  kNonspacingMark = 16, // Mn, removed by accent stripping
  kFolds = 32,          // lower-casing mode changes it (fold() is not the identity)
};

namespace detail {
// Class bits of every BMP code point, built once from the tables (64 KiB).
const std::uint8_t* bmp_classes();
std::uint8_t astral_class(char32_t cp);
}  // namespace detail

// The CharClass bits of `cp`. BMP: one table load; beyond: binary searches (rare in text).
inline std::uint8_t char_class(char32_t cp) {
  return cp < 0x10000 ? detail::bmp_classes()[cp] : detail::astral_class(cp);
}

// Longest fold output (code points).
constexpr std::size_t kMaxFold = 3;

// Lower-casing mode's fold of `cp` (NFD, drop Mn, per-code-point lower case): writes up to
// kMaxFold code points to `out` and returns how many (0 for a lone non-spacing mark).
// Folding code point by code point equals folding the string except for NFD's canonical
// reordering of combining marks; every reordered mark that is Mn is dropped anyway, so only a run
// of non-Mn combining marks (ccc > 0, e.g. Musical Symbols U+1D165) out of canonical order could
// differ. No such run occurs in ../shared/data; we accept it rather than ship a ccc table.
std::size_t fold(char32_t cp, char32_t* out);

}  // namespace unicode
}  // namespace md
