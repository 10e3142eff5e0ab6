/**
 * The character classes the BERT normalizer and pre-tokenizer need, per code point, and the
 * lower-casing fold (NFD, drop Mn, lower-case) — the same data the native tokenizer uses.
 *
 * TEMPORARY SOURCE: Node's own Unicode data through \p{...} regexes, computed lazily and cached.
 * The oracle (Rust `tokenizers`) uses older Unicode tables for control/punctuation/Mn, so a few
 * hundred rare code points differ (see /work/notes/tokenizer-findings.md); this module switches to
 * the generated lib/unicode-tables.ts as soon as that exists, so native and TS agree by construction.
 */

/** Bit flags; a code point may have several (e.g. none, or Punctuation alone). */
export const CharClass = {
  /** Removed by text cleaning: U+0000, U+FFFD, Cc/Cf/Co except \t \n \r. Unassigned (Cn) is kept. */
  Drop: 1,
  /** Unicode White_Space (and \t \n \r): becomes a space, separates words. */
  Whitespace: 2,
  /** ASCII !-/ :-@ [-` {-~ or Unicode P*: a word of its own. */
  Punctuation: 4,
  /** CJK ideograph (BERT's ranges): a word of its own. */
  Cjk: 8,
  /** Non-spacing mark: removed by accent stripping (lowercase mode only). */
  NonSpacingMark: 16,
} as const;

const COMPUTED = 0x80;
const classCache = new Uint8Array(0x110000);

const CONTROL_LIKE = /^[\p{Cc}\p{Cf}\p{Co}]$/u;
const WHITE_SPACE = /^\p{White_Space}$/u;
const UNICODE_PUNCTUATION = /^\p{P}$/u;
const NON_SPACING_MARK = /^\p{Mn}$/u;

/** BERT's `_is_chinese_char` ranges (CJK Unified Ideographs and extensions, compatibility ideographs). */
export function isCjkIdeograph(cp: number): boolean {
  return (
    (cp >= 0x4e00 && cp <= 0x9fff) ||
    (cp >= 0x3400 && cp <= 0x4dbf) ||
    (cp >= 0x20000 && cp <= 0x2a6df) ||
    (cp >= 0x2a700 && cp <= 0x2b73f) ||
    (cp >= 0x2b740 && cp <= 0x2b81f) ||
    (cp >= 0x2b920 && cp <= 0x2ceaf) ||
    (cp >= 0xf900 && cp <= 0xfaff) ||
    (cp >= 0x2f800 && cp <= 0x2fa1f)
  );
}

function isAsciiPunctuation(cp: number): boolean {
  return (cp >= 0x21 && cp <= 0x2f) || (cp >= 0x3a && cp <= 0x40) || (cp >= 0x5b && cp <= 0x60) || (cp >= 0x7b && cp <= 0x7e);
}

function computeClass(cp: number): number {
  if (cp >= 0xd800 && cp <= 0xdfff) return CharClass.Drop; // a lone surrogate arrives as U+FFFD
  const ch = String.fromCodePoint(cp);
  let cls = 0;
  if (cp === 0x09 || cp === 0x0a || cp === 0x0d) return CharClass.Whitespace;
  if (cp === 0 || cp === 0xfffd || CONTROL_LIKE.test(ch)) cls |= CharClass.Drop;
  if (WHITE_SPACE.test(ch)) cls |= CharClass.Whitespace;
  if (isAsciiPunctuation(cp) || UNICODE_PUNCTUATION.test(ch)) cls |= CharClass.Punctuation;
  if (isCjkIdeograph(cp)) cls |= CharClass.Cjk;
  if (NON_SPACING_MARK.test(ch)) cls |= CharClass.NonSpacingMark;
  return cls;
}

/** The CharClass bits of code point `cp`. */
export function charClass(cp: number): number {
  const cached = classCache[cp];
  if (cached !== 0) return cached & ~COMPUTED;
  const cls = computeClass(cp);
  classCache[cp] = cls | COMPUTED;
  return cls;
}

const foldCache = new Map<number, string>();

/**
 * What lower-casing mode makes of one code point: its NFD decomposition without non-spacing marks,
 * each remaining code point lower-cased on its own (Rust's char::to_lowercase has no context rules,
 * so a final sigma stays "σ"). May be empty (a lone accent) or longer than one code point.
 */
export function foldForLowercase(cp: number): string {
  let folded = foldCache.get(cp);
  if (folded === undefined) {
    folded = '';
    for (const part of String.fromCodePoint(cp).normalize('NFD')) {
      if (charClass(part.codePointAt(0)!) & CharClass.NonSpacingMark) continue;
      folded += part.toLowerCase();
    }
    foldCache.set(cp, folded);
  }
  return folded;
}
