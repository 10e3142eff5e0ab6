/**
 * The typed result of reading a config.ini: one interface per section, the
 * whole Config, the student kinds, and the options of loading it. See parse.ts
 * for how a file becomes a Config.
 */

// One model-kind type for the whole package: the students are lib/student/types.ts's.
import { STUDENT_KINDS, type StudentKind } from '../student/types';
export { STUDENT_KINDS, type StudentKind };

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
  /** The teacher this run uses; [teacher] kind = auto is resolved to native / onnx / none (+ ensemble) here. */
  kind: TeacherKind;
  /**
   * true when the file asked for the default recipe ([teacher] kind = auto, or [distill]
   * enabled = true with no kind): init_checkpoint -> native, path -> onnx, otherwise the
   * DEFAULT_TEACHER_ENSEMBLE members (schema.ts) as the teacher.
   */
  auto: boolean;
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
  /** Train the first student alone too and compare the teacher with it on eval (teacher-check.ts). */
  check_teacher: boolean;
  /** Eval accuracy (0..1) the teacher must beat the student alone by. */
  teacher_margin: number;
  /** When the teacher does not beat the student alone by teacher_margin: keep the students trained alone. */
  require_better_teacher: boolean;
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
