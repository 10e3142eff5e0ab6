/**
 * The coordinator's side of a queue run: enqueue one job per chunk, then take
 * the results back strictly in chunk order and hand each to `onResult` once.
 * This is the "merging writer": workers finish chunks in any order, the
 * output is assembled in input order, and nothing is written twice.
 *
 * How each guarantee is kept:
 *  - exactly once: job ids are `<run>-<index>`; a finished chunk is read,
 *    handed to onResult and only then removed. Results wait in Redis (not in
 *    this process) until their turn, so memory stays flat;
 *  - a dead worker: BullMQ's stalled-job check re-queues its chunk (worker.ts);
 *  - a restarted coordinator (same run id): chunks already finished are taken
 *    as they are; failed ones from an earlier try are removed and added anew;
 *  - Redis lost: if it does not answer for `unreachableMs`, or comes back
 *    without our jobs (restarted without persistence), the run fails with an
 *    error saying so, and the caller discards its partial output.
 *
 * Progress counts finished chunks across all workers (QueueEvents), with an
 * ETA, and shows how many workers are connected.
 */
import { Job, Queue, QueueEvents } from 'bullmq';

import { Progress, type ProgressWriter } from '../progress';
import type { LineChunk } from './chunks';
import { checkReachable, redisOptions, type QueueUrl } from './connection';
import { jobId, QUEUE_NAME, type QueueJob } from './jobs';

export interface OrderedRunOptions<J extends QueueJob, R> {
  queue: QueueUrl;
  run: string;
  jobs: J[];
  /** Called once per job, in the order of `jobs`, with the worker's result. */
  onResult(job: J, result: R): Promise<void> | void;
  /** Attempts per chunk before the run fails (a worker's error; a dead worker's chunk is re-queued without using one). */
  attempts?: number;
  /** Give up when Redis does not answer for this long (default 60 s). */
  unreachableMs?: number;
  progress: { label: string; unit: string; stream: ProgressWriter | false; total: number; units(job: J): number };
  signal?: AbortSignal;
  log(line: string): void;
}

const DEFAULT_ATTEMPTS = 3;
const POLL_MS = 500;
/** Jobs added per Redis round trip. */
const ADD_BATCH = 500;

export async function runInOrder<J extends QueueJob, R>(options: OrderedRunOptions<J, R>): Promise<void> {
  const { queue: url, run, jobs } = options;
  await checkReachable(url);
  const connection = redisOptions(url);
  const queue = new Queue<QueueJob>(QUEUE_NAME, { connection });
  const events = new QueueEvents(QUEUE_NAME, { connection });
  const unreachableMs = options.unreachableMs ?? 60_000;
  const attempts = options.attempts ?? DEFAULT_ATTEMPTS;
  const byId = new Map(jobs.map((j) => [jobId(run, j.chunk.index), j]));

  // Redis watchdog: every Redis call below races against it.
  let downSince: number | null = null;
  let lostReason = '';
  const watchClient = (client: { on(event: string, listener: (...args: unknown[]) => void): unknown }) => {
    client.on('ready', () => (downSince = null));
    client.on('close', () => (downSince ??= Date.now()));
    client.on('error', (err: unknown) => {
      lostReason = (err as Error).message;
      downSince ??= Date.now();
    });
  };
  queue.on('error', (err) => (lostReason = err.message));
  events.on('error', (err) => (lostReason = err.message));
  watchClient(await queue.backend.client);
  let wake: (() => void) | null = null;
  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        wake = null;
        resolve();
      }, ms);
      wake = () => {
        clearTimeout(timer);
        wake = null;
        resolve();
      };
    });
  const guard = async <T>(what: string, p: Promise<T>): Promise<T> => {
    let timer: NodeJS.Timeout | undefined;
    const lost = new Promise<never>((_, reject) => {
      timer = setInterval(() => {
        if (downSince !== null && Date.now() - downSince > unreachableMs) {
          reject(new Error(`lost the queue's Redis at ${url.display} for ${Math.round(unreachableMs / 1000)} s while ${what}${lostReason ? ` (${lostReason})` : ''}; nothing was written`));
        }
      }, 250);
    });
    try {
      return await Promise.race([p, lost]);
    } finally {
      clearInterval(timer);
    }
  };

  const bar = options.progress.stream === false ? null : new Progress({ label: options.progress.label, total: options.progress.total, unit: options.progress.unit, stream: options.progress.stream });
  const finished = new Set<string>();
  let finishedUnits = 0;
  let workers = 0;
  const note = () => `${finished.size}/${jobs.length} chunks, ${workers} worker${workers === 1 ? '' : 's'}`;
  const markFinished = (id: string) => {
    const job = byId.get(id);
    if (job === undefined || finished.has(id)) return;
    finished.add(id);
    finishedUnits += options.progress.units(job);
    bar?.update(finishedUnits, note());
  };
  events.on('completed', ({ jobId: id }) => {
    markFinished(id);
    if (wake !== null) wake();
  });
  events.on('failed', () => {
    if (wake !== null) wake();
  });

  try {
    await guard('connecting', events.waitUntilReady());
    // Add the chunks; ids already there (an earlier try of this run) are kept when finished, re-added when failed.
    for (let start = 0; start < jobs.length; start += ADD_BATCH) {
      const part = jobs.slice(start, start + ADD_BATCH);
      const existing = await guard('adding chunks', Promise.all(part.map((j) => Job.fromId(queue, jobId(run, j.chunk.index)))));
      for (const old of existing) {
        if (old === undefined) continue;
        const state = await guard('adding chunks', old.getState());
        if (state === 'failed') await guard('adding chunks', old.remove());
        else if (state === 'completed') markFinished(old.id ?? '');
      }
      await guard(
        'adding chunks',
        queue.addBulk(
          part.map((j) => ({
            name: j.kind,
            data: j,
            opts: { jobId: jobId(run, j.chunk.index), attempts, backoff: { type: 'fixed', delay: 1000 }, removeOnComplete: false, removeOnFail: false },
          })),
        ),
      );
    }
    let lastWorkerCount = 0;
    let warnedNoWorkers = false;
    const waitingSince = Date.now();
    for (const j of jobs) {
      const id = jobId(run, j.chunk.index);
      for (;;) {
        if (options.signal?.aborted) throw new Error('cancelled');
        if (Date.now() - lastWorkerCount > 5000) {
          lastWorkerCount = Date.now();
          workers = await guard('counting workers', queue.getWorkersCount());
          bar?.update(finishedUnits, note());
          if (workers === 0 && !warnedNoWorkers && Date.now() - waitingSince > 10_000) {
            warnedNoWorkers = true;
            options.log(`no worker is connected to ${url.display} yet; start some with: model-distill worker --queue ${url.display}`);
          }
        }
        // The state first, then the job: a job read before it completed would carry no result yet.
        const state = await guard(`waiting for chunk ${j.chunk.index}`, queue.getJobState(id));
        const job = state === 'unknown' ? undefined : await guard(`waiting for chunk ${j.chunk.index}`, Job.fromId<QueueJob, R>(queue, id));
        if (job === undefined) {
          throw new Error(
            `chunk ${j.chunk.index} (lines ${describeLines(j.chunk)}) is gone from the queue at ${url.display}: was Redis restarted without persistence, ` +
              'or the queue emptied by someone? Nothing was written; run the command again',
          );
        }
        if (state === 'completed') {
          if (job.returnvalue === null || job.returnvalue === undefined) throw new Error(`chunk ${j.chunk.index} is marked completed in the queue but holds no result`);
          markFinished(id);
          await options.onResult(j, job.returnvalue);
          await guard('removing a finished chunk', job.remove());
          break;
        }
        if (state === 'failed') {
          throw new Error(`chunk ${j.chunk.index} (lines ${describeLines(j.chunk)}) failed after ${job.attemptsMade} attempt(s) on the workers: ${job.failedReason}`);
        }
        await sleep(POLL_MS);
      }
    }
    bar?.finish(`${jobs.length} chunks`);
  } catch (err) {
    // Chunks nobody has started yet would only keep the workers busy for nothing.
    await Promise.race([Promise.allSettled(jobs.map((j) => queue.remove(jobId(run, j.chunk.index)))), new Promise((r) => setTimeout(r, 2000))]);
    throw err;
  } finally {
    await Promise.race([Promise.allSettled([events.close(), queue.close()]), new Promise((r) => setTimeout(r, 2000))]);
    if (downSince !== null) {
      queue.disconnect().catch(() => undefined);
      events.disconnect().catch(() => undefined);
    }
  }
}

function describeLines(chunk: LineChunk): string {
  return `${chunk.firstLine}-${chunk.firstLine + chunk.lines - 1} of ${chunk.file}`;
}
