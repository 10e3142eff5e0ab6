/**
 * NativeStudent: a TextCNN or GRU student that trains and predicts in the C++ core
 * (native/addon/student_wrap.cc over native/core). It passes every argument through
 * ./checks.ts (which names the bad value, sharp-style, and fills defaults) and turns the
 * addon's raw results into the public report types (./types.ts); the C++ side assumes valid input.
 *
 * Rows come in the layout Tokenizer.encodeBatch returns: `ids` [rows, maxLength] row-major,
 * `lengths` the real length of each row (>= 1). Token id 0 must be [PAD] (the models' padding row).
 */
import { loadAddon, RawEpochReport, RawNativeStudent, RawRows, RawStudentSpec, RawStudentTrainOptions, RawTrainProgressEvent, RawTrainReport } from '../binding';
import { checkNonEmptyString, describe } from '../util/check-args';
import { checkEvalRows, checkInteger, checkObject, checkPredictOptions, checkRows, checkStudentSpec, checkTrainOptions, checkTyped, isAbortSignal } from './checks';
import { embeddingWidth } from './types';
import type { EncodedRows, EpochReport, EvalRows, ModelKind, PredictOptions, StudentSpec, StudentTrainOptions, TrainHooks, TrainReport, TrainRows, TrainStreamSource } from './types';

/** native/addon/train_session_wrap.cc (the raw shape; NativeStudent.trainStream is the API). */
interface RawTrainSession {
  trainPart(rows: RawRows, onProgress: ((p: RawTrainProgressEvent) => void) | null): Promise<{ examples: number; steps: number; cancelled: boolean }>;
  endEpoch(): Promise<RawEpochReport>;
  finish(): Promise<RawTrainReport>;
  cancel(): void;
}
interface RawTrainSessionClass {
  new (student: RawNativeStudent, options: RawStudentTrainOptions, totalSteps: number, evalRows: RawRows | null): RawTrainSession;
}

export class NativeStudent {
  readonly spec: StudentSpec;
  readonly kind: ModelKind;
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
    const evalRaw = checkEvalRows(evalRows, this.spec.vocabSize);
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
    const onEpoch = hooks.onEpoch ? (e: RawEpochReport) => hooks.onEpoch!(epochReport(e)) : null;
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
    const evalRaw = checkEvalRows(evalRows, this.spec.vocabSize);
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
    let result: RawTrainReport;
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

function epochReport(e: RawEpochReport): EpochReport {
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

