/**
 * Steps 2 and 3 of `train`: the teacher, and the soft labels it gives the
 * students. The pipeline is
 *
 *   data -> teacher -> soft labels (train rows, and the pool when distilling
 *   with it) -> students
 *
 * Teachers this version runs:
 *   none    the students train on the labelled rows alone;
 *   native  a BERT-style transformer (native/core/transformer.h) fine-tuned from
 *           random weights on the labelled rows with the [teacher] settings
 *           (AdamW, warmup then linear decay, weight decay, clipping at 1.0 as
 *           BERT, best epoch on the eval rows), saved as <run>/teacher/.
 *           Its rows are [CLS] pieces [SEP] over the students' vocabulary.
 *           A rerun whose teacher settings and data are unchanged reuses the
 *           saved teacher (its training info holds a fingerprint of both).
 *           With [teacher] init_checkpoint = folder it starts instead from a
 *           pretrained BERT/ERNIE checkpoint (checkpoint-import.ts): the
 *           checkpoint's architecture, weights and vocab.txt (its rows are then
 *           [CLS] pieces [SEP] over that vocabulary), a fresh classifier head.
 *   onnx    a classifier exported elsewhere, run in onnxruntime-node
 *           (onnx-teacher.ts) with its own vocab.txt; nothing is trained.
 *   native with [teacher] pretrain = mlm: first masked-LM pre-training of the
 *           same transformer on the train texts + the pool (pretrain.ts, into
 *           <run>/pretrain/, resumed from its checkpoint or reused when already
 *           finished with the same settings and data; also `model-distill
 *           pretrain`), then fine-tuning from those weights. The pre-trained
 *           encoder's sha256 is part of the teacher's fingerprint.
 *   + [teacher] ensemble = textcnn[,gru,...]: small members trained on the
 *           labelled rows (ensemble.ts, saved in <run>/teacher/members/<name>/),
 *           whose log-softmax is averaged with the model's above (or, with
 *           kind = none, with each other's): the reference system's teacher was
 *           such an average of a TextCNN with pretrained vectors and ERNIE.
 *
 * Soft labels: the teacher's logits for every train text and pool text, read
 * from / written to the soft-label cache (soft-label-cache.ts) in the run
 * folder, keyed by the text's sha256 and the teacher's weights hash.
 */
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';

import { configProblem, hasEnsemble, type Config } from '../config';
import { newPoolStats, streamLineBatches } from '../data';
import { formatCount, formatDuration, Progress, type ProgressWriter } from '../progress';
import type { EncodedRows, NativeStudent, StudentTrainOptions, TransformerSpec } from '../student';
import type { Tokenizer } from '../tokenizer';
import { epochProgressHooks } from './epoch-progress';
import { PoolLogitsWriter, type PoolSoftLabels } from './pool-stream';
import { fillEmptyRows, type PreparedData } from './prepare-data';
import type { RunLog } from './run-log';
import { fileSha256, SoftLabelCache, textKey } from './soft-label-cache';

/** The teacher kinds this version can run. */
const IMPLEMENTED_TEACHERS: ReadonlySet<string> = new Set(['none', 'native', 'onnx']);
const TEACHER_ISSUE: Record<string, string> = { onnx: 'issues 4 and 5' };

export const TEACHER_DIR = 'teacher';
export const SOFT_LABEL_CACHE_FILE = 'soft-labels.cache';
/** BERT's fine-tuning clips the global gradient norm at 1.0; [teacher] has no key for it. */
const TEACHER_CLIP_NORM = 1.0;
/** Texts per teacher forward call while scoring (bounded memory, regular cache writes). */
const SCORE_BATCH = 256;
/** Pool texts read per batch from the file. */
const POOL_READ_BATCH = 2048;

/**
 * Fails fast, before any data is read, when the config asks for a teacher this
 * version does not have. The error points at the config line.
 */
export function checkTeacherSupported(config: Config): void {
  const t = config.teacher;
  if (!IMPLEMENTED_TEACHERS.has(t.kind)) {
    throw configProblem(
      config,
      'teacher',
      'kind',
      `= ${t.kind} is not implemented yet (${TEACHER_ISSUE[t.kind] ?? 'a later issue'}); set kind = native (a transformer trained here) or kind = none`,
    );
  }
  if (t.kind === 'onnx') {
    // A missing onnxruntime-node (an optional peer dependency) fails now, not after the data step.
    (require('./onnx-teacher') as typeof import('./onnx-teacher')).loadOnnxRuntime();
  }
  if (t.kind === 'native' && t.pretrain === 'mlm' && t.init_checkpoint !== null) {
    throw configProblem(config, 'teacher', 'pretrain', '= mlm pre-trains from random weights and cannot be combined with init_checkpoint (yet); remove one of them');
  }
}

/** Where the teacher came from; recorded in run.json and in each distilled student's folder. */
export interface TeacherIdentity {
  kind: 'native' | 'onnx' | 'ensemble';
  /**
   * sha256 of the teacher's weights.safetensors (onnx: of the .onnx file; ensemble: of
   * the list of its members' names and weight hashes): the key of its soft-label cache.
   */
  weightsSha256: string;
  dir: string;
  /** true when an earlier run's teacher with the same fingerprint was loaded instead of training. */
  reused: boolean;
  /** sha256 of the teacher's settings and data: what decides whether it can be reused. */
  fingerprint: string;
  evalAccuracy: number | null;
  bestEpoch: number;
  /** null for an ONNX teacher (not counted). */
  parameters: number | null;
  /** kind = ensemble: every member (the transformer / ONNX model first, when there is one). */
  members?: TeacherMemberIdentity[];
}

/** One member of an ensemble teacher. */
export interface TeacherMemberIdentity {
  /** "transformer", "onnx", or the member's name from [teacher] ensemble ("textcnn-1", "gru-1", ...). */
  name: string;
  kind: string;
  weightsSha256: string;
  fingerprint: string;
  dir: string;
  reused: boolean;
  bestEpoch: number;
  parameters: number | null;
  /** Measured on the eval rows when the ensemble is assembled. */
  evalAccuracy: number | null;
  evalMacroF1: number | null;
}

/** What scores the texts: the native transformer (NativeStudent) or an OnnxTeacher (onnx-teacher.ts). */
export interface TeacherModel {
  predictLogits(rows: EncodedRows, options: { threads?: number; batchSize?: number }): Promise<Float32Array>;
}

export interface Teacher {
  identity: TeacherIdentity;
  /** The teacher's logits [texts, C] (an ensemble: its members' averaged log-softmax). */
  logits(texts: string[], threads: number): Promise<Float32Array>;
}

/**
 * A teacher of one model: texts become [CLS] pieces [SEP] (at most maxLength ids) with
 * `tokenizer` (the students' one, or a checkpoint's / ONNX model's vocab.txt).
 */
export function singleModelTeacher(identity: TeacherIdentity, model: TeacherModel, tokenizer: Tokenizer, maxLength: number): Teacher {
  return {
    identity,
    logits: async (texts, threads) => model.predictLogits(await encodeForTeacher(tokenizer, texts, maxLength), { threads, batchSize: 64 }),
  };
}

export interface SoftTargets {
  /** [train rows, C] teacher logits for the labelled rows. */
  train: Float32Array;
  /** The pool file and the teacher's logits in pool order (pool-stream.ts; the pool is never held); null without [distill] use_unlabeled. */
  pool: PoolSoftLabels | null;
  teacher: TeacherIdentity;
}

export interface TeacherStepOptions {
  progress: ProgressWriter | false;
  signal?: AbortSignal;
}

/** The teacher's architecture, from [teacher]. */
export function teacherSpec(config: Config, vocabSize: number, numClasses: number): TransformerSpec {
  const t = config.teacher;
  return {
    kind: 'transformer',
    vocabSize,
    numClasses,
    hidden: t.hidden,
    layers: t.layers,
    heads: t.heads,
    intermediate: t.intermediate,
    maxPositions: t.max_length,
    dropout: t.dropout,
    pooler: true,
    seed: config.train.seed,
  };
}

/** The teacher's fine-tuning settings, from [teacher] (threads and seed from [train]). */
export function teacherTrainOptions(config: Config): StudentTrainOptions {
  const t = config.teacher;
  return {
    epochs: t.epochs,
    batchSize: t.batch_size,
    learningRate: t.learning_rate,
    optimizer: 'adamw',
    weightDecay: t.weight_decay,
    warmup: t.warmup,
    lrDecay: 'linear',
    clipNorm: TEACHER_CLIP_NORM,
    threads: config.train.threads,
    seed: config.train.seed,
    keepBest: true,
  };
}

/** Teacher tokenisation: [CLS] pieces [SEP] with the teacher's tokenizer. */
async function encodeForTeacher(tokenizer: Tokenizer, texts: string[], maxLength: number): Promise<EncodedRows> {
  const enc = await tokenizer.encodeBatchAsync(texts, { maxLength, addSpecialTokens: true });
  return { ids: enc.ids, lengths: enc.lengths, maxLength: enc.maxLength };
}

const fmt4 = (x: number | undefined | null) => (x === undefined || x === null ? '-' : x.toFixed(4));

/**
 * Step 2: trains (or reuses) the teacher; null when [teacher] kind = none and there is no
 * ensemble. With [teacher] ensemble, the members are trained (or reused) after the
 * transformer / ONNX model and the teacher returned averages them all (ensemble.ts).
 */
export async function teacherStep(
  config: Config,
  data: PreparedData,
  runFolder: string,
  log: RunLog,
  options: TeacherStepOptions = { progress: false },
): Promise<Teacher | null> {
  checkTeacherSupported(config);
  const hasMembers = hasEnsemble(config);
  if (config.teacher.kind === 'none' && !hasMembers) {
    log.record.teacher = { kind: 'none' };
    log.info('teacher: none ([teacher] kind = none); the students train on the labelled data alone');
    return null;
  }
  let base: Teacher | null = null;
  if (config.teacher.kind === 'onnx') {
    const { onnxTeacherStep } = require('./onnx-teacher') as typeof import('./onnx-teacher');
    base = await onnxTeacherStep(config, data, log);
  } else if (config.teacher.kind === 'native') {
    base = await nativeTeacherStep(config, data, runFolder, log, options);
  } else {
    log.info('teacher: [teacher] kind = none with an ensemble: the teacher is the ensemble members alone');
  }
  if (!hasMembers) return base;
  const { ensembleTeacherStep } = require('./ensemble') as typeof import('./ensemble');
  return ensembleTeacherStep(config, data, runFolder, log, base, options);
}

/** Step 2 for kind = native: fine-tunes (or reuses) the transformer in <run>/teacher/. */
async function nativeTeacherStep(
  config: Config,
  data: PreparedData,
  runFolder: string,
  log: RunLog,
  options: TeacherStepOptions,
): Promise<Teacher> {
  const { NativeStudent } = require('../student') as typeof import('../student');
  const { saveModelFolder, loadStudentFromFolder } = require('../model-folder') as typeof import('../model-folder');
  const { checkpointRecord, describeCheckpoint, loadCheckpointWeights, readCheckpoint } = require('./checkpoint-import') as typeof import('./checkpoint-import');
  const { Tokenizer } = require('../tokenizer') as typeof import('../tokenizer');
  const { pretrainRecord } = require('./pretrain') as typeof import('./pretrain');
  const numClasses = data.classIds.labels.length;
  // [teacher] init_checkpoint: architecture, vocabulary and starting weights from a pretrained checkpoint.
  const initCheckpoint = config.teacher.init_checkpoint;
  const checkpoint =
    initCheckpoint === null
      ? null
      : readCheckpoint(initCheckpoint, { numClasses, seed: config.train.seed, dropout: config.teacher.dropout, maxLength: config.teacher.max_length });
  const spec = checkpoint?.spec ?? teacherSpec(config, data.vocabTokens.length, numClasses);
  const vocabTokens = checkpoint?.vocabTokens ?? data.vocabTokens;
  const lowercase = checkpoint?.lowercase ?? data.lowercase;
  const tokenizer = checkpoint === null ? data.tokenizer : Tokenizer.fromTokens(checkpoint.vocabTokens, { lowercase: checkpoint.lowercase });
  const trainOptions = teacherTrainOptions(config);
  const maxLength = config.teacher.max_length;
  const dir = path.join(runFolder, TEACHER_DIR);
  // [teacher] pretrain = mlm: pre-train the encoder first (or resume / reuse it; pretrain.ts), then fine-tune from it.
  const pretrained =
    config.teacher.pretrain === 'mlm' ? await (require('./pretrain') as typeof import('./pretrain')).pretrainStep(config, data, runFolder, log, options) : null;
  const vectorsFile = config.teacher.pretrained_vectors;
  const fingerprint = createHash('sha256')
    .update(
      JSON.stringify({
        spec,
        trainOptions,
        maxLength,
        lowercase,
        labels: data.classIds.labels,
        train: fileSha256(config.data.train),
        eval: fileSha256(config.data.eval),
        vocab: createHash('sha256').update(vocabTokens.join('\n')).digest('hex'),
        ...(checkpoint !== null ? { checkpoint: checkpoint.sha256 } : {}),
        ...(pretrained !== null ? { pretrainedEncoder: pretrained.encoderSha256 } : {}),
        ...(vectorsFile !== null ? { pretrainedVectors: fileSha256(vectorsFile) } : {}),
      }),
    )
    .digest('hex');

  // Reuse: an earlier run's teacher trained with exactly these settings on exactly this data.
  const reusable = readTeacherTraining(dir);
  if (reusable !== null && reusable.fingerprint === fingerprint) {
    const { student } = loadStudentFromFolder(dir);
    const identity: TeacherIdentity = {
      kind: 'native',
      weightsSha256: fileSha256(path.join(dir, 'weights.safetensors')),
      dir,
      reused: true,
      fingerprint,
      evalAccuracy: reusable.evalAccuracy,
      bestEpoch: reusable.bestEpoch,
      parameters: student.parameterCount,
    };
    log.record.teacher = { ...identity, evalMacroF1: reusable.evalMacroF1, evalRows: data.eval.texts.length };
    log.info(`teacher: reusing ${dir} (same [teacher] settings and data as when it was trained; eval accuracy ${fmt4(identity.evalAccuracy)})`);
    return singleModelTeacher(identity, student, tokenizer, maxLength);
  }

  const trainRows = await encodeForTeacher(tokenizer, data.train.texts, maxLength);
  const evalRows = await encodeForTeacher(tokenizer, data.eval.texts, maxLength);
  const model = NativeStudent.create(spec);
  if (checkpoint !== null) {
    loadCheckpointWeights(model, checkpoint);
    log.info(`teacher: starting from the ${describeCheckpoint(checkpoint)}`);
  }
  if (pretrained !== null) {
    model.loadWeights(pretrained.encoder);
    log.info(`teacher: starting from the masked-LM pre-trained weights ${pretrained.encoder} (${formatCount(pretrained.step)} steps)`);
  }
  // [teacher] pretrained_vectors: the word embeddings start from the vectors, as they are (no rescaling:
  // LayerNorm follows the embedding sum, and the position embeddings learn their own scale).
  let vectorsCoverage: Record<string, unknown> | null = null;
  if (vectorsFile !== null) {
    const { readWord2Vec } = require('../vectors') as typeof import('../vectors');
    const v = await readWord2Vec(vectorsFile, vocabTokens);
    if (v.dim !== spec.hidden) throw configProblem(config, 'teacher', 'pretrained_vectors', `${vectorsFile} has dimension ${v.dim} but hidden is ${spec.hidden}`);
    model.setEmbeddings(v.vectors, v.found);
    vectorsCoverage = { source: vectorsFile, ...v.coverage };
    log.info(
      `teacher: word embeddings from ${vectorsFile}: ${formatCount(v.coverage.found)} of ${formatCount(v.coverage.total)} vocabulary tokens ` +
        `(${(100 * v.coverage.ratio).toFixed(1)}%); the rest start random`,
    );
  }
  log.info(
    `teacher: transformer ${spec.layers} layers x hidden ${spec.hidden}, ${spec.heads} heads, FFN ${spec.intermediate}, ` +
      `max_length ${maxLength}, dropout ${spec.dropout}, ${formatCount(model.parameterCount)} parameters; fine-tuning from ${
        checkpoint !== null ? 'the checkpoint' : pretrained !== null ? 'the MLM pre-trained weights' : vectorsFile !== null ? 'the pretrained vectors (other weights random)' : 'random weights'
      }: ` +
      `${trainOptions.epochs} epochs, batch ${trainOptions.batchSize}, AdamW lr ${trainOptions.learningRate}, weight decay ${trainOptions.weightDecay}, ` +
      `warmup ${trainOptions.warmup} then linear decay, clip ${trainOptions.clipNorm}`,
  );
  const rows = trainRows.lengths.length;
  const started = Date.now();
  const hooks = epochProgressHooks({
    label: 'teacher',
    rows,
    stepsPerEpoch: Math.ceil(rows / trainOptions.batchSize),
    epochs: trainOptions.epochs,
    batchSize: trainOptions.batchSize,
    progress: options.progress,
    signal: options.signal,
    finishText: (e) => `loss ${e.trainLoss.toFixed(4)}`,
    logEpoch: (e) =>
      log.info(
        `teacher epoch ${e.epoch}/${trainOptions.epochs}: train loss ${e.trainLoss.toFixed(4)}, ${formatCount(e.examplesPerSecond)} examples/s, ` +
          `eval accuracy ${fmt4(e.evalAccuracy)} macro-F1 ${fmt4(e.evalMacroF1)} (${e.seconds.toFixed(1)} s)`,
      ),
  });
  const report = await model.train({ ...trainRows, labels: data.train.labels }, { ...evalRows, labels: data.eval.labels }, trainOptions, hooks);
  if (report.cancelled) throw new Error(`teacher: training was cancelled after ${report.epochs.length} epoch(s); nothing saved`);
  const best = report.epochs.find((e) => e.epoch === report.bestEpoch);
  const evalAccuracy = best?.evalAccuracy ?? null;
  log.info(`teacher: trained in ${formatDuration((Date.now() - started) / 1000)}; best epoch ${report.bestEpoch} (eval accuracy ${fmt4(evalAccuracy)}) kept`);

  // saveModelFolder replaces the folder: keep the ensemble members (ensemble.ts) saved inside it.
  const members = path.join(dir, 'members');
  const membersAside = path.join(runFolder, `.teacher-members.keep-${process.pid}`);
  const keepMembers = fs.existsSync(members);
  if (keepMembers) fs.renameSync(members, membersAside);
  saveModelFolder(dir, {
    student: model,
    vocabTokens,
    labels: data.classIds.labels,
    maxLength,
    lowercase,
    addSpecialTokens: true,
    training: {
      uniqid: log.record.uniqid,
      config: config.file,
      role: 'teacher',
      options: trainOptions,
      bestEpoch: report.bestEpoch,
      evalAccuracy,
      evalMacroF1: best?.evalMacroF1 ?? null,
      trainRows: rows,
      epochs: report.epochs,
      fingerprint,
      ...(checkpoint !== null ? { initCheckpoint: checkpointRecord(checkpoint) } : {}),
      ...(pretrained !== null ? { pretrain: pretrainRecord(pretrained) } : {}),
      ...(vectorsCoverage !== null ? { pretrainedVectors: vectorsCoverage } : {}),
    },
  });
  if (keepMembers) fs.renameSync(membersAside, members);
  const identity: TeacherIdentity = {
    kind: 'native',
    weightsSha256: fileSha256(path.join(dir, 'weights.safetensors')),
    dir,
    reused: false,
    fingerprint,
    evalAccuracy,
    bestEpoch: report.bestEpoch,
    parameters: model.parameterCount,
  };
  log.record.teacher = {
    ...identity,
    evalMacroF1: best?.evalMacroF1 ?? null,
    evalRows: data.eval.texts.length,
    epochs: report.epochs,
    ...(checkpoint !== null ? { initCheckpoint: checkpointRecord(checkpoint) } : {}),
    ...(pretrained !== null ? { pretrain: pretrainRecord(pretrained) } : {}),
  };
  return singleModelTeacher(identity, model, tokenizer, maxLength);
}

function readTeacherTraining(dir: string): { fingerprint: string; evalAccuracy: number | null; evalMacroF1: number | null; bestEpoch: number } | null {
  try {
    const c = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')) as { training?: Record<string, unknown> };
    const t = c.training;
    if (!t || typeof t.fingerprint !== 'string') return null;
    return {
      fingerprint: t.fingerprint,
      evalAccuracy: typeof t.evalAccuracy === 'number' ? t.evalAccuracy : null,
      evalMacroF1: typeof t.evalMacroF1 === 'number' ? t.evalMacroF1 : null,
      bestEpoch: typeof t.bestEpoch === 'number' ? t.bestEpoch : 0,
    };
  } catch {
    return null; // no earlier teacher (or an unreadable one): train anew
  }
}

/** Counts of one scoring pass, for run.json. */
interface ScoreCounts {
  texts: number;
  fromCache: number;
  scored: number;
}

/** Logits [texts, C] for `texts`: from the cache where present, else scored by the teacher (and appended to the cache). */
async function scoreTexts(
  teacher: Teacher,
  data: PreparedData,
  cache: SoftLabelCache,
  texts: string[],
  counts: ScoreCounts,
  threads: number,
): Promise<Float32Array> {
  const C = cache.numClasses;
  const out = new Float32Array(texts.length * C);
  const keys = texts.map(textKey);
  const missing: number[] = [];
  for (let i = 0; i < texts.length; i++) {
    if (!cache.copyTo(keys[i], out, i * C)) missing.push(i);
  }
  counts.texts += texts.length;
  counts.fromCache += texts.length - missing.length;
  for (let start = 0; start < missing.length; start += SCORE_BATCH) {
    const part = missing.slice(start, start + SCORE_BATCH);
    // Duplicates inside one call are scored once each; harmless, and the cache keeps the first.
    const logits = await teacher.logits(part.map((i) => texts[i]), threads);
    part.forEach((i, k) => out.set(logits.subarray(k * C, k * C + C), i * C));
    cache.append(part.map((i) => keys[i]), logits);
    counts.scored += part.length;
  }
  return out;
}

/** Step 3: the teacher's logits for the rows the students train on; null without a teacher or with distillation off. */
export async function softTargetsStep(
  config: Config,
  teacher: Teacher | null,
  data: PreparedData,
  runFolder: string,
  log: RunLog,
  options: TeacherStepOptions = { progress: false },
): Promise<SoftTargets | null> {
  if (teacher === null || !config.distill.enabled) {
    if (teacher !== null) log.info('soft labels: [distill] enabled = false; the students train on the labelled data alone');
    return null;
  }
  const C = data.classIds.labels.length;
  const file = path.join(runFolder, SOFT_LABEL_CACHE_FILE);
  const cache = SoftLabelCache.open(file, teacher.identity.weightsSha256, C);
  const opened = cache.openReport;
  if (opened.restarted !== null) log.info(`soft labels: started ${file} anew: ${opened.restarted}`);
  else if (opened.loaded > 0 || opened.droppedBytes > 0) {
    log.info(
      `soft labels: reusing ${formatCount(opened.loaded)} cached teacher logits from ${file}` +
        (opened.droppedBytes > 0 ? ` (a torn last record of ${opened.droppedBytes} bytes, from an interrupted run, was dropped)` : ''),
    );
  }
  const record = {
    cache: file,
    teacher: teacher.identity.weightsSha256,
    opened: opened,
    train: { texts: 0, fromCache: 0, scored: 0 },
    pool: null as null | { path: string; limit: number; texts: number; fromCache: number; scored: number; emptyLines: number; noTokenRows: number },
  };
  log.record.softLabels = record;
  try {
    const started = Date.now();
    const train = await scoreTexts(teacher, data, cache, data.train.texts, record.train, config.train.threads);
    log.info(`soft labels: ${formatCount(record.train.texts)} train texts, ${formatCount(record.train.fromCache)} from the cache, ${formatCount(record.train.scored)} scored by the teacher`);

    let pool: SoftTargets['pool'] = null;
    if (config.distill.use_unlabeled && config.data.unlabeled !== null) {
      if (config.distill.queue !== null) {
        // Scale-out (lib/queue/): workers score the chunks not yet cached; the pass below then reads them all from the cache.
        const { scorePoolOnQueue } = require('../queue/pool-scoring') as typeof import('../queue/pool-scoring');
        log.record.poolQueue = await scorePoolOnQueue(config, teacher.identity, cache, { log: (line) => log.info(line), progress: options.progress, signal: options.signal });
      }
      const limit = config.distill.unlabeled_limit;
      const counts = { texts: 0, fromCache: 0, scored: 0 };
      const stats = newPoolStats();
      // The logits go to disk in pool order; the students stream the pool again (pool-stream.ts).
      const logits = new PoolLogitsWriter(runFolder, C);
      let noTokenRows = 0;
      const bar = options.progress === false ? null : new Progress({ label: 'scoring pool', total: limit, unit: 'texts', stream: options.progress });
      let lastLog = Date.now();
      try {
        for await (const batch of streamLineBatches(config.data.unlabeled, { batchSize: POOL_READ_BATCH, stats })) {
          if (options.signal?.aborted) throw new Error('soft labels: cancelled');
          const texts = limit > 0 ? batch.texts.slice(0, limit - counts.texts) : batch.texts;
          logits.append(await scoreTexts(teacher, data, cache, texts, counts, config.train.threads));
          // The students' tokenisation, only to count texts with no student token (nothing is kept).
          const enc = await data.tokenizer.encodeBatchAsync(texts, { maxLength: data.maxLength, addSpecialTokens: data.addSpecialTokens });
          noTokenRows += fillEmptyRows(enc, data.tokenizer.unkId);
          bar?.update(counts.texts, `${formatCount(counts.fromCache)} cached`);
          if (Date.now() - lastLog > 10_000) {
            lastLog = Date.now();
            log.info(`soft labels: pool ${formatCount(counts.texts)} texts so far (${formatCount(counts.scored)} scored, ${formatCount(counts.fromCache)} from the cache)`);
          }
          if (limit > 0 && counts.texts >= limit) break;
        }
      } catch (err) {
        logits.abandon();
        throw err;
      }
      const poolRows = logits.finish();
      bar?.finish(`${formatCount(counts.texts)} texts`);
      record.pool = { path: config.data.unlabeled, limit, ...counts, emptyLines: stats.emptyLines, noTokenRows };
      pool = { path: config.data.unlabeled, limit, rows: poolRows, logitsFile: logits.file, numClasses: C };
      log.info(
        `soft labels: pool ${formatCount(counts.texts)} texts${limit > 0 ? ` (unlabeled_limit ${limit})` : ''}, ` +
          `${formatCount(counts.fromCache)} from the cache, ${formatCount(counts.scored)} scored by the teacher` +
          (stats.emptyLines > 0 ? `, ${stats.emptyLines} empty lines skipped` : '') +
          (noTokenRows > 0 ? `, ${noTokenRows} with no student token (one [UNK])` : ''),
      );
    }
    log.info(`soft labels: done in ${formatDuration((Date.now() - started) / 1000)}; cache ${file} holds ${formatCount(cache.size)} texts`);
    return { train, pool, teacher: teacher.identity };
  } finally {
    cache.close();
  }
}
