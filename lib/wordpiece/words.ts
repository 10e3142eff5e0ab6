/**
 * preTokenize(): the words of a text after BERT normalization and pre-tokenization, before
 * WordPiece. It runs the tokenizer's own fused loop (model.ts) with a vocabulary of just [UNK], so
 * the words are by construction the ones the tokenizer would look up. Its own file because it
 * needs the model, and the model needs the pre-tokenizer's tables (pre-tokenizer.ts): one place
 * for each keeps the imports one-way.
 */
import { WordPieceTokenizer } from './model';
import type { WordPieceOptions } from './types';
import { UNK_TOKEN } from './tokens';

/** One tokenizer per lower-casing mode, with a vocab of just [UNK], serves preTokenize(). */
const plainPreTokenizers = new Map<boolean, WordPieceTokenizer>();

/**
 * The words of `text` after BERT normalization and pre-tokenization, before WordPiece: exactly what
 * the tokenizer would look up in a vocabulary. No vocab here, so no special tokens: "[SEP]" in the
 * text is plain text ("[", "sep", "]"). Used to build vocabularies (lib/vocab-builder.ts).
 */
export function preTokenize(text: string, options: WordPieceOptions = {}): string[] {
  const lowercase = options.lowercase ?? true;
  let tokenizer = plainPreTokenizers.get(lowercase);
  if (tokenizer === undefined) {
    tokenizer = new WordPieceTokenizer([UNK_TOKEN], { lowercase });
    plainPreTokenizers.set(lowercase, tokenizer);
  }
  return tokenizer.collectWords(text, false);
}
