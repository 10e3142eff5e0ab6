/**
 * Import of a pretrained BERT/ERNIE checkpoint as the starting point of the native teacher
 * (`[teacher] init_checkpoint = folder`).
 *
 * The folder holds what a Hugging Face `save_pretrained` writes:
 *   model.safetensors (or weights.safetensors)   the tensors
 *   config.json                                   BertConfig / ErnieConfig keys
 *   vocab.txt                                     the WordPiece vocabulary the model was trained with
 *   tokenizer_config.json (optional)              do_lower_case
 *
 * Tensor names accepted (N = 0 .. num_hidden_layers-1), with one prefix for the whole file:
 *   bert.…    BertForSequenceClassification, BertForMaskedLM, BertForPreTraining
 *   ernie.…   ErnieFor… (Hugging Face ports of ERNIE 1.0 / 2.0 / 3.0)
 *   (none)    BertModel / ErnieModel saved on their own
 * and after it: embeddings.{word,position,token_type}_embeddings.weight, embeddings.LayerNorm.*,
 * encoder.layer.N.attention.self.{query,key,value}.*, encoder.layer.N.attention.output.dense.*,
 * encoder.layer.N.attention.output.LayerNorm.*, encoder.layer.N.intermediate.dense.*,
 * encoder.layer.N.output.dense.*, encoder.layer.N.output.LayerNorm.*, and optionally
 * pooler.dense.* (used when present; without it the classifier reads the raw [CLS] state).
 * These map 1:1 onto the native transformer's names (native/core/transformer.h), which are
 * BertForSequenceClassification's. LayerNorm.gamma / LayerNorm.beta (checkpoints converted from
 * the original TensorFlow BERT) are read as LayerNorm.weight / LayerNorm.bias, as transformers does.
 *
 * Tensors read but not used, listed in the import report: cls.* (the masked-LM and
 * next-sentence heads of pre-training checkpoints), classifier.* (a head for someone else's
 * classes: ours is fresh, initialised from [train] seed) and the embeddings.position_ids buffer
 * older checkpoints carry. Any other tensor, and any missing one, is an error that lists them all
 * by name. Every shape is checked against config.json, naming the tensor.
 *
 * ERNIE with use_task_id: its embeddings add task_type_embeddings[task_type_id] to every token,
 * and task_type_ids default to 0 (Hugging Face's ErnieModel; nothing here sets them). That is a
 * constant vector added before the embedding LayerNorm, so it is folded into every row of the
 * position embeddings (exact: every token has exactly one position). Fine-tuning then updates
 * the sum rather than the two tables separately.
 *
 * Vocabulary: when vocab.txt has fewer lines than config.json vocab_size (some checkpoints pad
 * the embedding table), only its first rows are kept: the tokenizer can produce no other id.
 *
 * dtypes: F32 as is; F16, BF16 and F64 are converted to float32 (the core computes in float32).
 */
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import { NativeStudent, type TransformerSpec } from '../student';
import { readSafetensors, readSafetensorsIndex, type SafeTensorEntry } from '../safetensors/reader';
import { writeSafetensors, type TensorToWrite } from '../safetensors/writer';
import { readVocabFile } from '../vocab';

/** Weight files looked for, in this order. */
export const CHECKPOINT_WEIGHT_FILES = ['model.safetensors', 'weights.safetensors'] as const;
const REQUIRED_SPECIALS = ['[PAD]', '[UNK]', '[CLS]', '[SEP]'];
const CONVERTIBLE_DTYPES = new Set(['F32', 'F16', 'BF16', 'F64']);
/** The prefix the native transformer's names carry. */
const NATIVE_PREFIX = 'bert.';

export interface CheckpointImportOptions {
  /** Classes of the teacher's fresh classifier head. */
  numClasses: number;
  /** Seed of the fresh classifier head. */
  seed: number;
  /** Hidden and attention dropout for fine-tuning ([teacher] dropout; the checkpoint's own is not used). */
  dropout: number;
  /** Tokens per text the teacher will see ([teacher] max_length): must fit max_position_embeddings. */
  maxLength?: number;
}

/** What readCheckpoint found: everything checked, no weights loaded yet. */
export interface Checkpoint {
  dir: string;
  weightsPath: string;
  configPath: string;
  vocabPath: string;
  /** 'bert.', 'ernie.' or '' (a BertModel / ErnieModel without a prefix). */
  prefix: string;
  /** config.json model_type, or '' when absent. */
  modelType: string;
  /** The teacher's architecture (vocabSize = vocab.txt lines, numClasses from the options). */
  spec: TransformerSpec;
  vocabTokens: string[];
  lowercase: boolean;
  /** Where lowercase came from (tokenizer_config.json do_lower_case, or the default). */
  lowercaseSource: string;
  /** Tensors in the file that are not used, by name. */
  ignored: string[];
  /** dtypes of the tensors used, e.g. ['F32'] or ['F16']. */
  dtypes: string[];
  /** One line per adaptation made (folded task-type embeddings, embedding rows cut to vocab.txt). */
  adaptations: string[];
  /** sha256 over the weights file, config.json and vocab.txt: the checkpoint's identity. */
  sha256: string;
  /** checkpoint tensor name -> native name (the tensors to load, besides task_type folding). */
  mapping: Map<string, string>;
  /** ERNIE's task-type table, folded into the position embeddings on load; null without it. */
  taskTypeTensor: string | null;
}

/** Reads and checks a checkpoint folder (header, config.json, vocab.txt); errors name the file and the problem. */
export function readCheckpoint(dir: string, options: CheckpointImportOptions): Checkpoint {
  if (typeof dir !== 'string' || dir.length === 0) throw new TypeError(`Expected a non-empty string for the checkpoint folder but received ${JSON.stringify(dir)}`);
  const root = path.resolve(dir);
  if (!fs.existsSync(root) || !fs.statSync(root).isDirectory()) throw new Error(`checkpoint folder not found: ${root}`);
  const weightsName = CHECKPOINT_WEIGHT_FILES.find((f) => fs.existsSync(path.join(root, f)));
  if (weightsName === undefined) {
    const has = fs.readdirSync(root).sort();
    const bin = has.some((f) => f.endsWith('.bin') || f.endsWith('.pdparams') || f.endsWith('.ckpt.index'))
      ? '; PyTorch .bin / Paddle / TensorFlow weights are not read: save them as safetensors (Hugging Face: model.save_pretrained(dir, safe_serialization=True))'
      : '';
    throw new Error(`checkpoint folder ${root} has no ${CHECKPOINT_WEIGHT_FILES.join(' or ')} (it holds: ${has.join(', ') || 'nothing'})${bin}`);
  }
  const weightsPath = path.join(root, weightsName);
  const configPath = path.join(root, 'config.json');
  const vocabPath = path.join(root, 'vocab.txt');
  for (const f of [configPath, vocabPath]) {
    if (!fs.existsSync(f)) throw new Error(`checkpoint folder ${root} has no ${path.basename(f)} (a checkpoint needs ${weightsName}, config.json and vocab.txt)`);
  }

  const cfg = readBertConfig(configPath);
  const vocabTokens = readVocabFile(vocabPath);
  const lacking = REQUIRED_SPECIALS.filter((t) => !vocabTokens.includes(t));
  if (lacking.length > 0) throw new Error(`${vocabPath}: has no ${lacking.join(', ')} (a BERT vocabulary needs ${REQUIRED_SPECIALS.join(', ')})`);
  if (vocabTokens.length > cfg.vocab_size) {
    throw new Error(`${vocabPath} has ${vocabTokens.length} tokens but ${configPath} vocab_size is ${cfg.vocab_size}: ids past the embedding table`);
  }
  if (options.maxLength !== undefined && options.maxLength > cfg.max_position_embeddings) {
    throw new Error(`[teacher] max_length = ${options.maxLength} exceeds the checkpoint's max_position_embeddings = ${cfg.max_position_embeddings} (${configPath})`);
  }
  const { lowercase, lowercaseSource } = readLowercase(root);

  // Checkpoints converted from the original TensorFlow BERT (bert-base-chinese and friends) still
  // store LayerNorm.gamma / LayerNorm.beta; transformers renames them to weight / bias on load, so do we.
  const stored = new Map<string, string>(); // name used here -> name in the file
  const index = readSafetensorsIndex(weightsPath).map((e) => {
    const name = e.name.replace(/\.LayerNorm\.gamma$/, '.LayerNorm.weight').replace(/\.LayerNorm\.beta$/, '.LayerNorm.bias');
    if (stored.has(name)) throw new Error(`${weightsPath}: holds both ${stored.get(name)} and ${e.name}`);
    stored.set(name, e.name);
    return { ...e, name };
  });
  const legacyNames = index.filter((e) => stored.get(e.name) !== e.name).length;
  const prefix = detectPrefix(index, weightsPath);
  const H = cfg.hidden_size;
  const I = cfg.intermediate_size;
  const expected = new Map<string, number[]>(); // checkpoint name -> shape from config.json
  const mapping = new Map<string, string>();
  const expect = (suffix: string, shape: number[]) => {
    expected.set(prefix + suffix, shape);
    mapping.set(prefix + suffix, NATIVE_PREFIX + suffix);
  };
  expect('embeddings.word_embeddings.weight', [cfg.vocab_size, H]);
  expect('embeddings.position_embeddings.weight', [cfg.max_position_embeddings, H]);
  expect('embeddings.token_type_embeddings.weight', [cfg.type_vocab_size, H]);
  expect('embeddings.LayerNorm.weight', [H]);
  expect('embeddings.LayerNorm.bias', [H]);
  for (let l = 0; l < cfg.num_hidden_layers; l++) {
    const p = `encoder.layer.${l}.`;
    for (const qkv of ['query', 'key', 'value']) {
      expect(`${p}attention.self.${qkv}.weight`, [H, H]);
      expect(`${p}attention.self.${qkv}.bias`, [H]);
    }
    expect(`${p}attention.output.dense.weight`, [H, H]);
    expect(`${p}attention.output.dense.bias`, [H]);
    expect(`${p}attention.output.LayerNorm.weight`, [H]);
    expect(`${p}attention.output.LayerNorm.bias`, [H]);
    expect(`${p}intermediate.dense.weight`, [I, H]);
    expect(`${p}intermediate.dense.bias`, [I]);
    expect(`${p}output.dense.weight`, [H, I]);
    expect(`${p}output.dense.bias`, [H]);
    expect(`${p}output.LayerNorm.weight`, [H]);
    expect(`${p}output.LayerNorm.bias`, [H]);
  }
  const present = new Map(index.map((e) => [e.name, e]));
  const pooler = present.has(`${prefix}pooler.dense.weight`) || present.has(`${prefix}pooler.dense.bias`);
  if (pooler) {
    expect('pooler.dense.weight', [H, H]);
    expect('pooler.dense.bias', [H]);
  }
  let taskTypeTensor: string | null = null;
  if (cfg.use_task_id) {
    taskTypeTensor = `${prefix}embeddings.task_type_embeddings.weight`;
    expected.set(taskTypeTensor, [cfg.task_type_vocab_size, H]);
  }

  const ignored: string[] = [];
  const unexpected: string[] = [];
  for (const e of index) {
    if (expected.has(e.name)) continue;
    if (isIgnorable(e.name, prefix)) ignored.push(stored.get(e.name)!);
    else unexpected.push(stored.get(e.name)!);
  }
  const missing = [...expected.keys()].filter((name) => !present.has(name));
  if (missing.length > 0 || unexpected.length > 0) {
    const parts = [];
    if (missing.length > 0) parts.push(`missing ${missing.length} tensor(s): ${listNames(missing)}`);
    if (unexpected.length > 0) parts.push(`unexpected ${unexpected.length} tensor(s): ${listNames(unexpected)}`);
    throw new Error(
      `${weightsPath} does not match ${configPath} (${cfg.num_hidden_layers} layers, ${prefix === '' ? 'no prefix' : `prefix "${prefix}"`}${pooler ? ', pooler' : ''}${cfg.use_task_id ? ', use_task_id' : ''}): ${parts.join('; ')}`,
    );
  }
  const badShapes: string[] = [];
  const badTypes: string[] = [];
  const dtypes = new Set<string>();
  for (const [name, shape] of expected) {
    const e = present.get(name)!;
    if (e.shape.length !== shape.length || e.shape.some((d, i) => d !== shape[i])) badShapes.push(`${name} is [${e.shape.join(', ')}], expected [${shape.join(', ')}]`);
    if (!CONVERTIBLE_DTYPES.has(e.dtype)) badTypes.push(`${name} is ${e.dtype}`);
    dtypes.add(e.dtype);
  }
  if (badShapes.length > 0) throw new Error(`${weightsPath}: shapes disagree with ${configPath}: ${badShapes.join('; ')}`);
  if (badTypes.length > 0) throw new Error(`${weightsPath}: dtype not supported (F32, F16, BF16, F64): ${badTypes.join('; ')}`);

  const adaptations: string[] = [];
  if (legacyNames > 0) adaptations.push(`${legacyNames} LayerNorm tensors stored as gamma/beta read as weight/bias`);
  if (taskTypeTensor !== null) adaptations.push(`${taskTypeTensor} row 0 (task_type_ids default 0) folded into the position embeddings`);
  if (vocabTokens.length < cfg.vocab_size) adaptations.push(`word embeddings cut from vocab_size ${cfg.vocab_size} to the ${vocabTokens.length} tokens of vocab.txt`);
  const nonF32 = [...dtypes].filter((d) => d !== 'F32');
  if (nonF32.length > 0) adaptations.push(`${nonF32.join(', ')} tensors converted to float32`);

  const spec: TransformerSpec = {
    kind: 'transformer',
    vocabSize: vocabTokens.length,
    numClasses: options.numClasses,
    hidden: H,
    layers: cfg.num_hidden_layers,
    heads: cfg.num_attention_heads,
    intermediate: I,
    maxPositions: cfg.max_position_embeddings,
    dropout: options.dropout,
    pooler,
    seed: options.seed,
    typeVocabSize: cfg.type_vocab_size,
    layerNormEps: cfg.layer_norm_eps,
  };
  const sha = createHash('sha256');
  hashFile(sha, weightsPath);
  sha.update(fs.readFileSync(configPath));
  sha.update(fs.readFileSync(vocabPath));
  return {
    dir: root,
    weightsPath,
    configPath,
    vocabPath,
    prefix,
    modelType: cfg.model_type,
    spec,
    vocabTokens,
    lowercase,
    lowercaseSource,
    ignored,
    dtypes: [...dtypes],
    adaptations,
    sha256: sha.digest('hex'),
    mapping: new Map([...mapping].map(([from, to]) => [stored.get(from)!, to])),
    taskTypeTensor: taskTypeTensor === null ? null : stored.get(taskTypeTensor)!,
  };
}

/**
 * Loads the checkpoint's tensors into `student` (created from checkpoint.spec): every encoder,
 * embedding and pooler tensor from the file, the classifier head as `student` was initialised
 * (fresh, from its seed). All-or-nothing, as NativeStudent.loadWeights.
 */
export function loadCheckpointWeights(student: NativeStudent, checkpoint: Checkpoint): void {
  const s = student.spec;
  const c = checkpoint.spec;
  if (s.kind !== 'transformer' || s.hidden !== c.hidden || s.layers !== c.layers || s.intermediate !== c.intermediate || s.vocabSize !== c.vocabSize ||
    s.maxPositions !== c.maxPositions || s.pooler !== c.pooler || (s.typeVocabSize ?? 2) !== c.typeVocabSize) {
    throw new Error(`the student's architecture does not match the checkpoint ${checkpoint.dir}; create it from checkpoint.spec`);
  }
  const temp = fs.mkdtempSync(path.join(os.tmpdir(), 'md-checkpoint-'));
  try {
    // The fresh head: the student's own initial classifier, read back from a save.
    const freshFile = path.join(temp, 'fresh.safetensors');
    student.saveWeights(freshFile);
    const fresh = readSafetensors(freshFile, (name) => name.startsWith('classifier.'));
    fs.rmSync(freshFile);

    const wanted = new Set([...checkpoint.mapping.keys(), ...(checkpoint.taskTypeTensor ? [checkpoint.taskTypeTensor] : [])]);
    const tensors = readSafetensors(checkpoint.weightsPath, (name) => wanted.has(name));
    const out = new Map<string, TensorToWrite>();
    for (const [from, to] of checkpoint.mapping) {
      const t = tensors.get(from)!;
      out.set(to, { shape: t.shape, data: t.data });
      tensors.delete(from); // let the converted copy go as soon as it is renamed
    }
    const H = c.hidden;
    const word = out.get(`${NATIVE_PREFIX}embeddings.word_embeddings.weight`)!;
    if (word.shape[0] > c.vocabSize) out.set(`${NATIVE_PREFIX}embeddings.word_embeddings.weight`, { shape: [c.vocabSize, H], data: word.data.slice(0, c.vocabSize * H) });
    if (checkpoint.taskTypeTensor !== null) {
      const task0 = tensors.get(checkpoint.taskTypeTensor)!.data.subarray(0, H);
      const positions = out.get(`${NATIVE_PREFIX}embeddings.position_embeddings.weight`)!.data;
      for (let p = 0; p < positions.length; p += H) for (let h = 0; h < H; h++) positions[p + h] += task0[h];
    }
    for (const [name, t] of fresh) out.set(name, { shape: t.shape, data: t.data });
    const importFile = path.join(temp, 'import.safetensors');
    writeSafetensors(importFile, out);
    out.clear();
    student.loadWeights(importFile);
  } finally {
    fs.rmSync(temp, { recursive: true, force: true });
  }
}

/** readCheckpoint + a NativeStudent holding its weights and a fresh head for options.numClasses. */
export function createTeacherFromCheckpoint(dir: string, options: CheckpointImportOptions): { student: NativeStudent; checkpoint: Checkpoint } {
  const checkpoint = readCheckpoint(dir, options);
  const student = NativeStudent.create(checkpoint.spec);
  try {
    loadCheckpointWeights(student, checkpoint);
  } catch (err) {
    student.dispose();
    throw err;
  }
  return { student, checkpoint };
}

/** One line for the run log: what was imported and what was left out or adapted. */
export function describeCheckpoint(c: Checkpoint): string {
  const s = c.spec;
  const parts = [
    `${c.modelType || 'bert-style'} checkpoint ${c.dir} (${c.prefix === '' ? 'no name prefix' : `names "${c.prefix}…"`}, ${c.dtypes.join('/')}): ` +
      `${s.layers} layers x hidden ${s.hidden}, ${s.heads} heads, FFN ${s.intermediate}, ${s.maxPositions} positions, vocab ${s.vocabSize}` +
      `${s.pooler ? ', pooler' : ', no pooler'}, LayerNorm eps ${s.layerNormEps}; lowercase ${c.lowercase} (${c.lowercaseSource})`,
  ];
  if (c.ignored.length > 0) parts.push(`not used: ${listNames(c.ignored)}`);
  if (c.adaptations.length > 0) parts.push(c.adaptations.join('; '));
  parts.push(`classifier head fresh for ${s.numClasses} classes`);
  return parts.join('; ');
}

// ---- config.json --------------------------------------------------------------------------------

interface BertConfigKeys {
  model_type: string;
  vocab_size: number;
  hidden_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  intermediate_size: number;
  max_position_embeddings: number;
  type_vocab_size: number;
  layer_norm_eps: number;
  use_task_id: boolean;
  task_type_vocab_size: number;
}

function readBertConfig(configPath: string): BertConfigKeys {
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(configPath, 'utf8'));
  } catch (err) {
    throw new Error(`${configPath}: not valid JSON (${(err as Error).message})`);
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new Error(`${configPath}: expected a JSON object`);
  const c = raw as Record<string, unknown>;
  const int = (key: string, fallback?: number): number => {
    const v = c[key] ?? fallback;
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1) {
      throw new Error(`${configPath}: expected a positive integer for ${key} but found ${v === undefined ? 'nothing' : JSON.stringify(v)}`);
    }
    return v;
  };
  const modelType = c.model_type === undefined ? '' : String(c.model_type);
  if (modelType !== '' && modelType !== 'bert' && modelType !== 'ernie') {
    throw new Error(`${configPath}: model_type ${JSON.stringify(c.model_type)} is not supported (bert, ernie: post-LayerNorm BERT encoders)`);
  }
  const act = c.hidden_act ?? 'gelu';
  if (act !== 'gelu') {
    throw new Error(`${configPath}: hidden_act ${JSON.stringify(act)} is not supported; the native transformer has the exact erf GELU ("gelu")`);
  }
  const positions = c.position_embedding_type ?? 'absolute';
  if (positions !== 'absolute') throw new Error(`${configPath}: position_embedding_type ${JSON.stringify(positions)} is not supported (absolute only)`);
  const eps = c.layer_norm_eps ?? 1e-12;
  if (typeof eps !== 'number' || !(eps > 0) || eps > 1) throw new Error(`${configPath}: expected a number in (0, 1] for layer_norm_eps but found ${JSON.stringify(eps)}`);
  const useTaskId = c.use_task_id ?? false;
  if (typeof useTaskId !== 'boolean') throw new Error(`${configPath}: expected true or false for use_task_id but found ${JSON.stringify(useTaskId)}`);
  const cfg: BertConfigKeys = {
    model_type: modelType,
    vocab_size: int('vocab_size'),
    hidden_size: int('hidden_size'),
    num_hidden_layers: int('num_hidden_layers'),
    num_attention_heads: int('num_attention_heads'),
    intermediate_size: int('intermediate_size'),
    max_position_embeddings: int('max_position_embeddings'),
    type_vocab_size: int('type_vocab_size', 2),
    layer_norm_eps: eps,
    use_task_id: useTaskId,
    task_type_vocab_size: useTaskId ? int('task_type_vocab_size', 3) : 0,
  };
  if (cfg.hidden_size % cfg.num_attention_heads !== 0) {
    throw new Error(`${configPath}: hidden_size ${cfg.hidden_size} is not a multiple of num_attention_heads ${cfg.num_attention_heads}`);
  }
  return cfg;
}

/** do_lower_case from `root`/tokenizer_config.json when it says; else true (uncased and Chinese BERT/ERNIE). Shared with the ONNX teacher. */
export function readLowercase(root: string): { lowercase: boolean; lowercaseSource: string } {
  const file = path.join(root, 'tokenizer_config.json');
  if (fs.existsSync(file)) {
    let t: unknown;
    try {
      t = JSON.parse(fs.readFileSync(file, 'utf8'));
    } catch (err) {
      throw new Error(`${file}: not valid JSON (${(err as Error).message})`);
    }
    const v = (t as Record<string, unknown> | null)?.do_lower_case;
    if (typeof v === 'boolean') return { lowercase: v, lowercaseSource: `${path.basename(file)} do_lower_case` };
  }
  return { lowercase: true, lowercaseSource: 'default; no do_lower_case in tokenizer_config.json' };
}

// ---- names --------------------------------------------------------------------------------------

function detectPrefix(index: SafeTensorEntry[], weightsPath: string): string {
  const names = new Set(index.map((e) => e.name));
  const found = ['bert.', 'ernie.', ''].filter((p) => names.has(`${p}embeddings.word_embeddings.weight`));
  if (found.length === 1) return found[0];
  if (found.length > 1) throw new Error(`${weightsPath}: holds word embeddings under several prefixes (${found.map((p) => JSON.stringify(p)).join(', ')}); one model per file`);
  const sample = listNames(index.map((e) => e.name).slice(0, 5));
  throw new Error(
    `${weightsPath}: no bert.embeddings.word_embeddings.weight, ernie.embeddings.word_embeddings.weight or embeddings.word_embeddings.weight; ` +
      `not a BERT/ERNIE checkpoint with Hugging Face names (it starts with: ${sample || 'no tensors'})`,
  );
}

/** Heads and buffers that pre-training or fine-tuning checkpoints carry and the teacher does not use. */
function isIgnorable(name: string, prefix: string): boolean {
  return name.startsWith('cls.') || name.startsWith('classifier.') || name === `${prefix}embeddings.position_ids`;
}

function listNames(names: string[]): string {
  const shown = names.slice(0, 40).join(', ');
  return names.length > 40 ? `${shown}, … (${names.length - 40} more)` : shown;
}

function hashFile(hash: ReturnType<typeof createHash>, file: string): void {
  const fd = fs.openSync(file, 'r');
  try {
    const buffer = Buffer.alloc(1 << 22);
    let n: number;
    while ((n = fs.readSync(fd, buffer, 0, buffer.length, null)) > 0) hash.update(buffer.subarray(0, n));
  } finally {
    fs.closeSync(fd);
  }
}

/** What run.json and the teacher's training info keep about the import. */
export function checkpointRecord(c: Checkpoint): Record<string, unknown> {
  return {
    dir: c.dir,
    weights: path.basename(c.weightsPath),
    sha256: c.sha256,
    modelType: c.modelType,
    prefix: c.prefix,
    dtypes: c.dtypes,
    pooler: c.spec.pooler,
    lowercase: c.lowercase,
    ignored: c.ignored,
    adaptations: c.adaptations,
  };
}
