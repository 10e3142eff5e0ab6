/**
 * The model folder: everything needed to serve a trained student (textcnn, gru) or the native
 * transformer teacher, in four files.
 *
 *   config.json          { format: "model-distill", formatVersion: 1, architecture (the student spec),
 *                          maxLength, lowercase, addSpecialTokens, labels, createdAt, packageVersion,
 *                          training (free-form: what the pipeline wants to remember) }
 *   weights.safetensors  every parameter by name (native/core/safetensors.h)
 *   vocab.txt            one token a line, line number = id (the tokenizer's vocabulary)
 *   class_id.txt         "label<TAB>id" a line, id = index in config.json labels
 *
 * Saving is atomic for the folder as a whole, also for readers loading it meanwhile: the files are
 * written into a new generation folder inside it, published with one atomic symlink swap
 * (lib/model-generations.ts explains the layout). A failed or killed save leaves the old model as
 * it was; readers resolve the generation once and read all four files from it.
 *
 * Reading validates before anything is loaded and names the file and the problem.
 */
import * as fs from 'fs';
import * as path from 'path';

import { readClassIds } from './data';
import { checkStudentSpec, describe, NativeStudent, StudentSpec } from './student';
import { readVocabFile } from './vocab';
import { resolveGeneration, writeGeneration } from './model-generations';
import { SIZE_LIMITS } from './size-limits';

export const MODEL_FORMAT = 'model-distill';
export const MODEL_FORMAT_VERSION = 1;
/**
 * Version of int8 model folders (lib/quantize.ts): I8 tensors an older reader cannot load, so
 * it stops at formatVersion with a clear message. bf16 folders stay version 1 (every reader
 * converts BF16).
 */
export const QUANTIZED_FORMAT_VERSION = 2;
const SUPPORTED_FORMAT_VERSIONS: readonly number[] = [1, 2];

/** config.json `quantization` of a folder written by lib/quantize.ts; absent = float32. */
export interface ModelQuantization {
  dtype: 'int8' | 'bf16';
  /** How the weights were rounded (docs/quantization.md). */
  scheme: string;
}

export const CONFIG_FILE = 'config.json';
export const WEIGHTS_FILE = 'weights.safetensors';
export const VOCAB_FILE = 'vocab.txt';
export const CLASS_ID_FILE = 'class_id.txt';
export const FOLDER_FILES = [CONFIG_FILE, WEIGHTS_FILE, VOCAB_FILE, CLASS_ID_FILE];

export interface ModelFolderConfig {
  format: typeof MODEL_FORMAT;
  formatVersion: number;
  architecture: StudentSpec;
  maxLength: number;
  lowercase: boolean;
  /** Rows are [CLS] + pieces + [SEP] (true, as Tokenizer.encodeBatch's default). */
  addSpecialTokens: boolean;
  labels: string[];
  createdAt: string;
  packageVersion: string;
  training?: Record<string, unknown>;
  quantization?: ModelQuantization;
}

export interface SaveModelFolderOptions {
  student: NativeStudent;
  vocabTokens: readonly string[];
  labels: readonly string[];
  maxLength: number;
  lowercase: boolean;
  /** Default true. */
  addSpecialTokens?: boolean;
  training?: Record<string, unknown>;
}

export interface ModelFolder {
  dir: string;
  config: ModelFolderConfig;
  spec: StudentSpec;
  labels: string[];
  configPath: string;
  weightsPath: string;
  vocabPath: string;
  classIdPath: string;
}

/** Writes a model folder atomically (see the file comment). Returns the folder's absolute path. */
export function saveModelFolder(dir: string, options: SaveModelFolderOptions): string {
  if (typeof dir !== 'string' || dir.length === 0) throw new TypeError(`Expected a non-empty string for dir but received ${describe(dir)}`);
  if (options === null || typeof options !== 'object') throw new TypeError(`Expected an object for options but received ${describe(options)}`);
  const { student, vocabTokens, labels, maxLength, lowercase } = options;
  const addSpecialTokens = options.addSpecialTokens ?? true;
  if (!(student instanceof NativeStudent)) throw new TypeError(`Expected a NativeStudent for options.student but received ${describe(student)}`);
  const spec = student.spec;
  checkStringList(vocabTokens, 'options.vocabTokens');
  if (vocabTokens.length !== spec.vocabSize) {
    throw new RangeError(`Expected ${spec.vocabSize} tokens (the student's vocabSize) for options.vocabTokens but received ${vocabTokens.length}`);
  }
  vocabTokens.forEach((t, i) => {
    if (/[\n\r]/.test(t)) throw new RangeError(`vocab token ${i} contains a line break: ${JSON.stringify(t)}`);
  });
  checkStringList(labels, 'options.labels');
  if (labels.length !== spec.numClasses) {
    throw new RangeError(`Expected ${spec.numClasses} labels (the student's numClasses) for options.labels but received ${labels.length}`);
  }
  labels.forEach((l, i) => {
    if (l === '' || /[\t\n\r]/.test(l)) throw new RangeError(`label ${i} must be non-empty without tabs or line breaks, got ${JSON.stringify(l)}`);
    if (labels.indexOf(l) !== i) throw new RangeError(`label ${JSON.stringify(l)} is given twice (ids ${labels.indexOf(l)} and ${i})`);
  });
  if (typeof maxLength !== 'number' || !Number.isSafeInteger(maxLength) || maxLength < (addSpecialTokens ? 3 : 1)) {
    throw new TypeError(`Expected integer >= ${addSpecialTokens ? 3 : 1} for options.maxLength but received ${describe(maxLength)}`);
  }
  if (typeof lowercase !== 'boolean') throw new TypeError(`Expected boolean for options.lowercase but received ${describe(lowercase)}`);
  if (typeof addSpecialTokens !== 'boolean') throw new TypeError(`Expected boolean for options.addSpecialTokens but received ${describe(addSpecialTokens)}`);
  const training = options.training;
  if (training !== undefined && (training === null || typeof training !== 'object' || Array.isArray(training))) {
    throw new TypeError(`Expected an object for options.training but received ${describe(training)}`);
  }

  const config: ModelFolderConfig = {
    format: MODEL_FORMAT,
    formatVersion: MODEL_FORMAT_VERSION,
    architecture: { ...spec, ...(spec.kind === 'textcnn' ? { windows: spec.windows.slice() } : {}) } as StudentSpec,
    maxLength,
    lowercase,
    addSpecialTokens,
    labels: labels.slice(),
    createdAt: new Date().toISOString(),
    packageVersion: packageVersion(),
    ...(training !== undefined ? { training } : {}),
  };

  // A new generation folder inside the model folder, published with one atomic symlink swap
  // (lib/model-generations.ts): readers see the old model or the new one, never a mix or nothing.
  return writeGeneration(dir, FOLDER_FILES, (generation) => {
    writeNamed(path.join(generation, CONFIG_FILE), JSON.stringify(config, null, 2) + '\n');
    writeNamed(path.join(generation, VOCAB_FILE), vocabTokens.join('\n') + '\n');
    writeNamed(path.join(generation, CLASS_ID_FILE), labels.map((l, i) => `${l}\t${i}\n`).join(''));
    student.saveWeights(path.join(generation, WEIGHTS_FILE), {
      format: MODEL_FORMAT,
      formatVersion: String(MODEL_FORMAT_VERSION),
      kind: spec.kind,
    });
  });
}

/** Validates a model folder without loading the weights; errors name the file and the problem. */
export function readModelFolder(dir: string): ModelFolder {
  if (typeof dir !== 'string' || dir.length === 0) throw new TypeError(`Expected a non-empty string for dir but received ${describe(dir)}`);
  const root = path.resolve(dir);
  let stat: fs.Stats;
  try {
    stat = fs.statSync(root);
  } catch {
    throw new Error(`model folder not found: ${root}`);
  }
  if (!stat.isDirectory()) throw new Error(`model folder ${root} is not a folder`);
  const missing = FOLDER_FILES.filter((f) => !fs.existsSync(path.join(root, f)));
  if (missing.length > 0) {
    throw new Error(`model folder ${root} is missing ${missing.join(', ')} (a model folder holds ${FOLDER_FILES.join(', ')})`);
  }
  const notFile = FOLDER_FILES.find((f) => !fs.statSync(path.join(root, f)).isFile());
  if (notFile !== undefined) throw new Error(`${path.join(root, notFile)}: is not a regular file (a folder?); a model folder holds the files ${FOLDER_FILES.join(', ')}`);
  // Every file from ONE generation, resolved once, even while a retrain publishes another.
  const files = resolveGeneration(root, CONFIG_FILE);
  const configPath = path.join(files, CONFIG_FILE);
  const weightsPath = path.join(files, WEIGHTS_FILE);
  const vocabPath = path.join(files, VOCAB_FILE);
  const classIdPath = path.join(files, CLASS_ID_FILE);

  const config = parseConfig(configPath);
  const spec = config.architecture;
  if (spec.kind === 'transformer') {
    // The transformer classifies from position 0 ([CLS]) and has maxPositions position embeddings.
    if (!config.addSpecialTokens) throw new Error(`${configPath}: a transformer needs addSpecialTokens true (its rows start with [CLS])`);
    if (config.maxLength > spec.maxPositions) {
      throw new Error(`${configPath}: maxLength ${config.maxLength} exceeds the transformer's architecture.maxPositions ${spec.maxPositions}`);
    }
  }
  if (config.labels.length !== spec.numClasses) {
    throw new Error(`${configPath}: labels has ${config.labels.length} entries but architecture.numClasses is ${spec.numClasses}`);
  }
  const classIds = readClassIds(classIdPath);
  if (classIds.labels.length !== config.labels.length || classIds.labels.some((l, i) => l !== config.labels[i])) {
    const first = config.labels.findIndex((l, i) => classIds.labels[i] !== l);
    const detail =
      classIds.labels.length !== config.labels.length
        ? `it has ${classIds.labels.length} classes, config.json labels has ${config.labels.length}`
        : `id ${first} is ${JSON.stringify(classIds.labels[first])} there but ${JSON.stringify(config.labels[first])} in config.json labels`;
    throw new Error(`${classIdPath} disagrees with ${configPath}: ${detail}`);
  }
  const vocab = readVocabFile(vocabPath);
  if (vocab.length !== spec.vocabSize) {
    throw new Error(`${vocabPath} has ${vocab.length} tokens but ${configPath} architecture.vocabSize is ${spec.vocabSize}`);
  }
  const weightsSize = fs.statSync(weightsPath).size;
  if (weightsSize < 8) throw new Error(`${weightsPath}: truncated (${weightsSize} bytes; a safetensors file starts with an 8-byte header length)`);
  return { dir: root, config, spec, labels: config.labels.slice(), configPath, weightsPath, vocabPath, classIdPath };
}

/** readModelFolder + a NativeStudent with the folder's weights (errors from the weights name file and tensor). */
export function loadStudentFromFolder(dir: string): { folder: ModelFolder; student: NativeStudent; vocabTokens: string[] } {
  const folder = readModelFolder(dir);
  const vocabTokens = readVocabFile(folder.vocabPath);
  const student = NativeStudent.create(folder.spec, { quantization: nativeQuantization(folder.config) });
  try {
    student.loadWeights(folder.weightsPath);
  } catch (err) {
    student.dispose();
    throw err;
  }
  return { folder, student, vocabTokens };
}

// ---- helpers ---------------------------------------------------------------------------------

function parseConfig(configPath: string): ModelFolderConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(configPath, 'utf8'));
  } catch (err) {
    throw new Error(`${configPath}: not valid JSON (${(err as Error).message})`);
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new Error(`${configPath}: expected a JSON object`);
  const c = raw as Record<string, unknown>;
  if (c.format !== MODEL_FORMAT) {
    throw new Error(`${configPath}: format is ${JSON.stringify(c.format)}, expected ${JSON.stringify(MODEL_FORMAT)} (not a model-distill model folder)`);
  }
  if (typeof c.formatVersion !== 'number' || !SUPPORTED_FORMAT_VERSIONS.includes(c.formatVersion)) {
    throw new Error(
      `${configPath}: formatVersion ${JSON.stringify(c.formatVersion)} is not supported (supported: ${SUPPORTED_FORMAT_VERSIONS.join(', ')}); ` +
        'a newer model-distill may have written it',
    );
  }
  if (c.architecture === undefined) throw new Error(`${configPath}: missing architecture`);
  let architecture: StudentSpec;
  try {
    architecture = checkStudentSpec(c.architecture);
  } catch (err) {
    throw new Error(`${configPath}: bad architecture: ${(err as Error).message.replace(/\bspec\./g, 'architecture.')}`);
  }
  const field = (key: string, ok: (v: unknown) => boolean, what: string): unknown => {
    if (!ok(c[key])) throw new Error(`${configPath}: expected ${what} for ${key} but found ${describe(c[key])}`);
    return c[key];
  };
  const addSpecialTokens = c.addSpecialTokens === undefined ? true : (field('addSpecialTokens', (v) => typeof v === 'boolean', 'boolean') as boolean);
  const maxLength = field(
    'maxLength',
    (v) => typeof v === 'number' && Number.isSafeInteger(v) && v >= (addSpecialTokens ? 3 : 1) && v <= SIZE_LIMITS.maxLength,
    `an integer from ${addSpecialTokens ? 3 : 1} to ${SIZE_LIMITS.maxLength}`,
  ) as number;
  const lowercase = field('lowercase', (v) => typeof v === 'boolean', 'boolean') as boolean;
  const labels = field('labels', (v) => Array.isArray(v) && v.length >= 2 && v.every((l) => typeof l === 'string' && l !== ''), 'an array of at least 2 non-empty strings') as string[];
  const training = c.training;
  if (training !== undefined && (training === null || typeof training !== 'object' || Array.isArray(training))) {
    throw new Error(`${configPath}: expected an object for training but found ${describe(training)}`);
  }
  const quantization = parseQuantization(configPath, c, architecture.kind);
  return {
    format: MODEL_FORMAT,
    formatVersion: c.formatVersion,
    ...(quantization !== undefined ? { quantization } : {}),
    architecture,
    maxLength,
    lowercase,
    addSpecialTokens,
    labels,
    createdAt: typeof c.createdAt === 'string' ? c.createdAt : '',
    packageVersion: typeof c.packageVersion === 'string' ? c.packageVersion : '',
    ...(training !== undefined ? { training: training as Record<string, unknown> } : {}),
  };
}

/** The NativeStudent.create quantization of a folder: 'int8' for int8 weights, else none. */
export function nativeQuantization(config: ModelFolderConfig): 'int8' | undefined {
  return config.quantization?.dtype === 'int8' ? 'int8' : undefined;
}

function parseQuantization(configPath: string, c: Record<string, unknown>, kind: string): ModelQuantization | undefined {
  const q = c.quantization;
  if (q === undefined) {
    if (c.formatVersion === QUANTIZED_FORMAT_VERSION) throw new Error(`${configPath}: formatVersion ${QUANTIZED_FORMAT_VERSION} needs a quantization entry`);
    return undefined;
  }
  if (q === null || typeof q !== 'object' || Array.isArray(q)) throw new Error(`${configPath}: expected an object for quantization but found ${describe(q)}`);
  const { dtype, scheme } = q as Record<string, unknown>;
  if (dtype !== 'int8' && dtype !== 'bf16') throw new Error(`${configPath}: quantization.dtype must be "int8" or "bf16", found ${describe(dtype)}`);
  if (dtype === 'int8' && c.formatVersion !== QUANTIZED_FORMAT_VERSION) {
    throw new Error(`${configPath}: an int8 folder must have formatVersion ${QUANTIZED_FORMAT_VERSION}, found ${describe(c.formatVersion)}`);
  }
  if (dtype === 'int8' && kind !== 'textcnn' && kind !== 'gru') throw new Error(`${configPath}: int8 quantization supports textcnn and gru, not ${kind}`);
  return { dtype, scheme: typeof scheme === 'string' ? scheme : '' };
}

function checkStringList(value: unknown, name: string): asserts value is string[] {
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) {
    throw new TypeError(`Expected an array of strings for ${name} but received ${describe(value)}`);
  }
}

let cachedVersion: string | undefined;
/** This package's version, from the package.json above this file (lib/ or dist/lib/). */
function packageVersion(): string {
  if (cachedVersion !== undefined) return cachedVersion;
  let dir = __dirname;
  for (let i = 0; i < 4; i++) {
    const candidate = path.join(dir, 'package.json');
    if (fs.existsSync(candidate)) {
      try {
        const pkg = JSON.parse(fs.readFileSync(candidate, 'utf8')) as { name?: string; version?: string };
        if (pkg.name === 'model-distill' && typeof pkg.version === 'string') return (cachedVersion = pkg.version);
      } catch {
        // keep looking
      }
    }
    dir = path.dirname(dir);
  }
  return (cachedVersion = 'unknown');
}

/** writeFileSync whose error names the file: Node's own says only "ENOSPC: no space left on device, write". */
function writeNamed(file: string, text: string): void {
  try {
    fs.writeFileSync(file, text);
  } catch (err) {
    throw new Error(`cannot write ${file}: ${(err as Error).message}`, { cause: err });
  }
}

