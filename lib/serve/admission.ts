/**
 * The bounded queue in front of the models: a request's texts are admitted only while the texts
 * admitted and not yet answered stay within maxQueueTexts; past it the request is refused at
 * once with 503 + Retry-After. Under overload clients then see fast refusals they can retry
 * elsewhere instead of latency growing without bound. Also the per-request timeout.
 */
import { unavailable } from './errors';
import type { ServerMetrics } from './metrics';

export class Admission {
  private texts = 0;

  constructor(
    private readonly maxQueueTexts: number,
    private readonly metrics: ServerMetrics,
  ) {}

  get queuedTexts(): number {
    return this.texts;
  }

  /** Admits `n` texts or throws the 503; pair every admit with one release(n). */
  admit(n: number): void {
    // A request larger than the whole queue is still admitted when the queue is empty, so
    // maxTexts above maxQueueTexts does not make such requests impossible.
    if (this.texts > 0 && this.texts + n > this.maxQueueTexts) {
      throw unavailable(
        'OVERLOADED',
        `server busy: ${this.texts} texts queued, ${n} more would pass maxQueueTexts (${this.maxQueueTexts}); retry later`,
        1,
        { name: 'maxQueueTexts', value: this.maxQueueTexts },
      );
    }
    this.texts += n;
    this.metrics.queueTexts.set(this.texts);
  }

  release(n: number): void {
    this.texts -= n;
    this.metrics.queueTexts.set(this.texts);
  }
}

/**
 * `work`, or a 503 after `ms` (0 = no limit). The native call cannot be interrupted: it runs to
 * its end and its result is dropped; the caller releases its admission when `work` settles, so
 * the queue bound keeps counting it.
 */
export function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  if (ms <= 0) return work;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(unavailable('TIMEOUT', `prediction not finished within requestTimeoutMs (${ms} ms); retry later`, 1, { name: 'requestTimeoutMs', value: ms })), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}
