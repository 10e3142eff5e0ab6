/**
 * Hugging Face tokenizer files (tokenizer.json + tokenizer_config.json) for a
 * plain BERT vocab.txt, so the peers of the tokenizer benchmark load the SAME
 * vocabulary offline: `tokenizers`' Tokenizer.fromString(tokenizerJson) and
 * transformers.js' AutoTokenizer (env.allowRemoteModels = false, reading from
 * env.localModelPath). The JSON is what `BertWordPieceTokenizer` saves: BERT
 * normaliser, BERT pre-tokeniser, WordPiece model, [CLS] A [SEP] template.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const SPECIALS = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'];

export function bertTokenizerJson(vocab: string[], options: { lowercase?: boolean; maxLength?: number } = {}): object {
  const lowercase = options.lowercase ?? true;
  const ids: Record<string, number> = {};
  vocab.forEach((token, id) => {
    if (!(token in ids)) ids[token] = id;
  });
  for (const special of SPECIALS) {
    if (!(special in ids)) throw new Error(`vocabulary has no ${special} token`);
  }
  const cls = { SpecialToken: { id: '[CLS]', type_id: 0 } };
  const sep = (typeId: number) => ({ SpecialToken: { id: '[SEP]', type_id: typeId } });
  return {
    version: '1.0',
    truncation: options.maxLength ? { direction: 'Right', max_length: options.maxLength, strategy: 'LongestFirst', stride: 0 } : null,
    padding: null,
    added_tokens: SPECIALS.map((content) => ({
      id: ids[content],
      content,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: true,
    })),
    normalizer: { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: {
      type: 'TemplateProcessing',
      single: [cls, { Sequence: { id: 'A', type_id: 0 } }, sep(0)],
      pair: [cls, { Sequence: { id: 'A', type_id: 0 } }, sep(0), { Sequence: { id: 'B', type_id: 1 } }, sep(1)],
      special_tokens: {
        '[CLS]': { id: '[CLS]', ids: [ids['[CLS]']], tokens: ['[CLS]'] },
        '[SEP]': { id: '[SEP]', ids: [ids['[SEP]']], tokens: ['[SEP]'] },
      },
    },
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: { type: 'WordPiece', unk_token: '[UNK]', continuing_subword_prefix: '##', max_input_chars_per_word: 100, vocab: ids },
  };
}

export function bertTokenizerConfig(options: { lowercase?: boolean } = {}): object {
  return {
    tokenizer_class: 'BertTokenizer',
    do_lower_case: options.lowercase ?? true,
    tokenize_chinese_chars: true,
    strip_accents: null,
    model_max_length: 512,
    unk_token: '[UNK]',
    sep_token: '[SEP]',
    pad_token: '[PAD]',
    cls_token: '[CLS]',
    mask_token: '[MASK]',
  };
}

/**
 * Writes <tmp>/<modelName>/tokenizer.json and tokenizer_config.json and returns
 * the folder to use as transformers.js' env.localModelPath.
 */
export function writeHfTokenizerDir(vocab: string[], modelName: string, options: { lowercase?: boolean } = {}): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'model-distill-hf-'));
  const dir = path.join(root, modelName);
  fs.mkdirSync(dir);
  fs.writeFileSync(path.join(dir, 'tokenizer.json'), JSON.stringify(bertTokenizerJson(vocab, options)));
  fs.writeFileSync(path.join(dir, 'tokenizer_config.json'), JSON.stringify(bertTokenizerConfig(options)));
  return root;
}
