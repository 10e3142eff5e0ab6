/**
 * `train` with [distill] queue = redis://HOST:PORT: the teacher scores the pool
 * on `model-distill worker`s instead of here.
 *
 * The pool file is cut into chunks of POOL_CHUNK_LINES lines (chunks.ts). A
 * chunk whose texts are all in the soft-label cache already is not enqueued
 * (so a run killed half-way resumes, as a local one does); the others go to
 * the queue with a recipe of the teacher's files (teacher-recipe.ts). Results
 * come back in pool order (ordered-results.ts) and are appended to the cache,
 * one chunk per append, so the cache grows in pool order. The caller then runs
 * its usual pass over the pool, which now finds every text in the cache and
 * writes the pool's logits for the students as before.
 */
import { createHash } from 'crypto';

import type { Config } from '../config';
import type { SoftLabelCache } from '../pipeline/soft-label-cache';
import { textKey } from '../pipeline/soft-label-cache';
import { formatCount, type ProgressWriter } from '../progress';
import { readChunkLines, splitIntoLineChunks, type LineChunk } from './chunks';
import { parseQueueUrl } from './connection';
import type { ScorePoolJob, ScorePoolResult } from './jobs';
import { runInOrder } from './ordered-results';
import { poolChunkTexts } from './pool-texts';
import { teacherRecipe, type TeacherFiles } from './teacher-recipe';

/**
 * Pool lines per chunk. A teacher scores tens to hundreds of texts a second per
 * machine, so a chunk is seconds to minutes of work: the queue's few ms per
 * chunk vanish, and a retried chunk (a dead worker) costs little.
 */
export const POOL_CHUNK_LINES = 4096;

export interface PoolQueueReport {
  queue: string;
  chunks: number;
  /** Chunks sent to the workers (the rest were in the cache already). */
  enqueued: number;
  /** Texts whose logits came back from the workers. */
  scored: number;
}

export interface PoolQueueOptions {
  log(line: string): void;
  progress: ProgressWriter | false;
  signal?: AbortSignal;
  /** Lines per chunk (tests); default POOL_CHUNK_LINES. */
  chunkLines?: number;
}

export async function scorePoolOnQueue(config: Config, teacher: TeacherFiles, cache: SoftLabelCache, options: PoolQueueOptions): Promise<PoolQueueReport> {
  const queueText = config.distill.queue;
  const pool = config.data.unlabeled;
  if (queueText === null || pool === null) throw new Error('scorePoolOnQueue: [distill] queue and [data] unlabeled must be set');
  const queue = parseQueueUrl(queueText, `[distill] queue in ${config.file}`);
  const recipe = teacherRecipe(config, teacher, cache.numClasses);
  const limit = config.distill.unlabeled_limit;
  const chunkLines = options.chunkLines ?? POOL_CHUNK_LINES;

  // Which chunks still need the teacher: one pass over the pool, hashing its texts as the cache does.
  const jobsToRun: ScorePoolJob[] = [];
  const chunks = splitIntoLineChunks(pool, chunkLines);
  const first = chunks[0];
  const run =
    'pool-' +
    createHash('sha256')
      .update(JSON.stringify({ teacher: recipe.teacherSha256, pool, size: first?.fileSize ?? 0, mtime: first?.fileMtimeMs ?? 0, limit, chunkLines }))
      .digest('hex')
      .slice(0, 16);
  let textsSoFar = 0;
  let usedChunks = 0;
  for (const chunk of chunks) {
    if (limit > 0 && textsSoFar >= limit) break;
    const maxTexts = limit > 0 ? limit - textsSoFar : null;
    const texts = await chunkTexts(chunk, maxTexts);
    textsSoFar += texts.length;
    usedChunks++;
    if (texts.length > 0 && !texts.every((t) => cache.has(textKey(t)))) jobsToRun.push({ kind: 'score-pool', run, chunk, teacher: recipe, maxTexts });
  }
  const report: PoolQueueReport = { queue: queue.display, chunks: usedChunks, enqueued: jobsToRun.length, scored: 0 };
  options.log(
    `soft labels: pool on the queue ${queue.display}: ${usedChunks} chunk(s) of ${formatCount(chunkLines)} lines, ` +
      `${jobsToRun.length} to score (the rest are in the cache); teacher ${recipe.members.map((m) => m.name).join(' + ')} (run ${run})`,
  );
  if (jobsToRun.length === 0) return report;
  const C = cache.numClasses;
  await runInOrder<ScorePoolJob, ScorePoolResult>({
    queue,
    run,
    jobs: jobsToRun,
    signal: options.signal,
    log: options.log,
    progress: { label: 'scoring pool (queue)', unit: 'lines', stream: options.progress, total: jobsToRun.reduce((n, j) => n + j.chunk.lines, 0), units: (j) => j.chunk.lines },
    async onResult(job, result) {
      const texts = await chunkTexts(job.chunk, job.maxTexts);
      const bytes = Buffer.from(result.logits, 'base64');
      if (result.texts !== texts.length || bytes.length !== texts.length * C * 4) {
        throw new Error(
          `pool chunk ${job.chunk.index}: a worker returned ${result.texts} texts and ${bytes.length} bytes of logits for ${texts.length} texts x ${C} classes; ` +
            'is a worker running another version of model-distill?',
        );
      }
      const logits = new Float32Array(texts.length * C);
      for (let i = 0; i < logits.length; i++) logits[i] = bytes.readFloatLE(4 * i);
      cache.append(texts.map(textKey), logits);
      report.scored += texts.length;
    },
  });
  return report;
}

async function chunkTexts(chunk: LineChunk, maxTexts: number | null): Promise<string[]> {
  const { lines, replacedSequences } = await readChunkLines(chunk);
  return poolChunkTexts(chunk, lines, replacedSequences, maxTexts);
}
