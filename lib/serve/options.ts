/**
 * The settings of `model-distill serve`, with their defaults. Every limit has a name, and an
 * error caused by a limit names it (e.g. "limit": "maxTexts"), so a client can tell which one
 * it ran into and an operator which flag raises it.
 */
import type { MicroBatchingOptions } from '../micro-batcher';

export interface ServedModel {
  /** The name clients use (/v2/models/{name}, "model" in /v1/predict). */
  name: string;
  /** The model folder; reloads call Classifier.load on this same path again. */
  dir: string;
}

export interface ServeLimits {
  /** Largest request body in bytes (413 above). */
  maxBodyBytes: number;
  /** Most texts in one request (413 above). */
  maxTexts: number;
  /** Longest text in UTF-16 code units, as String.length counts (413 above). */
  maxTextLength: number;
  /** Texts admitted and not yet answered, over all requests: a request that would go past it gets 503 + Retry-After. */
  maxQueueTexts: number;
  /** A prediction not answered within this gets 503 (the client should retry); 0 = no limit. */
  requestTimeoutMs: number;
}

export interface ServeOptions {
  models: ServedModel[];
  host: string;
  port: number;
  limits: ServeLimits;
  /** Micro-batching of each model's Classifier; null = off (each request its own native call). */
  batching: MicroBatchingOptions | null;
  /** Threads of the core's pool per native call; 0 = all. */
  threads: number;
  /** After SIGTERM, in-flight requests get this long before the process exits anyway. */
  drainTimeoutMs: number;
  /** Log one line per request to stderr. */
  logRequests: boolean;
}

export const DEFAULT_LIMITS: ServeLimits = {
  maxBodyBytes: 1024 * 1024,
  maxTexts: 1024,
  maxTextLength: 10_000,
  maxQueueTexts: 16_384,
  requestTimeoutMs: 10_000,
};

/** The library's defaults (lib/micro-batcher.ts): batches of up to 64 texts, one in flight per core, no added delay. */
export const DEFAULT_BATCHING: MicroBatchingOptions = {};

export const DEFAULT_DRAIN_TIMEOUT_MS = 30_000;

/** The options with every default filled in (for tests and the bench). */
export function serveOptions(models: ServedModel[], overrides: Partial<Omit<ServeOptions, 'models' | 'limits'>> & { limits?: Partial<ServeLimits> } = {}): ServeOptions {
  return {
    models,
    host: overrides.host ?? '127.0.0.1',
    port: overrides.port ?? 8080,
    // An override left undefined keeps the default.
    limits: { ...DEFAULT_LIMITS, ...Object.fromEntries(Object.entries(overrides.limits ?? {}).filter(([, v]) => v !== undefined)) },
    batching: overrides.batching === undefined ? DEFAULT_BATCHING : overrides.batching,
    threads: overrides.threads ?? 0,
    drainTimeoutMs: overrides.drainTimeoutMs ?? DEFAULT_DRAIN_TIMEOUT_MS,
    logRequests: overrides.logRequests ?? false,
  };
}
