/**
 * NativeStudent: a TextCNN or GRU student that trains and predicts in the C++ core
 * (native/addon/student_wrap.cc over native/core). This file checks every argument and
 * names the bad value (sharp-style), fills defaults, and turns the addon's raw results
 * into the public report types; the C++ side assumes valid input.
 *
 * Rows come in the layout Tokenizer.encodeBatch returns: `ids` [rows, maxLength] row-major,
 * `lengths` the real length of each row (>= 1). Token id 0 must be [PAD] (the models' padding row).
 */
import { loadAddon, RawEpochMetrics, RawNativeStudent, RawRows, RawStudentSpec, RawTrainOptions, RawTrainProgress, RawTrainResult } from './binding';
import { approximateParameters, atMost, SIZE_LIMITS } from './size-limits';

export type StudentKind = 'textcnn' | 'gru' | 'transformer';

export interface TextCnnSpec {
  kind: 'textcnn';
  vocabSize: number;
  numClasses: number;
  embeddingDim: number;
  /** Convolution window sizes, e.g. [3, 4, 5]. */
  windows: number[];
  /** Filters per window size. */
  filters: number;
  dropout: number;
  /** Seed of the initial weights. */
  seed: number;
}

export interface GruSpec {
  kind: 'gru';
  vocabSize: number;
  numClasses: number;
  embeddingDim: number;
  hidden: number;
  bidirectional: boolean;
  dropout: number;
  seed: number;
}

/**
 * A BERT/ERNIE-style transformer classifier (the native teacher; native/core/transformer.h).
 * Its rows must start with [CLS] (addSpecialTokens): the classifier reads position 0.
 * Its word embeddings are [vocabSize, hidden].
 */
export interface TransformerSpec {
  kind: 'transformer';
  vocabSize: number;
  numClasses: number;
  /** Hidden size; a multiple of heads. */
  hidden: number;
  layers: number;
  heads: number;
  /** Feed-forward size. */
  intermediate: number;
  /** Position embeddings: rows may be at most this long. */
  maxPositions: number;
  /** Hidden and attention dropout, in [0, 1). */
  dropout: number;
  /** BERT's [CLS] pooler (dense + tanh) before the classifier. */
  pooler: boolean;
  seed: number;
  /** Segment (token type) embedding rows; default 2 (BERT). Set by checkpoint imports (ERNIE 3.0 has 4). */
  typeVocabSize?: number;
  /** LayerNorm epsilon; default 1e-12 (BERT). Set by checkpoint imports (ERNIE uses 1e-5). */
  layerNormEps?: number;
}

export type StudentSpec = TextCnnSpec | GruSpec | TransformerSpec;

/** Width of a model's word embeddings (what setEmbeddings expects per row). */
export function embeddingWidth(spec: StudentSpec): number {
  return spec.kind === 'transformer' ? spec.hidden : spec.embeddingDim;
}

/** Token rows as Tokenizer.encodeBatch returns them. */
export interface EncodedRows {
  ids: Int32Array;
  lengths: Int32Array;
  maxLength: number;
}

export interface TrainRows extends EncodedRows {
  /** Hard label per row; -1 = none (then the row needs a soft target). */
  labels?: Int32Array;
  /** [rows, numClasses] teacher LOGITS; a row of NaN = no soft target for that row. */
  softTargets?: Float32Array;
}

export interface EvalRows extends EncodedRows {
  labels: Int32Array;
}

export interface StudentTrainOptions {
  epochs: number;
  batchSize: number;
  learningRate: number;
  optimizer: 'adam' | 'adamw';
  weightDecay: number;
  /** Fraction of all steps spent warming the learning rate up, in [0, 1). */
  warmup: number;
  lrDecay: 'none' | 'linear' | 'cosine';
  /** Global gradient-norm limit; 0 = off. */
  clipNorm: number;
  /** Shards per batch (and inference threads); 0 = every core. Results are deterministic per (seed, threads). */
  threads: number;
  /** Seed of the shuffling and dropout. */
  seed: number;
  /** Distillation temperature (kl only); default 1. */
  temperature?: number;
  /** Weight of the distillation term on rows with both a label and a soft target; default 0.5. */
  alpha?: number;
  distillLoss?: 'kl' | 'mse';
  /** Restore the best epoch (by eval accuracy) at the end; default true. */
  keepBest?: boolean;
}

export interface TrainProgressEvent {
  epoch: number;
  epochs: number;
  step: number;
  totalSteps: number;
  examplesPerSecond: number;
  runningLoss: number;
  learningRate: number;
}

export interface EpochReport {
  epoch: number;
  trainLoss: number;
  examplesPerSecond: number;
  evalAccuracy?: number;
  evalMacroF1?: number;
  evalLoss?: number;
  /** Training plus evaluation time of the epoch. */
  seconds: number;
  learningRate: number;
  gradientNorm: number;
}

export interface TrainReport {
  epochs: EpochReport[];
  /** 1-based; 0 = none (no eval rows, or cancelled before the first evaluation). */
  bestEpoch: number;
  examplesPerSecond: number;
  cancelled: boolean;
  steps: number;
  /** The parameters are those of bestEpoch (keepBest with an eval set). */
  restoredBest: boolean;
}

export interface TrainHooks {
  /** Throttled (about every 100 ms, and at each epoch end); runs on the JS thread. */
  onProgress?(p: TrainProgressEvent): void;
  /** After every epoch (and its evaluation). A hook that throws stops training; train() rejects with its error. */
  onEpoch?(e: EpochReport): void;
  /** Aborting stops training after the current batch; the report then has cancelled = true. */
  signal?: AbortSignal;
}

/** The rows of a trainStream() run, one epoch at a time. */
export interface TrainStreamSource {
  /** Updates the whole run makes: sum over epochs and parts of ceil(part rows / batchSize). The schedule's length. */
  totalSteps: number;
  /** The parts of epoch `epoch` (1-based), in training order; each part needs at least one row. */
  parts(epoch: number): AsyncIterable<TrainRows> | Iterable<TrainRows>;
}

/** native/addon/train_session_wrap.cc (the raw shape; NativeStudent.trainStream is the API). */
interface RawTrainSession {
  trainPart(rows: RawRows, onProgress: ((p: RawTrainProgress) => void) | null): Promise<{ examples: number; steps: number; cancelled: boolean }>;
  endEpoch(): Promise<RawEpochMetrics>;
  finish(): Promise<RawTrainResult>;
  cancel(): void;
}
interface RawTrainSessionClass {
  new (student: RawNativeStudent, options: RawTrainOptions, totalSteps: number, evalRows: RawRows | null): RawTrainSession;
}

export interface PredictOptions {
  /** 0 (default) = every core. */
  threads?: number;
  /** 'fast' (default): precomputed tables; 'reference': the plain loops (slow; for checks). */
  path?: 'fast' | 'reference';
  /** Rows per forward batch (rows are grouped by length); default 256. */
  batchSize?: number;
}

const TRAIN_DEFAULTS = { temperature: 1, alpha: 0.5, distillLoss: 'kl' as const, keepBest: true };

export class NativeStudent {
  readonly spec: StudentSpec;
  readonly kind: StudentKind;
  /** 'int8': an inference-only student of an int8 model folder (NativeStudent.create's option). */
  readonly quantization: 'int8' | undefined;
  private native: RawNativeStudent | undefined;

  /**
   * Creates a student with freshly initialised weights (from spec.seed). quantization 'int8':
   * an inference-only student for an int8 model folder's weights (lib/quantize.ts), which it
   * turns into int8 tables when first used.
   */
  static create(spec: StudentSpec, options: { quantization?: 'int8' } = {}): NativeStudent {
    const quantization = options.quantization;
    if (quantization !== undefined && quantization !== 'int8') throw new TypeError(`Expected 'int8' or undefined for options.quantization but received ${describe(quantization)}`);
    return new NativeStudent(checkStudentSpec(spec), quantization);
  }

  private constructor(spec: StudentSpec, quantization?: 'int8') {
    const addon = loadAddon();
    this.native = new addon.NativeStudent({ ...(spec as unknown as RawStudentSpec), ...(quantization ? { quantization } : {}) });
    this.quantization = quantization;
    this.spec = Object.freeze({ ...spec, ...(spec.kind === 'textcnn' ? { windows: Object.freeze(spec.windows.slice()) } : {}) }) as StudentSpec;
    this.kind = spec.kind;
  }

  /** Number of trainable floats. */
  get parameterCount(): number {
    return this.raw().parameterCount;
  }

  get numClasses(): number {
    return this.spec.numClasses;
  }

  /**
   * Copies pretrained vectors, [vocabSize, embeddingDim] row-major, into the embedding. With
   * `found`, rows whose flag is 0 keep their initial values (words the vectors file lacks).
   */
  setEmbeddings(vectors: Float32Array, found?: Uint8Array): void {
    const rows = this.spec.vocabSize;
    const dim = embeddingWidth(this.spec);
    checkTyped(vectors, Float32Array, 'Float32Array', rows * dim, 'vectors', `vocabSize*embeddingDim (${rows}*${dim})`);
    if (found !== undefined) checkTyped(found, Uint8Array, 'Uint8Array', rows, 'found', `vocabSize (${rows})`);
    this.raw().setEmbeddings(vectors, rows, dim, found ?? null);
  }

  /**
   * Trains in place off the event loop (the core's trainer on its thread pool); resolves with
   * every epoch's metrics. While it runs, the other methods of this student throw.
   */
  async train(train: TrainRows, evalRows: EvalRows | null, options: StudentTrainOptions, hooks: TrainHooks = {}): Promise<TrainReport> {
    const callerStack = new Error().stack ?? '';
    const C = this.spec.numClasses;
    const trainRaw = checkRows(train, 'train', this.spec.vocabSize);
    if (train.labels === undefined && train.softTargets === undefined) {
      throw new TypeError('Expected labels or softTargets (or both) in train rows but received neither');
    }
    const rows = train.lengths.length;
    if (train.labels !== undefined) checkTyped(train.labels, Int32Array, 'Int32Array', rows, 'train.labels', `rows (${rows})`);
    if (train.softTargets !== undefined) {
      checkTyped(train.softTargets, Float32Array, 'Float32Array', rows * C, 'train.softTargets', `rows*numClasses (${rows}*${C})`);
    }
    trainRaw.labels = train.labels ?? null;
    trainRaw.softTargets = train.softTargets ?? null;
    let evalRaw: RawRows | null = null;
    if (evalRows !== null && evalRows !== undefined) {
      evalRaw = checkRows(evalRows, 'evalRows', this.spec.vocabSize);
      const n = evalRows.lengths.length;
      checkTyped(evalRows.labels, Int32Array, 'Int32Array', n, 'evalRows.labels', `rows (${n})`);
      evalRaw.labels = evalRows.labels;
    }
    const raw = checkTrainOptions(options);
    checkObject(hooks as unknown, 'hooks');
    if (hooks.onProgress !== undefined && typeof hooks.onProgress !== 'function') {
      throw new TypeError(`Expected a function for hooks.onProgress but received ${describe(hooks.onProgress)}`);
    }
    if (hooks.onEpoch !== undefined && typeof hooks.onEpoch !== 'function') {
      throw new TypeError(`Expected a function for hooks.onEpoch but received ${describe(hooks.onEpoch)}`);
    }
    const signal: AbortSignal | undefined = hooks.signal;
    if (signal !== undefined && !isAbortSignal(signal)) {
      throw new TypeError(`Expected an AbortSignal for hooks.signal but received ${describe(signal)}`);
    }

    const native = this.raw();
    if (signal?.aborted) {
      // Aborted before it started: nothing to run (cancelling after queueing would race the first batches).
      return { epochs: [], bestEpoch: 0, examplesPerSecond: 0, cancelled: true, steps: 0, restoredBest: false };
    }
    const onProgress = hooks.onProgress ? hooks.onProgress.bind(hooks) : null;
    const onEpoch = hooks.onEpoch ? (e: RawEpochMetrics) => hooks.onEpoch!(epochReport(e)) : null;
    const promise = native.train(trainRaw, evalRaw, raw, onProgress, onEpoch);
    const abort = (): void => native.cancel();
    signal?.addEventListener('abort', abort, { once: true });
    try {
      const result = await promise;
      return {
        epochs: result.epochs.map(epochReport),
        bestEpoch: result.bestEpoch,
        examplesPerSecond: result.examplesPerSecond,
        cancelled: result.cancelled,
        steps: result.steps,
        restoredBest: result.restoredBest,
      };
    } catch (err) {
      throw withCallerStack(err, 'train', callerStack);
    } finally {
      signal?.removeEventListener('abort', abort);
    }
  }

  /**
   * Trains like train(), but with the rows of each epoch arriving in parts from `source`, so
   * only one part is held at a time (a pool far larger than memory, streamed from its file).
   * Each part is shuffled (seeded) and trained in batches; the optimiser state, the
   * learning-rate schedule (over source.totalSteps updates) and the best epoch carry across
   * parts. Deterministic for a given seed, thread count and sequence of parts.
   */
  async trainStream(source: TrainStreamSource, evalRows: EvalRows | null, options: StudentTrainOptions, hooks: TrainHooks = {}): Promise<TrainReport> {
    const callerStack = new Error().stack ?? '';
    checkObject(source as unknown, 'source');
    const totalSteps = checkInteger(source.totalSteps, 'source.totalSteps', 1);
    if (typeof source.parts !== 'function') throw new TypeError(`Expected a function for source.parts but received ${describe(source.parts)}`);
    let evalRaw: RawRows | null = null;
    if (evalRows !== null && evalRows !== undefined) {
      evalRaw = checkRows(evalRows, 'evalRows', this.spec.vocabSize);
      const n = evalRows.lengths.length;
      checkTyped(evalRows.labels, Int32Array, 'Int32Array', n, 'evalRows.labels', `rows (${n})`);
      evalRaw.labels = evalRows.labels;
    }
    const raw = checkTrainOptions(options);
    checkObject(hooks as unknown, 'hooks');
    const signal: AbortSignal | undefined = hooks.signal;
    if (signal !== undefined && !isAbortSignal(signal)) {
      throw new TypeError(`Expected an AbortSignal for hooks.signal but received ${describe(signal)}`);
    }
    if (signal?.aborted) return { epochs: [], bestEpoch: 0, examplesPerSecond: 0, cancelled: true, steps: 0, restoredBest: false };
    const Session = loadAddon().TrainSession as RawTrainSessionClass;
    let session: RawTrainSession;
    try {
      session = new Session(this.raw(), raw, totalSteps, evalRaw);
    } catch (err) {
      throw withCallerStack(err, 'trainStream', callerStack);
    }
    const abort = (): void => session.cancel();
    signal?.addEventListener('abort', abort, { once: true });
    const onProgress = hooks.onProgress ? hooks.onProgress.bind(hooks) : null;
    let cancelled = false;
    let failure: unknown = null;
    try {
      for (let epoch = 1; epoch <= raw.epochs && !cancelled; epoch++) {
        let index = 0;
        for await (const part of source.parts(epoch)) {
          const name = `epoch ${epoch} part ${index++}`;
          const partRaw = this.checkTrainRows(part, name);
          const r = await session.trainPart(partRaw, onProgress);
          if (r.cancelled || signal?.aborted) {
            cancelled = true;
            break;
          }
        }
        // A cancelled, partial epoch is neither evaluated nor reported (as train()).
        if (cancelled) break;
        const metrics = await session.endEpoch();
        hooks.onEpoch?.(epochReport(metrics));
      }
    } catch (err) {
      failure = err;
    } finally {
      signal?.removeEventListener('abort', abort);
    }
    // Always finish: it restores the best epoch and unlocks the student, also after a failure.
    let result: RawTrainResult;
    try {
      result = await session.finish();
    } catch (err) {
      throw withCallerStack(failure ?? err, 'trainStream', callerStack);
    }
    if (failure !== null) throw withCallerStack(failure, 'trainStream', callerStack);
    return {
      epochs: result.epochs.map(epochReport),
      bestEpoch: result.bestEpoch,
      examplesPerSecond: result.examplesPerSecond,
      cancelled: cancelled || result.cancelled,
      steps: result.steps,
      restoredBest: result.restoredBest,
    };
  }

  /** Checks one part of train rows (labels and/or soft targets), as train() checks its rows. */
  private checkTrainRows(train: TrainRows, name: string): RawRows {
    const C = this.spec.numClasses;
    const out = checkRows(train, name, this.spec.vocabSize);
    if (train.labels === undefined && train.softTargets === undefined) {
      throw new TypeError(`Expected labels or softTargets (or both) in ${name} but received neither`);
    }
    const rows = train.lengths.length;
    if (train.labels !== undefined) checkTyped(train.labels, Int32Array, 'Int32Array', rows, `${name}.labels`, `rows (${rows})`);
    if (train.softTargets !== undefined) {
      checkTyped(train.softTargets, Float32Array, 'Float32Array', rows * C, `${name}.softTargets`, `rows*numClasses (${rows}*${C})`);
    }
    out.labels = train.labels ?? null;
    out.softTargets = train.softTargets ?? null;
    return out;
  }

  /** Asks a running train() to stop after its current batch (like aborting its signal). */
  cancel(): void {
    this.native?.cancel();
  }

  /** Logits [rows, numClasses], computed off the event loop. */
  async predictLogits(rows: EncodedRows, options: PredictOptions = {}): Promise<Float32Array> {
    const callerStack = new Error().stack ?? '';
    const r = checkRows(rows, 'rows', this.spec.vocabSize);
    const { threads, path, batchSize } = checkPredictOptions(options);
    try {
      return await this.raw().predictLogitsAsync(r.ids, r.lengths, r.maxLength, path, threads, batchSize);
    } catch (err) {
      throw withCallerStack(err, 'predictLogits', callerStack);
    }
  }

  /** Logits [rows, numClasses], on the calling thread (plus the core's pool). */
  predictLogitsSync(rows: EncodedRows, options: PredictOptions = {}): Float32Array {
    const r = checkRows(rows, 'rows', this.spec.vocabSize);
    const { threads, path, batchSize } = checkPredictOptions(options);
    return this.raw().predictLogits(r.ids, r.lengths, r.maxLength, path, threads, batchSize);
  }

  /** Builds the fast-path tables now; otherwise the first fast prediction does it. */
  prepareInference(): void {
    this.raw().prepareInference();
  }

  /** Writes every parameter to a safetensors file, atomically (temp file + rename). */
  saveWeights(path: string, metadata: Record<string, string> = {}): void {
    // Its float weights are freed once its int8 tables are built: nothing faithful to save.
    if (this.quantization !== undefined) throw new Error(`an ${this.quantization} student cannot save weights; quantize the float32 model folder again (lib/quantize.ts)`);
    checkNonEmptyString(path, 'path');
    checkObject(metadata, 'metadata');
    for (const [key, value] of Object.entries(metadata)) {
      if (typeof value !== 'string') throw new TypeError(`Expected string for metadata.${key} but received ${describe(value)}`);
    }
    this.raw().saveWeights(path, metadata);
  }

  /**
   * Loads every parameter from a safetensors file. All-or-nothing: a missing tensor, a shape
   * mismatch, an unexpected tensor or a damaged file changes nothing and names the file and tensor.
   */
  loadWeights(path: string): void {
    checkNonEmptyString(path, 'path');
    this.raw().loadWeights(path);
  }

  /** Releases this object's hold on the native model; later calls throw "NativeStudent is disposed". */
  dispose(): void {
    if (!this.native) return;
    this.native.dispose();
    this.native = undefined;
  }

  private raw(): RawNativeStudent {
    if (!this.native) throw new Error('NativeStudent is disposed');
    return this.native;
  }
}

/** The raw addon object behind a NativeStudent (for NativeClassifier; not public API). */
export function rawStudent(student: NativeStudent): RawNativeStudent {
  if (!(student instanceof NativeStudent)) throw new TypeError(`Expected a NativeStudent but received ${describe(student)}`);
  const native = (student as unknown as { native: RawNativeStudent | undefined }).native;
  if (!native) throw new Error('NativeStudent is disposed');
  return native;
}

/** Softmax of every row of logits [rows, C] (max subtracted, so large logits do not overflow). */
export function softmaxRows(logits: Float32Array, C: number): Float32Array {
  const out = new Float32Array(logits.length);
  for (let r = 0; r < logits.length; r += C) {
    let max = -Infinity;
    for (let c = 0; c < C; c++) max = Math.max(max, logits[r + c]);
    let sum = 0;
    for (let c = 0; c < C; c++) sum += out[r + c] = Math.exp(logits[r + c] - max);
    for (let c = 0; c < C; c++) out[r + c] /= sum;
  }
  return out;
}

// ---- raw results -> public reports ---------------------------------------------------------

function epochReport(e: RawEpochMetrics): EpochReport {
  const report: EpochReport = {
    epoch: e.epoch,
    trainLoss: e.trainLoss,
    examplesPerSecond: e.examplesPerSecond,
    seconds: e.trainSeconds + e.evalSeconds,
    learningRate: e.learningRate,
    gradientNorm: e.gradientNorm,
  };
  if (e.evaluated) {
    report.evalAccuracy = e.evalAccuracy;
    report.evalMacroF1 = e.evalMacroF1;
    report.evalLoss = e.evalLoss;
  }
  return report;
}

/** Appends the caller's stack to an error from a native worker (whose own stack is empty of context). */
function withCallerStack(err: unknown, method: string, callerStack: string): unknown {
  if (err instanceof Error) {
    err.stack = `${err.stack ?? err.message}\n    --- ${method} called from ---\n${callerStack.split('\n').slice(2).join('\n')}`;
  }
  return err;
}

// ---- argument checks (sharp-style: name the bad value) -----------------------------------

export function describe(value: unknown): string {
  if (typeof value === 'string') return `string ${JSON.stringify(value.length > 40 ? value.slice(0, 40) + '…' : value)}`;
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (Array.isArray(value)) return 'an array';
  if (ArrayBuffer.isView(value)) return value.constructor.name;
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'function') return 'a function';
  return `${typeof value} ${String(value)}`;
}

function checkObject(value: unknown, name: string): asserts value is Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new TypeError(`Expected an object for ${name} but received ${describe(value)}`);
  }
}

function checkNonEmptyString(value: unknown, name: string): asserts value is string {
  if (typeof value !== 'string' || value.length === 0) {
    throw new TypeError(`Expected a non-empty string for ${name} but received ${describe(value)}`);
  }
}

function checkInteger(value: unknown, name: string, min: number, what = min === 1 ? 'positive integer' : `integer >= ${min}`): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    throw new TypeError(`Expected ${what} for ${name} but received ${describe(value)}`);
  }
  return value;
}

function checkNumber(value: unknown, name: string, min: number, max: number, range: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
    throw new TypeError(`Expected number in ${range} for ${name} but received ${describe(value)}`);
  }
  return value;
}

function checkChoice<T extends string>(value: unknown, name: string, choices: readonly T[]): T {
  if (typeof value !== 'string' || !(choices as readonly string[]).includes(value)) {
    throw new TypeError(`Expected one of ${choices.map((c) => `'${c}'`).join(', ')} for ${name} but received ${describe(value)}`);
  }
  return value as T;
}

function checkTyped(
  value: unknown,
  type: abstract new (...args: never[]) => unknown,
  typeName: string,
  length: number,
  name: string,
  lengthName: string,
): void {
  if (!(value instanceof type)) throw new TypeError(`Expected ${typeName} for ${name} but received ${describe(value)}`);
  const actual = (value as ArrayLike<number>).length;
  if (actual !== length) {
    throw new RangeError(`Expected ${typeName} of length ${lengthName} = ${length} for ${name} but received length ${actual}`);
  }
}

/** Validates a spec (from JS or a config file); errors name the bad field and value. */
export function checkStudentSpec(spec: unknown): StudentSpec {
  return checkSpecSizes(checkSpecFields(spec));
}

function checkSpecFields(spec: unknown): StudentSpec {
  checkObject(spec, 'spec');
  const kind = checkChoice(spec.kind, 'spec.kind', ['textcnn', 'gru', 'transformer'] as const);
  const vocabSize = checkInteger(spec.vocabSize, 'spec.vocabSize', 2, 'integer >= 2');
  const numClasses = checkInteger(spec.numClasses, 'spec.numClasses', 2, 'integer >= 2');
  if (kind === 'transformer') return checkTransformerSpec(spec, vocabSize, numClasses);
  const embeddingDim = checkInteger(spec.embeddingDim, 'spec.embeddingDim', 1);
  const dropout = checkNumber(spec.dropout, 'spec.dropout', 0, 0.999999, '[0, 1)');
  const seed = checkInteger(spec.seed, 'spec.seed', 0, 'non-negative integer');
  if (kind === 'textcnn') {
    const windows = spec.windows;
    if (!Array.isArray(windows) || windows.length === 0) {
      throw new TypeError(`Expected a non-empty array of positive integers for spec.windows but received ${describe(windows)}`);
    }
    windows.forEach((w, i) => checkInteger(w, `spec.windows[${i}]`, 1));
    const filters = checkInteger(spec.filters, 'spec.filters', 1);
    return { kind, vocabSize, numClasses, embeddingDim, windows: windows.slice() as number[], filters, dropout, seed };
  }
  const hidden = checkInteger(spec.hidden, 'spec.hidden', 1);
  if (typeof spec.bidirectional !== 'boolean') {
    throw new TypeError(`Expected boolean for spec.bidirectional but received ${describe(spec.bidirectional)}`);
  }
  return { kind, vocabSize, numClasses, embeddingDim, hidden, bidirectional: spec.bidirectional, dropout, seed };
}

/** Every size within SIZE_LIMITS (lib/size-limits.ts explains why), named as spec.<key>. */
function checkSpecSizes(spec: StudentSpec): StudentSpec {
  const sizes = spec as unknown as Record<string, unknown>;
  for (const key of ['vocabSize', 'numClasses', 'embeddingDim', 'filters', 'hidden', 'layers', 'heads', 'intermediate', 'maxPositions', 'typeVocabSize'] as const) {
    if (typeof sizes[key] === 'number') atMost(sizes[key] as number, SIZE_LIMITS[key], `spec.${key}`);
  }
  if (spec.kind === 'textcnn') {
    atMost(spec.windows.length, SIZE_LIMITS.windowCount, 'the length of spec.windows');
    spec.windows.forEach((w, i) => atMost(w, SIZE_LIMITS.windowSize, `spec.windows[${i}]`));
    const repeated = spec.windows.findIndex((w, i) => spec.windows.indexOf(w) !== i);
    if (repeated >= 0) throw new RangeError(`Expected distinct window sizes for spec.windows but received ${spec.windows[repeated]} twice`);
  }
  const parameters = approximateParameters(spec);
  if (parameters > SIZE_LIMITS.parameters) {
    throw new RangeError(`Expected a spec of at most ${SIZE_LIMITS.parameters} weights but this one needs about ${parameters} (vocabSize x embeddingDim and the layer sizes multiply)`);
  }
  return spec;
}

function checkTransformerSpec(spec: Record<string, unknown>, vocabSize: number, numClasses: number): TransformerSpec {
  const hidden = checkInteger(spec.hidden, 'spec.hidden', 1);
  const layers = checkInteger(spec.layers, 'spec.layers', 1);
  const heads = checkInteger(spec.heads, 'spec.heads', 1);
  if (hidden % heads !== 0) {
    throw new RangeError(`Expected spec.hidden to be a multiple of spec.heads (${heads}) but received ${hidden}`);
  }
  const intermediate = checkInteger(spec.intermediate, 'spec.intermediate', 1);
  const maxPositions = checkInteger(spec.maxPositions, 'spec.maxPositions', 1);
  const dropout = checkNumber(spec.dropout, 'spec.dropout', 0, 0.999999, '[0, 1)');
  if (typeof spec.pooler !== 'boolean') throw new TypeError(`Expected boolean for spec.pooler but received ${describe(spec.pooler)}`);
  const seed = checkInteger(spec.seed, 'spec.seed', 0, 'non-negative integer');
  const out: TransformerSpec = { kind: 'transformer', vocabSize, numClasses, hidden, layers, heads, intermediate, maxPositions, dropout, pooler: spec.pooler, seed };
  // Optional fields stay absent when not given, so specs (and fingerprints of them) written before they existed are unchanged.
  if (spec.typeVocabSize !== undefined) out.typeVocabSize = checkInteger(spec.typeVocabSize, 'spec.typeVocabSize', 1);
  if (spec.layerNormEps !== undefined) out.layerNormEps = checkNumber(spec.layerNormEps, 'spec.layerNormEps', Number.MIN_VALUE, 1, '(0, 1]');
  return out;
}

/** Checks the layout of encoded rows; token ids and lengths are range-checked by the addon. */
function checkRows(rows: unknown, name: string, vocabSize: number): RawRows {
  checkObject(rows, name);
  const maxLength = checkInteger(rows.maxLength, `${name}.maxLength`, 1);
  if (!(rows.lengths instanceof Int32Array)) {
    throw new TypeError(`Expected Int32Array for ${name}.lengths but received ${describe(rows.lengths)}`);
  }
  const n = rows.lengths.length;
  checkTyped(rows.ids, Int32Array, 'Int32Array', n * maxLength, `${name}.ids`, `rows*maxLength (${n}*${maxLength})`);
  void vocabSize; // the addon checks every id against the vocabulary and names the row
  return { ids: rows.ids as Int32Array, lengths: rows.lengths, maxLength };
}

function checkTrainOptions(options: unknown): RawTrainOptions {
  checkObject(options, 'options');
  const o: Record<string, unknown> = { ...TRAIN_DEFAULTS, ...stripUndefined(options) };
  return {
    epochs: checkInteger(o.epochs, 'options.epochs', 1),
    batchSize: checkInteger(o.batchSize, 'options.batchSize', 1),
    learningRate: checkNumber(o.learningRate, 'options.learningRate', Number.MIN_VALUE, Infinity, '(0, inf)'),
    optimizer: checkChoice(o.optimizer, 'options.optimizer', ['adam', 'adamw'] as const),
    weightDecay: checkNumber(o.weightDecay, 'options.weightDecay', 0, Infinity, '[0, inf)'),
    warmup: checkNumber(o.warmup, 'options.warmup', 0, 0.999999, '[0, 1)'),
    lrDecay: { none: 'constant', linear: 'linear', cosine: 'cosine' }[checkChoice(o.lrDecay, 'options.lrDecay', ['none', 'linear', 'cosine'] as const)],
    clipNorm: checkNumber(o.clipNorm, 'options.clipNorm', 0, Infinity, '[0, inf)'),
    threads: checkInteger(o.threads, 'options.threads', 0, 'non-negative integer'),
    seed: checkInteger(o.seed, 'options.seed', 0, 'non-negative integer'),
    temperature: checkNumber(o.temperature, 'options.temperature', Number.MIN_VALUE, Infinity, '(0, inf)'),
    alpha: checkNumber(o.alpha, 'options.alpha', 0, 1, '[0, 1]'),
    distillLoss: checkChoice(o.distillLoss, 'options.distillLoss', ['kl', 'mse'] as const),
    keepBest: checkBoolean(o.keepBest, 'options.keepBest'),
  };
}

function checkBoolean(value: unknown, name: string): boolean {
  if (typeof value !== 'boolean') throw new TypeError(`Expected boolean for ${name} but received ${describe(value)}`);
  return value;
}

function checkPredictOptions(options: unknown): { threads: number; path: 'fast' | 'reference'; batchSize: number } {
  checkObject(options, 'options');
  return {
    threads: options.threads === undefined ? 0 : checkInteger(options.threads, 'options.threads', 0, 'non-negative integer'),
    path: options.path === undefined ? 'fast' : checkChoice(options.path, 'options.path', ['fast', 'reference'] as const),
    batchSize: options.batchSize === undefined ? 256 : checkInteger(options.batchSize, 'options.batchSize', 1),
  };
}

function isAbortSignal(value: unknown): boolean {
  const v = value as { aborted?: unknown; addEventListener?: unknown } | null;
  return typeof v === 'object' && v !== null && typeof v.aborted === 'boolean' && typeof v.addEventListener === 'function';
}

function stripUndefined(o: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) out[k] = v;
  return out;
}
