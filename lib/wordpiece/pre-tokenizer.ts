/**
 * BERT's pre-tokenizer rules for ASCII, as tables: every ASCII code point is part of a word, a
 * space (ends a word), a punctuation mark (a word of its own) or dropped by text cleaning. The
 * tokenizer's hot loop (model.ts) reads these instead of the full character classes for the
 * common case; beyond ASCII it asks normalizer.ts's charClass().
 *
 * The rules themselves (split on whitespace, every punctuation character and every CJK ideograph a
 * word of its own) run fused with normalization in WordPieceTokenizer.encodeSegment: one pass over
 * the text, no intermediate strings. preTokenize() in words.ts shows their result on its own.
 */
import { CharClass, charClass } from './normalizer';

/** The ASCII_CLASS values. */
export const ASCII_WORD = 0;
export const ASCII_SPACE = 1;
export const ASCII_PUNCT = 2;
export const ASCII_DROP = 3;

/** What the pre-tokenizer does with each of the 128 ASCII code points (ASCII_WORD...ASCII_DROP). */
export const ASCII_CLASS = new Uint8Array(128);
/** The CharClass bits of each ASCII code point (for re-classifying normalized text). */
export const ASCII_TO_CLASS = new Uint8Array(128);
for (let c = 0; c < 128; c++) {
  const cls = charClass(c);
  ASCII_TO_CLASS[c] = cls;
  ASCII_CLASS[c] =
    cls & CharClass.Drop
      ? ASCII_DROP
      : cls & CharClass.Whitespace
        ? ASCII_SPACE
        : cls & CharClass.Punctuation
          ? ASCII_PUNCT
          : ASCII_WORD;
}
