/**
 * The only file that touches the raw native addon. It finds the binary, loads
 * it, and describes its shape with types; everything else imports from here.
 *
 * Search order: $MODEL_DISTILL_ADDON (an explicit path), the source build
 * (build/Release), then the prebuilt binary shipped in the package
 * (prebuilds/<platform>-<arch>). When none loads, one error lists every path
 * tried with its failure and says how to fix it.
 */
import * as fs from 'fs';
import * as path from 'path';

/** Raw addon surface. Wrapped classes are declared in the files that wrap them. */
export interface RawAddon {
  coreVersion: string;
  simdLevel(): string;
  /** GFLOP/s of the core's sgemm at one shape, one thread, best of ~`seconds` (native/core/gemm_probe.h; for benchmarks). */
  benchGemm(transA: boolean, transB: boolean, M: number, N: number, K: number, seconds: number): number;
  /** GFLOP/s of a register-only FMA loop at sgemm's SIMD level: the measured single-core peak. */
  fmaPeakGflops(seconds: number): number;
  WordPieceTokenizer: RawWordPieceTokenizerClass;
  countInvalidUtf8(bytes: Uint8Array): number;
  NativeStudent: RawNativeStudentClass;
  NativeClassifier: RawNativeClassifierClass;
  MlmPretrainer: RawMlmPretrainerClass;
  [name: string]: unknown;
}

/**
 * native/addon/student_wrap.cc. lib/student/checks.ts checks and defaults every argument first; typed
 * arrays are copied before any work leaves the JS thread.
 */
export interface RawStudentSpec {
  kind: string;
  vocabSize: number;
  numClasses: number;
  embeddingDim?: number;
  windows?: number[];
  filters?: number;
  hidden?: number;
  bidirectional?: boolean;
  /** transformer only (hidden above is its hidden size) */
  layers?: number;
  heads?: number;
  intermediate?: number;
  maxPositions?: number;
  pooler?: boolean;
  dropout: number;
  seed: number;
  /** 'int8': an inference-only student for an int8 model folder (native/core/quantized_student.h). */
  quantization?: string;
}
export interface RawRows {
  ids: Int32Array;
  lengths: Int32Array;
  maxLength: number;
  labels?: Int32Array | null;
  softTargets?: Float32Array | null;
}
export interface RawStudentTrainOptions {
  epochs: number;
  batchSize: number;
  learningRate: number;
  optimizer: string;
  weightDecay: number;
  warmup: number;
  lrDecay: string; // 'constant' | 'linear' | 'cosine'
  clipNorm: number;
  threads: number;
  seed: number;
  temperature: number;
  alpha: number;
  distillLoss: string;
  keepBest: boolean;
}
export interface RawTrainProgressEvent {
  epoch: number;
  epochs: number;
  step: number;
  totalSteps: number;
  examplesPerSecond: number;
  runningLoss: number;
  learningRate: number;
}
export interface RawEpochReport {
  epoch: number;
  trainLoss: number;
  examples: number;
  trainSeconds: number;
  examplesPerSecond: number;
  learningRate: number;
  gradientNorm: number;
  evaluated: boolean;
  evalLoss: number;
  evalAccuracy: number;
  evalMacroF1: number;
  evalSeconds: number;
}
export interface RawTrainReport {
  epochs: RawEpochReport[];
  bestEpoch: number;
  restoredBest: boolean;
  cancelled: boolean;
  steps: number;
  trainSeconds: number;
  examplesPerSecond: number;
}
export interface RawNativeStudent {
  readonly parameterCount: number;
  readonly kind: string;
  readonly training: boolean;
  setEmbeddings(vectors: Float32Array, rows: number, dim: number, found: Uint8Array | null): void;
  train(
    train: RawRows,
    evalRows: RawRows | null,
    options: RawStudentTrainOptions,
    onProgress: ((p: RawTrainProgressEvent) => void) | null,
    onEpoch: ((e: RawEpochReport) => void) | null,
  ): Promise<RawTrainReport>;
  cancel(): void;
  predictLogits(ids: Int32Array, lengths: Int32Array, maxLength: number, path: string, threads: number, batchSize: number): Float32Array;
  predictLogitsAsync(ids: Int32Array, lengths: Int32Array, maxLength: number, path: string, threads: number, batchSize: number): Promise<Float32Array>;
  prepareInference(): void;
  saveWeights(path: string, metadata: Record<string, string>): void;
  loadWeights(path: string): void;
  dispose(): void;
}
export interface RawNativeStudentClass {
  new (spec: RawStudentSpec): RawNativeStudent;
}

/** native/addon/mlm_pretrainer_wrap.cc; lib/pipeline/pretrain.ts checks every argument first. */
export interface RawMlmPretrainOptions {
  batchSize: number;
  maskProb: number;
  epochs: number;
  /** > 0: exactly this many updates; 0: epochs decide */
  maxSteps: number;
  seed: number;
  threads: number;
  learningRate: number;
  weightDecay: number;
  warmup: number;
  clipNorm: number;
}
export interface RawPretrainEvent {
  kind: 'progress' | 'checkpoint';
  step: number;
  totalSteps: number;
  /** progress only: mean loss over the masked positions since the last event */
  loss?: number;
  tokens?: number;
  seconds?: number;
  tokensPerSecond?: number;
  learningRate?: number;
}
export interface RawPretrainResult {
  step: number;
  totalSteps: number;
  finished: boolean;
  cancelled: boolean;
  /** steps, tokens, seconds, tokensPerSecond, meanLoss: of this run() call only */
  steps: number;
  tokens: number;
  seconds: number;
  tokensPerSecond: number;
  meanLoss: number;
}
export interface RawMlmPretrainer {
  readonly step: number;
  readonly totalSteps: number;
  readonly stepsPerEpoch: number;
  readonly finished: boolean;
  readonly running: boolean;
  loadCheckpoint(path: string): Record<string, string>;
  run(
    options: { checkpointPath?: string; checkpointSeconds?: number; encoderPath?: string; metadata?: Record<string, string>; stopAfterSteps?: number },
    onProgress: ((e: RawPretrainEvent) => void) | null,
  ): Promise<RawPretrainResult>;
  cancel(): void;
  saveCheckpoint(path: string, metadata: Record<string, string>): void;
  saveEncoder(path: string, metadata: Record<string, string>): void;
}
export interface RawMlmPretrainerClass {
  new (
    spec: RawStudentSpec,
    rows: { ids: Int32Array; lengths: Int32Array; maxLength: number },
    vocab: { maskId: number; specialIds: Int32Array },
    options: RawMlmPretrainOptions,
  ): RawMlmPretrainer;
}

/** native/addon/classifier_wrap.cc: texts as one joined string + UTF-16 offsets, out [n, C] probabilities. */
export interface RawNativeClassifier {
  readonly numClasses: number;
  predict(joined: string, offsets: Uint32Array, threads: number): Float32Array;
  predictAsync(joined: string, offsets: Uint32Array, threads: number): Promise<Float32Array>;
  close(): void;
}
export interface RawNativeClassifierClass {
  new (tokens: string[], lowercase: boolean, student: RawNativeStudent, maxLength: number, addSpecialTokens: boolean): RawNativeClassifier;
}

/**
 * native/addon/tokenizer_wrap.cc. A batch arrives as the array of texts, the index of its first
 * text, and the UTF-16 offset of each text in one buffer (n + 1 entries, offsets[0] = 0), which
 * the addon copies the strings into; lib/tokenizer.ts checks every argument first.
 */
export interface RawWordPieceTokenizer {
  readonly vocabSize: number;
  readonly lowercase: boolean;
  readonly unkId: number;
  readonly padId: number; // -1 when the vocab lacks the token
  readonly clsId: number;
  readonly sepId: number;
  readonly maskId: number;
  encode(text: string, addSpecialTokens: boolean): Int32Array;
  tokenize(text: string): string[];
  /**
   * Writes into outIds / outLengths when given (exactly n x maxLength and n entries, not
   * overlapping), else into new arrays; returns the arrays written.
   */
  encodeBatch(
    texts: string[],
    from: number,
    offsets: Uint32Array,
    maxLength: number,
    addSpecialTokens: boolean,
    outIds?: Int32Array,
    outLengths?: Int32Array,
  ): { ids: Int32Array; lengths: Int32Array };
  encodeBatchAsync(texts: string[], from: number, offsets: Uint32Array, maxLength: number, addSpecialTokens: boolean): Promise<{ ids: Int32Array; lengths: Int32Array }>;
  /** Benchmark only: the former input path (the texts joined into one JS string), for the "before" row. */
  encodeBatchJoined(joined: string, offsets: Uint32Array, maxLength: number, addSpecialTokens: boolean): { ids: Int32Array; lengths: Int32Array };
  /**
   * Benchmark only: one stage of encodeBatch alone (bench/tokenizer.ts's profile), on encodeBatch's
   * input or on the former joined one; returns a checksum.
   */
  profileStage(
    texts: string[],
    from: number,
    offsets: Uint32Array,
    maxLength: number,
    addSpecialTokens: boolean,
    stage: TokenizerProfileStage,
  ): number;
  profileStage(joined: string, offsets: Uint32Array, maxLength: number, addSpecialTokens: boolean, stage: TokenizerProfileStage): number;
  /** Frees the native tables now; later calls throw "Tokenizer is disposed". */
  dispose(): void;
}
export type TokenizerProfileStage = 'copy' | 'copy_then_encode' | 'to_utf8' | 'decode' | 'normalize' | 'via_utf8';
export interface RawWordPieceTokenizerClass {
  new (tokens: string[], lowercase: boolean): RawWordPieceTokenizer;
}

const ADDON_FILE = 'model_distill.node';

/** The package root: lib/binding.ts sits one level below it, dist/lib/binding.js two. */
function packageRoot(): string {
  let dir = __dirname;
  for (let i = 0; i < 4; i++) {
    if (fs.existsSync(path.join(dir, 'package.json')) && fs.existsSync(path.join(dir, 'CMakeLists.txt'))) return dir;
    dir = path.dirname(dir);
  }
  return path.resolve(__dirname, '..');
}

/** Candidate binaries, most specific first. */
export function addonCandidates(): string[] {
  const root = packageRoot();
  const candidates: string[] = [];
  if (process.env.MODEL_DISTILL_ADDON) candidates.push(path.resolve(process.env.MODEL_DISTILL_ADDON));
  candidates.push(path.join(root, 'build', 'Release', ADDON_FILE));
  candidates.push(path.join(root, 'prebuilds', `${process.platform}-${process.arch}`, ADDON_FILE));
  return candidates;
}

/** Thrown when no candidate binary loads; `attempts` holds each path and why it failed. */
export class AddonLoadError extends Error {
  readonly attempts: { path: string; error: string }[];
  constructor(attempts: { path: string; error: string }[]) {
    const lines = attempts.map((a) => `  - ${a.path}: ${a.error}`).join('\n');
    super(
      `model-distill: the native addon could not be loaded. Tried:\n${lines}\n` +
        'To fix: run `npm rebuild model-distill` (needs a C++17 compiler and CMake), ' +
        'or approve its install script (`npm install-scripts approve model-distill`), ' +
        'or use the WebAssembly backend with MODEL_DISTILL_BACKEND=wasm.'
    );
    this.name = 'AddonLoadError';
    this.attempts = attempts;
  }
}

let cached: RawAddon | undefined;
let cachedError: AddonLoadError | undefined;

/** Loads the first candidate that loads; throws one AddonLoadError listing every failure. */
export function loadAddonFrom(candidates: string[]): RawAddon {
  const attempts: { path: string; error: string }[] = [];
  for (const candidate of candidates) {
    if (!fs.existsSync(candidate)) {
      attempts.push({ path: candidate, error: 'file not found' });
      continue;
    }
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports -- a .node binary found at run time
      return require(candidate) as RawAddon;
    } catch (err) {
      attempts.push({ path: candidate, error: (err as Error).message.split('\n')[0] });
    }
  }
  throw new AddonLoadError(attempts);
}

/** Loads the addon once; throws AddonLoadError (the same one on every call) when it cannot. */
export function loadAddon(): RawAddon {
  if (cached) return cached;
  if (cachedError) throw cachedError;
  try {
    cached = loadAddonFrom(addonCandidates());
    return cached;
  } catch (err) {
    cachedError = err as AddonLoadError;
    throw err;
  }
}

/** True when the addon loads; never throws. */
export function addonAvailable(): boolean {
  try {
    loadAddon();
    return true;
  } catch {
    return false;
  }
}
