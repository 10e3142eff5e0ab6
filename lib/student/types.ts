/**
 * The student's public types: the model kinds, the specs of each architecture, the encoded rows,
 * the training and prediction options, and the reports and hooks of a training run.
 * lib/student/native-student.ts is the class that uses them.
 */

/** Every architecture the native core trains: the two students and the transformer teacher. */
export type ModelKind = 'textcnn' | 'gru' | 'transformer';
/** The students a config trains ([model] students); the transformer is only a teacher. */
export type StudentKind = Exclude<ModelKind, 'transformer'>;
export const STUDENT_KINDS: readonly StudentKind[] = ['textcnn', 'gru'];

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


export interface PredictOptions {
  /** 0 (default) = every core. */
  threads?: number;
  /** 'fast' (default): precomputed tables; 'reference': the plain loops (slow; for checks). */
  path?: 'fast' | 'reference';
  /** Rows per forward batch (rows are grouped by length); default 256. */
  batchSize?: number;
}

