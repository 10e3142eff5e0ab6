/**
 * The parity oracle: Hugging Face `tokenizers` (npm, Rust core), set up as BertWordPieceTokenizer /
 * BertTokenizerFast set themselves up for a vocab.txt. Built from a tokenizer.json string so every
 * component is explicit:
 *  - the specials ([PAD] [UNK] [CLS] [SEP] [MASK], those in the vocab) as added tokens with
 *    special: true, normalized: false — matched in the raw text, never split;
 *  - BertNormalizer { clean_text, handle_chinese_chars, strip_accents: null (follows lowercase), lowercase };
 *  - BertPreTokenizer; WordPiece { [UNK], "##", 100 chars per word }; BertProcessing ([CLS] ... [SEP]);
 *  - the WordPiece decoder with cleanup.
 */
import { Tokenizer } from 'tokenizers';

export const ORACLE_SPECIALS = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'];

export function buildOracle(tokens: readonly string[], lowercase: boolean): Tokenizer {
  const vocab: Record<string, number> = {};
  tokens.forEach((t, id) => {
    vocab[t] = id;
  });
  const specials = ORACLE_SPECIALS.filter((s) => s in vocab);
  const json = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: specials.map((s) => ({
      id: vocab[s],
      content: s,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: true,
    })),
    normalizer: { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: { type: 'BertProcessing', sep: ['[SEP]', vocab['[SEP]']], cls: ['[CLS]', vocab['[CLS]']] },
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: {
      type: 'WordPiece',
      unk_token: '[UNK]',
      continuing_subword_prefix: '##',
      max_input_chars_per_word: 100,
      vocab,
    },
  };
  return Tokenizer.fromString(JSON.stringify(json));
}

/** Oracle ids of many texts, with [CLS]/[SEP], no truncation. */
export async function oracleIds(oracle: Tokenizer, texts: readonly string[]): Promise<Int32Array[]> {
  const result: Int32Array[] = [];
  const chunk = 4096; // bounded memory for the Encoding objects
  for (let i = 0; i < texts.length; i += chunk) {
    const encodings = await oracle.encodeBatch(texts.slice(i, i + chunk) as string[]);
    for (const e of encodings) result.push(Int32Array.from(e.getIds()));
  }
  return result;
}
