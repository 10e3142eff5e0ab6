/**
 * The argument checks of NativeStudent (sharp-style: each names the bad field and value): the
 * model spec, encoded rows, training and prediction options. The C++ side assumes valid input,
 * so everything it is given passes through here first.
 */
import type { RawRows, RawStudentTrainOptions } from '../binding';
import { approximateParameters, atMost, SIZE_LIMITS } from '../size-limits';
import { describe } from '../util/check-args';
import type { EvalRows, StudentSpec, TransformerSpec } from './types';

/** Training options the caller may leave out (the rest are required). */
const TRAIN_DEFAULTS = { temperature: 1, alpha: 0.5, distillLoss: 'kl' as const, keepBest: true };

/** util/check-args checkObject, narrowed to a record so the checks can read its fields. */
export function checkObject(value: unknown, name: string): asserts value is Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new TypeError(`Expected an object for ${name} but received ${describe(value)}`);
  }
}

export function checkInteger(value: unknown, name: string, min: number, what = min === 1 ? 'positive integer' : `integer >= ${min}`): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    throw new TypeError(`Expected ${what} for ${name} but received ${describe(value)}`);
  }
  return value;
}

export function checkNumber(value: unknown, name: string, min: number, max: number, range: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
    throw new TypeError(`Expected number in ${range} for ${name} but received ${describe(value)}`);
  }
  return value;
}

export function checkChoice<T extends string>(value: unknown, name: string, choices: readonly T[]): T {
  if (typeof value !== 'string' || !(choices as readonly string[]).includes(value)) {
    throw new TypeError(`Expected one of ${choices.map((c) => `'${c}'`).join(', ')} for ${name} but received ${describe(value)}`);
  }
  return value as T;
}

export function checkTyped(
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

export function checkTransformerSpec(spec: Record<string, unknown>, vocabSize: number, numClasses: number): TransformerSpec {
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
export function checkRows(rows: unknown, name: string, vocabSize: number): RawRows {
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

/** The eval rows of train() and trainStream(): rows plus one Int32Array label each, or null. */
export function checkEvalRows(evalRows: EvalRows | null | undefined, vocabSize: number): RawRows | null {
  if (evalRows === null || evalRows === undefined) return null;
  const evalRaw = checkRows(evalRows, 'evalRows', vocabSize);
  const n = evalRows.lengths.length;
  checkTyped(evalRows.labels, Int32Array, 'Int32Array', n, 'evalRows.labels', `rows (${n})`);
  evalRaw.labels = evalRows.labels;
  return evalRaw;
}

export function checkTrainOptions(options: unknown): RawStudentTrainOptions {
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

export function checkBoolean(value: unknown, name: string): boolean {
  if (typeof value !== 'boolean') throw new TypeError(`Expected boolean for ${name} but received ${describe(value)}`);
  return value;
}

export function checkPredictOptions(options: unknown): { threads: number; path: 'fast' | 'reference'; batchSize: number } {
  checkObject(options, 'options');
  return {
    threads: options.threads === undefined ? 0 : checkInteger(options.threads, 'options.threads', 0, 'non-negative integer'),
    path: options.path === undefined ? 'fast' : checkChoice(options.path, 'options.path', ['fast', 'reference'] as const),
    batchSize: options.batchSize === undefined ? 256 : checkInteger(options.batchSize, 'options.batchSize', 1),
  };
}

export function isAbortSignal(value: unknown): boolean {
  const v = value as { aborted?: unknown; addEventListener?: unknown } | null;
  return typeof v === 'object' && v !== null && typeof v.aborted === 'boolean' && typeof v.addEventListener === 'function';
}

function stripUndefined(o: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) out[k] = v;
  return out;
}
