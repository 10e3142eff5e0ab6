/**
 * Classifier: the public serving API. Load a model folder, give it strings, get labels and
 * probabilities.
 *
 *   const clf = await Classifier.load('model/default/textcnn');
 *   const [p] = await clf.predict(['这款手机续航很好']);   // { label, score, probabilities }
 *
 * The work is done by a backend behind a small interface (ClassifierBackend), chosen from a
 * registry (lib/backends/registry.ts) by priority, first that loads:
 *  - 'native' (priority 100): the addon's NativeClassifier (native/addon/classifier_wrap.cc)
 *    tokenises, runs the student's fast path and the softmax on the core's thread pool; predict()
 *    runs it on a libuv worker so the event loop stays free (lib/backends/native.ts);
 *  - 'wasm' (priority 10): onnxruntime-web over the student's ONNX export with the TypeScript
 *    tokenizer (lib/backends/wasm.ts); async only.
 * MODEL_DISTILL_BACKEND=native|wasm or options.backend forces one; when none loads, one error
 * lists every failure.
 */
import { BackendRegistry, forcedBackend, type ClassifierBackend } from './backends/registry';
import { createNativeBackend } from './backends/native';
import { createWasmBackend } from './backends/wasm';
import { CONFIG_FILE, ModelFolder, readModelFolder } from './model-folder';
import { retryIfReplaced } from './model-generations';
import type { ModelKind } from './student';
import { describe } from './util/check-args';
import { MicroBatcher, resolveBatchingOptions, type MicroBatchingOptions } from './micro-batcher';

export type { ClassifierBackend } from './backends/registry';
export type { MicroBatchingOptions } from './micro-batcher';

export interface Prediction {
  /** The most probable class. */
  label: string;
  /** Its probability. */
  score: number;
  /** Probability of every class, in `labels` order (a view into the batch's result). */
  probabilities: Float32Array;
  /** The topK most probable classes, best first (only when topK is given). */
  top?: { label: string; score: number }[];
}

export type ClassifierBackendName = 'native' | 'wasm';

export interface ClassifierLoadOptions {
  /** Threads of the core's pool used per call; 0 (default) = all. */
  threads?: number;
  /**
   * Force one backend (no fallback). Default: MODEL_DISTILL_BACKEND if set, else the first that
   * loads of 'native' then 'wasm'.
   */
  backend?: ClassifierBackendName;
  /**
   * Coalesce concurrent predict() / predictProbabilities() calls into shared native calls
   * (lib/micro-batcher.ts); each caller still gets exactly its unbatched result. Default: off,
   * so a single caller's call starts at once, with no queue in between.
   */
  batching?: MicroBatchingOptions;
  /**
   * Errors of predict() / predictProbabilities() carry the stack of the call that started them
   * (default true): they surface later, from a native worker, where the stack alone would not
   * say who asked. Capturing that stack costs on every call (about a tenth of a server's
   * event-loop time per single-text request, profiled); a server that turns errors into HTTP
   * replies has no use for it and turns it off.
   */
  callerStacks?: boolean;
}

export interface PredictCallOptions {
  /** Also return the K most probable classes per text. */
  topK?: number;
}

/** The registry Classifier.load() resolves from: native first, the WASM fallback second. */
export const defaultBackends = new BackendRegistry();
defaultBackends.register('native', 100, createNativeBackend);
defaultBackends.register('wasm', 10, createWasmBackend);

export class Classifier {
  /** Class names; probabilities come in this order. */
  readonly labels: string[];
  readonly kind: ModelKind;
  readonly backend: ClassifierBackendName;
  readonly maxLength: number;
  /** The validated model folder (config, paths). */
  readonly folder: ModelFolder;
  private impl: ClassifierBackend | undefined;

  /** Loads and validates a model folder (errors name the file and the problem). */
  static async load(dir: string, options: ClassifierLoadOptions = {}): Promise<Classifier> {
    if (typeof dir !== 'string' || dir.length === 0) throw new TypeError(`Expected a non-empty string for dir but received ${describe(dir)}`);
    if (options === null || typeof options !== 'object' || Array.isArray(options)) {
      throw new TypeError(`Expected an object for options but received ${describe(options)}`);
    }
    const threads = options.threads ?? 0;
    if (typeof threads !== 'number' || !Number.isSafeInteger(threads) || threads < 0) {
      throw new TypeError(`Expected non-negative integer for options.threads but received ${describe(threads)}`);
    }
    const forced = forcedBackend(options.backend, defaultBackends.names());
    const batching = options.batching === undefined ? undefined : resolveBatchingOptions(options.batching);
    const callerStacks = options.callerStacks ?? true;
    if (typeof callerStacks !== 'boolean') throw new TypeError(`Expected a boolean for options.callerStacks but received ${describe(callerStacks)}`);
    // Folder errors (missing file, bad config) are the same for every backend: reported as such.
    // All files come from one generation, even while a retrain replaces the model (retried when
    // a burst of saves retired it mid-load: lib/model-generations.ts).
    return retryIfReplaced(dir, CONFIG_FILE, async () => {
      const folder = readModelFolder(dir);
      const impl = await defaultBackends.resolve({ folder, threads }, forced);
      const batcher = batching && new MicroBatcher((texts) => impl.probabilities(texts), folder.labels.length, batching);
      return new Classifier(folder, impl, callerStacks, batcher);
    });
  }

  private constructor(
    folder: ModelFolder,
    impl: ClassifierBackend,
    private readonly callerStacks: boolean,
    private readonly batcher?: MicroBatcher,
  ) {
    this.folder = folder;
    this.labels = folder.labels.slice();
    this.kind = folder.spec.kind;
    this.maxLength = folder.config.maxLength;
    this.backend = impl.name as ClassifierBackendName;
    this.impl = impl;
  }

  get numClasses(): number {
    return this.labels.length;
  }

  /** Labels and probabilities of every text, computed off the event loop. */
  async predict(texts: string[], options: PredictCallOptions = {}): Promise<Prediction[]> {
    const caller = this.callerStacks ? new Error() : undefined; // its .stack is formatted only if the call fails (formatting costs ~0.1 ms)
    const impl = this.open();
    checkTexts(texts);
    const topK = checkTopK(options, this.labels.length);
    try {
      return this.toPredictions(await (this.batcher?.probabilities(texts) ?? impl.probabilities(texts)), topK);
    } catch (err) {
      throw withCallerStack(err, 'predict', caller);
    }
  }

  /** predict() on the calling thread (plus the core's pool). Native backend only: 'wasm' throws (use predict()). */
  predictSync(texts: string[], options: PredictCallOptions = {}): Prediction[] {
    const impl = this.open();
    checkTexts(texts);
    const topK = checkTopK(options, this.labels.length);
    return this.toPredictions(impl.probabilitiesSync(texts), topK);
  }

  /** Raw probabilities [texts.length, numClasses] (labels order), off the event loop: the throughput path. */
  async predictProbabilities(texts: string[]): Promise<Float32Array> {
    const caller = this.callerStacks ? new Error() : undefined; // its .stack is formatted only if the call fails (formatting costs ~0.1 ms)
    const impl = this.open();
    checkTexts(texts);
    try {
      return await (this.batcher?.probabilities(texts) ?? impl.probabilities(texts));
    } catch (err) {
      throw withCallerStack(err, 'predictProbabilities', caller);
    }
  }

  /** predictProbabilities() on the calling thread. Native backend only, as predictSync. */
  predictProbabilitiesSync(texts: string[]): Float32Array {
    const impl = this.open();
    checkTexts(texts);
    return impl.probabilitiesSync(texts);
  }

  /** Frees the model; later calls throw "Classifier is closed". Predictions in flight still finish. */
  close(): void {
    if (!this.impl) return;
    this.batcher?.flushAll(); // queued calls start now, so they finish like calls in flight
    this.impl.close();
    this.impl = undefined;
  }

  /** Texts queued for a micro-batch and not yet handed to the model (0 without batching). */
  get pendingTexts(): number {
    return this.batcher?.pendingTexts ?? 0;
  }

  get closed(): boolean {
    return this.impl === undefined;
  }

  private open(): ClassifierBackend {
    if (!this.impl) throw new Error('Classifier is closed');
    return this.impl;
  }

  private toPredictions(probabilities: Float32Array, topK: number | undefined): Prediction[] {
    const C = this.labels.length;
    const n = probabilities.length / C;
    const out: Prediction[] = new Array(n);
    for (let i = 0; i < n; i++) {
      const row = probabilities.subarray(i * C, (i + 1) * C);
      let best = 0;
      for (let c = 1; c < C; c++) if (row[c] > row[best]) best = c;
      const p: Prediction = { label: this.labels[best], score: row[best], probabilities: row };
      if (topK !== undefined) {
        const order = Array.from({ length: C }, (_, c) => c).sort((a, b) => row[b] - row[a] || a - b);
        p.top = order.slice(0, topK).map((c) => ({ label: this.labels[c], score: row[c] }));
      }
      out[i] = p;
    }
    return out;
  }
}

// ---- helpers ---------------------------------------------------------------------------------

function checkTexts(texts: unknown): asserts texts is string[] {
  if (!Array.isArray(texts)) {
    throw new TypeError(`Expected an array of strings for texts but received ${texts === null ? 'null' : typeof texts}`);
  }
  for (let i = 0; i < texts.length; i++) {
    if (typeof texts[i] !== 'string') {
      throw new TypeError(`Expected an array of strings for texts but received ${texts[i] === null ? 'null' : typeof texts[i]} at index ${i}`);
    }
  }
}

function checkTopK(options: unknown, C: number): number | undefined {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new TypeError(`Expected an object for options but received ${describe(options)}`);
  }
  const topK = (options as PredictCallOptions).topK;
  if (topK === undefined) return undefined;
  if (typeof topK !== 'number' || !Number.isSafeInteger(topK) || topK < 1) {
    throw new TypeError(`Expected positive integer for options.topK but received ${describe(topK)}`);
  }
  return Math.min(topK, C);
}

function withCallerStack(err: unknown, method: string, caller: Error | undefined): unknown {
  if (err instanceof Error && caller !== undefined) {
    const callerStack = caller.stack ?? '';
    err.stack = `${err.stack ?? err.message}\n    --- ${method} called from ---\n${callerStack.split('\n').slice(2).join('\n')}`;
  }
  return err;
}
