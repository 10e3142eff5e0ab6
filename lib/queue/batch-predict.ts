/**
 * `model-distill predict --queue URL --input FILE --output FILE`: the input is
 * cut into chunks of whole lines (chunks.ts), the workers predict them
 * (worker.ts), and the results are written to FILE in input order
 * (ordered-results.ts) through a temp file renamed at the end, so FILE either
 * holds the complete output or is untouched.
 *
 * Same bytes as a local `predict`: the workers format lines with the same code
 * (predict-format.ts) and a chunk is a whole number of --batch-size batches,
 * so every predict call sees exactly the lines it would see locally.
 */
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';

import { readModelFolder } from '../model-folder';
import { fileSha256 } from '../util/files';
import type { ProgressWriter } from '../progress';
import { splitIntoLineChunks } from './chunks';
import type { QueueUrl } from './connection';
import type { PredictJob, PredictResult } from './jobs';
import { runInOrder } from './ordered-results';

/**
 * Lines per chunk unless --chunk-lines says: large enough that the queue's
 * per-chunk cost (a few ms, bench/distributed.ts) is small beside predicting
 * it, small enough that a retried chunk costs little and many workers share a
 * modest file. Rounded up to a whole number of batches.
 */
export const DEFAULT_CHUNK_LINES = 16_384;

export interface QueuePredictOptions {
  queue: QueueUrl;
  /** The model folder (made absolute: the path must be the same on every worker). */
  modelDir: string;
  input: string;
  output: string;
  format: 'tsv' | 'jsonl';
  topK: number | undefined;
  batchSize: number;
  chunkLines?: number;
  attempts?: number;
  progress: ProgressWriter | false;
  signal?: AbortSignal;
  log(line: string): void;
}

export interface QueuePredictReport {
  lines: number;
  chunks: number;
  chunkLines: number;
  replacedSequences: number;
  linesWithReplacements: number;
}

export async function predictOnQueue(options: QueuePredictOptions): Promise<QueuePredictReport> {
  const modelDir = path.resolve(options.modelDir);
  const folder = readModelFolder(modelDir);
  const modelSha256 = fileSha256(folder.weightsPath);
  const input = path.resolve(options.input);
  const output = path.resolve(options.output);
  const batchSize = options.batchSize;
  const chunkLines = Math.ceil((options.chunkLines ?? DEFAULT_CHUNK_LINES) / batchSize) * batchSize;
  const chunks = splitIntoLineChunks(input, chunkLines);
  const lines = chunks.reduce((n, c) => n + c.lines, 0);
  const settings = { format: options.format, topK: options.topK ?? null, batchSize };
  const first = chunks[0];
  // One id per (model, input file, settings): a rerun after a crash takes the chunks already done.
  const run =
    'predict-' +
    createHash('sha256')
      .update(JSON.stringify({ modelDir, modelSha256, input, size: first?.fileSize ?? 0, mtime: first?.fileMtimeMs ?? 0, chunkLines, ...settings }))
      .digest('hex')
      .slice(0, 16);
  const jobs: PredictJob[] = chunks.map((chunk) => ({ kind: 'predict', run, chunk, model: modelDir, modelSha256, ...settings }));
  options.log(`predict: ${lines} lines of ${input} in ${chunks.length} chunk(s) of ${chunkLines} lines on ${options.queue.display} (run ${run})`);

  const report: QueuePredictReport = { lines, chunks: chunks.length, chunkLines, replacedSequences: 0, linesWithReplacements: 0 };
  const temp = `${output}.${process.pid}.tmp`;
  let fd = fs.openSync(temp, 'w');
  try {
    if (jobs.length > 0) {
      await runInOrder<PredictJob, PredictResult>({
        queue: options.queue,
        run,
        jobs,
        attempts: options.attempts,
        signal: options.signal,
        log: options.log,
        progress: { label: 'predict', unit: 'lines', stream: options.progress, total: lines, units: (j) => j.chunk.lines },
        onResult(job, result) {
          const got = countNewlines(result.output);
          if (got !== job.chunk.lines) throw new Error(`chunk ${job.chunk.index}: a worker returned ${got} lines for ${job.chunk.lines} input lines`);
          fs.writeSync(fd, result.output);
          report.replacedSequences += result.replacedSequences;
          report.linesWithReplacements += result.linesWithReplacements;
        },
      });
    }
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fd = -1;
    fs.renameSync(temp, output);
  } catch (err) {
    if (fd >= 0) fs.closeSync(fd);
    fs.rmSync(temp, { force: true });
    throw err;
  }
  return report;
}

function countNewlines(text: string): number {
  let n = 0;
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) n++;
  return n;
}
