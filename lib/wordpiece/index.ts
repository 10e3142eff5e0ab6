/**
 * The pure-TypeScript BERT WordPiece tokenizer, in the parts Hugging Face `tokenizers` names:
 *  - tokens.ts        the special tokens ([PAD] [UNK] [CLS] [SEP] [MASK]) and WordPiece's constants;
 *  - normalizer.ts    character classes (clean, whitespace, punctuation, CJK) and lower-case folding;
 *  - pre-tokenizer.ts the ASCII tables of the word-splitting rules;
 *  - vocab-trie.ts    the vocabulary as a trie, for the greedy longest match;
 *  - model.ts         WordPieceTokenizer: normalizer, pre-tokenizer and WordPiece fused in one pass;
 *  - types.ts         its options and results;
 *  - decode.ts        tokens back to text (Hugging Face's WordPiece decoder);
 *  - words.ts         preTokenize(): the words before WordPiece, for building vocabularies.
 * Importers use this index; the parts import only each other, never it.
 */
export {
  CLS_TOKEN,
  CONTINUATION_PREFIX,
  MASK_TOKEN,
  MAX_CHARS_PER_WORD,
  PAD_TOKEN,
  SEP_TOKEN,
  SPECIAL_TOKENS,
  UNK_TOKEN,
} from './tokens';
export { decodeWordPieceTokens, type DecodeOptions } from './decode';
export { WordPieceTokenizer } from './model';
export type { EncodeBatchOptions, EncodedBatch, EncodeOptions, WordPieceOptions } from './types';
export { preTokenize } from './words';
