/**
 * `model-distill predict config.ini [uniqid]`: labels for texts on stdin, one
 * output line per input line, in order.
 *
 * Streaming in constant memory (a 1 GB input is fine): stdin is read in
 * batches of --batch-size lines; while one batch is predicted off the event
 * loop, the next one is read; output is written with back-pressure (a slow
 * reader pauses us instead of filling memory). At most two batches are held.
 *
 * An empty input line gets an output line too: the model's prediction for a
 * text without tokens, which is encoded as one [UNK] as in training, so it is
 * the model's prior guess, not an error.
 */
import { once } from 'events';

import { flagNumber, flagString, UsageError, type CommandSpec, type ParsedArgs } from './args';
import { modelFlag } from './model-flag';
import { readLineBatches, type LineStats } from '../line-batches';

const DEFAULT_BATCH = 1024;

export const predictCommand: CommandSpec = {
  name: 'predict',
  summary: 'label texts from stdin with a trained student (one output line per input line)',
  usage: 'predict config.ini [uniqid] [--model textcnn|gru] [--top-k K] [--format tsv|jsonl] < texts.txt',
  details: `
Loads <model.dir>/<uniqid>/<model>/ (uniqid absent: "default"; --model absent:
the first of [model] students) and reads UTF-8 texts from stdin, one per line.
Writes one line per input line, in the same order:
  tsv   (default)  label<TAB>probability
  tsv --top-k K    label:probability<TAB>... for the K most likely labels
  jsonl            {"label":...,"score":...,"probabilities":{"<label>":p,...}}
  jsonl --top-k K  {"label":...,"score":...,"top":[{"label":...,"score":...},...]}
Probabilities are rounded to 6 decimals. An empty line is predicted as a text
with no tokens (one [UNK], as in training). Invalid UTF-8 bytes become U+FFFD
and are counted on stderr.

Example:
  echo "物流很快，质量也不错" | model-distill predict examples/config.ini --top-k 2`,
  flags: [
    { name: 'model', type: 'string', valueName: 'KIND', description: 'which student of the run: textcnn or gru', defaultText: 'first of [model] students' },
    { name: 'top-k', type: 'positive-int', valueName: 'K', description: 'print the K most likely labels instead of the best one' },
    { name: 'format', type: 'string', valueName: 'FORMAT', description: 'tsv or jsonl', defaultText: 'tsv' },
    { name: 'batch-size', type: 'positive-int', valueName: 'N', description: 'lines predicted together', defaultText: String(DEFAULT_BATCH) },
    { name: 'threads', type: 'non-negative-int', valueName: 'N', description: 'worker threads, 0 = all cores', defaultText: '0' },
  ],
  positionals: { min: 1, max: 2, names: 'config.ini [uniqid]' },
  run: runPredict,
};

/** Probability with 6 decimals, without trailing zeros ("0.5", "0.123457", "1"). */
export function formatScore(p: number): string {
  // String(NaN) would print "score":NaN, which is not JSON; runPredict reports the line first.
  if (!Number.isFinite(p)) throw new RangeError(`Expected a finite probability but received ${p}`);
  return String(Math.round(p * 1e6) / 1e6);
}

/** Builds the output line of one row of probabilities. */
export function makeFormatter(labels: readonly string[], format: 'tsv' | 'jsonl', topK: number | undefined): (probs: Float32Array, row: number) => string {
  const C = labels.length;
  const order = new Array<number>(C);
  const ranked = (probs: Float32Array, base: number, k: number): number[] => {
    for (let c = 0; c < C; c++) order[c] = c;
    // Stable: ties keep class-id order, like argmax.
    order.sort((a, b) => probs[base + b] - probs[base + a] || a - b);
    return order.slice(0, k);
  };
  const jsonLabels = labels.map((l) => JSON.stringify(l));
  return (probs, row) => {
    const base = row * C;
    const top = ranked(probs, base, topK ?? 1);
    const best = top[0];
    if (format === 'tsv') {
      if (topK === undefined) return `${labels[best]}\t${formatScore(probs[base + best])}`;
      return top.map((c) => `${labels[c]}:${formatScore(probs[base + c])}`).join('\t');
    }
    const head = `{"label":${jsonLabels[best]},"score":${formatScore(probs[base + best])}`;
    if (topK === undefined) {
      const parts = labels.map((_, c) => `${jsonLabels[c]}:${formatScore(probs[base + c])}`);
      return `${head},"probabilities":{${parts.join(',')}}}`;
    }
    return `${head},"top":[${top.map((c) => `{"label":${jsonLabels[c]},"score":${formatScore(probs[base + c])}}`).join(',')}]}`;
  };
}

async function runPredict(args: ParsedArgs): Promise<number> {
  const [configPath, uniqidArg] = args.positionals;
  const format = flagString(args, 'format') ?? 'tsv';
  if (format !== 'tsv' && format !== 'jsonl') throw new UsageError(`Expected tsv or jsonl for --format but received ${JSON.stringify(format)}`);
  const topK = flagNumber(args, 'top-k');
  const batchSize = flagNumber(args, 'batch-size') ?? DEFAULT_BATCH;
  const threads = flagNumber(args, 'threads') ?? 0;
  const model = modelFlag(args);

  const { loadConfig } = require('../config') as typeof import('../config');
  const { findRun, modelFolder } = require('../pipeline/run-folder') as typeof import('../pipeline/run-folder');
  // Prediction needs only [model]: the data files may live elsewhere.
  const config = loadConfig(configPath, { checkPaths: false });
  const run = findRun(config, uniqidArg);
  const { dir } = modelFolder(config, run, model, uniqidArg);
  const { Classifier } = require('../classifier') as typeof import('../classifier');
  const classifier = await Classifier.load(dir, { threads });
  try {
    const C = classifier.labels.length;
    if (topK !== undefined && topK > C) throw new UsageError(`Expected at most ${C} (the model's classes) for --top-k but received ${topK}`);
    const formatLine = makeFormatter(classifier.labels, format, topK);

    if (process.stdin.isTTY) process.stderr.write('model-distill: reading texts from the terminal, one per line; end with Ctrl-D\n');
    const stats: LineStats = { lines: 0, replacedSequences: 0, linesWithReplacements: 0 };
    const batches = readLineBatches(process.stdin, batchSize, stats)[Symbol.asyncIterator]();
    const out = process.stdout;
    let next = batches.next();
    let linesDone = 0;
    for (;;) {
      const { value: lines, done } = await next;
      if (done) break;
      next = batches.next(); // read the following batch while this one is predicted
      const probs = await classifier.predictProbabilities(lines);
      const bad = probs.findIndex((p) => !Number.isFinite(p));
      if (bad >= 0) {
        throw new Error(`${dir}: the model gave a non-finite probability (${probs[bad]}) for input line ${linesDone + Math.floor(bad / C) + 1}; its weights overflow`);
      }
      linesDone += lines.length;
      let text = '';
      for (let i = 0; i < lines.length; i++) text += formatLine(probs, i) + '\n';
      if (!out.write(text)) await once(out, 'drain');
    }
    if (stats.replacedSequences > 0) {
      process.stderr.write(
        `model-distill: replaced ${stats.replacedSequences} invalid UTF-8 sequence(s) with U+FFFD on ${stats.linesWithReplacements} ` +
          `of ${stats.lines} line(s); those lines were predicted as decoded\n`,
      );
    }
  } finally {
    classifier.close();
  }
  return 0;
}
