/**
 * Classifier backends, registered by name with a priority, as onnxruntime's registerBackend:
 * Classifier.load() tries them from the highest priority down and takes the first whose init()
 * succeeds. When none does, ONE error lists every backend tried and why it failed, so a user
 * sees at once that, say, the addon is missing AND the WASM fallback could not start.
 *
 * Only a backend that cannot run HERE (init throws BackendUnavailableError: the addon does not
 * load on this platform, onnxruntime-web is not installed) passes the model on to the next one.
 * Any other init error is about the model itself (a corrupt weights file, NaN weights) and is
 * thrown as is: another backend would either fail the same way or, worse, serve a model the
 * native loader rejected with different scores.
 *
 * MODEL_DISTILL_BACKEND=native|wasm (or Classifier.load's `backend` option, which wins) forces
 * a single backend: no fallback then, its own failure is reported.
 *
 * The default registry (defaultBackends) holds 'native' (priority 100, the addon) and 'wasm'
 * (priority 10, onnxruntime-web over the ONNX export); lib/classifier.ts registers both.
 * Tests build their own BackendRegistry.
 */
import type { ModelFolder } from '../model-folder';
import { describe } from '../util/check-args';

/** What a backend provides: texts in, probabilities [n, numClasses] out (labels order). */
export interface ClassifierBackend {
  readonly name: string;
  /** Throws when the backend cannot run synchronously (wasm): the message says to use predict(). */
  probabilitiesSync(texts: string[]): Float32Array;
  probabilities(texts: string[]): Promise<Float32Array>;
  close(): void;
}

export interface BackendInitContext {
  /** The validated model folder. */
  folder: ModelFolder;
  /** Threads per call; 0 = the backend's default (all cores for native). */
  threads: number;
}

export type BackendInit = (context: BackendInitContext) => ClassifierBackend | Promise<ClassifierBackend>;

interface Registration {
  name: string;
  priority: number;
  init: BackendInit;
}

export const BACKEND_ENV = 'MODEL_DISTILL_BACKEND';

/** Thrown by a backend's init when it cannot run on this machine at all (never for a bad model). */
export class BackendUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'BackendUnavailableError';
  }
}

/** The error when no backend loads; `failures` keeps each backend's own error. */
export class NoBackendError extends Error {
  constructor(
    message: string,
    readonly failures: { name: string; error: unknown }[],
  ) {
    super(message);
    this.name = 'NoBackendError';
  }
}

export class BackendRegistry {
  private readonly entries = new Map<string, Registration>();

  /** Registers (or replaces) a backend. Higher priority is tried first. */
  register(name: string, priority: number, init: BackendInit): void {
    if (typeof name !== 'string' || !/^[a-z][a-z0-9-]*$/.test(name)) {
      throw new TypeError(`Expected a lower-case backend name for name but received ${JSON.stringify(name)}`);
    }
    if (typeof priority !== 'number' || !Number.isFinite(priority)) throw new TypeError(`Expected a finite number for priority but received ${String(priority)}`);
    if (typeof init !== 'function') throw new TypeError(`Expected a function for init but received ${typeof init}`);
    this.entries.set(name, { name, priority, init });
  }

  /** Registered names, highest priority first (ties: registration order). */
  names(): string[] {
    return [...this.entries.values()].sort((a, b) => b.priority - a.priority).map((e) => e.name);
  }

  /**
   * The first backend (by priority, or only `forced`) whose init succeeds. `forced` undefined =
   * try all; the MODEL_DISTILL_BACKEND variable is read by the caller (see forcedBackend()).
   */
  async resolve(context: BackendInitContext, forced?: string): Promise<ClassifierBackend> {
    let order = this.names();
    if (forced !== undefined) {
      if (!this.entries.has(forced)) {
        throw new TypeError(`Expected one of ${order.map((n) => `'${n}'`).join(', ')} for the backend but received ${JSON.stringify(forced)}`);
      }
      order = [forced];
    }
    const failures: { name: string; error: unknown }[] = [];
    for (const name of order) {
      try {
        return await this.entries.get(name)!.init(context);
      } catch (error) {
        if (!(error instanceof BackendUnavailableError)) throw error; // the model is bad: no fallback
        failures.push({ name, error });
      }
    }
    const lines = failures.map(({ name, error }) => `  - ${name}: ${error instanceof Error ? error.message : String(error)}`.replace(/\n/g, '\n    '));
    const forcedNote = forced !== undefined ? ` (only '${forced}' was tried: it was forced)` : '';
    throw new NoBackendError(`no classifier backend could load ${context.folder.dir}${forcedNote}:\n${lines.join('\n')}`, failures);
  }
}

/**
 * The backend forced by the `backend` option or else MODEL_DISTILL_BACKEND; undefined = none
 * (try all). An unknown value is an error naming where it came from.
 */
export function forcedBackend(option: unknown, known: string[]): string | undefined {
  if (option !== undefined) {
    if (typeof option !== 'string' || !known.includes(option)) {
      throw new TypeError(`Expected ${known.map((n) => `'${n}'`).join(' or ')} for options.backend but received ${describe(option)}`);
    }
    return option;
  }
  const env = process.env[BACKEND_ENV];
  if (env === undefined || env === '') return undefined;
  if (!known.includes(env)) throw new TypeError(`Expected ${known.map((n) => `'${n}'`).join(' or ')} for ${BACKEND_ENV} but received ${JSON.stringify(env)}`);
  return env;
}
