#include "unicode.h"

#include <algorithm>
#include <array>
#include <memory>

#include "unicode_tables.h"

namespace md {
namespace unicode {

namespace ut = unicode_tables;
static_assert(ut::kMaxFoldLength <= kMaxFold, "regenerated tables have a longer fold than kMaxFold");

std::size_t count_invalid_utf8(std::string_view bytes) {
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  const auto* end = p + bytes.size();
  std::size_t invalid_count = 0;
  while (p < end) {
    if (*p < 0x80) {
      ++p;
      continue;
    }
    bool invalid = false;
    decode_utf8(p, end, &invalid);
    invalid_count += invalid ? 1 : 0;
  }
  return invalid_count;
}

std::size_t utf16_to_utf8(const char16_t* units, std::size_t count, std::string& out) {
  // Sized for the worst case (3 bytes per unit) and written through a pointer: push_back's
  // capacity check per byte made this pass cost as much as tokenizing.
  out.resize(3 * count);
  char* w = &out[0];
  std::size_t lone = 0;
  for (std::size_t i = 0; i < count; ++i) {
    const char16_t u = units[i];
    if (u < 0x80) {
      *w++ = static_cast<char>(u);
    } else if (u < 0x800) {
      *w++ = static_cast<char>(0xC0 | (u >> 6));
      *w++ = static_cast<char>(0x80 | (u & 0x3F));
    } else if (u < 0xD800 || u > 0xDFFF) {
      *w++ = static_cast<char>(0xE0 | (u >> 12));
      *w++ = static_cast<char>(0x80 | ((u >> 6) & 0x3F));
      *w++ = static_cast<char>(0x80 | (u & 0x3F));
    } else if (u <= 0xDBFF && i + 1 < count && units[i + 1] >= 0xDC00 && units[i + 1] <= 0xDFFF) {
      const char32_t cp = 0x10000 + ((static_cast<char32_t>(u) - 0xD800) << 10) + (units[i + 1] - 0xDC00);
      ++i;
      *w++ = static_cast<char>(0xF0 | (cp >> 18));
      *w++ = static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      *w++ = static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      *w++ = static_cast<char>(0x80 | (cp & 0x3F));
    } else {  // a lone surrogate: U+FFFD, as V8 does
      *w++ = static_cast<char>(0xEF);
      *w++ = static_cast<char>(0xBF);
      *w++ = static_cast<char>(0xBD);
      ++lone;
    }
  }
  out.resize(static_cast<std::size_t>(w - out.data()));
  return lone;
}

namespace {

bool in_ranges(const ut::CodePointRange* ranges, std::size_t size, char32_t cp) {
  const ut::CodePointRange* end = ranges + size;
  // First range whose last >= cp.
  const ut::CodePointRange* it =
      std::lower_bound(ranges, end, cp, [](const ut::CodePointRange& r, char32_t c) { return r.last < c; });
  return it != end && it->first <= cp;
}

bool is_hangul_syllable(char32_t cp) { return cp >= ut::kHangulSBase && cp < ut::kHangulSBase + ut::kHangulSCount; }

const ut::FoldEntry* find_fold(char32_t cp) {
  const ut::FoldEntry* end = ut::kFold + ut::kFoldSize;
  const ut::FoldEntry* it =
      std::lower_bound(ut::kFold, end, cp, [](const ut::FoldEntry& e, char32_t c) { return e.code_point < c; });
  return it != end && it->code_point == cp ? it : nullptr;
}

std::uint8_t class_from_tables(char32_t cp) {
  std::uint8_t cls = 0;
  if (in_ranges(ut::kDrop, ut::kDropSize, cp)) cls |= kDrop;
  if (in_ranges(ut::kWhitespace, ut::kWhitespaceSize, cp)) cls |= kWhitespace;
  if (in_ranges(ut::kPunctuation, ut::kPunctuationSize, cp)) cls |= kPunctuation;
  if (in_ranges(ut::kCjk, ut::kCjkSize, cp)) cls |= kCjk;
  if (in_ranges(ut::kNonspacingMark, ut::kNonspacingMarkSize, cp)) cls |= kNonspacingMark;
  if (is_hangul_syllable(cp) || find_fold(cp) != nullptr) cls |= kFolds;
  return cls;
}

}  // namespace

namespace detail {

const std::uint8_t* bmp_classes() {
  // Built once, thread-safely (function-local static), on first use.
  static const std::unique_ptr<std::uint8_t[]> table = [] {
    std::unique_ptr<std::uint8_t[]> t(new std::uint8_t[0x10000]);
    for (char32_t cp = 0; cp < 0x10000; ++cp) t[cp] = class_from_tables(cp);
    return t;
  }();
  return table.get();
}

std::uint8_t astral_class(char32_t cp) { return cp > 0x10FFFF ? 0 : class_from_tables(cp); }

}  // namespace detail

std::size_t fold(char32_t cp, char32_t* out) {
  if (is_hangul_syllable(cp)) {
    const char32_t s = cp - ut::kHangulSBase;
    out[0] = ut::kHangulLBase + s / ut::kHangulNCount;
    out[1] = ut::kHangulVBase + (s % ut::kHangulNCount) / ut::kHangulTCount;
    const char32_t t = s % ut::kHangulTCount;
    if (t == 0) return 2;
    out[2] = ut::kHangulTBase + t;
    return 3;
  }
  const ut::FoldEntry* entry = find_fold(cp);
  if (entry == nullptr) {
    out[0] = cp;
    return 1;
  }
  std::copy(ut::kFoldOutput + entry->offset, ut::kFoldOutput + entry->offset + entry->length, out);
  return entry->length;
}

}  // namespace unicode
}  // namespace md
