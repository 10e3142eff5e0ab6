/**
 * The queue worker behind `model-distill worker`: takes chunk jobs (jobs.ts)
 * from the BullMQ queue, loads the model or teacher a job names (once; later
 * jobs reuse it), and returns the chunk's output. A worker writes nothing: the
 * coordinator that enqueued the chunks writes every result, in order, once.
 *
 * Failure handling is BullMQ's:
 *  - a worker that dies (kill -9, a lost machine) stops renewing its job's
 *    lock; after `lockMs` another worker's stalled-job check puts the job back
 *    in the queue and it runs again (maxStalledCount allows several such deaths);
 *  - an error fails the attempt; the job is retried up to the attempts the
 *    coordinator set, then reported to it with the worker's message;
 *  - stop() (SIGTERM, Ctrl-C) abandons the chunks in progress between two
 *    predict calls and moves them back to the queue at once, then closes.
 */
import * as os from 'os';

import { Worker, WaitingError, type Job } from 'bullmq';

import { Classifier } from '../classifier';
import { fileSha256 } from '../util/files';
import { makeFormatter } from '../predict-format';
import { formatDuration } from '../progress';
import { readChunkLines } from './chunks';
import { redisOptions, checkReachable, type QueueUrl } from './connection';
import { QUEUE_NAME, type PredictJob, type PredictResult, type QueueJob, type ScorePoolJob, type ScorePoolResult } from './jobs';
import { poolChunkTexts } from './pool-texts';
import { loadTeacherRecipe, type LoadedTeacher } from './teacher-loader';
import type { TeacherRecipe } from './teacher-recipe';

/** Texts per teacher call, as the local pipeline scores the pool (teacher.ts SCORE_BATCH). */
const TEACHER_CALL_TEXTS = 256;
/** A job's lock lasts this long unless renewed; a dead worker's chunk is retried after about this long. */
export const DEFAULT_LOCK_MS = 30_000;
/** How many times a job may be found abandoned (its worker died) before it fails. */
const MAX_STALLED = 5;

export interface QueueWorkerOptions {
  queue: QueueUrl;
  /** Jobs run at once by this process. */
  concurrency: number;
  /** Compute threads per model call, 0 = every core. */
  threads: number;
  lockMs?: number;
  log(line: string): void;
}

class StopRequested extends Error {
  constructor() {
    super('the worker is stopping');
  }
}

export class QueueWorker {
  private readonly options: QueueWorkerOptions;
  private readonly stopping = new AbortController();
  private worker: Worker<QueueJob> | null = null;
  private readonly classifiers = new Map<string, Promise<Classifier>>();
  private readonly teachers = new Map<string, Promise<LoadedTeacher>>();
  private lastConnectionError = 0;

  constructor(options: QueueWorkerOptions) {
    this.options = options;
  }

  /** Checks that Redis answers, then starts taking jobs. */
  async start(): Promise<void> {
    const { queue, concurrency, log } = this.options;
    await checkReachable(queue);
    const lockMs = this.options.lockMs ?? DEFAULT_LOCK_MS;
    this.worker = new Worker<QueueJob>(QUEUE_NAME, (job, token) => this.process(job, token), {
      connection: redisOptions(queue),
      // Shown by queue.getWorkers() and stored on each job it takes (job.processedBy): which machine and process.
      name: workerName(),
      concurrency,
      lockDuration: lockMs,
      stalledInterval: lockMs,
      maxStalledCount: MAX_STALLED,
    });
    this.worker.on('error', (err) => {
      // BullMQ reconnects by itself; say so at most every 10 s instead of once per retry.
      if (Date.now() - this.lastConnectionError > 10_000) {
        this.lastConnectionError = Date.now();
        log(`queue connection problem (retrying): ${err.message}`);
      }
    });
    await this.worker.waitUntilReady();
    log(`worker: taking jobs from ${queue.display} (queue "${QUEUE_NAME}", ${concurrency} at a time, lock ${lockMs / 1000} s)`);
  }

  /** Returns the chunks in progress to the queue, closes the connection and frees the models. */
  async stop(): Promise<void> {
    this.stopping.abort();
    if (this.worker !== null) await this.worker.close();
    for (const c of this.classifiers.values()) await c.then((x) => x.close(), () => undefined);
    for (const t of this.teachers.values()) await t.then((x) => x.close(), () => undefined);
    this.classifiers.clear();
    this.teachers.clear();
  }

  private async process(job: Job<QueueJob>, token: string | undefined): Promise<PredictResult | ScorePoolResult> {
    const started = Date.now();
    const c = job.data.chunk;
    const what = `${job.data.kind} chunk ${c.index} (lines ${c.firstLine}-${c.firstLine + c.lines - 1} of ${c.file})`;
    try {
      const result = job.data.kind === 'predict' ? await this.predict(job.data) : await this.scorePool(job.data);
      this.options.log(`worker: ${what} done in ${formatDuration((Date.now() - started) / 1000)}`);
      return result;
    } catch (err) {
      if (this.stopping.signal.aborted && token !== undefined) {
        // Back to the queue now rather than after the lock expires; WaitingError tells BullMQ not to fail it.
        await job.moveToWait(token);
        this.options.log(`worker: ${what} returned to the queue (stopping)`);
        throw new WaitingError();
      }
      this.options.log(`worker: ${what} failed (attempt ${job.attemptsMade + 1}): ${(err as Error).message}`);
      throw err;
    }
  }

  private checkStopping(): void {
    if (this.stopping.signal.aborted) throw new StopRequested();
  }

  private async predict(job: PredictJob): Promise<PredictResult> {
    const classifier = await this.classifier(job.model, job.modelSha256);
    const { lines, replacedSequences, linesWithReplacements } = await readChunkLines(job.chunk);
    const formatLine = makeFormatter(classifier.labels, job.format, job.topK ?? undefined);
    const parts: string[] = [];
    // The same batches as a local `predict --batch-size B`: chunks start at multiples of B lines.
    for (let start = 0; start < lines.length; start += job.batchSize) {
      this.checkStopping();
      const batch = lines.slice(start, start + job.batchSize);
      const probs = await classifier.predictProbabilities(batch);
      let text = '';
      for (let i = 0; i < batch.length; i++) text += formatLine(probs, i) + '\n';
      parts.push(text);
    }
    return { output: parts.join(''), replacedSequences, linesWithReplacements };
  }

  private async scorePool(job: ScorePoolJob): Promise<ScorePoolResult> {
    const teacher = await this.teacher(job.teacher);
    const { lines, replacedSequences } = await readChunkLines(job.chunk);
    const texts = poolChunkTexts(job.chunk, lines, replacedSequences, job.maxTexts);
    const C = job.teacher.numClasses;
    const logits = new Float32Array(texts.length * C);
    for (let start = 0; start < texts.length; start += TEACHER_CALL_TEXTS) {
      this.checkStopping();
      const part = await teacher.logits(texts.slice(start, start + TEACHER_CALL_TEXTS));
      logits.set(part, start * C);
    }
    // Float32Array is little-endian on every platform Node supports (x64, arm64).
    return { texts: texts.length, logits: Buffer.from(logits.buffer, logits.byteOffset, logits.byteLength).toString('base64') };
  }

  /** The model folder's Classifier, loaded once per (folder, weights); its weights must be the coordinator's. */
  private classifier(dir: string, sha256: string): Promise<Classifier> {
    const key = `${dir}\0${sha256}`;
    let loading = this.classifiers.get(key);
    if (loading === undefined) {
      loading = (async () => {
        const classifier = await Classifier.load(dir, { threads: this.options.threads });
        const actual = fileSha256(classifier.folder.weightsPath);
        if (actual !== sha256) {
          classifier.close();
          throw new Error(
            `model folder ${dir} on this worker has weights sha256 ${actual.slice(0, 12)}…, the job's are ${sha256.slice(0, 12)}…; ` +
              'workers must see the very model the job was started with (shared storage, same path)',
          );
        }
        this.options.log(`worker: loaded ${classifier.kind} model ${dir} (${classifier.backend})`);
        return classifier;
      })();
      this.classifiers.set(key, loading);
      loading.catch(() => this.classifiers.delete(key)); // a later job may find the files fixed
    }
    return loading;
  }

  private teacher(recipe: TeacherRecipe): Promise<LoadedTeacher> {
    const key = recipe.teacherSha256;
    let loading = this.teachers.get(key);
    if (loading === undefined) {
      loading = loadTeacherRecipe(recipe, this.options.threads).then((t) => {
        this.options.log(`worker: loaded teacher ${key.slice(0, 12)}… (${recipe.members.map((m) => m.name).join(', ')})`);
        return t;
      });
      this.teachers.set(key, loading);
      loading.catch(() => this.teachers.delete(key));
    }
    return loading;
  }
}

/** `<host>:<pid>`: names this worker in Redis (CLIENT LIST, job.processedBy). */
export function workerName(pid = process.pid): string {
  return `${os.hostname()}:${pid}`;
}
