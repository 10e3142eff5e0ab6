/**
 * `model-distill build-vocab`: a BERT-style vocab.txt from raw text files, for
 * users with no pretrained vocabulary. The counting lives in lib/vocab-builder.ts;
 * this file reads the inputs and writes the result atomically.
 */
import * as fs from 'fs';
import * as path from 'path';

import { readLineBatches, type LineStats } from '../line-batches';
import { VocabBuilder } from '../vocab-builder';
import { flagBoolean, flagNumber, flagString, flagStrings, UsageError, type CommandSpec, type ParsedArgs } from './args';

const SPECIAL_COUNT = 5;

export const buildVocabCommand: CommandSpec = {
  name: 'build-vocab',
  summary: 'build a BERT-style vocab.txt (characters and word pieces by frequency) from text files',
  usage: 'build-vocab --input FILE... --output vocab.txt [--min-freq N] [--max-size N] [--no-lower-case]',
  details: `
Reads every input file (UTF-8; a .tsv file is text<TAB>label and only the text
column is used; any other file is one text per line), pre-tokenises the text as
the tokenizer does (BERT cleaning, CJK characters one by one, lower-casing with
accent stripping unless --no-lower-case, punctuation split) and writes
[PAD] [UNK] [CLS] [SEP] [MASK], then every piece by frequency (ties by code
point): single characters, whole words, and "##" continuation pieces for the
characters of longer words, so WordPiece can spell words it has not seen.
The output is written to a temporary file and renamed into place, so it is
never left half-written. Use the same --no-lower-case setting when tokenising.

Example:
  model-distill build-vocab --input train.tsv unlabeled.txt --output vocab.txt --min-freq 2`,
  flags: [
    { name: 'input', type: 'strings', valueName: 'FILE', description: 'text files (.tsv: text<TAB>label; others: one text per line)', required: true },
    { name: 'output', type: 'string', valueName: 'FILE', description: 'where to write the vocabulary', required: true },
    { name: 'min-freq', type: 'positive-int', valueName: 'N', description: 'leave out pieces seen fewer than N times', defaultText: '1' },
    { name: 'max-size', type: 'positive-int', valueName: 'N', description: 'keep at most N tokens, the 5 special tokens included', defaultText: 'no limit' },
    { name: 'no-lower-case', type: 'boolean', description: 'keep case and accents (for a cased tokenizer)' },
  ],
  run: runBuildVocab,
};

async function runBuildVocab(args: ParsedArgs): Promise<number> {
  const inputs = flagStrings(args, 'input').map((p) => path.resolve(p));
  const output = path.resolve(flagString(args, 'output')!);
  const maxSize = flagNumber(args, 'max-size');
  if (maxSize !== undefined && maxSize < SPECIAL_COUNT) {
    throw new UsageError(`Expected at least ${SPECIAL_COUNT} (the special tokens) for --max-size but received ${maxSize}`);
  }
  // Check everything before reading anything: a typo should not cost a long read.
  for (const input of inputs) {
    if (!fs.existsSync(input)) throw new Error(`input file not found: ${input} (given with --input)`);
    if (!fs.statSync(input).isFile()) throw new Error(`input path is not a file: ${input} (given with --input)`);
  }
  const outputDir = path.dirname(output);
  if (!fs.existsSync(outputDir)) throw new Error(`output folder does not exist: ${outputDir} (for --output ${output})`);
  if (fs.existsSync(output) && fs.statSync(output).isDirectory()) throw new Error(`output path is a folder: ${output} (--output needs a file name)`);

  const builder = new VocabBuilder({ lowercase: !flagBoolean(args, 'no-lower-case') });
  for (const input of inputs) {
    const isTsv = input.toLowerCase().endsWith('.tsv');
    const stats: LineStats = { lines: 0, replacedSequences: 0, linesWithReplacements: 0 };
    let lineNumber = 0;
    for await (const lines of readLineBatches(fs.createReadStream(input), 4096, stats)) {
      for (const line of lines) {
        lineNumber++;
        if (!isTsv) {
          builder.addText(line);
          continue;
        }
        if (line.length === 0) continue; // a blank line holds no example
        const tab = line.indexOf('\t');
        if (tab < 0) throw new Error(`${input} line ${lineNumber}: expected text<TAB>label but found no tab`);
        builder.addText(line.slice(0, tab));
      }
    }
    if (stats.replacedSequences > 0) {
      process.stderr.write(
        `model-distill: replaced ${stats.replacedSequences} invalid UTF-8 sequences on ${stats.linesWithReplacements} lines of ${input}\n`
      );
    }
  }

  const { tokens, summary } = builder.build({ minFreq: flagNumber(args, 'min-freq'), maxSize });
  const tmp = path.join(outputDir, `.${path.basename(output)}.${process.pid}.tmp`);
  try {
    fs.writeFileSync(tmp, tokens.join('\n') + '\n');
    fs.renameSync(tmp, output);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw err;
  }
  const dropped = summary.droppedByMinFreq + summary.droppedByMaxSize;
  process.stderr.write(
    `model-distill: wrote ${summary.total} tokens to ${output} (${summary.specials} special, ${summary.characters} characters, ` +
      `${summary.words} words, ${summary.continuations} ## pieces) from ${builder.texts} texts` +
      (dropped > 0 ? `; left out ${summary.droppedByMinFreq} below --min-freq, ${summary.droppedByMaxSize} beyond --max-size` : '') +
      '\n'
  );
  return 0;
}
