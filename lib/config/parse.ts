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

import { readWord2VecHeader } from '../vectors';
import { ConfigError, type ConfigProblem } from './errors';
import { CONFIG_SCHEMA, DEFAULT_EMBEDDING_DIM, DEFAULT_TEACHER_ENSEMBLE, MAX_ENSEMBLE_MEMBERS, REQUIRED_SECTIONS } from './schema';
import { scanLines } from './scan';
import { SectionReader } from './section-reader';
import type { Config, DataConfig, DistillConfig, DistillLoss, GruConfig, LabelFilter, LabelModel, LabelRankBy, LabelsConfig, LoadConfigOptions, LrDecay, ModelConfig, OptimizerKind, PretrainKind, StudentKind, TeacherConfig, TeacherKind, TextCnnConfig, TrainConfig } from './types';

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
  const ctx: ParseContext = {
    checkPaths,
    baseDir,
    problems,
    reader: (name: string) => new SectionReader(name, raw.get(name), baseDir, problems, lines),
  };

  // The order matters: later sections default to earlier ones ([train] learning_rate for the
  // students, [model] max_length for the teacher, the teacher for [distill] enabled).
  const data = readData(ctx);
  const model = readModel(ctx);
  const train = readTrain(ctx);
  const textcnn = readTextCnn(ctx, model, train);
  const gru = readGru(ctx, train);
  // Read before [teacher]: "[distill] enabled = true" with no [teacher] kind asks for the
  // default teacher (kind = auto), and [distill]'s own default follows the teacher.
  const distillEnabled = ctx.reader('distill').bool('enabled');
  const teacher = readTeacher(ctx, model, train, distillEnabled === true);
  const distill = readDistill(ctx, data, train, teacher, distillEnabled);
  const labels = readLabels(ctx, teacher);

  if (problems.length > 0) {
    problems.sort((a, b) => (a.line ?? Infinity) - (b.line ?? Infinity));
    throw new ConfigError(file, problems);
  }
  return { file: absFile, data, model, textcnn, gru, train, teacher, distill, labels, lines };
}

/** What every section reader needs: the options, the config's folder, the shared problem list. */
interface ParseContext {
  checkPaths: boolean;
  baseDir: string;
  problems: ConfigProblem[];
  reader: (section: string) => SectionReader;
}

/** [data]: the example files, checked to exist. */
function readData({ checkPaths, baseDir, reader }: ParseContext): DataConfig {
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
  return data;
}

/** [model]: the runs folder, the text length, the students to train. */
function readModel({ reader }: ParseContext): ModelConfig {
  const m = reader('model');
  const modelDir = m.path('dir');
  const model: ModelConfig = {
    dir: modelDir ?? '',
    max_length: m.int('max_length') as number,
    students: m.enumList<StudentKind>('students'),
  };
  if (modelDir !== null && fs.existsSync(modelDir) && !fs.statSync(modelDir).isDirectory()) m.problem('dir', `is not a folder: ${modelDir}`);
  return model;
}

/** [train]: the students' optimisation. */
function readTrain({ reader }: ParseContext): TrainConfig {
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
  return trainCfg;
}

/** [textcnn]: its learning rate defaults to [train]'s; no window may be wider than max_length. */
function readTextCnn({ checkPaths, reader }: ParseContext, model: ModelConfig, trainCfg: TrainConfig): TextCnnConfig {
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
  return textcnn;
}

/** [gru]: its learning rate defaults to [train]'s. */
function readGru({ checkPaths, reader }: ParseContext, trainCfg: TrainConfig): GruConfig {
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
  return gru;
}

/**
 * [teacher]: which teacher (native transformer, ONNX file, none), its sizes and
 * schedules, and the ensemble members; keys that only apply to another kind are errors.
 */
function readTeacher({ checkPaths, problems, reader }: ParseContext, model: ModelConfig, trainCfg: TrainConfig, distillAsked: boolean): TeacherConfig {
  const te = reader('teacher');
  const requested = te.enumValue<TeacherKind | 'auto'>('kind');
  let teacherPath = te.path('path');
  let teacherVocab = te.path('vocab');
  const initCheckpoint = te.path('init_checkpoint');
  let ensemble = te.enumList<StudentKind>('ensemble');
  const ensembleModels = te.pathList('ensemble_models');
  const auto = requested === 'auto' || (distillAsked && !te.has('kind') && ensemble.length === 0 && ensembleModels.length === 0);
  let kind: TeacherKind;
  if (auto) {
    // The default recipe: a checkpoint or an ONNX file when the user has one, else the
    // members that measured strongest offline (unless the file lists its own).
    kind = initCheckpoint !== null ? 'native' : teacherPath !== null ? 'onnx' : 'none';
    if (kind === 'none' && ensemble.length === 0 && !te.has('ensemble')) ensemble = [...DEFAULT_TEACHER_ENSEMBLE];
  } else {
    kind = requested as TeacherKind;
  }
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
      if (te.has(key)) te.problem(key, `is only used with kind = onnx (kind is ${kindShown(kind, auto)}); remove it or set kind = onnx`);
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
    auto,
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
    ensemble,
    ensemble_vectors: te.path('ensemble_vectors'),
    ensemble_embedding_dim: null,
    ensemble_epochs: te.int('ensemble_epochs') ?? trainCfg.epochs,
    ensemble_models: ensembleModels,
  };
  checkEnsemble(te, teacher, checkPaths);
  checkTeacherVectors(te, teacher, checkPaths);
  return teacher;
}

/** The teacher kind as an error names it: what the file said, and for auto what it became. */
function kindShown(kind: TeacherKind, auto: boolean): string {
  if (!auto) return kind;
  return kind === 'none' ? 'auto, which without init_checkpoint or path is an ensemble of members' : `auto, here ${kind}`;
}

/** The ensemble members: how many, the saved model folders readable, the members' vectors file. */
function checkEnsemble(te: SectionReader, teacher: TeacherConfig, checkPaths: boolean): void {
  const memberCount = teacher.ensemble.length + teacher.ensemble_models.length;
  if (memberCount > MAX_ENSEMBLE_MEMBERS) {
    const where = teacher.ensemble_models.length === 0 ? `has ${memberCount} members` : `: ensemble and ensemble_models list ${memberCount} members together`;
    te.problem(te.has('ensemble') ? 'ensemble' : 'ensemble_models', `${where}; at most ${MAX_ENSEMBLE_MEMBERS} are allowed`);
  }
  if (checkPaths && teacher.ensemble_models.length > 0) {
    // Lazily: model-folder.ts pulls in the student code (and the addon), which plain config reading does not need.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { readModelFolder } = require('../model-folder') as typeof import('../model-folder');
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
}

/** The transformer's shape (hidden a multiple of heads), MLM pretraining and pretrained word vectors. */
function checkTeacherVectors(te: SectionReader, teacher: TeacherConfig, checkPaths: boolean): void {
  const { kind } = teacher;
  const initCheckpoint = teacher.init_checkpoint;
  if (teacher.hidden % teacher.heads !== 0) {
    te.problem(te.has('heads') ? 'heads' : 'hidden', `: hidden = ${teacher.hidden} must be a multiple of heads = ${teacher.heads}`);
  }
  if (teacher.pretrain === 'mlm' && kind !== 'native') te.problem('pretrain', `= mlm needs kind = native (kind is ${kindShown(kind, teacher.auto)})`);
  if (teacher.pretrained_vectors !== null) {
    if (kind !== 'native') {
      te.problem('pretrained_vectors', `is only used with kind = native (kind is ${kindShown(kind, teacher.auto)}): it starts the native transformer's word embeddings; remove it or set kind = native`);
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

}

/** [distill]: on when there is a teacher, on the unlabelled pool when there is one. */
function readDistill({ reader }: ParseContext, data: DataConfig, trainCfg: TrainConfig, teacher: TeacherConfig, enabledSet: boolean | null): DistillConfig {
  const { kind } = teacher;
  const { unlabeled } = data;
  const memberCount = teacher.ensemble.length + teacher.ensemble_models.length;
  const ds = reader('distill');
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
    check_teacher: ds.bool('check_teacher') as boolean,
    teacher_margin: ds.number('teacher_margin') as number,
    require_better_teacher: ds.bool('require_better_teacher') as boolean,
  };
  distill.pool_epochs = ds.int('pool_epochs') ?? distill.epochs;
  distill.use_unlabeled = distill.enabled && (useUnlabeledSet ?? unlabeled !== null);
  if (enabledSet === true && kind === 'none' && memberCount === 0) {
    ds.problem('enabled', `= true needs a teacher, but [teacher] kind is none and neither ensemble nor ensemble_models is set (set kind = native or onnx, or ensemble = textcnn, or enabled = false)`);
  }
  if (distill.require_better_teacher && !distill.check_teacher) {
    ds.problem('require_better_teacher', `= true needs check_teacher = true (the student trained alone is what the teacher is compared with)`);
  }
  if (useUnlabeledSet === true && unlabeled === null) {
    ds.problem('use_unlabeled', `= true needs [data] unlabeled (the pool), which is not set`);
  }

  return distill;
}

/** [labels]: the wrong-label search; model = teacher needs a teacher. */
function readLabels({ reader }: ParseContext, teacher: TeacherConfig): LabelsConfig {
  const l = reader('labels');
  const labels: LabelsConfig = {
    folds: l.int('folds') as number,
    repeats: l.int('repeats') as number,
    filter: l.enumValue<LabelFilter>('filter'),
    rank_by: l.enumValue<LabelRankBy>('rank_by'),
    model: l.enumList<LabelModel>('model'),
  };
  if (labels.model.includes('teacher') && teacher.kind === 'none') l.problem('model', `= teacher needs a teacher, but [teacher] kind is none`);
  return labels;
}

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
