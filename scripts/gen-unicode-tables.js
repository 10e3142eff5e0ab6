#!/usr/bin/env node
'use strict';
/**
 * Generates the Unicode tables of the BERT tokenizer, for both implementations:
 *   native/core/unicode_tables.h, native/core/unicode_tables.cc   (C++ core)
 *   lib/unicode-tables.ts                                           (pure-TypeScript tokenizer)
 * Both get the same data, so the two tokenizers agree by construction. The output is
 * committed; run `node scripts/gen-unicode-tables.js` after changing this script.
 *
 * WHERE THE DATA COMES FROM
 * 1. Node's own Unicode data: /\p{...}/u regexes, String.prototype.normalize('NFD') and
 *    toLowerCase() on single code points. No hand-typed ranges.
 * 2. Two spec constants, listed below with their source: BERT's `_is_chinese_char` ranges
 *    (as Hugging Face `tokenizers` has them) and the ASCII symbol ranges BERT counts as
 *    punctuation. Hangul syllables decompose by the algorithm of Unicode §3.12 (constants
 *    emitted into the tables, verified here against Node's NFD for every syllable).
 * 3. Compatibility overrides from the reference implementation. Hugging Face `tokenizers`
 *    (the parity oracle, a devDependency) classifies control/punctuation/non-spacing-mark
 *    characters and decomposes with tables frozen at an old Unicode version (about 8.0),
 *    while Node follows the current one. The two disagree on a few hundred rare code points
 *    assigned or re-categorised since (e.g. U+2E52 is punctuation today, not for the oracle).
 *    To give the oracle's ids exactly, this script probes the oracle's normalizer and
 *    pre-tokenizer on every code point and takes the oracle's answer where they differ. Every
 *    override is counted in the generated header comment; none of them occurs in
 *    ../shared/data. Pass --node-only to skip this step and emit pure Node data.
 *
 * WHAT IS EMITTED (all sets are sorted, inclusive code point ranges)
 * - DROP: removed by text cleaning: U+0000, U+FFFD, Cc/Cf/Co except \t \n \r. Unassigned
 *   code points (Cn) are kept, as the oracle keeps them.
 * - WHITESPACE: White_Space (what Rust's char::is_whitespace tests) minus DROP: becomes ' '.
 * - PUNCTUATION: Unicode P* plus ASCII !-/ :-@ [-` {-~: each one a word of its own.
 * - NONSPACING_MARK: Mn, dropped by accent stripping.
 * - CJK: BERT's ideograph ranges: each one a word of its own.
 * - FOLD: what lower-casing mode makes of one code point: NFD, drop Mn, then lower-case each
 *   remaining code point on its own (Rust's char::to_lowercase, no context rules). Only code
 *   points that change are listed; Hangul syllables are left to the algorithm.
 */
const fs = require('fs');
const path = require('path');

const ROOT = path.resolve(__dirname, '..');
const MAX_CP = 0x10ffff;
const nodeOnly = process.argv.includes('--node-only');

// ---- spec constants -------------------------------------------------------------------

// BERT's _is_chinese_char (google-research/bert tokenization.py), as Hugging Face `tokenizers`
// has it (normalizers/bert.rs): note its extension-C/D/E range starts at U+2B920, not U+2B820.
const BERT_CJK_RANGES = [
  [0x4e00, 0x9fff],
  [0x3400, 0x4dbf],
  [0x20000, 0x2a6df],
  [0x2a700, 0x2b73f],
  [0x2b740, 0x2b81f],
  [0x2b920, 0x2ceaf],
  [0xf900, 0xfaff],
  [0x2f800, 0x2fa1f],
];
// BERT's _is_punctuation: "We treat all non-letter/number ASCII as punctuation" (Rust:
// char::is_ascii_punctuation).
const ASCII_PUNCTUATION_RANGES = [
  [0x21, 0x2f],
  [0x3a, 0x40],
  [0x5b, 0x60],
  [0x7b, 0x7e],
];
// Hangul syllable decomposition, Unicode Standard §3.12.
const HANGUL = { S_BASE: 0xac00, L_BASE: 0x1100, V_BASE: 0x1161, T_BASE: 0x11a7, L_COUNT: 19, V_COUNT: 21, T_COUNT: 28 };
HANGUL.N_COUNT = HANGUL.V_COUNT * HANGUL.T_COUNT;
HANGUL.S_COUNT = HANGUL.L_COUNT * HANGUL.N_COUNT;

// ---- helpers --------------------------------------------------------------------------

const isSurrogate = (cp) => cp >= 0xd800 && cp <= 0xdfff;
const inRanges = (ranges, cp) => ranges.some(([lo, hi]) => cp >= lo && cp <= hi);
const hex = (cp) => 'U+' + cp.toString(16).toUpperCase().padStart(4, '0');

/** Sorted inclusive ranges of every code point for which `member(cp)` is true. */
function rangesOf(member) {
  const ranges = [];
  for (let cp = 0; cp <= MAX_CP; cp++) {
    if (!member(cp)) continue;
    const last = ranges[ranges.length - 1];
    if (last && last[1] === cp - 1) last[1] = cp;
    else ranges.push([cp, cp]);
  }
  return ranges;
}

function hangulDecompose(cp) {
  const s = cp - HANGUL.S_BASE;
  const l = HANGUL.L_BASE + Math.floor(s / HANGUL.N_COUNT);
  const v = HANGUL.V_BASE + Math.floor((s % HANGUL.N_COUNT) / HANGUL.T_COUNT);
  const t = HANGUL.T_BASE + (s % HANGUL.T_COUNT);
  return t === HANGUL.T_BASE ? [l, v] : [l, v, t];
}
const isHangulSyllable = (cp) => cp >= HANGUL.S_BASE && cp < HANGUL.S_BASE + HANGUL.S_COUNT;
const codePoints = (s) => Array.from(s, (c) => c.codePointAt(0));

// ---- classes from Node's Unicode data -------------------------------------------------

const RE = {
  controlLike: /^[\p{Cc}\p{Cf}\p{Co}]$/u,
  whiteSpace: /^\p{White_Space}$/u,
  punctuation: /^\p{P}$/u,
  nonspacingMark: /^\p{Mn}$/u,
};
const TAB_LF_CR = new Set([0x09, 0x0a, 0x0d]);

const classes = { drop: new Uint8Array(MAX_CP + 1), whitespace: new Uint8Array(MAX_CP + 1), punctuation: new Uint8Array(MAX_CP + 1), nonspacingMark: new Uint8Array(MAX_CP + 1) };
for (let cp = 0; cp <= MAX_CP; cp++) {
  if (isSurrogate(cp)) continue; // never decoded: invalid UTF-8 / lone UTF-16 surrogates become U+FFFD
  const c = String.fromCodePoint(cp);
  const drop = cp === 0 || cp === 0xfffd || (RE.controlLike.test(c) && !TAB_LF_CR.has(cp));
  classes.drop[cp] = drop ? 1 : 0;
  classes.whitespace[cp] = !drop && (RE.whiteSpace.test(c) || TAB_LF_CR.has(cp)) ? 1 : 0;
  classes.punctuation[cp] = RE.punctuation.test(c) || inRanges(ASCII_PUNCTUATION_RANGES, cp) ? 1 : 0;
  classes.nonspacingMark[cp] = RE.nonspacingMark.test(c) ? 1 : 0;
}

/** Node's fold (lower-casing mode) of one code point, using the current Mn class. */
function nodeFold(cp) {
  const out = [];
  for (const d of codePoints(String.fromCodePoint(cp).normalize('NFD'))) {
    if (classes.nonspacingMark[d]) continue;
    out.push(...codePoints(String.fromCodePoint(d).toLowerCase()));
  }
  return out;
}

// Verify the Hangul algorithm against Node's NFD before relying on it.
for (let cp = HANGUL.S_BASE; cp < HANGUL.S_BASE + HANGUL.S_COUNT; cp++) {
  const expected = codePoints(String.fromCodePoint(cp).normalize('NFD'));
  if (expected.join() !== hangulDecompose(cp).join()) throw new Error(`Hangul algorithm disagrees with NFD at ${hex(cp)}`);
}

// ---- overrides from the oracle --------------------------------------------------------

const overrides = { drop: [], whitespace: [], punctuation: [], nonspacingMark: [], fold: [] };
const foldOverride = new Map(); // cp -> oracle fold

if (!nodeOnly) {
  let oracle;
  try {
    oracle = require(path.join(ROOT, 'node_modules', 'tokenizers'));
  } catch (err) {
    throw new Error(`scripts/gen-unicode-tables.js needs the \`tokenizers\` devDependency (npm ci), or --node-only: ${err.message}`);
  }
  const clean = oracle.bertNormalizer({ cleanText: true, handleChineseChars: false, stripAccents: false, lowercase: false });
  const stripOnly = oracle.bertNormalizer({ cleanText: false, handleChineseChars: false, stripAccents: true, lowercase: false });
  const fold = oracle.bertNormalizer({ cleanText: false, handleChineseChars: false, stripAccents: true, lowercase: true });
  const cjk = oracle.bertNormalizer({ cleanText: false, handleChineseChars: true, stripAccents: false, lowercase: false });
  const pre = oracle.bertPreTokenizer();
  const set = (name, cp, value) => {
    if (classes[name][cp] !== value) {
      overrides[name].push(cp);
      classes[name][cp] = value;
    }
  };
  for (let cp = 0; cp <= MAX_CP; cp++) {
    if (isSurrogate(cp)) continue;
    const c = String.fromCodePoint(cp);
    const cleaned = clean.normalizeString('x' + c + 'x');
    set('drop', cp, cleaned === 'xx' ? 1 : 0);
    set('whitespace', cp, cleaned === 'x x' ? 1 : 0);
    // 'x' + c + 'x' splits in three around a punctuation char, in two around whitespace.
    const words = pre.preTokenizeString('x' + c + 'x').map((w) => w[0]);
    set('punctuation', cp, words.length === 3 && words[1] === c ? 1 : 0);
    // A lone code point survives accent stripping unless it decomposes or is Mn.
    const stripped = stripOnly.normalizeString(c);
    const decomposed = c.normalize('NFD');
    if (decomposed === c || stripped === '') set('nonspacingMark', cp, stripped === '' ? 1 : 0);
    const oracleFold = codePoints(fold.normalizeString(c));
    if (oracleFold.join() !== nodeFold(cp).join()) {
      overrides.fold.push(cp);
      foldOverride.set(cp, oracleFold);
    }
    if ((cjk.normalizeString(c) !== c) !== inRanges(BERT_CJK_RANGES, cp)) throw new Error(`BERT CJK ranges disagree with the oracle at ${hex(cp)}`);
  }
}

// ---- the fold table -------------------------------------------------------------------

const foldEntries = []; // [cp, [out...]] for code points whose fold is not themselves
for (let cp = 0; cp <= MAX_CP; cp++) {
  if (isSurrogate(cp) || isHangulSyllable(cp)) continue;
  const out = foldOverride.get(cp) ?? nodeFold(cp);
  if (out.length === 1 && out[0] === cp) continue;
  foldEntries.push([cp, out]);
}
// The Hangul algorithm must give the oracle's fold too (jamo are neither Mn nor cased).
for (let cp = HANGUL.S_BASE; cp < HANGUL.S_BASE + HANGUL.S_COUNT; cp++) {
  const out = foldOverride.get(cp) ?? nodeFold(cp);
  if (out.join() !== hangulDecompose(cp).join()) throw new Error(`Hangul fold differs at ${hex(cp)}`);
}
const maxFoldLength = Math.max(...foldEntries.map((e) => e[1].length));

const tables = {
  DROP: rangesOf((cp) => classes.drop[cp] === 1),
  WHITESPACE: rangesOf((cp) => classes.whitespace[cp] === 1),
  PUNCTUATION: rangesOf((cp) => classes.punctuation[cp] === 1),
  NONSPACING_MARK: rangesOf((cp) => classes.nonspacingMark[cp] === 1),
  CJK: BERT_CJK_RANGES.slice().sort((a, b) => a[0] - b[0]),
};

// ---- output ---------------------------------------------------------------------------

const unicodeVersion = process.versions.unicode;
const overrideSummary = nodeOnly
  ? ' * Oracle overrides: none (generated with --node-only).'
  : [
      ' * Oracle overrides (code points where Hugging Face `tokenizers` 0.23, with its older Unicode',
      ' * tables, disagrees with Node and its answer is taken; see scripts/gen-unicode-tables.js):',
      ...Object.entries(overrides).map(([k, v]) => ` *   ${k}: ${v.length}${v.length ? ' (' + v.slice(0, 8).map(hex).join(' ') + (v.length > 8 ? ' ...' : '') + ')' : ''}`),
    ].join('\n');
const banner = (commentStart, line) =>
  [
    `${commentStart} generated by scripts/gen-unicode-tables.js; do not edit.`,
    `${line} Source: Node ${process.version} Unicode ${unicodeVersion} data, BERT's CJK ranges, the ASCII punctuation`,
    `${line} ranges, the Hangul algorithm (Unicode §3.12).`,
  ].join('\n');

function formatRows(items, perLine, indent) {
  const lines = [];
  for (let i = 0; i < items.length; i += perLine) lines.push(indent + items.slice(i, i + perLine).join(', ') + ',');
  return lines.join('\n');
}
const hx = (cp) => '0x' + cp.toString(16).toUpperCase();

// C++ header
const tableNames = { DROP: 'kDrop', WHITESPACE: 'kWhitespace', PUNCTUATION: 'kPunctuation', NONSPACING_MARK: 'kNonspacingMark', CJK: 'kCjk' };
const header = `${banner('//', '//')}
//
// Character data of the BERT normalizer and pre-tokenizer (see wordpiece_tokenizer.h). Every set is
// a sorted array of inclusive code point ranges; look-ups go through unicode.h.
${overrideSummary.replace(/^ \*/gm, '//')}
#pragma once
#include <cstddef>
#include <cstdint>

namespace md {
namespace unicode_tables {

struct CodePointRange {
  char32_t first;
  char32_t last;  // inclusive
};

// Removed by text cleaning: U+0000, U+FFFD, Cc/Cf/Co except \\t \\n \\r (unassigned code points stay).
extern const CodePointRange kDrop[];
extern const std::size_t kDropSize;
// White_Space minus kDrop: becomes ' ' and separates words.
extern const CodePointRange kWhitespace[];
extern const std::size_t kWhitespaceSize;
// Unicode P* plus ASCII !-/ :-@ [-\` {-~: each one a word of its own.
extern const CodePointRange kPunctuation[];
extern const std::size_t kPunctuationSize;
// Mn: removed by accent stripping.
extern const CodePointRange kNonspacingMark[];
extern const std::size_t kNonspacingMarkSize;
// BERT's CJK ideograph ranges: each one a word of its own.
extern const CodePointRange kCjk[];
extern const std::size_t kCjkSize;

// Lower-casing mode's fold of one code point: NFD, drop Mn, lower-case each code point (no
// context). Sorted by code_point; the output is kFoldOutput[offset, offset + length). Code points
// not listed fold to themselves, Hangul syllables excepted (algorithmic, constants below).
struct FoldEntry {
  char32_t code_point;
  std::uint16_t offset;
  std::uint8_t length;
};
extern const FoldEntry kFold[];
extern const std::size_t kFoldSize;
extern const char32_t kFoldOutput[];
constexpr std::size_t kMaxFoldLength = ${maxFoldLength};

// Hangul syllable decomposition (Unicode §3.12): S -> L V [T].
constexpr char32_t kHangulSBase = ${hx(HANGUL.S_BASE)}, kHangulLBase = ${hx(HANGUL.L_BASE)}, kHangulVBase = ${hx(HANGUL.V_BASE)}, kHangulTBase = ${hx(HANGUL.T_BASE)};
constexpr char32_t kHangulVCount = ${HANGUL.V_COUNT}, kHangulTCount = ${HANGUL.T_COUNT}, kHangulNCount = ${HANGUL.N_COUNT}, kHangulSCount = ${HANGUL.S_COUNT};

}  // namespace unicode_tables
}  // namespace md
`;

let foldOffset = 0;
const foldRows = [];
const foldOutput = [];
for (const [cp, out] of foldEntries) {
  foldRows.push(`{${hx(cp)}, ${foldOffset}, ${out.length}}`);
  foldOutput.push(...out);
  foldOffset += out.length;
}
if (foldOffset > 0xffff) throw new Error('fold output exceeds uint16 offsets');

let source = `${banner('//', '//')}
#include "unicode_tables.h"

namespace md {
namespace unicode_tables {
`;
for (const [name, ranges] of Object.entries(tables)) {
  source += `
const CodePointRange ${tableNames[name]}[] = {
${formatRows(ranges.map(([lo, hi]) => `{${hx(lo)}, ${hx(hi)}}`), 6, '    ')}
};
const std::size_t ${tableNames[name]}Size = ${ranges.length};
`;
}
source += `
const FoldEntry kFold[] = {
${formatRows(foldRows, 5, '    ')}
};
const std::size_t kFoldSize = ${foldRows.length};

const char32_t kFoldOutput[] = {
${formatRows(foldOutput.map(hx), 12, '    ')}
};

}  // namespace unicode_tables
}  // namespace md
`;

// TypeScript
let ts = `${banner('/**', ' *')}
 *
 * Character data of the BERT normalizer and pre-tokenizer, the same data as
 * native/core/unicode_tables.cc. Sets are flat arrays of inclusive ranges [first0, last0,
 * first1, last1, ...], sorted.
${overrideSummary}
 */

/** Unicode version of the Node that generated these tables (before oracle overrides). */
export const UNICODE_VERSION = '${unicodeVersion}';
`;
const tsDocs = {
  DROP: 'Removed by text cleaning: U+0000, U+FFFD, Cc/Cf/Co except \\t \\n \\r (unassigned code points stay).',
  WHITESPACE: "White_Space minus DROP: becomes ' ' and separates words.",
  PUNCTUATION: 'Unicode P* plus ASCII !-/ :-@ [-` {-~: each one a word of its own.',
  NONSPACING_MARK: 'Mn: removed by accent stripping.',
  CJK: "BERT's CJK ideograph ranges: each one a word of its own.",
};
for (const [name, ranges] of Object.entries(tables)) {
  ts += `
/** ${tsDocs[name]} */
export const ${name}_RANGES: readonly number[] = [
${formatRows(ranges.map(([lo, hi]) => `${hx(lo)}, ${hx(hi)}`), 6, '  ')}
];
`;
}
ts += `
/**
 * Lower-casing mode's fold of one code point: NFD, drop Mn, lower-case each remaining code point on
 * its own (no context rules). Rows are [codePoint, ...output], sorted; code points not listed fold
 * to themselves, Hangul syllables excepted (use HANGUL below). The output may be empty (a lone mark).
 */
export const FOLD: readonly (readonly number[])[] = [
${formatRows(foldEntries.map(([cp, out]) => `[${[cp, ...out].map(hx).join(', ')}]`), 6, '  ')}
];

/** Hangul syllable decomposition (Unicode §3.12): S -> L V [T]. */
export const HANGUL = {
  S_BASE: ${hx(HANGUL.S_BASE)}, L_BASE: ${hx(HANGUL.L_BASE)}, V_BASE: ${hx(HANGUL.V_BASE)}, T_BASE: ${hx(HANGUL.T_BASE)},
  V_COUNT: ${HANGUL.V_COUNT}, T_COUNT: ${HANGUL.T_COUNT}, N_COUNT: ${HANGUL.N_COUNT}, S_COUNT: ${HANGUL.S_COUNT},
} as const;

/** True when \`cp\` lies in one of the flat inclusive \`ranges\` (binary search). */
export function inRanges(ranges: readonly number[], cp: number): boolean {
  let lo = 0;
  let hi = ranges.length / 2 - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (cp < ranges[2 * mid]) hi = mid - 1;
    else if (cp > ranges[2 * mid + 1]) lo = mid + 1;
    else return true;
  }
  return false;
}
`;

/** Writes through a temp file and a rename, so a crash never leaves half a table. */
function writeAtomic(file, text) {
  const tmp = file + '.tmp';
  fs.writeFileSync(tmp, text);
  fs.renameSync(tmp, file);
  console.log(`wrote ${path.relative(ROOT, file)} (${text.length} bytes)`);
}
writeAtomic(path.join(ROOT, 'native', 'core', 'unicode_tables.h'), header);
writeAtomic(path.join(ROOT, 'native', 'core', 'unicode_tables.cc'), source);
writeAtomic(path.join(ROOT, 'lib', 'unicode-tables.ts'), ts);
for (const [k, v] of Object.entries(tables)) console.log(`${k}: ${v.length} ranges`);
console.log(`FOLD: ${foldEntries.length} entries, longest ${maxFoldLength}`);
console.log(overrideSummary.replace(/^ \* ?/gm, ''));
