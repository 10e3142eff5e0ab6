/**
 * A pure-TypeScript BERT WordPiece tokenizer.
 *
 * It gives exactly the ids of Hugging Face's `tokenizers` BertWordPiece setup (BertNormalizer,
 * BertPreTokenizer, WordPiece model, BertProcessing, the specials as added tokens) for a given
 * vocab.txt, and of the native tokenizer of this package; test/tokenizer-parity.test.ts proves it
 * on every text of ../shared/data. The WASM backend uses it where the native addon cannot load.
 *
 * The pipeline, in the oracle's order (established against `tokenizers` by the parity tests):
 *  1. special tokens ([PAD] [UNK] [CLS] [SEP] [MASK], those in the vocab) are found in the RAW text,
 *     leftmost-longest, case-sensitive; they are never split and the text between them is processed
 *     on its own;
 *  2. cleaning: U+0000, U+FFFD and control characters (Cc/Cf/Co except \t \n \r) are removed,
 *     whitespace becomes a space; a lone UTF-16 surrogate counts as U+FFFD (that is what reaches
 *     Rust or C++ through N-API) and is removed too;
 *  3. every CJK ideograph becomes a word of its own;
 *  4. with `lowercase`: NFD, drop non-spacing marks (Mn), then lower-case code point by code point
 *     (no context rules: "ΑΣ" -> "ασ", unlike String.prototype.toLowerCase);
 *  5. split on whitespace, and every punctuation character is a word of its own;
 *  6. WordPiece: greedy longest-match-first, continuation pieces carry "##"; a word longer than
 *     100 code points, or one with any piece that is not in the vocab, becomes one [UNK].
 *
 * Known gap: NFD's canonical reordering of combining marks is not done (folding is per code point).
 * It matters only for two or more marks with a non-zero combining class that survive accent
 * stripping, standing out of canonical order, inside a word the vocab can spell (never with
 * bert-base-chinese: such words are [UNK] either way).
 *
 * Speed: one pass over the UTF-16 code units, no regex, no per-character strings. Words are built
 * in a Uint16Array and matched against a trie of the vocab (open-addressed hash of trie edges), so a
 * longest match costs one hash probe per code unit. CJK characters and punctuation, the bulk of
 * Chinese text, take a direct table lookup.
 */
import { argumentError, booleanOption, checkString, describe } from '../util/check-args';
import { readVocabFile } from '../vocab';
import { decodeWordPieceTokens, type DecodeOptions } from './decode';
import * as normalizer from './normalizer';
import * as preTokenizer from './pre-tokenizer';
import { CLS_TOKEN, CONTINUATION_PREFIX, MASK_TOKEN, MAX_CHARS_PER_WORD, PAD_TOKEN, SEP_TOKEN, SPECIAL_TOKENS, UNK_TOKEN } from './tokens';
import type { EncodeBatchOptions, EncodedBatch, EncodeOptions, WordPieceOptions } from './types';
import { VocabTrie } from './vocab-trie';

// Module-local copies: transpilers (tsx/esbuild) turn imported bindings into property getters,
// which cost more than the rest of the hot loop together; these are plain constants.
const charClass = normalizer.charClass;
const foldForLowercase = normalizer.foldForLowercase;
const DROP = normalizer.CharClass.Drop;
const WHITESPACE = normalizer.CharClass.Whitespace;
const PUNCTUATION = normalizer.CharClass.Punctuation;
const CJK = normalizer.CharClass.Cjk;
const FOLDS = normalizer.CharClass.Folds;
const ASCII_CLASS = preTokenizer.ASCII_CLASS;
const ASCII_TO_CLASS = preTokenizer.ASCII_TO_CLASS;
const ASCII_WORD = preTokenizer.ASCII_WORD;
const ASCII_SPACE = preTokenizer.ASCII_SPACE;
const ASCII_PUNCT = preTokenizer.ASCII_PUNCT;

/** A growable Int32Array used as the output of the hot loop (no per-token allocation). */
class IdBuffer {
  data = new Int32Array(1024);
  length = 0;

  push(id: number): void {
    if (this.length === this.data.length) {
      const bigger = new Int32Array(this.data.length * 2);
      bigger.set(this.data);
      this.data = bigger;
    }
    this.data[this.length++] = id;
  }
}

/** Start/end of one special token found in the raw text. */
interface SpecialMatch {
  start: number;
  end: number;
  id: number;
}

export class WordPieceTokenizer {
  readonly lowercase: boolean;
  readonly vocabSize: number;
  readonly unkId: number;
  /** -1 when the vocab has no such token (then the features that need it throw a clear error). */
  readonly padId: number;
  readonly clsId: number;
  readonly sepId: number;
  readonly maskId: number;

  private readonly tokens: readonly string[];
  private readonly idOf: Map<string, number>;
  private readonly trie: VocabTrie;
  /** Trie node after "##": continuation pieces start here (-1: the vocab has none). */
  private readonly continuationRoot: number;
  /** Id of the one-code-unit word `c` (a BMP char as a whole word), or -1; the CJK/punctuation fast path. */
  private readonly singleUnitId: Int32Array;
  /** Special tokens in the vocab, longest first, so the first that matches at a position is the longest. */
  private readonly specials: { text: string; id: number }[];
  private readonly specialIds: Set<number>;
  /** First code units of the specials: a cheap pre-filter before comparing whole tokens. */
  private readonly specialFirstUnits: Set<number>;
  /** The first code unit shared by all specials, when they share one (the BERT ones all start with "["). */
  private readonly onlySpecialFirstUnit: string | null;

  // Scratch space for the current word, reused by every call (the tokenizer is synchronous).
  private word = new Uint16Array(256);
  private wordLength = 0;
  private wordCodePoints = 0;
  private readonly out = new IdBuffer();
  /** Set only inside preTokenize(): words are collected as strings instead of being encoded. */
  private collectedWords: string[] | null = null;

  constructor(tokens: readonly string[], options: WordPieceOptions = {}) {
    if (!Array.isArray(tokens)) throw argumentError('an array of token strings', 'tokens', tokens);
    const lowercase = options.lowercase ?? true;
    if (typeof lowercase !== 'boolean') throw argumentError('boolean', 'lowercase', lowercase);
    this.lowercase = lowercase;
    this.tokens = tokens.slice();
    this.vocabSize = tokens.length;
    this.idOf = new Map();
    for (let id = 0; id < tokens.length; id++) {
      const t = tokens[id];
      checkString(t, `tokens[${id}]`);
      if (this.idOf.has(t)) {
        throw new Error(`duplicate token ${JSON.stringify(t)} at ids ${this.idOf.get(t)} and ${id}`);
      }
      this.idOf.set(t, id);
    }
    const unk = this.idOf.get(UNK_TOKEN);
    if (unk === undefined) throw new Error(`vocabulary has no ${UNK_TOKEN} token; WordPiece needs it`);
    this.unkId = unk;
    this.padId = this.idOf.get(PAD_TOKEN) ?? -1;
    this.clsId = this.idOf.get(CLS_TOKEN) ?? -1;
    this.sepId = this.idOf.get(SEP_TOKEN) ?? -1;
    this.maskId = this.idOf.get(MASK_TOKEN) ?? -1;

    this.trie = new VocabTrie(this.tokens);
    this.continuationRoot = this.trie.walk(CONTINUATION_PREFIX);
    this.singleUnitId = new Int32Array(0x10000).fill(-1);
    for (let id = 0; id < tokens.length; id++) {
      if (tokens[id].length === 1) this.singleUnitId[tokens[id].charCodeAt(0)] = id;
    }

    this.specials = SPECIAL_TOKENS.filter((t) => this.idOf.has(t))
      .map((text) => ({ text, id: this.idOf.get(text)! }))
      .sort((a, b) => b.text.length - a.text.length);
    this.specialIds = new Set(this.specials.map((s) => s.id));
    this.specialFirstUnits = new Set(this.specials.map((s) => s.text.charCodeAt(0)));
    this.onlySpecialFirstUnit =
      this.specialFirstUnits.size === 1 ? String.fromCharCode(this.specials[0].text.charCodeAt(0)) : null;
  }

  static fromFile(path: string, options: WordPieceOptions = {}): WordPieceTokenizer {
    return new WordPieceTokenizer(readVocabFile(path), options);
  }

  tokenToId(token: string): number | undefined {
    return this.idOf.get(token);
  }

  idToToken(id: number): string | undefined {
    return Number.isInteger(id) && id >= 0 && id < this.tokens.length ? this.tokens[id] : undefined;
  }

  /** True for the ids of [PAD] [UNK] [CLS] [SEP] [MASK] (those in the vocab). */
  isSpecialId(id: number): boolean {
    return this.specialIds.has(id);
  }

  /** The WordPiece pieces of `text`, without [CLS]/[SEP] (specials written in the text stay). */
  tokenize(text: string): string[] {
    checkString(text, 'text');
    this.out.length = 0;
    this.encodeInto(text);
    const pieces = new Array<string>(this.out.length);
    for (let i = 0; i < this.out.length; i++) pieces[i] = this.tokens[this.out.data[i]];
    return pieces;
  }

  /**
   * The words WordPiece would spell: `text` normalized and pre-tokenized (specials written in the
   * text stay whole). For debugging and for checking the character classes against the oracle.
   */
  preTokenize(text: string): string[] {
    return this.collectWords(text, true);
  }

  /** @internal Normalized, pre-tokenized words; `matchSpecials` false treats "[SEP]" etc. as plain text. */
  collectWords(text: string, matchSpecials: boolean): string[] {
    checkString(text, 'text');
    const words: string[] = [];
    this.collectedWords = words;
    try {
      this.out.length = 0;
      let segmentStart = 0;
      if (matchSpecials) {
        for (let match = this.findSpecial(text, 0); match !== null; match = this.findSpecial(text, match.end)) {
          this.encodeSegment(text, segmentStart, match.start);
          words.push(text.slice(match.start, match.end));
          segmentStart = match.end;
        }
      }
      this.encodeSegment(text, segmentStart, text.length);
    } finally {
      this.collectedWords = null;
    }
    return words;
  }

  encode(text: string, options: EncodeOptions = {}): Int32Array {
    checkString(text, 'text');
    const addSpecialTokens = booleanOption(options, 'addSpecialTokens', true);
    if (addSpecialTokens) this.requireSpecialsForWrapping();
    const out = this.out;
    out.length = 0;
    if (addSpecialTokens) out.push(this.clsId);
    this.encodeInto(text);
    if (addSpecialTokens) out.push(this.sepId);
    return out.data.slice(0, out.length);
  }

  /**
   * Encodes many texts into one padded, row-major id matrix. A text longer than a row is truncated
   * to its first maxLength-2 pieces ([CLS] and [SEP] count against maxLength, as in Hugging Face).
   */
  encodeBatch(texts: readonly string[], options: EncodeBatchOptions = {}): EncodedBatch {
    if (!Array.isArray(texts)) {
      throw argumentError('an array of strings', 'texts', texts);
    }
    const addSpecialTokens = booleanOption(options, 'addSpecialTokens', true);
    const maxLength = options.maxLength ?? 128;
    const minLength = addSpecialTokens ? 2 : 1;
    if (!Number.isInteger(maxLength) || maxLength < minLength) {
      throw new TypeError(
        `Expected integer >= ${minLength} for maxLength but received ${describe(maxLength)}` +
          (addSpecialTokens ? ' ([CLS] and [SEP] need 2 positions)' : ''),
      );
    }
    if (addSpecialTokens) this.requireSpecialsForWrapping();
    if (this.padId < 0) throw new Error(`vocabulary has no ${PAD_TOKEN} token; encodeBatch pads with it`);
    for (let i = 0; i < texts.length; i++) checkString(texts[i], `texts[${i}]`);

    const ids = new Int32Array(texts.length * maxLength);
    if (this.padId !== 0) ids.fill(this.padId);
    const lengths = new Int32Array(texts.length);
    const out = this.out;
    const room = addSpecialTokens ? maxLength - 2 : maxLength;
    for (let row = 0; row < texts.length; row++) {
      out.length = 0;
      this.encodeInto(texts[row]);
      const kept = Math.min(out.length, room);
      let at = row * maxLength;
      if (addSpecialTokens) ids[at++] = this.clsId;
      ids.set(out.data.subarray(0, kept), at);
      at += kept;
      if (addSpecialTokens) ids[at++] = this.sepId;
      lengths[row] = at - row * maxLength;
    }
    return { ids, lengths, maxLength };
  }

  /** Text of `ids` (ids not in the vocab are left out, as Hugging Face does). */
  decode(ids: ArrayLike<number>, options: DecodeOptions = {}): string {
    if (ids === null || typeof ids !== 'object' || typeof ids.length !== 'number') {
      throw argumentError('an array of ids', 'ids', ids);
    }
    const skipSpecialTokens = booleanOption(options, 'skipSpecialTokens', true);
    const tokens: string[] = [];
    for (let i = 0; i < ids.length; i++) {
      const token = this.idToToken(ids[i]);
      if (token === undefined) continue;
      if (skipSpecialTokens && this.specialIds.has(ids[i])) continue;
      tokens.push(token);
    }
    return decodeWordPieceTokens(tokens);
  }

  private requireSpecialsForWrapping(): void {
    if (this.clsId < 0 || this.sepId < 0) {
      const missing = [this.clsId < 0 ? CLS_TOKEN : '', this.sepId < 0 ? SEP_TOKEN : ''].filter(Boolean).join(' and ');
      throw new Error(`vocabulary has no ${missing} token; pass { addSpecialTokens: false }`);
    }
  }

  /** Appends the ids of `text` (no [CLS]/[SEP] added) to this.out. */
  private encodeInto(text: string): void {
    let segmentStart = 0;
    for (let match = this.findSpecial(text, 0); match !== null; match = this.findSpecial(text, match.end)) {
      this.encodeSegment(text, segmentStart, match.start);
      this.out.push(match.id);
      segmentStart = match.end;
    }
    this.encodeSegment(text, segmentStart, text.length);
  }

  /** The leftmost special token at or after `from`, the longest one where several start there. */
  private findSpecial(text: string, from: number): SpecialMatch | null {
    if (this.specials.length === 0) return null;
    const firstUnits = this.specialFirstUnits;
    // All BERT specials start with "[": then indexOf finds candidate positions at native speed.
    const onlyFirst = this.onlySpecialFirstUnit;
    let at = onlyFirst !== null ? text.indexOf(onlyFirst, from) : from;
    while (at >= 0 && at < text.length) {
      if (firstUnits.has(text.charCodeAt(at))) {
        for (const s of this.specials) {
          if (text.startsWith(s.text, at)) return { start: at, end: at + s.text.length, id: s.id };
        }
      }
      at = onlyFirst !== null ? text.indexOf(onlyFirst, at + 1) : at + 1;
    }
    return null;
  }

  /** Normalizes, pre-tokenizes and WordPiece-encodes text[start, end), appending ids to this.out. */
  private encodeSegment(text: string, start: number, end: number): void {
    const lowercase = this.lowercase;
    this.wordLength = 0;
    this.wordCodePoints = 0;
    for (let i = start; i < end; i++) {
      let c = text.charCodeAt(i);
      if (c < 0x80) {
        const cls = ASCII_CLASS[c];
        if (cls === ASCII_WORD) {
          if (lowercase && c >= 0x41 && c <= 0x5a) c += 0x20;
          this.appendUnit(c);
          this.wordCodePoints++;
        } else if (cls === ASCII_SPACE) {
          this.flushWord();
        } else if (cls === ASCII_PUNCT) {
          this.flushWord();
          this.emitOneUnitWord(c);
        } // ASCII_DROP: control characters vanish without ending the word
        continue;
      }
      // Decode a code point; a lone surrogate is what N-API turns into U+FFFD, which is dropped.
      let cp = c;
      if (c >= 0xd800 && c <= 0xdfff) {
        const next = i + 1 < end ? text.charCodeAt(i + 1) : 0;
        if (c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
          cp = ((c - 0xd800) << 10) + (next - 0xdc00) + 0x10000;
          i++;
        } else {
          continue;
        }
      }
      const cls = charClass(cp);
      if (cls & DROP) continue;
      if (cls & WHITESPACE) {
        this.flushWord();
        continue;
      }
      const folds = lowercase && (cls & FOLDS) !== 0;
      if (cls & CJK) {
        // The normalizer pads it with spaces: a word of its own (NFD may map a compatibility ideograph).
        this.flushWord();
        if (folds) {
          this.appendNormalized(foldForLowercase(cp));
          this.flushWord();
        } else if (cp < 0x10000) {
          this.emitOneUnitWord(cp);
        } else {
          this.appendCodePoint(cp);
          this.flushWord();
        }
      } else if (folds) {
        this.appendNormalized(foldForLowercase(cp));
      } else if (cls & PUNCTUATION) {
        this.flushWord();
        if (cp < 0x10000) {
          this.emitOneUnitWord(cp);
        } else {
          this.appendCodePoint(cp);
          this.flushWord();
        }
      } else {
        this.appendCodePoint(cp);
      }
    }
    this.flushWord();
  }

  /**
   * Appends the result of NFD + accent stripping + lower-casing of one input code point. Its code
   * points are classified again, because normalization can produce spaces or punctuation
   * (U+037E GREEK QUESTION MARK decomposes to ";"); the pre-tokenizer sees only normalized text.
   */
  private appendNormalized(folded: string): void {
    for (let j = 0; j < folded.length; j++) {
      let cp = folded.charCodeAt(j);
      if (cp >= 0xd800 && cp <= 0xdbff && j + 1 < folded.length) {
        cp = ((cp - 0xd800) << 10) + (folded.charCodeAt(j + 1) - 0xdc00) + 0x10000;
        j++;
      }
      const cls = cp < 0x80 ? ASCII_TO_CLASS[cp] : charClass(cp);
      if (cls & WHITESPACE) {
        this.flushWord();
      } else if (cls & PUNCTUATION) {
        this.flushWord();
        this.appendCodePoint(cp);
        this.flushWord();
      } else {
        this.appendCodePoint(cp);
      }
    }
  }

  /** A word of one BMP code unit (a CJK character, a punctuation mark): one table lookup. */
  private emitOneUnitWord(unit: number): void {
    if (this.collectedWords !== null) {
      this.collectedWords.push(String.fromCharCode(unit));
      return;
    }
    const id = this.singleUnitId[unit];
    this.out.push(id >= 0 ? id : this.unkId);
  }

  private appendUnit(unit: number): void {
    if (this.wordLength === this.word.length) {
      const bigger = new Uint16Array(this.word.length * 2);
      bigger.set(this.word);
      this.word = bigger;
    }
    this.word[this.wordLength++] = unit;
  }

  private appendCodePoint(cp: number): void {
    if (cp < 0x10000) {
      this.appendUnit(cp);
    } else {
      this.appendUnit(0xd800 + ((cp - 0x10000) >> 10));
      this.appendUnit(0xdc00 + ((cp - 0x10000) & 0x3ff));
    }
    this.wordCodePoints++;
  }

  /** WordPiece-encodes the word in the scratch buffer (if any) and empties the buffer. */
  private flushWord(): void {
    const length = this.wordLength;
    if (length === 0) return;
    const codePoints = this.wordCodePoints;
    this.wordLength = 0;
    this.wordCodePoints = 0;
    if (this.collectedWords !== null) {
      this.collectedWords.push(unitsToString(this.word, length));
      return;
    }
    const out = this.out;
    if (codePoints > MAX_CHARS_PER_WORD) {
      out.push(this.unkId);
      return;
    }
    const word = this.word;
    if (length === 1) {
      const id = this.singleUnitId[word[0]];
      out.push(id >= 0 ? id : this.unkId);
      return;
    }
    const trie = this.trie;
    const rollback = out.length;
    let start = 0;
    while (start < length) {
      // Longest vocab entry that spells word[start..end): walk the trie, remember the last token
      // seen. A match must end on a code point boundary, never between the halves of a surrogate pair.
      let node = start === 0 ? 0 : this.continuationRoot;
      let bestId = -1;
      let bestEnd = start;
      for (let i = start; i < length && node >= 0; i++) {
        node = trie.child(node, word[i]);
        if (node >= 0) {
          const id = trie.tokenIdAt(node);
          if (id >= 0 && !(i + 1 < length && isLowSurrogate(word[i + 1]))) {
            bestId = id;
            bestEnd = i + 1;
          }
        }
      }
      if (bestId < 0) {
        // One piece cannot be spelled: the whole word becomes a single [UNK].
        out.length = rollback;
        out.push(this.unkId);
        return;
      }
      out.push(bestId);
      start = bestEnd;
    }
  }
}

/** The string of units[0..length), in chunks so a huge word cannot overflow the argument limit. */
function unitsToString(units: Uint16Array, length: number): string {
  let s = '';
  for (let i = 0; i < length; i += 8192) s += String.fromCharCode(...units.subarray(i, Math.min(length, i + 8192)));
  return s;
}

function isLowSurrogate(unit: number): boolean {
  return unit >= 0xdc00 && unit <= 0xdfff;
}
