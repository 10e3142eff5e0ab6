/**
 * The special tokens of BERT vocabularies and WordPiece's two constants. Kept apart from the
 * tokenizer so the vocabulary builder (lib/vocab-builder.ts) can name them without loading it.
 */
import { UNK_TOKEN } from '../vocab';

export const PAD_TOKEN = '[PAD]';
export const CLS_TOKEN = '[CLS]';
export const SEP_TOKEN = '[SEP]';
export const MASK_TOKEN = '[MASK]';
export { UNK_TOKEN };

/** The special tokens BERT vocabularies share; those present in a vocab are matched whole in text. */
export const SPECIAL_TOKENS: readonly string[] = [PAD_TOKEN, UNK_TOKEN, CLS_TOKEN, SEP_TOKEN, MASK_TOKEN];

/** Prefix of a piece that continues a word (Hugging Face's default). */
export const CONTINUATION_PREFIX = '##';

/** A longer word becomes [UNK] without trying to spell it (Hugging Face's default). */
export const MAX_CHARS_PER_WORD = 100;
