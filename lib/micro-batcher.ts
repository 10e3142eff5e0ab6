/**
 * Micro-batching: many small concurrent requests for probabilities coalesced into few large
 * native calls, the "dynamic batching" of Triton / TF Serving, inside one Node process.
 *
 * Why: a native call has a fixed cost (the hop to a libuv worker and back, waking the core's
 * thread pool, one allocation for the result) that dwarfs the model's work for one short text.
 * A server answering 10,000 single-text requests a second spends most of its time on that fixed
 * cost unless the texts travel together.
 *
 * How a batch is formed (one queue per Classifier):
 *  - a caller's texts join the queue whole (never split across batches); a call of maxBatch
 *    texts or more skips the queue and runs alone, as an unbatched call would;
 *  - while fewer than maxInFlight batches run, a batch leaves as soon as the queue holds maxBatch
 *    texts, or its oldest text has waited maxDelayMicros. Node's timers count whole
 *    milliseconds, so a delay under 1,000 µs means "at the end of this event-loop turn"
 *    (setImmediate): every call made in the same turn (e.g. all requests parsed from one read of
 *    the sockets) still travels together, at no added latency;
 *  - while maxInFlight batches run, the queue keeps filling and leaves when one returns (before
 *    that batch's callers are answered, so the model works while they build their replies).
 *    Under load batches therefore grow by themselves (up to maxBatch), without a longer delay.
 *
 * Exactness: the model scores each text on its own (no state is shared between the rows of a
 * batch), so every caller receives exactly the probabilities an unbatched call returns; the
 * classifier tests check this bit for bit.
 */

import * as os from 'os';

export interface MicroBatchingOptions {
  /** Most texts in one native call (default 64). */
  maxBatch?: number;
  /** Longest a text waits for others to join its batch while the model is free, in µs (default 0 = end of the event-loop turn). */
  maxDelayMicros?: number;
  /**
   * Native calls running at once (default: the number of cores). The core splits a call into
   * chunks of 256 texts, one per thread, so a batch of up to 256 runs on ONE thread: one batch
   * in flight per core keeps every core busy.
   */
  maxInFlight?: number;
  /** Called with the number of texts in each batch as it starts (for metrics). */
  onBatch?: (texts: number) => void;
}

export interface ResolvedBatchingOptions {
  maxBatch: number;
  maxDelayMicros: number;
  maxInFlight: number;
  onBatch: ((texts: number) => void) | undefined;
}

/** What the batcher calls: texts in, probabilities [texts.length, numClasses] out. */
export type BatchRunner = (texts: string[]) => Promise<Float32Array>;

interface Waiting {
  texts: string[];
  /** performance.now() when the call joined the queue. */
  since: number;
  resolve(probabilities: Float32Array): void;
  reject(error: unknown): void;
}

/** Small enough that a few batches run side by side (one per core), large enough to amortise a native call. */
export const DEFAULT_MAX_BATCH = 64;

/** Checks and fills in the options; errors name the bad key and value. */
export function resolveBatchingOptions(options: unknown): ResolvedBatchingOptions {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new TypeError(`Expected an object for options.batching but received ${options === null ? 'null' : Array.isArray(options) ? 'an array' : typeof options}`);
  }
  const o = options as MicroBatchingOptions;
  const integer = (key: keyof MicroBatchingOptions, fallback: number, min: number): number => {
    const value = o[key] ?? fallback;
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
      const kind = min === 0 ? 'non-negative integer' : 'positive integer';
      throw new TypeError(`Expected ${kind} for options.batching.${key} but received ${typeof value === 'string' ? JSON.stringify(value) : String(value)}`);
    }
    return value;
  };
  if (o.onBatch !== undefined && typeof o.onBatch !== 'function') {
    throw new TypeError(`Expected a function for options.batching.onBatch but received ${typeof o.onBatch}`);
  }
  return {
    maxBatch: integer('maxBatch', DEFAULT_MAX_BATCH, 1),
    maxDelayMicros: integer('maxDelayMicros', 0, 0),
    maxInFlight: integer('maxInFlight', os.availableParallelism(), 1),
    onBatch: o.onBatch,
  };
}

export class MicroBatcher {
  private queue: Waiting[] = [];
  private queuedTexts = 0;
  private inFlight = 0;
  private timer: { immediate?: NodeJS.Immediate; timeout?: NodeJS.Timeout } | undefined;

  constructor(
    private readonly runBatch: BatchRunner,
    private readonly numClasses: number,
    private readonly options: ResolvedBatchingOptions,
  ) {}

  /** Texts waiting for a batch (not yet handed to the model). */
  get pendingTexts(): number {
    return this.queuedTexts;
  }

  /** Probabilities of `texts` ([texts.length, numClasses]), computed in a shared batch. */
  probabilities(texts: string[]): Promise<Float32Array> {
    if (texts.length >= this.options.maxBatch) return this.runBatch(texts);
    if (texts.length === 0) return Promise.resolve(new Float32Array(0));
    return new Promise<Float32Array>((resolve, reject) => {
      this.queue.push({ texts, since: performance.now(), resolve, reject });
      this.queuedTexts += texts.length;
      this.pump();
    });
  }

  /** Starts every queued call now, whatever the limits (before the model is closed). */
  flushAll(): void {
    this.clearTimer();
    while (this.queue.length > 0) this.dispatch();
  }

  /**
   * Starts a batch at once when the queue holds maxBatch texts and the model has room; otherwise
   * leaves it to the timer (at the latest the end of this event-loop turn).
   */
  private pump(): void {
    while (this.queue.length > 0 && this.inFlight < this.options.maxInFlight && this.queuedTexts >= this.options.maxBatch) {
      this.dispatch();
    }
    if (this.queue.length > 0 && this.inFlight < this.options.maxInFlight) this.armTimer(this.remainingDelayMicros());
  }

  private onTimer(): void {
    this.timer = undefined;
    this.dispatchDue();
  }

  /** Starts every batch that is due (full, or its oldest text waited long enough) while there is room; arms the timer for the rest. */
  private dispatchDue(): void {
    while (this.queue.length > 0 && this.inFlight < this.options.maxInFlight) {
      const remaining = this.remainingDelayMicros();
      if (this.queuedTexts < this.options.maxBatch && remaining > 0) {
        this.armTimer(remaining);
        return;
      }
      this.dispatch();
    }
  }

  private remainingDelayMicros(): number {
    return this.options.maxDelayMicros - (performance.now() - this.queue[0].since) * 1000;
  }

  private armTimer(micros: number): void {
    if (this.timer !== undefined) return;
    const fire = (): void => this.onTimer();
    this.timer = micros < 1000 ? { immediate: setImmediate(fire) } : { timeout: setTimeout(fire, Math.ceil(micros / 1000)) };
  }

  private clearTimer(): void {
    if (this.timer?.immediate) clearImmediate(this.timer.immediate);
    if (this.timer?.timeout) clearTimeout(this.timer.timeout);
    this.timer = undefined;
  }

  /** Takes whole calls from the queue up to maxBatch texts (at least one call) and runs them as one batch. */
  private dispatch(): void {
    const batch: Waiting[] = [];
    let texts = 0;
    while (this.queue.length > 0 && (batch.length === 0 || texts + this.queue[0].texts.length <= this.options.maxBatch)) {
      const call = this.queue.shift()!;
      batch.push(call);
      texts += call.texts.length;
    }
    this.queuedTexts -= texts;
    const joined = batch.length === 1 ? batch[0].texts : new Array<string>(texts);
    if (batch.length > 1) {
      let at = 0;
      for (const call of batch) for (const text of call.texts) joined[at++] = text;
    }
    this.inFlight++;
    this.options.onBatch?.(texts);
    let running: Promise<Float32Array>;
    try {
      running = this.runBatch(joined);
    } catch (err) {
      running = Promise.reject(err);
    }
    running.then(
      (probabilities) => {
        this.inFlight--;
        // The texts that queued while this batch ran leave now, BEFORE its callers are answered:
        // the model then works on the next batch while this one's callers build their replies.
        this.dispatchDue();
        const C = this.numClasses;
        let row = 0;
        for (const call of batch) {
          // A view of the shared result: no copy, and the values are the batch's own.
          call.resolve(batch.length === 1 ? probabilities : probabilities.subarray(row * C, (row + call.texts.length) * C));
          row += call.texts.length;
        }
      },
      (err: unknown) => {
        this.inFlight--;
        this.dispatchDue();
        for (const call of batch) call.reject(err);
      },
    );
  }
}
