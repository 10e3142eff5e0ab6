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
import * as fs from 'fs';

import { flagNumber, flagString, UsageError, type CommandSpec, type ParsedArgs } from './args';
import { withInterruptSignal } from './interrupt';
import { modelFlag } from './model-flag';
import { readLineBatches, type LineStats } from '../line-batches';
import { makeFormatter } from '../predict-format';

const DEFAULT_BATCH = 1024;

export const predictCommand: CommandSpec = {
  name: 'predict',
  summary: 'label texts from stdin with a trained student (one output line per input line)',
  usage: 'predict config.ini [uniqid] [--model textcnn|gru] [--top-k K] [--format tsv|jsonl] [--input FILE --output FILE [--queue redis://HOST:PORT]] < texts.txt',
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

--input FILE / --output FILE read and write files instead of stdin and stdout
(the output appears only when complete: temp file + rename). With --queue, the
input is cut into chunks of --chunk-lines lines that \`model-distill worker\`
processes (on any machines sharing the model folder and the input's path)
predict; the output is written in input order, the same bytes as a local run.
See docs/scaling.md.

Example:
  echo "物流很快，质量也不错" | model-distill predict examples/config.ini --top-k 2`,
  flags: [
    { name: 'model', type: 'string', valueName: 'KIND', description: 'which student of the run: textcnn or gru', defaultText: 'first of [model] students' },
    { name: 'top-k', type: 'positive-int', valueName: 'K', description: 'print the K most likely labels instead of the best one' },
    { name: 'format', type: 'string', valueName: 'FORMAT', description: 'tsv or jsonl', defaultText: 'tsv' },
    { name: 'batch-size', type: 'positive-int', valueName: 'N', description: 'lines predicted together', defaultText: String(DEFAULT_BATCH) },
    { name: 'threads', type: 'non-negative-int', valueName: 'N', description: 'worker threads, 0 = all cores (with --queue: set on each worker instead)', defaultText: '0' },
    { name: 'input', type: 'string', valueName: 'FILE', description: 'read the texts from FILE instead of stdin' },
    { name: 'output', type: 'string', valueName: 'FILE', description: 'write the labels to FILE (atomically) instead of stdout' },
    { name: 'queue', type: 'string', valueName: 'URL', description: 'predict on model-distill workers through the BullMQ queue at redis://HOST:PORT (needs --input and --output)' },
    { name: 'chunk-lines', type: 'positive-int', valueName: 'N', description: 'with --queue: lines per chunk, rounded up to whole batches', defaultText: '16384' },
  ],
  positionals: { min: 1, max: 2, names: 'config.ini [uniqid]' },
  run: runPredict,
};

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
  const input = flagString(args, 'input');
  const output = flagString(args, 'output');
  const queue = flagString(args, 'queue');
  if (queue !== undefined) {
    if (input === undefined || output === undefined) throw new UsageError('--queue needs --input FILE and --output FILE (the workers read the input from shared storage)');
    return predictWithQueue(args, queue, dir, input, output, format, topK, batchSize);
  }
  if (flagNumber(args, 'chunk-lines') !== undefined) throw new UsageError('--chunk-lines applies only with --queue');
  const { Classifier } = require('../classifier') as typeof import('../classifier');
  const classifier = await Classifier.load(dir, { threads });
  try {
    const C = classifier.labels.length;
    if (topK !== undefined && topK > C) throw new UsageError(`Expected at most ${C} (the model's classes) for --top-k but received ${topK}`);
    const formatLine = makeFormatter(classifier.labels, format, topK);

    if (input === undefined && process.stdin.isTTY) process.stderr.write('model-distill: reading texts from the terminal, one per line; end with Ctrl-D\n');
    const stats: LineStats = { lines: 0, replacedSequences: 0, linesWithReplacements: 0 };
    const batches = readLineBatches(input === undefined ? process.stdin : openInput(input), batchSize, stats)[Symbol.asyncIterator]();
    const outFile = output === undefined ? null : new AtomicOutput(output);
    const out = outFile?.stream ?? process.stdout;
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
    await outFile?.commit();
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

function openInput(file: string): fs.ReadStream {
  if (!fs.existsSync(file)) throw new Error(`--input file not found: ${file}`);
  return fs.createReadStream(file, { highWaterMark: 1 << 20 });
}

/** --output FILE: written to FILE.<pid>.tmp, renamed into place by commit(); removed when the process fails before. */
class AtomicOutput {
  readonly stream: fs.WriteStream;
  private readonly temp: string;
  private readonly cleanup = () => fs.rmSync(this.temp, { force: true });

  constructor(private readonly file: string) {
    this.temp = `${file}.${process.pid}.tmp`;
    this.stream = fs.createWriteStream(this.temp);
    process.once('exit', this.cleanup);
  }

  async commit(): Promise<void> {
    this.stream.end();
    await once(this.stream, 'finish');
    fs.renameSync(this.temp, this.file);
    process.removeListener('exit', this.cleanup);
  }
}

async function predictWithQueue(
  args: ParsedArgs,
  queueUrl: string,
  modelDir: string,
  input: string,
  output: string,
  format: 'tsv' | 'jsonl',
  topK: number | undefined,
  batchSize: number,
): Promise<number> {
  const { parseQueueUrl } = require('../queue/connection') as typeof import('../queue/connection');
  const { predictOnQueue } = require('../queue/batch-predict') as typeof import('../queue/batch-predict');
  const { readModelFolder } = require('../model-folder') as typeof import('../model-folder');
  const queue = parseQueueUrl(queueUrl, '--queue');
  const C = readModelFolder(modelDir).labels.length;
  if (topK !== undefined && topK > C) throw new UsageError(`Expected at most ${C} (the model's classes) for --top-k but received ${topK}`);
  const report = await withInterruptSignal((signal) =>
    predictOnQueue({
      queue,
      modelDir,
      input,
      output,
      format,
      topK,
      batchSize,
      chunkLines: flagNumber(args, 'chunk-lines'),
      progress: process.stderr,
      signal,
      log: (line) => process.stderr.write(`model-distill: ${line}\n`),
    }),
  );
  if (report.replacedSequences > 0) {
    process.stderr.write(
      `model-distill: replaced ${report.replacedSequences} invalid UTF-8 sequence(s) with U+FFFD on ${report.linesWithReplacements} ` +
        `of ${report.lines} line(s); those lines were predicted as decoded\n`,
    );
  }
  return 0;
}
