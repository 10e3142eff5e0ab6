/**
 * `model-distill tokenize`: stdin lines -> token ids (or tokens), one output line
 * per input line, in order, streaming in constant memory.
 */
import { once } from 'events';
import * as fs from 'fs';
import * as path from 'path';

import { readLineBatches, type LineStats } from '../line-batches';
import { flagBoolean, flagNumber, flagString, UsageError, type CommandSpec, type ParsedArgs } from './args';

/** Lines per encodeBatch call: large enough to keep both worker threads busy, small enough to stream. */
const BATCH_LINES = 4096;
/**
 * Without --max-length nothing is truncated. encodeBatch needs a row width, so
 * each batch gets one from its longest line (a character rarely gives more than
 * one token) capped at this; a row that fills its width may have been cut, and
 * that line is encoded again on its own, untruncated.
 */
const MAX_BATCH_WIDTH = 1024;

export const tokenizeCommand: CommandSpec = {
  name: 'tokenize',
  summary: 'tokenise stdin lines with a WordPiece vocab.txt; print ids (or tokens) per line',
  usage: 'tokenize --vocab FILE [--max-length N] [--no-lower-case] [--no-special-tokens] [--tokens] < input.txt',
  details: `
Reads UTF-8 text from standard input, one text per line (LF or CRLF), and writes
one line per input line: the token ids separated by spaces, or the tokens with
--tokens. The output has exactly as many lines as the input, in the same order;
an empty input line gives "[CLS] [SEP]" (or an empty line with --no-special-tokens).
Tokenisation is BERT's (BertTokenizer / tokenizers' BertWordPiece) on the native
core. Invalid UTF-8 bytes are replaced by U+FFFD (which BERT's cleaning drops);
their number is reported on stderr at the end.

Example:
  echo "这款手机续航很好" | model-distill tokenize --vocab vocab.txt --tokens`,
  flags: [
    { name: 'vocab', type: 'string', valueName: 'FILE', description: 'WordPiece vocabulary, one token per line (line number = id)', required: true },
    { name: 'max-length', type: 'positive-int', valueName: 'N', description: 'truncate to N tokens, special tokens included (no padding)', defaultText: 'no limit' },
    { name: 'no-lower-case', type: 'boolean', description: 'keep case and accents (for cased vocabularies)' },
    { name: 'no-special-tokens', type: 'boolean', description: 'do not add [CLS] and [SEP]' },
    { name: 'tokens', type: 'boolean', description: 'print tokens instead of ids' },
  ],
  run: runTokenize,
};

async function runTokenize(args: ParsedArgs): Promise<number> {
  const vocabPath = path.resolve(flagString(args, 'vocab')!);
  if (!fs.existsSync(vocabPath)) throw new Error(`vocabulary file not found: ${vocabPath} (given with --vocab)`);
  if (!fs.statSync(vocabPath).isFile()) throw new Error(`vocabulary path is not a file: ${vocabPath} (given with --vocab)`);
  const maxLength = flagNumber(args, 'max-length');
  const addSpecialTokens = !flagBoolean(args, 'no-special-tokens');
  const printTokens = flagBoolean(args, 'tokens');
  if (maxLength !== undefined && addSpecialTokens && maxLength < 2) {
    throw new UsageError(`Expected at least 2 for --max-length ([CLS] and [SEP] count) but received ${maxLength}; add --no-special-tokens for 1`);
  }

  // Loaded here, not at the top: `--help` must work where the addon cannot load.
  // (require, not import(): a dynamic import() would go through the ESM loader when run from source.)
  const { Tokenizer } = require('../tokenizer') as typeof import('../tokenizer');
  const tokenizer = Tokenizer.fromFile(vocabPath, { lowercase: !flagBoolean(args, 'no-lower-case') });
  const vocab = printTokens ? Array.from({ length: tokenizer.vocabSize }, (_, id) => tokenizer.idToToken(id) ?? '[UNK]') : [];
  const format = (ids: Int32Array): string => (printTokens ? Array.from(ids, (id) => vocab[id]).join(' ') : ids.join(' '));

  if (process.stdin.isTTY) process.stderr.write('model-distill: reading lines from the terminal; end with Ctrl-D\n');
  const stats: LineStats = { lines: 0, replacedSequences: 0, linesWithReplacements: 0 };
  const out = process.stdout;
  for await (const lines of readLineBatches(process.stdin, BATCH_LINES, stats)) {
    let width = maxLength;
    if (width === undefined) {
      let longest = 0;
      for (const line of lines) if (line.length > longest) longest = line.length;
      width = Math.min(longest + 2, MAX_BATCH_WIDTH);
    }
    const batch = await tokenizer.encodeBatchAsync(lines, { maxLength: width, addSpecialTokens });
    const rows = new Array<string>(lines.length);
    for (let i = 0; i < lines.length; i++) {
      const length = batch.lengths[i];
      const mayBeCut = maxLength === undefined && length >= width;
      const ids = mayBeCut
        ? tokenizer.encode(lines[i], { addSpecialTokens })
        : batch.ids.subarray(i * batch.maxLength, i * batch.maxLength + length);
      rows[i] = format(ids);
    }
    // Back-pressure: wait for a slow reader instead of buffering the whole output.
    if (!out.write(rows.join('\n') + '\n')) await once(out, 'drain');
  }

  if (stats.replacedSequences > 0) {
    const seqs = stats.replacedSequences === 1 ? 'sequence' : 'sequences';
    const lines = stats.linesWithReplacements === 1 ? 'line' : 'lines';
    process.stderr.write(
      `model-distill: replaced ${stats.replacedSequences} invalid UTF-8 ${seqs} on ${stats.linesWithReplacements} ${lines} (of ${stats.lines})\n`
    );
  }
  return 0;
}
