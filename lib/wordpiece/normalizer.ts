/**
 * The character classes the BERT normalizer and pre-tokenizer need, per code point, and the
 * lower-casing fold (NFD, drop Mn, lower-case each code point) — read from the generated
 * lib/unicode-tables.ts, the very data native/core/unicode_tables.cc holds, so the TypeScript and
 * the native tokenizer agree by construction. (Those tables take the oracle's answer where Hugging
 * Face `tokenizers`, with older Unicode tables, disagrees with Node; see scripts/gen-unicode-tables.js.)
 */
import {
  CJK_RANGES,
  DROP_RANGES,
  FOLD,
  HANGUL,
  NONSPACING_MARK_RANGES,
  PUNCTUATION_RANGES,
  WHITESPACE_RANGES,
} from '../unicode-tables';

/** Bit flags; a code point may have several, or none (a letter, a digit, an emoji...). */
export const CharClass = {
  /** Removed by text cleaning: U+0000, U+FFFD, Cc/Cf/Co except \t \n \r. Unassigned (Cn) is kept. */
  Drop: 1,
  /** White_Space (and \t \n \r): becomes a space, separates words. */
  Whitespace: 2,
  /** ASCII !-/ :-@ [-` {-~ or Unicode P*: a word of its own. */
  Punctuation: 4,
  /** CJK ideograph (BERT's ranges): a word of its own. */
  Cjk: 8,
  /** Non-spacing mark: removed by accent stripping (lower-casing mode only). */
  NonSpacingMark: 16,
  /** Lower-casing mode changes it (foldForLowercase(cp) is not cp itself): lets the hot loop skip the fold. */
  Folds: 32,
} as const;

/**
 * One byte per code point (1.1 MB): a class lookup is a single array read in the hot loop.
 * Filling it from the range lists takes about a millisecond at load.
 */
const classOf = new Uint8Array(0x110000);
function mark(ranges: readonly number[], bit: number): void {
  for (let i = 0; i < ranges.length; i += 2) {
    for (let cp = ranges[i]; cp <= ranges[i + 1]; cp++) classOf[cp] |= bit;
  }
}
mark(DROP_RANGES, CharClass.Drop);
mark(WHITESPACE_RANGES, CharClass.Whitespace);
mark(PUNCTUATION_RANGES, CharClass.Punctuation);
mark(CJK_RANGES, CharClass.Cjk);
mark(NONSPACING_MARK_RANGES, CharClass.NonSpacingMark);
// A lone surrogate reaches the Rust and C++ tokenizers as U+FFFD (N-API's UTF-8 conversion), which is dropped.
for (let cp = 0xd800; cp <= 0xdfff; cp++) classOf[cp] = CharClass.Drop;

for (const row of FOLD) classOf[row[0]] |= CharClass.Folds;
for (let cp = HANGUL.S_BASE; cp < HANGUL.S_BASE + HANGUL.S_COUNT; cp++) classOf[cp] |= CharClass.Folds;

/** The CharClass bits of code point `cp` (0 <= cp <= 0x10FFFF). */
export function charClass(cp: number): number {
  return classOf[cp];
}

/** Fold of every code point that does not fold to itself (Hangul syllables are computed instead). */
const foldOf = new Map<number, string>();
for (const row of FOLD) foldOf.set(row[0], String.fromCodePoint(...row.slice(1)));

/**
 * What lower-casing mode makes of one code point: its NFD decomposition without non-spacing marks,
 * each remaining code point lower-cased on its own (Rust's char::to_lowercase has no context rules,
 * so a final sigma stays "σ"). May be empty (a lone accent) or several code points.
 */
export function foldForLowercase(cp: number): string {
  const folded = foldOf.get(cp);
  if (folded !== undefined) return folded;
  const s = cp - HANGUL.S_BASE;
  if (s >= 0 && s < HANGUL.S_COUNT) {
    // Hangul syllables decompose algorithmically into jamo (letters, so nothing is dropped or lower-cased).
    const l = HANGUL.L_BASE + Math.floor(s / HANGUL.N_COUNT);
    const v = HANGUL.V_BASE + Math.floor((s % HANGUL.N_COUNT) / HANGUL.T_COUNT);
    const t = HANGUL.T_BASE + (s % HANGUL.T_COUNT);
    return t === HANGUL.T_BASE ? String.fromCharCode(l, v) : String.fromCharCode(l, v, t);
  }
  return String.fromCodePoint(cp);
}
