/**
 * Step 2 for [teacher] kind = native: a BERT-style transformer (native/core/transformer.h)
 * fine-tuned on the labelled rows with the [teacher] settings and saved as <run>/teacher/,
 * from random weights, from a pretrained checkpoint ([teacher] init_checkpoint;
 * checkpoint-import.ts), from masked-LM pre-training ([teacher] pretrain = mlm; pretrain.ts)
 * or with pretrained word embeddings ([teacher] pretrained_vectors). A rerun whose teacher
 * settings and data are unchanged reuses the saved teacher (its training info holds a
 * fingerprint of both).
 */
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';

import { configProblem, type Config } from '../../config';
import { loadStudentFromFolder, saveModelFolder } from '../../model-folder';
import { formatCount, formatDuration, formatScore } from '../../progress';
import { NativeStudent } from '../../student';
import { Tokenizer } from '../../tokenizer';
import { fileSha256 } from '../../util/files';
import { readWord2Vec } from '../../vectors';
import { checkpointRecord, describeCheckpoint, loadCheckpointWeights, readCheckpoint } from '../checkpoint-import';
import { epochProgressHooks } from '../epoch-progress';
import type { PreparedData } from '../prepare-data';
import { pretrainRecord, pretrainStep } from '../pretrain';
import type { RunLog } from '../run-log';
import { encodeForTeacher, singleModelTeacher, teacherSpec, teacherTrainOptions } from './spec';
import { TEACHER_DIR, type Teacher, type TeacherIdentity, type TeacherStepOptions } from './types';

/** Step 2 for kind = native: fine-tunes (or reuses) the transformer in <run>/teacher/. */
export async function nativeTeacherStep(
  config: Config,
  data: PreparedData,
  runFolder: string,
  log: RunLog,
  options: TeacherStepOptions,
): Promise<Teacher> {
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
    config.teacher.pretrain === 'mlm' ? await pretrainStep(config, data, runFolder, log, options) : null;
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
    log.info(`teacher: reusing ${dir} (same [teacher] settings and data as when it was trained; eval accuracy ${formatScore(identity.evalAccuracy)})`);
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
    train: trainOptions,
    finishText: (e) => `loss ${e.trainLoss.toFixed(4)}`,
    logEpoch: (e) =>
      log.info(
        `teacher epoch ${e.epoch}/${trainOptions.epochs}: train loss ${e.trainLoss.toFixed(4)}, ${formatCount(e.examplesPerSecond)} examples/s, ` +
          `eval accuracy ${formatScore(e.evalAccuracy)} macro-F1 ${formatScore(e.evalMacroF1)} (${e.seconds.toFixed(1)} s)`,
      ),
  }, options);
  const report = await model.train({ ...trainRows, labels: data.train.labels }, { ...evalRows, labels: data.eval.labels }, trainOptions, hooks);
  if (report.cancelled) throw new Error(`teacher: training was cancelled after ${report.epochs.length} epoch(s); nothing saved`);
  const best = report.epochs.find((e) => e.epoch === report.bestEpoch);
  const evalAccuracy = best?.evalAccuracy ?? null;
  log.info(`teacher: trained in ${formatDuration((Date.now() - started) / 1000)}; best epoch ${report.bestEpoch} (eval accuracy ${formatScore(evalAccuracy)}) kept`);

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
