/**
 * The schema: every section and key a config.ini may hold, with its type,
 * limits, default and documentation. examples/config.ini documents the same
 * keys for users; a test checks the two agree.
 */
import { STUDENT_KINDS } from './types';

export type KeySpec =
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
    kind: {
      type: 'enum',
      values: ['auto', 'native', 'onnx', 'none'],
      default: 'none',
      doc: 'where the teacher comes from (auto: the measured default recipe, see DEFAULT_TEACHER_ENSEMBLE)',
    },
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
    check_teacher: { type: 'bool', default: true, doc: 'train the first student alone too and compare the teacher with it on eval' },
    teacher_margin: { type: 'number', min: 0, max: 1, maxExclusive: true, default: 0, doc: 'eval accuracy the teacher must beat the student alone by (more than)' },
    require_better_teacher: { type: 'bool', default: false, doc: 'when the teacher does not beat the student alone by teacher_margin, keep the students trained alone' },
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
export const REQUIRED_SECTIONS = ['data', 'model'];

/** The embedding size when neither the file nor pretrained vectors say. */
export const DEFAULT_EMBEDDING_DIM = 128;

/**
 * The members of [teacher] kind = auto when no init_checkpoint or ONNX file is given: two
 * TextCNNs and two GRUs (with [teacher] ensemble_vectors when set). Of every offline teacher
 * measured (docs/results.md), ensembles of such members were the strongest for their cost;
 * a transformer from random weights ended below TextCNN alone on every data set tried.
 */
export const DEFAULT_TEACHER_ENSEMBLE = ['textcnn', 'textcnn', 'gru', 'gru'] as const;

/** Upper bound on [teacher] ensemble + ensemble_models members (each scores every text). */
export const MAX_ENSEMBLE_MEMBERS = 16;
