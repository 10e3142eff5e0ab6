/**
 * config.ini: every path and hyper-parameter of a run, loaded, checked and typed.
 *
 * A mistake in the file is an error that names the file, the line and the key:
 *   config.ini:14: unknown key "epoch" in [train] (did you mean "epochs"?)
 * All the problems of a file are reported together, one per line, so a user
 * fixes them in one pass.
 *
 * Why the lines are scanned here and only the value syntax comes from `ini`:
 * ini.decode() cannot say where anything came from (it splits on /[\r\n]+/, so
 * blank lines vanish and line numbers with them), keeps the last of two
 * duplicate keys silently, merges a repeated section, turns a line without "="
 * into `key = true`, and nests "[a.b]" sections. Each of those would hide a
 * user's mistake. So this file walks the lines itself, with the same two
 * regular expressions ini uses to tell a section header from a key line, and
 * hands every key and value to ini.unsafe(), the package's own decoder for
 * quoting ("..." or '...'), inline comments (; or #) and backslash escapes
 * (\; \#). A value therefore means exactly what the ini package says it means,
 * and a test checks that ini.decode() reads our example configs the same way.
 *
 * Names: a key is called the same in the file, in the typed object and in the
 * saved JSON (`max_length`, not `maxLength`), so one grep finds every use.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as ini from 'ini';

import { readWord2VecHeader } from './vectors';

// ---------------------------------------------------------------------------
// The typed result
// ---------------------------------------------------------------------------

export type StudentKind = 'textcnn' | 'gru';
export const STUDENT_KINDS: readonly StudentKind[] = ['textcnn', 'gru'];

/** [data]: where the examples are. Paths are absolute (resolved against the config's folder). */
export interface DataConfig {
  /** Labelled training rows, `text<TAB>label`. Required; must exist. */
  train: string;
  /** Labelled rows scored after each epoch to keep the best one, `text<TAB>label`. Required; must exist. */
  eval: string;
  /** The unlabelled pool, one text a line, or null when there is none. Must exist when given. */
  unlabeled: string | null;
  /** `label<TAB>id` file, or null: classes are then the train labels, sorted. Must exist when given. */
  class_id: string | null;
  /** vocab.txt to use; when the file does not exist, it is built from train + unlabeled and written there. */
  vocab: string;
  /** Whether `vocab` existed when the config was loaded (false: build it). */
  vocab_exists: boolean;
  /** An optional extra labelled file that `eval`/`experiment` also report on. Must exist when given. */
  test: string | null;
  /** Where `clean-labels` writes the cleaned training file (default: `<train name>.cleaned.tsv` beside train). */
  cleaned_train: string;
}

export interface ModelConfig {
  /** Folder that holds every run: a run's artefacts go under `<dir>/<uniqid>/`. Required. */
  dir: string;
  /** Tokens kept per text (longer texts are cut). */
  max_length: number;
  /** Which students to train, in order. */
  students: StudentKind[];
}

export interface TextCnnConfig {
  embedding_dim: number;
  /** Convolution window sizes (tokens), e.g. [3, 4, 5]. */
  windows: number[];
  /** Filters per window size. */
  filters: number;
  dropout: number;
  /** word2vec text file to start the embeddings from, or null. */
  pretrained_vectors: string | null;
  /** Effective learning rate: this section's override, else [train] learning_rate. */
  learning_rate: number;
}

export interface GruConfig {
  embedding_dim: number;
  hidden: number;
  bidirectional: boolean;
  dropout: number;
  pretrained_vectors: string | null;
  /** Effective learning rate: this section's override, else [train] learning_rate. */
  learning_rate: number;
}

export type OptimizerKind = 'adam' | 'adamw';
export type LrDecay = 'none' | 'linear';

export interface TrainConfig {
  epochs: number;
  batch_size: number;
  learning_rate: number;
  /** Worker threads; 0 in the file means "all cores" and is resolved to that number here. */
  threads: number;
  seed: number;
  optimizer: OptimizerKind;
  weight_decay: number;
  /** Fraction of all training steps spent warming the learning rate up from 0, in [0, 1). */
  warmup: number;
  /** What the learning rate does after warmup. */
  lr_decay: LrDecay;
  /** Clip the global gradient norm to this; 0 = no clipping. */
  clip_norm: number;
}

export type TeacherKind = 'native' | 'onnx' | 'none';
export type PretrainKind = 'none' | 'mlm';

export interface TeacherConfig {
  kind: TeacherKind;
  /** kind = onnx: the .onnx file (required then). Otherwise null. */
  path: string | null;
  /** kind = onnx: the teacher's vocab.txt (default: vocab.txt beside the .onnx file). Otherwise null. */
  vocab: string | null;
  layers: number;
  hidden: number;
  heads: number;
  intermediate: number;
  /** Tokens per text for the teacher (default: [model] max_length). */
  max_length: number;
  dropout: number;
  epochs: number;
  learning_rate: number;
  batch_size: number;
  weight_decay: number;
  warmup: number;
  pretrain: PretrainKind;
  mlm_epochs: number;
  /** MLM pre-training: AdamW peak learning rate, batch size, share of tokens masked, warmup fraction, and a step cap (0 = mlm_epochs decide). */
  mlm_learning_rate: number;
  mlm_batch_size: number;
  mlm_mask_prob: number;
  mlm_warmup: number;
  mlm_max_steps: number;
  /** A pretrained checkpoint folder (safetensors + config.json + vocab.txt) to fine-tune from, or null. */
  init_checkpoint: string | null;
  /** word2vec text file the transformer's word embeddings start from (its dimension must be hidden), or null. */
  pretrained_vectors: string | null;
  /**
   * Extra teacher members, in order (a kind may repeat: each member has its own seed):
   * small models trained on the labelled rows whose log-softmax is averaged with the
   * transformer's (or, with kind = none, with each other's) to give the soft labels.
   * Empty = no ensemble.
   */
  ensemble: StudentKind[];
  /** word2vec text file the members' embeddings start from, or null (random). */
  ensemble_vectors: string | null;
  /** The members' embedding size: the ensemble_vectors dimension, or null = the [textcnn]/[gru] embedding_dim. */
  ensemble_embedding_dim: number | null;
  /** The members' training epochs (default [train] epochs). */
  ensemble_epochs: number;
  /**
   * Model folders trained elsewhere (a student or teacher of an earlier run, say) that join
   * the ensemble as they are: never retrained, each read with its own vocabulary and
   * settings. Empty = none.
   */
  ensemble_models: string[];
}

export type DistillLoss = 'kl' | 'mse';

export interface DistillConfig {
  enabled: boolean;
  /** Add the unlabelled pool (soft labels only) to the students' training. */
  use_unlabeled: boolean;
  temperature: number;
  /** Weight of the distillation loss on labelled rows: alpha * soft + (1 - alpha) * hard. */
  alpha: number;
  loss: DistillLoss;
  /** Use at most this many pool texts (the first ones); 0 = all. */
  unlabeled_limit: number;
  /** Student epochs when distilling (default: [train] epochs). */
  epochs: number;
  /** Student epochs when distilling with the pool (default: [distill] epochs). */
  pool_epochs: number;
  /** redis://HOST:PORT: the pool is scored by `model-distill worker`s through this queue (lib/queue/); null = here. */
  queue: string | null;
}

export type LabelFilter = 'low_self_confidence' | 'low_normalized_margin' | 'prune_by_noise_rate' | 'prune_by_class' | 'both';
export type LabelRankBy = 'self_confidence' | 'normalized_margin';
export type LabelModel = 'textcnn' | 'gru' | 'teacher';

export interface LabelsConfig {
  folds: number;
  /** k-fold splits (each with its own seed) whose out-of-fold probabilities are averaged. */
  repeats: number;
  filter: LabelFilter;
  rank_by: LabelRankBy;
  /** Whose out-of-fold probabilities drive detection (several: averaged). */
  model: LabelModel[];
}

export interface Config {
  /** Absolute path of the config file. */
  file: string;
  data: DataConfig;
  model: ModelConfig;
  textcnn: TextCnnConfig;
  gru: GruConfig;
  train: TrainConfig;
  teacher: TeacherConfig;
  distill: DistillConfig;
  labels: LabelsConfig;
  /**
   * Where each key was set, as "section.key" -> 1-based line; keys left at their
   * default are absent. For later errors about a value ("the vectors file has
   * dimension 200") that should still point at the line: see configProblem().
   */
  lines: Record<string, number>;
}

export interface LoadConfigOptions {
  /**
   * Check that input files exist (train, eval, unlabeled, class_id, test,
   * pretrained_vectors, the teacher's files) and read the vectors' dimension.
   * Default true; false for tools that only want to show a config.
   */
  checkPaths?: boolean;
}

// ---------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------

export interface ConfigProblem {
  /** 1-based line, when the problem has one. */
  line?: number;
  section?: string;
  key?: string;
  message: string;
}

/** Everything wrong with one config file; `message` lists every problem, one per line. */
export class ConfigError extends Error {
  readonly file: string;
  readonly problems: ConfigProblem[];
  constructor(file: string, problems: ConfigProblem[]) {
    const lines = problems.map((p) => formatProblem(file, p));
    super(lines.length === 1 ? lines[0] : `${file} has ${lines.length} problems:\n  ${lines.join('\n  ')}`);
    this.name = 'ConfigError';
    this.file = file;
    this.problems = problems;
  }
}

function formatProblem(file: string, p: ConfigProblem): string {
  return p.line !== undefined ? `${file}:${p.line}: ${p.message}` : `${file}: ${p.message}`;
}

/**
 * An error about a loaded config's value found later (e.g. by the trainer),
 * pointing at the line that set it when there is one.
 */
export function configProblem(config: Config, section: string, key: string, message: string): ConfigError {
  const line = config.lines[`${section}.${key}`];
  return new ConfigError(config.file, [{ line, section, key, message: `[${section}] ${key}: ${message}` }]);
}

// ---------------------------------------------------------------------------
// The schema: every section and key the file may hold, with its documentation.
// examples/config.ini documents the same keys for users; a test checks the two agree.
// ---------------------------------------------------------------------------

type KeySpec =
  | { type: 'path'; required?: boolean; doc: string }
  | { type: 'int'; min: number; max?: number; default: number | null; doc: string }
  | { type: 'number'; min: number; minExclusive?: boolean; max?: number; maxExclusive?: boolean; default: number | null; doc: string }
  | { type: 'bool'; default: boolean | null; doc: string }
  | { type: 'enum'; values: readonly string[]; default: string; doc: string }
  | { type: 'int-list'; default: number[]; doc: string }
  | { type: 'path-list'; doc: string }
  | { type: 'url'; doc: string }
  | { type: 'enum-list'; values: readonly string[]; default: string[]; doc: string; repeats?: boolean; none?: boolean };

/** `default: null` means "derived from other keys" (the doc says how). */
export const CONFIG_SCHEMA: Record<string, Record<string, KeySpec>> = {
  data: {
    train: { type: 'path', required: true, doc: 'labelled training rows, text<TAB>label' },
    eval: { type: 'path', required: true, doc: 'labelled rows for picking the best epoch and reporting' },
    unlabeled: { type: 'path', doc: 'unlabelled pool, one text a line (optional)' },
    class_id: { type: 'path', doc: 'label<TAB>id file (optional: default is the train labels, sorted)' },
    vocab: { type: 'path', doc: 'vocab.txt; built from train + unlabeled when the file is absent (default vocab.txt beside the config)' },
    test: { type: 'path', doc: 'extra labelled file to report on (optional)' },
    cleaned_train: { type: 'path', doc: 'where clean-labels writes the cleaned train file (default <train>.cleaned.tsv)' },
  },
  model: {
    dir: { type: 'path', required: true, doc: 'folder of runs; a run lives in <dir>/<uniqid>/' },
    max_length: { type: 'int', min: 1, max: 100000, default: 128, doc: 'tokens kept per text' },
    students: { type: 'enum-list', values: STUDENT_KINDS, default: ['textcnn', 'gru'], doc: 'students to train' },
  },
  textcnn: {
    embedding_dim: { type: 'int', min: 1, max: 100000, default: null, doc: 'embedding size (default 128, or the vectors file dimension)' },
    windows: { type: 'int-list', default: [3, 4, 5], doc: 'convolution window sizes' },
    filters: { type: 'int', min: 1, max: 100000, default: 128, doc: 'filters per window size' },
    dropout: { type: 'number', min: 0, max: 1, maxExclusive: true, default: 0.5, doc: 'dropout before the classifier' },
    pretrained_vectors: { type: 'path', doc: 'word2vec text file for the embeddings (optional)' },
    learning_rate: { type: 'number', min: 0, minExclusive: true, default: null, doc: 'override of [train] learning_rate' },
  },
  gru: {
    embedding_dim: { type: 'int', min: 1, max: 100000, default: null, doc: 'embedding size (default 128, or the vectors file dimension)' },
    hidden: { type: 'int', min: 1, max: 100000, default: 128, doc: 'GRU state size' },
    bidirectional: { type: 'bool', default: false, doc: 'also run the GRU right to left' },
    dropout: { type: 'number', min: 0, max: 1, maxExclusive: true, default: 0.3, doc: 'dropout before the classifier' },
    pretrained_vectors: { type: 'path', doc: 'word2vec text file for the embeddings (optional)' },
    learning_rate: { type: 'number', min: 0, minExclusive: true, default: null, doc: 'override of [train] learning_rate' },
  },
  train: {
    epochs: { type: 'int', min: 1, max: 100000, default: 10, doc: 'passes over the training data' },
    batch_size: { type: 'int', min: 1, max: 1000000, default: 64, doc: 'examples per step' },
    learning_rate: { type: 'number', min: 0, minExclusive: true, default: 1e-3, doc: 'peak learning rate' },
    threads: { type: 'int', min: 0, max: 4096, default: 0, doc: 'worker threads, 0 = all cores' },
    seed: { type: 'int', min: 0, max: 4294967295, default: 42, doc: 'random seed' },
    optimizer: { type: 'enum', values: ['adam', 'adamw'], default: 'adam', doc: 'optimiser' },
    weight_decay: { type: 'number', min: 0, default: 0, doc: 'decoupled weight decay (adamw) or L2 (adam)' },
    warmup: { type: 'number', min: 0, max: 1, maxExclusive: true, default: 0, doc: 'fraction of steps warming up' },
    lr_decay: { type: 'enum', values: ['none', 'linear'], default: 'none', doc: 'learning rate after warmup' },
    clip_norm: { type: 'number', min: 0, default: 5, doc: 'gradient norm clip, 0 = off' },
  },
  teacher: {
    kind: { type: 'enum', values: ['native', 'onnx', 'none'], default: 'none', doc: 'where the teacher comes from' },
    path: { type: 'path', doc: 'kind = onnx: the .onnx file' },
    vocab: { type: 'path', doc: 'kind = onnx: its vocab.txt (default vocab.txt beside the .onnx)' },
    layers: { type: 'int', min: 1, max: 1000, default: 4, doc: 'transformer layers' },
    hidden: { type: 'int', min: 1, max: 100000, default: 256, doc: 'hidden size' },
    heads: { type: 'int', min: 1, max: 1000, default: 4, doc: 'attention heads (must divide hidden)' },
    intermediate: { type: 'int', min: 1, max: 1000000, default: 1024, doc: 'feed-forward size' },
    max_length: { type: 'int', min: 1, max: 100000, default: null, doc: 'tokens per text (default [model] max_length)' },
    dropout: { type: 'number', min: 0, max: 1, maxExclusive: true, default: 0.1, doc: 'dropout' },
    epochs: { type: 'int', min: 1, max: 100000, default: 3, doc: 'fine-tuning epochs' },
    learning_rate: { type: 'number', min: 0, minExclusive: true, default: 1e-4, doc: 'fine-tuning peak learning rate' },
    batch_size: { type: 'int', min: 1, max: 1000000, default: 32, doc: 'fine-tuning batch size' },
    weight_decay: { type: 'number', min: 0, default: 0.01, doc: 'AdamW weight decay' },
    warmup: { type: 'number', min: 0, max: 1, maxExclusive: true, default: 0.1, doc: 'fraction of steps warming up' },
    pretrain: { type: 'enum', values: ['none', 'mlm'], default: 'none', doc: 'masked-LM pre-training on the pool first' },
    mlm_epochs: { type: 'int', min: 1, max: 100000, default: 1, doc: 'MLM pre-training epochs' },
    mlm_learning_rate: { type: 'number', min: 0, minExclusive: true, default: 5e-4, doc: 'MLM pre-training peak learning rate (AdamW)' },
    mlm_batch_size: { type: 'int', min: 1, max: 1000000, default: 64, doc: 'MLM pre-training batch size' },
    mlm_mask_prob: { type: 'number', min: 0, max: 1, minExclusive: true, maxExclusive: true, default: 0.15, doc: 'share of tokens MLM predicts' },
    mlm_warmup: { type: 'number', min: 0, max: 1, maxExclusive: true, default: 0.1, doc: 'fraction of MLM steps warming up' },
    mlm_max_steps: { type: 'int', min: 0, max: Number.MAX_SAFE_INTEGER, default: 0, doc: 'MLM updates, 0 = mlm_epochs decide' },
    init_checkpoint: { type: 'path', doc: 'pretrained checkpoint folder to fine-tune from (optional)' },
    pretrained_vectors: { type: 'path', doc: 'word2vec text file for the transformer\'s word embeddings (optional; dimension = hidden)' },
    ensemble: {
      type: 'enum-list',
      values: STUDENT_KINDS,
      default: [],
      repeats: true,
      none: true,
      doc: 'extra teacher members (textcnn, gru; repeats allowed) averaged with the teacher, or none',
    },
    ensemble_vectors: { type: 'path', doc: 'word2vec text file for the ensemble members\' embeddings (optional)' },
    ensemble_epochs: { type: 'int', min: 1, max: 100000, default: null, doc: 'ensemble members\' training epochs (default [train] epochs)' },
    ensemble_models: { type: 'path-list', doc: 'model folders trained elsewhere that join the ensemble as they are (optional)' },
  },
  distill: {
    enabled: { type: 'bool', default: null, doc: 'distil the students from the teacher (default: true when there is a teacher)' },
    use_unlabeled: { type: 'bool', default: null, doc: 'add the pool to distillation (default: true when [data] unlabeled is set)' },
    temperature: { type: 'number', min: 0, minExclusive: true, default: 2, doc: 'softmax temperature for soft labels' },
    alpha: { type: 'number', min: 0, max: 1, default: 0.5, doc: 'weight of the soft loss on labelled rows' },
    loss: { type: 'enum', values: ['kl', 'mse'], default: 'kl', doc: 'distillation loss' },
    unlabeled_limit: { type: 'int', min: 0, max: Number.MAX_SAFE_INTEGER, default: 0, doc: 'pool texts used, 0 = all' },
    epochs: { type: 'int', min: 1, max: 100000, default: null, doc: 'student epochs when distilling (default [train] epochs)' },
    pool_epochs: { type: 'int', min: 1, max: 100000, default: null, doc: 'student epochs when distilling with the pool (default [distill] epochs)' },
    queue: { type: 'url', doc: 'redis://HOST:PORT: score the pool on model-distill workers through this queue (optional; docs/scaling.md)' },
  },
  labels: {
    folds: { type: 'int', min: 2, max: 1000, default: 5, doc: 'cross-validation folds' },
    filter: {
      type: 'enum',
      values: ['low_self_confidence', 'low_normalized_margin', 'prune_by_noise_rate', 'prune_by_class', 'both'],
      default: 'low_self_confidence',
      doc: 'confident-learning filter',
    },
    rank_by: { type: 'enum', values: ['self_confidence', 'normalized_margin'], default: 'self_confidence', doc: 'ranking of flagged rows' },
    repeats: { type: 'int', min: 1, max: 100, default: 3, doc: 'k-fold splits (different seeds) whose out-of-fold probabilities are averaged' },
    model: {
      type: 'enum-list',
      values: ['textcnn', 'gru', 'teacher'],
      default: ['textcnn'],
      doc: 'models whose out-of-fold probabilities are used (several: averaged; default the first of [model] students)',
    },
  },
};

/** Sections that must be present (with their required keys). */
const REQUIRED_SECTIONS = ['data', 'model'];

/** The embedding size when neither the file nor pretrained vectors say. */
export const DEFAULT_EMBEDDING_DIM = 128;

// ---------------------------------------------------------------------------
// Reading the lines
// ---------------------------------------------------------------------------

/** One `key = value` of the file, with where it came from. */
interface RawEntry {
  value: string;
  line: number;
}

interface RawSection {
  line: number;
  entries: Map<string, RawEntry>;
}

// The two patterns ini.decode() uses (ini 5), so a line means the same to both.
const SECTION_LINE = /^\[([^\]]*)\]\s*$/;
const KEY_LINE = /^([^=]+)=(.*)$/;
const COMMENT_LINE = /^\s*[;#]/;

/** Splits the text into sections of raw entries; structural problems go to `problems`. */
function scanLines(text: string, problems: ConfigProblem[]): Map<string, RawSection> {
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1); // a byte-order mark is not part of line 1
  const sections = new Map<string, RawSection>();
  let current: { name: string; section: RawSection | null } | null = null;
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    const line = lines[i].endsWith('\r') ? lines[i].slice(0, -1) : lines[i];
    if (line.trim() === '' || COMMENT_LINE.test(line)) continue;

    const header = SECTION_LINE.exec(line);
    if (header) {
      const name = ini.unsafe(header[1]);
      const earlier = sections.get(name);
      if (earlier) {
        problems.push({
          line: lineNo,
          section: name,
          message: `section [${name}] appears a second time (first on line ${earlier.line}); put all its keys under one header`,
        });
        current = { name, section: null }; // keys below are still checked, but not kept
        continue;
      }
      if (!(name in CONFIG_SCHEMA)) {
        problems.push({ line: lineNo, section: name, message: `unknown section [${name}]${suggestSection(name)}` });
        current = { name, section: null };
        continue;
      }
      const section: RawSection = { line: lineNo, entries: new Map() };
      sections.set(name, section);
      current = { name, section };
      continue;
    }

    const keyLine = KEY_LINE.exec(line);
    if (!keyLine) {
      const hint = line.trimStart().startsWith('[')
        ? ' (a section header must start at the beginning of the line and have nothing after "]"; comments go on their own line)'
        : '';
      problems.push({ line: lineNo, message: `expected "key = value" or "[section]", got ${JSON.stringify(line.trim())}${hint}` });
      continue;
    }
    const key = ini.unsafe(keyLine[1]);
    const value = ini.unsafe(keyLine[2]);
    if (current === null) {
      problems.push({ line: lineNo, key, message: `key "${key}" comes before any [section] header` });
      continue;
    }
    if (current.section === null) continue; // inside an unknown or repeated section: already reported
    const known = CONFIG_SCHEMA[current.name];
    if (!(key in known)) {
      problems.push({ line: lineNo, section: current.name, key, message: `unknown key "${key}" in [${current.name}]${suggestKey(current.name, key)}` });
      continue;
    }
    const earlier = current.section.entries.get(key);
    if (earlier) {
      problems.push({
        line: lineNo,
        section: current.name,
        key,
        message: `duplicate key "${key}" in [${current.name}] (first set on line ${earlier.line})`,
      });
      continue;
    }
    current.section.entries.set(key, { value, line: lineNo });
  }
  return sections;
}

/**
 * The raw `key = value` entries of a config text, in file order, with their
 * lines, before any typing (for tools and for tests comparing with ini.decode).
 * Problems of structure (unknown or duplicate keys, bad lines) are returned, not thrown.
 */
export function readConfigEntries(text: string): {
  entries: { section: string; key: string; value: string; line: number }[];
  problems: ConfigProblem[];
} {
  const problems: ConfigProblem[] = [];
  const entries: { section: string; key: string; value: string; line: number }[] = [];
  for (const [section, raw] of scanLines(text, problems)) {
    for (const [key, { value, line }] of raw.entries) entries.push({ section, key, value, line });
  }
  entries.sort((a, b) => a.line - b.line);
  return { entries, problems };
}

/** Edit distance, for "did you mean" hints. */
function editDistance(a: string, b: string): number {
  const prev = new Array<number>(b.length + 1);
  for (let j = 0; j <= b.length; j++) prev[j] = j;
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0];
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j];
      prev[j] = Math.min(prev[j] + 1, prev[j - 1] + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return prev[b.length];
}

function closest(word: string, candidates: string[]): string | null {
  let best: string | null = null;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const d = editDistance(word.toLowerCase(), c);
    if (d < bestDistance) {
      bestDistance = d;
      best = c;
    }
  }
  return best !== null && bestDistance <= Math.max(2, Math.floor(word.length / 3)) ? best : null;
}

function suggestSection(name: string): string {
  const guess = closest(name, Object.keys(CONFIG_SCHEMA));
  const known = Object.keys(CONFIG_SCHEMA).map((s) => `[${s}]`).join(', ');
  return guess ? ` (did you mean [${guess}]?)` : ` (known sections: ${known})`;
}

function suggestKey(section: string, key: string): string {
  const guess = closest(key, Object.keys(CONFIG_SCHEMA[section]));
  if (guess) return ` (did you mean "${guess}"?)`;
  const elsewhere = Object.keys(CONFIG_SCHEMA).filter((s) => s !== section && key in CONFIG_SCHEMA[s]);
  if (elsewhere.length > 0) return ` ("${key}" belongs in ${elsewhere.map((s) => `[${s}]`).join(' or ')})`;
  return ` (known keys: ${Object.keys(CONFIG_SCHEMA[section]).join(', ')})`;
}

// ---------------------------------------------------------------------------
// Reading the values
// ---------------------------------------------------------------------------

const INTEGER = /^[+-]?\d+$/;
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const TRUE_WORDS = ['true', 'yes', 'on', '1'];
const FALSE_WORDS = ['false', 'no', 'off', '0'];

/**
 * Reads the typed values of one section, collecting problems. Each getter
 * returns the value from the file, or the schema default, and records the line.
 */
class SectionReader {
  constructor(
    private readonly name: string,
    private readonly raw: RawSection | undefined,
    private readonly baseDir: string,
    private readonly problems: ConfigProblem[],
    private readonly lines: Record<string, number>,
  ) {}

  private spec<T extends KeySpec['type']>(key: string, type: T): Extract<KeySpec, { type: T }> {
    const spec = CONFIG_SCHEMA[this.name][key];
    if (!spec || spec.type !== type) throw new Error(`internal: [${this.name}] ${key} is not a ${type} key`);
    return spec as Extract<KeySpec, { type: T }>;
  }

  /** The raw text of a key set in the file, or undefined. */
  entry(key: string): RawEntry | undefined {
    const e = this.raw?.entries.get(key);
    if (e) this.lines[`${this.name}.${key}`] = e.line;
    return e;
  }

  has(key: string): boolean {
    return this.raw?.entries.has(key) ?? false;
  }

  lineOf(key: string): number | undefined {
    return this.raw?.entries.get(key)?.line;
  }

  problem(key: string, message: string): void {
    // "…: problem" reads better glued to the key; "must be …" and "= x needs …" after a space.
    const sep = message.startsWith(':') ? '' : ' ';
    this.problems.push({ line: this.lineOf(key), section: this.name, key, message: `[${this.name}] ${key}${sep}${message}` });
  }

  int(key: string): number | null {
    const spec = this.spec(key, 'int');
    const e = this.entry(key);
    if (!e) return spec.default;
    const value = INTEGER.test(e.value) ? Number(e.value) : NaN;
    // Large maxima are sanity limits, not part of what the key means: name them only when hit.
    const bounded = spec.max !== undefined && spec.max < 100000;
    const kind = bounded
      ? `an integer from ${spec.min} to ${spec.max}`
      : spec.min === 1
        ? 'a positive integer'
        : spec.min === 0
          ? 'a non-negative integer'
          : `an integer >= ${spec.min}`;
    if (!Number.isSafeInteger(value) || value < spec.min) {
      this.problem(key, `must be ${kind}, got ${JSON.stringify(e.value)}`);
      return spec.default;
    }
    if (spec.max !== undefined && value > spec.max) {
      this.problem(key, `must be at most ${spec.max}, got ${JSON.stringify(e.value)}`);
      return spec.default;
    }
    return value;
  }

  number(key: string): number | null {
    const spec = this.spec(key, 'number');
    const e = this.entry(key);
    if (!e) return spec.default;
    const value = DECIMAL.test(e.value) ? Number(e.value) : NaN;
    const low = `${spec.minExclusive ? '>' : '>='} ${spec.min}`;
    const lowBracket = spec.minExclusive ? '(' : '[';
    const range =
      spec.max === undefined ? `a number ${low}` : `a number in ${lowBracket}${spec.min}, ${spec.max}${spec.maxExclusive ? ')' : ']'}`;
    const tooLow = spec.minExclusive ? value <= spec.min : value < spec.min;
    const tooHigh = spec.max !== undefined && (spec.maxExclusive ? value >= spec.max : value > spec.max);
    if (!Number.isFinite(value) || tooLow || tooHigh) {
      this.problem(key, `must be ${range}, got ${JSON.stringify(e.value)}`);
      return spec.default;
    }
    return value;
  }

  bool(key: string): boolean | null {
    const spec = this.spec(key, 'bool');
    const e = this.entry(key);
    if (!e) return spec.default;
    const word = e.value.toLowerCase();
    if (TRUE_WORDS.includes(word)) return true;
    if (FALSE_WORDS.includes(word)) return false;
    this.problem(key, `must be true/false, yes/no, on/off or 1/0, got ${JSON.stringify(e.value)}`);
    return spec.default;
  }

  enumValue<T extends string>(key: string): T {
    const spec = this.spec(key, 'enum');
    const e = this.entry(key);
    if (!e) return spec.default as T;
    if (spec.values.includes(e.value)) return e.value as T;
    this.problem(key, `must be one of ${spec.values.join(', ')}, got ${JSON.stringify(e.value)}`);
    return spec.default as T;
  }

  intList(key: string): number[] {
    const spec = this.spec(key, 'int-list');
    const e = this.entry(key);
    if (!e) return spec.default.slice();
    const parts = e.value.split(',').map((s) => s.trim());
    const values = parts.map((s) => (INTEGER.test(s) ? Number(s) : NaN));
    if (values.length === 0 || values.some((v) => !Number.isSafeInteger(v) || v < 1)) {
      this.problem(key, `must be a comma-separated list of positive integers, got ${JSON.stringify(e.value)}`);
      return spec.default.slice();
    }
    const repeated = values.find((v, i) => values.indexOf(v) !== i);
    if (repeated !== undefined) {
      this.problem(key, `must list each value at most once, got ${JSON.stringify(e.value)}: ${repeated} repeated`);
      return spec.default.slice();
    }
    return values;
  }

  enumList<T extends string>(key: string): T[] {
    const spec = this.spec(key, 'enum-list');
    const e = this.entry(key);
    if (!e) return spec.default.slice() as T[];
    if (spec.none === true && e.value.trim() === 'none') return [];
    const parts = e.value.split(',').map((s) => s.trim());
    const bad = parts.filter((p) => !spec.values.includes(p));
    const repeated = spec.repeats === true ? [] : parts.filter((p, i) => parts.indexOf(p) !== i);
    if (e.value.trim() === '' || bad.length > 0 || repeated.length > 0) {
      const why =
        e.value.trim() === '' ? 'empty' : bad.length > 0 ? `unknown ${bad.map((b) => JSON.stringify(b)).join(', ')}` : repeated.length > 0 ? `${JSON.stringify(repeated[0])} repeated` : 'empty';
      const each = spec.repeats === true ? '' : ' (each at most once)';
      const orNone = spec.none === true ? ', or none' : '';
      this.problem(key, `must be a comma-separated list of ${spec.values.join(', ')}${each}${orNone}, got ${JSON.stringify(e.value)}: ${why}`);
      return spec.default.slice() as T[];
    }
    return parts as T[];
  }

  /** Comma-separated paths, each absolute (relative ones resolve against the config's folder); [] when unset or none. */
  pathList(key: string): string[] {
    this.spec(key, 'path-list');
    const e = this.entry(key);
    if (!e || e.value.trim() === 'none') return [];
    const parts = e.value.split(',').map((s) => s.trim());
    if (parts.some((p) => p === '')) {
      this.problem(key, `must be a comma-separated list of paths (or none), got ${JSON.stringify(e.value)}: an empty entry`);
      return [];
    }
    return parts.map((p) => path.resolve(this.baseDir, p));
  }

  /** A redis:// or rediss:// URL (checked in full where it is used, lib/queue/connection.ts), or null when unset. */
  url(key: string): string | null {
    this.spec(key, 'url');
    const e = this.entry(key);
    if (!e || e.value === '') return null;
    if (!/^rediss?:\/\/\S+$/.test(e.value)) {
      this.problem(key, `must be a Redis URL like redis://HOST:PORT, got ${JSON.stringify(e.value)}`);
      return null;
    }
    return e.value;
  }

  /** An absolute path (relative ones resolve against the config's folder), or null when unset or empty. */
  path(key: string): string | null {
    const spec = this.spec(key, 'path');
    const e = this.entry(key);
    if (!e || e.value === '') {
      if (spec.required) {
        this.problems.push({
          line: e?.line,
          section: this.name,
          key,
          message: e
            ? `[${this.name}] ${key} must be a path, got an empty value`
            : `[${this.name}] is missing required key "${key}" (${spec.doc})${this.raw ? ` — section starts on line ${this.raw.line}` : ''}`,
        });
      }
      return null;
    }
    return path.resolve(this.baseDir, e.value);
  }

  /** Reports a problem when the path set for `key` is not an existing file (or folder, when `folder`). */
  checkExists(key: string, p: string | null, what: 'file' | 'folder' = 'file'): void {
    if (p === null) return;
    let stat: fs.Stats | null = null;
    try {
      stat = fs.statSync(p);
    } catch {
      stat = null;
    }
    if (stat === null) this.problem(key, `${what} not found: ${p}`);
    else if (what === 'file' && !stat.isFile()) this.problem(key, `is not a file: ${p}`);
    else if (what === 'folder' && !stat.isDirectory()) this.problem(key, `is not a folder: ${p}`);
  }
}

// ---------------------------------------------------------------------------
// Loading
// ---------------------------------------------------------------------------

/**
 * Reads, checks and types `file`. Throws ConfigError listing every problem
 * (each naming the file, the line and the key), or an Error when the file
 * cannot be read at all.
 */
export function loadConfig(file: string, options: LoadConfigOptions = {}): Config {
  if (typeof file !== 'string' || file.length === 0) {
    throw new TypeError(`Expected a non-empty string for config path but received ${JSON.stringify(file)}`);
  }
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new Error(`config file not found at ${file}`);
    if (code === 'EISDIR') throw new Error(`config path ${file} is a directory, expected a .ini file`);
    throw new Error(`cannot read config file ${file}: ${(err as Error).message}`);
  }
  return parseConfig(text, file, options);
}

/**
 * Checks and types the text of a config file. `file` names it in messages and
 * its folder is the base of relative paths (the file itself need not exist).
 */
export function parseConfig(text: string, file: string, options: LoadConfigOptions = {}): Config {
  const checkPaths = options.checkPaths ?? true;
  const absFile = path.resolve(file);
  const baseDir = path.dirname(absFile);
  const problems: ConfigProblem[] = [];
  const lines: Record<string, number> = {};
  const raw = scanLines(text, problems);

  for (const name of REQUIRED_SECTIONS) {
    if (!raw.has(name) && !problems.some((p) => p.section === name)) {
      const required = Object.entries(CONFIG_SCHEMA[name]).filter(([, s]) => s.type === 'path' && s.required).map(([k]) => k);
      problems.push({ section: name, message: `missing section [${name}] (it needs keys ${required.join(', ')})` });
    }
  }
  const reader = (name: string) => new SectionReader(name, raw.get(name), baseDir, problems, lines);

  // [data]
  const d = reader('data');
  const train = d.path('train');
  const evalPath = d.path('eval');
  const unlabeled = d.path('unlabeled');
  const classId = d.path('class_id');
  const vocab = d.path('vocab') ?? path.join(baseDir, 'vocab.txt');
  const test = d.path('test');
  const cleanedTrain = d.path('cleaned_train') ?? (train !== null ? cleanedNameFor(train) : '');
  if (checkPaths) {
    d.checkExists('train', train);
    d.checkExists('eval', evalPath);
    d.checkExists('unlabeled', unlabeled);
    d.checkExists('class_id', classId);
    d.checkExists('test', test);
    if (d.has('vocab') && fs.existsSync(vocab) && !fs.statSync(vocab).isFile()) d.problem('vocab', `is not a file: ${vocab}`);
  }
  if (train !== null && cleanedTrain === train) d.problem('cleaned_train', `must differ from [data] train (the original is never overwritten)`);
  const data: DataConfig = {
    train: train ?? '',
    eval: evalPath ?? '',
    unlabeled,
    class_id: classId,
    vocab,
    vocab_exists: fs.existsSync(vocab),
    test,
    cleaned_train: cleanedTrain,
  };

  // [model]
  const m = reader('model');
  const modelDir = m.path('dir');
  const model: ModelConfig = {
    dir: modelDir ?? '',
    max_length: m.int('max_length') as number,
    students: m.enumList<StudentKind>('students'),
  };
  if (modelDir !== null && fs.existsSync(modelDir) && !fs.statSync(modelDir).isDirectory()) m.problem('dir', `is not a folder: ${modelDir}`);

  // [train] before the students: their learning rates default to it.
  const t = reader('train');
  const threads = t.int('threads') as number;
  const trainCfg: TrainConfig = {
    epochs: t.int('epochs') as number,
    batch_size: t.int('batch_size') as number,
    learning_rate: t.number('learning_rate') as number,
    threads: threads === 0 ? availableCores() : threads,
    seed: t.int('seed') as number,
    optimizer: t.enumValue<OptimizerKind>('optimizer'),
    weight_decay: t.number('weight_decay') as number,
    warmup: t.number('warmup') as number,
    lr_decay: t.enumValue<LrDecay>('lr_decay'),
    clip_norm: t.number('clip_norm') as number,
  };

  // [textcnn], [gru]
  const c = reader('textcnn');
  const cnnVectors = c.path('pretrained_vectors');
  const textcnn: TextCnnConfig = {
    embedding_dim: embeddingDim(c, cnnVectors, checkPaths),
    windows: c.intList('windows'),
    filters: c.int('filters') as number,
    dropout: c.number('dropout') as number,
    pretrained_vectors: cnnVectors,
    learning_rate: c.number('learning_rate') ?? trainCfg.learning_rate,
  };
  if (textcnn.windows.some((w) => w > model.max_length)) {
    c.problem('windows', `has a window wider than [model] max_length = ${model.max_length}: ${textcnn.windows.join(',')}`);
  }
  const g = reader('gru');
  const gruVectors = g.path('pretrained_vectors');
  const gru: GruConfig = {
    embedding_dim: embeddingDim(g, gruVectors, checkPaths),
    hidden: g.int('hidden') as number,
    bidirectional: g.bool('bidirectional') as boolean,
    dropout: g.number('dropout') as number,
    pretrained_vectors: gruVectors,
    learning_rate: g.number('learning_rate') ?? trainCfg.learning_rate,
  };

  // [teacher]
  const te = reader('teacher');
  const kind = te.enumValue<TeacherKind>('kind');
  let teacherPath = te.path('path');
  let teacherVocab = te.path('vocab');
  const initCheckpoint = te.path('init_checkpoint');
  if (kind === 'onnx') {
    if (teacherPath === null) {
      problems.push({
        line: te.lineOf('kind'),
        section: 'teacher',
        key: 'path',
        message: `[teacher] kind = onnx needs "path" (the .onnx file) in [teacher]`,
      });
    } else {
      if (teacherVocab === null) teacherVocab = path.join(path.dirname(teacherPath), 'vocab.txt');
      if (checkPaths) {
        te.checkExists('path', teacherPath);
        if (!te.has('vocab') && !fs.existsSync(teacherVocab)) {
          te.problem('path', `: the ONNX teacher needs its vocab.txt, not found at ${teacherVocab} (set [teacher] vocab)`);
        } else te.checkExists('vocab', teacherVocab);
      }
    }
  } else {
    for (const key of ['path', 'vocab'] as const) {
      if (te.has(key)) te.problem(key, `is only used with kind = onnx (kind is ${kind}); remove it or set kind = onnx`);
    }
    teacherPath = null;
    teacherVocab = null;
  }
  if (kind !== 'native' && initCheckpoint !== null) {
    te.problem('init_checkpoint', `is only used with kind = native (kind is ${kind}): only the native transformer fine-tunes from a checkpoint; remove it or set kind = native`);
  }
  if (checkPaths && kind === 'native') te.checkExists('init_checkpoint', initCheckpoint, 'folder');
  const teacher: TeacherConfig = {
    kind,
    path: teacherPath,
    vocab: teacherVocab,
    layers: te.int('layers') as number,
    hidden: te.int('hidden') as number,
    heads: te.int('heads') as number,
    intermediate: te.int('intermediate') as number,
    max_length: te.int('max_length') ?? model.max_length,
    dropout: te.number('dropout') as number,
    epochs: te.int('epochs') as number,
    learning_rate: te.number('learning_rate') as number,
    batch_size: te.int('batch_size') as number,
    weight_decay: te.number('weight_decay') as number,
    warmup: te.number('warmup') as number,
    pretrain: te.enumValue<PretrainKind>('pretrain'),
    mlm_epochs: te.int('mlm_epochs') as number,
    mlm_learning_rate: te.number('mlm_learning_rate') as number,
    mlm_batch_size: te.int('mlm_batch_size') as number,
    mlm_mask_prob: te.number('mlm_mask_prob') as number,
    mlm_warmup: te.number('mlm_warmup') as number,
    mlm_max_steps: te.int('mlm_max_steps') as number,
    init_checkpoint: initCheckpoint,
    pretrained_vectors: te.path('pretrained_vectors'),
    ensemble: te.enumList<StudentKind>('ensemble'),
    ensemble_vectors: te.path('ensemble_vectors'),
    ensemble_embedding_dim: null,
    ensemble_epochs: te.int('ensemble_epochs') ?? trainCfg.epochs,
    ensemble_models: te.pathList('ensemble_models'),
  };
  const memberCount = teacher.ensemble.length + teacher.ensemble_models.length;
  if (memberCount > MAX_ENSEMBLE_MEMBERS) {
    const where = teacher.ensemble_models.length === 0 ? `has ${memberCount} members` : `: ensemble and ensemble_models list ${memberCount} members together`;
    te.problem(te.has('ensemble') ? 'ensemble' : 'ensemble_models', `${where}; at most ${MAX_ENSEMBLE_MEMBERS} are allowed`);
  }
  if (checkPaths && teacher.ensemble_models.length > 0) {
    // Lazily: model-folder.ts pulls in the student code, which plain config reading does not need.
    const { readModelFolder } = require('./model-folder') as typeof import('./model-folder');
    for (const folder of teacher.ensemble_models) {
      try {
        readModelFolder(folder);
      } catch (err) {
        te.problem('ensemble_models', `: ${(err as Error).message}`);
      }
    }
  }
  if (teacher.ensemble.length === 0) {
    for (const key of ['ensemble_vectors', 'ensemble_epochs'] as const) {
      if (te.has(key)) te.problem(key, `is only used with [teacher] ensemble (which is ${te.has('ensemble') ? 'none' : 'not set'}); remove it or list the members, e.g. ensemble = textcnn`);
    }
  } else if (teacher.ensemble_vectors !== null && checkPaths) {
    te.checkExists('ensemble_vectors', teacher.ensemble_vectors);
    if (fs.existsSync(teacher.ensemble_vectors)) {
      try {
        teacher.ensemble_embedding_dim = readWord2VecHeader(teacher.ensemble_vectors).dim;
      } catch (err) {
        te.problem('ensemble_vectors', `: ${(err as Error).message}`);
      }
    }
  }
  if (teacher.hidden % teacher.heads !== 0) {
    te.problem(te.has('heads') ? 'heads' : 'hidden', `: hidden = ${teacher.hidden} must be a multiple of heads = ${teacher.heads}`);
  }
  if (teacher.pretrain === 'mlm' && kind !== 'native') te.problem('pretrain', `= mlm needs kind = native (kind is ${kind})`);
  if (teacher.pretrained_vectors !== null) {
    if (kind !== 'native') {
      te.problem('pretrained_vectors', `is only used with kind = native (kind is ${kind}): it starts the native transformer's word embeddings; remove it or set kind = native`);
    } else if (initCheckpoint !== null || teacher.pretrain === 'mlm') {
      te.problem('pretrained_vectors', `cannot be combined with ${initCheckpoint !== null ? 'init_checkpoint' : 'pretrain = mlm'} (the word embeddings come from there); remove one of them`);
    } else if (checkPaths) {
      te.checkExists('pretrained_vectors', teacher.pretrained_vectors);
      if (fs.existsSync(teacher.pretrained_vectors)) {
        try {
          const { dim } = readWord2VecHeader(teacher.pretrained_vectors);
          if (dim !== teacher.hidden) {
            te.problem('pretrained_vectors', `: ${teacher.pretrained_vectors} has ${dim}-dimensional vectors but [teacher] hidden is ${teacher.hidden}; set hidden = ${dim} (and heads to a divisor of it)`);
          }
        } catch (err) {
          te.problem('pretrained_vectors', `: ${(err as Error).message}`);
        }
      }
    }
  }

  // [distill]
  const ds = reader('distill');
  const enabledSet = ds.bool('enabled');
  const useUnlabeledSet = ds.bool('use_unlabeled');
  const distill: DistillConfig = {
    enabled: enabledSet ?? (kind !== 'none' || memberCount > 0),
    use_unlabeled: false,
    temperature: ds.number('temperature') as number,
    alpha: ds.number('alpha') as number,
    loss: ds.enumValue<DistillLoss>('loss'),
    unlabeled_limit: ds.int('unlabeled_limit') as number,
    epochs: ds.int('epochs') ?? trainCfg.epochs,
    pool_epochs: 0,
    queue: ds.url('queue'),
  };
  distill.pool_epochs = ds.int('pool_epochs') ?? distill.epochs;
  distill.use_unlabeled = distill.enabled && (useUnlabeledSet ?? unlabeled !== null);
  if (enabledSet === true && kind === 'none' && memberCount === 0) {
    ds.problem('enabled', `= true needs a teacher, but [teacher] kind is none and neither ensemble nor ensemble_models is set (set kind = native or onnx, or ensemble = textcnn, or enabled = false)`);
  }
  if (useUnlabeledSet === true && unlabeled === null) {
    ds.problem('use_unlabeled', `= true needs [data] unlabeled (the pool), which is not set`);
  }

  // [labels]
  const l = reader('labels');
  const labels: LabelsConfig = {
    folds: l.int('folds') as number,
    repeats: l.int('repeats') as number,
    filter: l.enumValue<LabelFilter>('filter'),
    rank_by: l.enumValue<LabelRankBy>('rank_by'),
    model: l.enumList<LabelModel>('model'),
  };
  if (labels.model.includes('teacher') && kind === 'none') l.problem('model', `= teacher needs a teacher, but [teacher] kind is none`);

  if (problems.length > 0) {
    problems.sort((a, b) => (a.line ?? Infinity) - (b.line ?? Infinity));
    throw new ConfigError(file, problems);
  }
  return { file: absFile, data, model, textcnn, gru, train: trainCfg, teacher, distill, labels, lines };
}

/** Upper bound on [teacher] ensemble + ensemble_models members (each scores every text). */
export const MAX_ENSEMBLE_MEMBERS = 16;

/** True when the config has a teacher: a transformer / ONNX model, ensemble members, or both. */
export function hasTeacher(config: Pick<Config, 'teacher'>): boolean {
  return config.teacher.kind !== 'none' || hasEnsemble(config);
}

/** True when the teacher averages members: [teacher] ensemble, ensemble_models, or both. */
export function hasEnsemble(config: Pick<Config, 'teacher'>): boolean {
  return config.teacher.ensemble.length > 0 || config.teacher.ensemble_models.length > 0;
}

/** `reviews.tsv` -> `reviews.cleaned.tsv`, beside it. */
function cleanedNameFor(train: string): string {
  const ext = path.extname(train);
  return path.join(path.dirname(train), `${path.basename(train, ext)}.cleaned${ext || '.tsv'}`);
}

/**
 * The embedding size of a student: the vectors file's dimension when it has
 * one (an explicit different embedding_dim is an error), else the key, else 128.
 */
function embeddingDim(r: SectionReader, vectors: string | null, checkPaths: boolean): number {
  const explicit = r.int('embedding_dim');
  if (vectors === null || !checkPaths) return explicit ?? DEFAULT_EMBEDDING_DIM;
  r.checkExists('pretrained_vectors', vectors);
  let dim: number;
  try {
    dim = readWord2VecHeader(vectors).dim;
  } catch (err) {
    if (fs.existsSync(vectors)) r.problem('pretrained_vectors', `: ${(err as Error).message}`);
    return explicit ?? DEFAULT_EMBEDDING_DIM;
  }
  if (explicit !== null && explicit !== dim) {
    r.problem('embedding_dim', `= ${explicit} but pretrained_vectors has dimension ${dim} (${vectors}); remove embedding_dim or set it to ${dim}`);
  }
  return dim;
}

function availableCores(): number {
  const fn = (os as { availableParallelism?: () => number }).availableParallelism;
  return Math.max(1, fn ? fn() : os.cpus().length);
}

// ---------------------------------------------------------------------------
// Runs
// ---------------------------------------------------------------------------

/** The uniqid that `${time}` stands for. */
export const TIME_UNIQID = '${time}';

/**
 * The name of a run: absent -> "default"; the literal "${time}" -> the local
 * date as YYYYMMDD; anything else as given, as long as it is one safe folder
 * name (no "/" or "\", not "." or "..", not empty, no control characters).
 */
export function resolveUniqid(arg?: string, now: Date = new Date()): string {
  if (arg === undefined) return 'default';
  if (typeof arg !== 'string') throw new TypeError(`Expected a string for uniqid but received ${typeof arg}`);
  if (arg === TIME_UNIQID) {
    const pad = (n: number) => String(n).padStart(2, '0');
    return `${now.getFullYear()}${pad(now.getMonth() + 1)}${pad(now.getDate())}`;
  }
  if (arg.trim() === '') {
    throw new Error(
      `uniqid is empty; give a run name, leave it out for "default", or pass '\${time}' in single quotes ` +
        `(unquoted, the shell replaces \${time} with nothing)`,
    );
  }
  if (arg.includes('/') || arg.includes('\\')) {
    throw new Error(`uniqid ${JSON.stringify(arg)} contains a path separator; it must be a single folder name`);
  }
  if (arg === '.' || arg === '..') throw new Error(`uniqid ${JSON.stringify(arg)} is not allowed; it must name a folder of its own`);
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(arg)) throw new Error(`uniqid ${JSON.stringify(arg)} contains a control character`);
  return arg;
}

/** The folder of a run: `<model.dir>/<uniqid>` (absolute). */
export function runDir(config: Config, uniqid: string): string {
  if (resolveUniqid(uniqid) !== uniqid || uniqid === TIME_UNIQID) {
    throw new Error(`runDir() takes a resolved uniqid (from resolveUniqid), got ${JSON.stringify(uniqid)}`);
  }
  return path.join(config.model.dir, uniqid);
}

// ---------------------------------------------------------------------------
// Saving the resolved config beside a run
// ---------------------------------------------------------------------------

export const RESOLVED_CONFIG_FORMAT = 'model-distill-resolved-config';
export const RESOLVED_CONFIG_VERSION = 1;

/** Every value of `config`, defaults filled and paths absolute, as pretty JSON (with a final newline). */
export function resolvedConfigJson(config: Config, extra: { uniqid?: string } = {}): string {
  const out = {
    format: RESOLVED_CONFIG_FORMAT,
    version: RESOLVED_CONFIG_VERSION,
    source: config.file,
    ...(extra.uniqid !== undefined ? { uniqid: extra.uniqid } : {}),
    data: config.data,
    model: config.model,
    textcnn: config.textcnn,
    gru: config.gru,
    train: config.train,
    teacher: config.teacher,
    distill: config.distill,
    labels: config.labels,
  };
  return JSON.stringify(out, null, 2) + '\n';
}

/** Writes resolvedConfigJson() to `target` atomically (temp file in the same folder, then rename). */
export function writeResolvedConfig(config: Config, target: string, extra: { uniqid?: string } = {}): void {
  fs.mkdirSync(path.dirname(target), { recursive: true });
  const temp = `${target}.tmp-${process.pid}-${Date.now()}`;
  try {
    fs.writeFileSync(temp, resolvedConfigJson(config, extra));
    fs.renameSync(temp, target);
  } catch (err) {
    fs.rmSync(temp, { force: true });
    throw err;
  }
}
