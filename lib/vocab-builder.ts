/**
 * Builds a BERT-style WordPiece vocabulary from raw text, for users who have no
 * pretrained vocab.txt.
 *
 * The text goes through exactly the normalisation and pre-tokenisation the
 * tokenizer applies (preTokenize from ./wordpiece), so every piece counted here
 * is one the tokenizer can look up. For each pre-tokenised word we count:
 *   - the word itself (a CJK character is always a word of its own, so Chinese
 *     text yields mostly single characters);
 *   - for a word of several characters (Latin letters, digits, ...): its first
 *     character, and every following character as a "##" continuation piece.
 *     These are the pieces BERT vocabularies carry so that WordPiece can spell a
 *     word it has never seen instead of mapping it to [UNK].
 * A piece's count is how often it occurs in these roles. A word's characters
 * therefore always count at least as often as the word, and sort before it on
 * ties, so cutting the list at --max-size never keeps a word whose spelling
 * pieces were cut.
 *
 * Order: [PAD] [UNK] [CLS] [SEP] [MASK], then by count (descending), then by
 * code point (ascending): the same input always gives the same file.
 */
import { MAX_CHARS_PER_WORD, SPECIAL_TOKENS, CONTINUATION_PREFIX, preTokenize } from './wordpiece';

export interface VocabBuilderOptions {
  /** Apply BERT lower-casing and accent stripping, as Tokenizer does by default. */
  lowercase?: boolean;
}

export interface BuildOptions {
  /** Pieces seen fewer times are left out (default 1: keep everything seen). */
  minFreq?: number;
  /** Largest vocabulary size, the special tokens included (default: no limit). */
  maxSize?: number;
}

export interface VocabSummary {
  total: number;
  specials: number;
  characters: number;
  continuations: number;
  words: number;
  /** Pieces left out by minFreq / maxSize. */
  droppedByMinFreq: number;
  droppedByMaxSize: number;
}

/** Compares strings by Unicode code point (JS `<` compares UTF-16 units, which orders astral characters wrongly). */
export function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.codePointAt(i)!;
    const y = b.codePointAt(i)!;
    if (x !== y) return x - y;
    if (x > 0xffff) i++; // both are the same astral character: skip its second half
  }
  return a.length - b.length;
}

/** Accumulates piece counts over any number of texts, then produces the vocabulary. */
export class VocabBuilder {
  readonly lowercase: boolean;
  private readonly counts = new Map<string, number>();
  private textsSeen = 0;

  constructor(options: VocabBuilderOptions = {}) {
    this.lowercase = options.lowercase ?? true;
  }

  get texts(): number {
    return this.textsSeen;
  }

  addText(text: string): void {
    this.textsSeen++;
    for (const word of preTokenize(text, { lowercase: this.lowercase })) this.addWord(word);
  }

  private bump(piece: string): void {
    this.counts.set(piece, (this.counts.get(piece) ?? 0) + 1);
  }

  private addWord(word: string): void {
    const chars = Array.from(word); // code points, not UTF-16 units
    // The tokenizer turns a longer word into [UNK] whatever the vocab holds.
    if (chars.length > MAX_CHARS_PER_WORD) return;
    this.bump(word);
    if (chars.length === 1) return;
    this.bump(chars[0]);
    for (let i = 1; i < chars.length; i++) this.bump(CONTINUATION_PREFIX + chars[i]);
  }

  /** The vocabulary, one token per entry; tokens[id] is the token of id. */
  build(options: BuildOptions = {}): { tokens: string[]; summary: VocabSummary } {
    const minFreq = options.minFreq ?? 1;
    const maxSize = options.maxSize ?? Infinity;
    if (!Number.isInteger(minFreq) || minFreq < 1) throw new RangeError(`Expected positive integer for minFreq but received ${minFreq}`);
    if (maxSize !== Infinity && (!Number.isInteger(maxSize) || maxSize < SPECIAL_TOKENS.length)) {
      throw new RangeError(`Expected an integer of at least ${SPECIAL_TOKENS.length} (the special tokens) for maxSize but received ${maxSize}`);
    }
    const specials = new Set(SPECIAL_TOKENS);
    const candidates: [string, number][] = [];
    let droppedByMinFreq = 0;
    for (const entry of this.counts) {
      if (specials.has(entry[0])) continue; // cannot happen with BERT pre-tokenisation ('[' splits), but never duplicate a special
      if (entry[1] >= minFreq) candidates.push(entry);
      else droppedByMinFreq++;
    }
    candidates.sort((a, b) => b[1] - a[1] || compareCodePoints(a[0], b[0]));
    const room = Math.max(0, maxSize - SPECIAL_TOKENS.length);
    const kept = candidates.length > room ? candidates.slice(0, room) : candidates;
    const tokens = [...SPECIAL_TOKENS, ...kept.map(([piece]) => piece)];

    const summary: VocabSummary = {
      total: tokens.length,
      specials: SPECIAL_TOKENS.length,
      characters: 0,
      continuations: 0,
      words: 0,
      droppedByMinFreq,
      droppedByMaxSize: candidates.length - kept.length,
    };
    for (const [piece] of kept) {
      if (piece.startsWith(CONTINUATION_PREFIX)) summary.continuations++;
      else if (Array.from(piece).length === 1) summary.characters++;
      else summary.words++;
    }
    return { tokens, summary };
  }
}
