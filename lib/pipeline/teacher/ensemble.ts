/**
 * The ensemble teacher ([teacher] ensemble = textcnn[,gru,...]): small members
 * trained on the labelled rows whose log-softmax is averaged with the
 * transformer's (or the ONNX model's; with kind = none, with each other's only):
 *
 *   teacher logits(text) = mean over members m of log_softmax(logits_m(text))
 *
 * The reference system's teacher was exactly such an average, of a TextCNN
 * with pretrained character vectors and ERNIE: models that err differently
 * make a teacher stronger than either. The averaged log-probabilities are the
 * "logits" the soft-label cache stores and the students distil from (a softmax
 * of them at temperature T is the soft label, as for one model).
 *
 * Members are ordinary student models (TextCNN, GRU) with the sizes and learning
 * rate of their [textcnn] / [gru] section, the students' tokenisation, an own
 * seed ([train] seed + 1 + position in the list, so a kind may repeat), embeddings
 * started from [teacher] ensemble_vectors when set, [teacher] ensemble_epochs
 * epochs and the best epoch on the eval rows. Each is saved as a model folder in
 * <run>/teacher/members/<name>/ (names textcnn-1, textcnn-2, gru-1, ...) and
 * reused by a rerun whose member settings and data are unchanged (fingerprint in
 * its training info). The ensemble's identity lists every member; its cache key
 * is the hash of the members' weight hashes, so changing any member rescores.
 *
 * [teacher] ensemble_models adds model folders trained elsewhere, used as they are
 * (folder-member.ts), after the trained members.
 */
import * as fs from 'fs';
import * as path from 'path';

import { type Config, type StudentKind } from '../../config';
import { argmaxRows, classificationReport } from '../../metrics';
import { formatCount, formatDuration, formatScore } from '../../progress';
import { loadStudentFromFolder, saveModelFolder } from '../../model-folder';
import { NativeStudent, type StudentTrainOptions } from '../../student';
import { fileSha256, sha256Hex } from '../../util/files';
import { readWord2Vec, type PretrainedVectors } from '../../vectors';
import { epochProgressHooks } from '../epoch-progress';
import { fillEmptyRows, type PreparedData } from '../prepare-data';
import type { RunLog } from '../run-log';
import { studentSpec, studentTrainOptions } from '../train-student';
import { folderMemberName, loadFolderMember } from './folder-member';
import { TEACHER_DIR, type Teacher, type TeacherIdentity, type TeacherMemberIdentity, type TeacherStepOptions } from './types';

/** Members' folders, inside the teacher folder. */
export const MEMBERS_DIR = 'members';

export interface EnsembleMember {
  /** kind-N, counting each kind from 1 in list order: textcnn-1, gru-1, textcnn-2. */
  name: string;
  kind: StudentKind;
  /** [train] seed + 1 + position in [teacher] ensemble. */
  seed: number;
}

/** The members [teacher] ensemble lists, with their names and seeds. */
export function ensembleMembers(config: Config): EnsembleMember[] {
  const counts: Record<string, number> = {};
  return config.teacher.ensemble.map((kind, i) => {
    counts[kind] = (counts[kind] ?? 0) + 1;
    return { name: `${kind}-${counts[kind]}`, kind, seed: (config.train.seed + 1 + i) % 4294967296 };
  });
}

/** A member's architecture: its [textcnn]/[gru] section, the ensemble_vectors dimension, its own seed. */
export function memberSpec(config: Config, member: EnsembleMember, vocabSize: number, numClasses: number): ReturnType<typeof studentSpec> {
  const spec = studentSpec(config, member.kind, vocabSize, numClasses);
  spec.embeddingDim = config.teacher.ensemble_embedding_dim ?? spec.embeddingDim;
  spec.seed = member.seed;
  return spec;
}

/** A member's training: its section's settings, [teacher] ensemble_epochs, its own seed, best epoch on eval. */
export function memberTrainOptions(config: Config, member: EnsembleMember): StudentTrainOptions {
  return { ...studentTrainOptions(config, member.kind), epochs: config.teacher.ensemble_epochs, seed: member.seed, keepBest: true };
}

/** log_softmax of each row of `logits` [rows, C], added into `sum`. */
function addLogSoftmax(sum: Float64Array, logits: Float32Array, C: number): void {
  for (let r = 0; r * C < logits.length; r++) {
    const o = r * C;
    let max = -Infinity;
    for (let c = 0; c < C; c++) max = Math.max(max, logits[o + c]);
    let z = 0;
    for (let c = 0; c < C; c++) z += Math.exp(logits[o + c] - max);
    const lse = max + Math.log(z);
    for (let c = 0; c < C; c++) sum[o + c] += logits[o + c] - lse;
  }
}

/** The mean of the members' log_softmax rows: the ensemble's logits. */
export function averageLogSoftmax(parts: readonly Float32Array[], C: number): Float32Array {
  if (parts.length === 0) throw new Error('averageLogSoftmax: no members');
  const sum = new Float64Array(parts[0].length);
  for (const p of parts) {
    if (p.length !== sum.length) throw new Error(`averageLogSoftmax: members disagree on the number of rows (${p.length / C} vs ${sum.length / C})`);
    addLogSoftmax(sum, p, C);
  }
  const out = new Float32Array(sum.length);
  for (let i = 0; i < sum.length; i++) out[i] = sum[i] / parts.length;
  return out;
}

interface ScoringMember {
  identity: TeacherMemberIdentity;
  logits(texts: string[], threads: number): Promise<Float32Array>;
}

/** A member reads texts as the students do (no [CLS]/[SEP], [model] max_length, an empty text as one [UNK]). */
function studentScorer(model: NativeStudent, data: PreparedData): (texts: string[], threads: number) => Promise<Float32Array> {
  return async (texts, threads) => {
    const enc = await data.tokenizer.encodeBatchAsync(texts, { maxLength: data.maxLength, addSpecialTokens: data.addSpecialTokens });
    const rows = { ids: enc.ids, lengths: enc.lengths, maxLength: enc.maxLength };
    fillEmptyRows(rows, data.tokenizer.unkId);
    return model.predictLogits(rows, { threads, batchSize: 256 });
  };
}

function readMemberTraining(dir: string): { fingerprint: string; bestEpoch: number } | null {
  try {
    const c = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')) as { training?: Record<string, unknown> };
    const t = c.training;
    if (!t || typeof t.fingerprint !== 'string' || !fs.existsSync(path.join(dir, 'weights.safetensors'))) return null;
    return { fingerprint: t.fingerprint, bestEpoch: typeof t.bestEpoch === 'number' ? t.bestEpoch : 0 };
  } catch {
    return null; // none yet (or unreadable): train anew
  }
}

/** Trains (or reuses) one member into <teacher>/members/<name>/. */
async function memberStep(
  config: Config,
  data: PreparedData,
  member: EnsembleMember,
  dir: string,
  log: RunLog,
  vectors: () => Promise<PretrainedVectors | null>,
  options: TeacherStepOptions,
): Promise<ScoringMember> {
  const numClasses = data.classIds.labels.length;
  const spec = memberSpec(config, member, data.vocabTokens.length, numClasses);
  const trainOptions = memberTrainOptions(config, member);
  const vectorsFile = config.teacher.ensemble_vectors;
  const fingerprint = sha256Hex(
    JSON.stringify({
      role: 'teacher-member',
      spec,
      trainOptions,
      vectors: vectorsFile === null ? null : fileSha256(vectorsFile),
      maxLength: data.maxLength,
      lowercase: data.lowercase,
      addSpecialTokens: data.addSpecialTokens,
      labels: data.classIds.labels,
      train: fileSha256(config.data.train),
      eval: fileSha256(config.data.eval),
      vocab: sha256Hex(data.vocabTokens.join('\n')),
    }),
  );
  const base = { name: member.name, kind: member.kind, fingerprint, dir, evalAccuracy: null, evalMacroF1: null };

  const earlier = readMemberTraining(dir);
  if (earlier !== null && earlier.fingerprint === fingerprint) {
    const { student } = loadStudentFromFolder(dir);
    log.info(`teacher member ${member.name}: reusing ${dir} (same settings and data as when it was trained)`);
    const identity: TeacherMemberIdentity = {
      ...base,
      weightsSha256: fileSha256(path.join(dir, 'weights.safetensors')),
      reused: true,
      bestEpoch: earlier.bestEpoch,
      parameters: student.parameterCount,
    };
    return { identity, logits: studentScorer(student, data) };
  }

  const model = NativeStudent.create(spec);
  const v = await vectors();
  if (v !== null) {
    if (v.dim !== spec.embeddingDim) throw new Error(`${vectorsFile}: vectors have dimension ${v.dim} but the ${member.name} embedding has ${spec.embeddingDim}`);
    model.setEmbeddings(v.vectors, v.found);
  }
  log.info(
    `teacher member ${member.name}: ${member.kind} E=${spec.embeddingDim}${v !== null ? ` from ${vectorsFile}` : ''}, seed ${member.seed}, ` +
      `${formatCount(model.parameterCount)} parameters; ${trainOptions.epochs} epochs, batch ${trainOptions.batchSize}, learning rate ${trainOptions.learningRate}`,
  );
  const rows = data.trainRows.lengths.length;
  const started = Date.now();
  const hooks = epochProgressHooks({
    label: member.name,
    rows,
    train: trainOptions,
    finishText: (e) => `loss ${e.trainLoss.toFixed(4)}`,
    logEpoch: (e) =>
      log.info(
        `teacher member ${member.name} epoch ${e.epoch}/${trainOptions.epochs}: train loss ${e.trainLoss.toFixed(4)}, ` +
          `eval accuracy ${formatScore(e.evalAccuracy)} macro-F1 ${formatScore(e.evalMacroF1)} (${e.seconds.toFixed(1)} s)`,
      ),
  }, options);
  const report = await model.train(data.trainRows, data.evalRows, trainOptions, hooks);
  if (report.cancelled) throw new Error(`teacher member ${member.name}: training was cancelled after ${report.epochs.length} epoch(s); nothing saved`);
  const best = report.epochs.find((e) => e.epoch === report.bestEpoch);
  log.info(`teacher member ${member.name}: trained in ${formatDuration((Date.now() - started) / 1000)}; best epoch ${report.bestEpoch} kept`);
  saveModelFolder(dir, {
    student: model,
    vocabTokens: data.vocabTokens,
    labels: data.classIds.labels,
    maxLength: data.maxLength,
    lowercase: data.lowercase,
    addSpecialTokens: data.addSpecialTokens,
    training: {
      uniqid: log.record.uniqid,
      config: config.file,
      role: 'teacher-member',
      member: member.name,
      options: trainOptions,
      bestEpoch: report.bestEpoch,
      evalAccuracy: best?.evalAccuracy ?? null,
      evalMacroF1: best?.evalMacroF1 ?? null,
      trainRows: rows,
      pretrainedVectors: v === null ? null : { source: vectorsFile, ...v.coverage },
      epochs: report.epochs,
      fingerprint,
    },
  });
  const identity: TeacherMemberIdentity = {
    ...base,
    weightsSha256: fileSha256(path.join(dir, 'weights.safetensors')),
    reused: false,
    bestEpoch: report.bestEpoch,
    parameters: model.parameterCount,
  };
  return { identity, logits: studentScorer(model, data) };
}

/**
 * Step 2 with [teacher] ensemble: trains (or reuses) each member, scores the eval rows
 * with every member and with the average (logged, and recorded in run.json), and
 * returns the teacher whose logits are the average. `base` is the transformer / ONNX
 * teacher, or null with kind = none.
 */
export async function ensembleTeacherStep(
  config: Config,
  data: PreparedData,
  runFolder: string,
  log: RunLog,
  base: Teacher | null,
  options: TeacherStepOptions,
): Promise<Teacher> {
  const teacherDir = path.join(runFolder, TEACHER_DIR);
  const members = ensembleMembers(config);
  const vectorsFile = config.teacher.ensemble_vectors;
  let vectorsPromise: Promise<PretrainedVectors | null> | null = null;
  // Read once, and only when some member has to be trained.
  const vectors = () => {
    if (vectorsPromise === null) {
      vectorsPromise =
        vectorsFile === null
          ? Promise.resolve(null)
          : readWord2Vec(vectorsFile, data.vocabTokens).then((v) => {
              log.info(
                `teacher members: pretrained vectors cover ${formatCount(v.coverage.found)} of ${formatCount(v.coverage.total)} vocabulary tokens ` +
                  `(${(100 * v.coverage.ratio).toFixed(1)}%) from ${vectorsFile}; the rest start random`,
              );
              return v;
            });
    }
    return vectorsPromise;
  };
  log.info(
    `teacher: ensemble of ${[
      ...(base !== null ? [base.identity.kind === 'onnx' ? 'the ONNX model' : 'the transformer'] : []),
      ...members.map((m) => m.name),
      ...config.teacher.ensemble_models.map((_, i) => folderMemberName(i)),
    ].join(', ')}: ` +
      'their log-softmax averaged gives the soft labels',
  );

  const scoring: ScoringMember[] = [];
  if (base !== null) {
    const b = base.identity;
    const baseRecord = log.record.teacher as Record<string, unknown> | undefined;
    scoring.push({
      identity: {
        name: b.kind === 'onnx' ? 'onnx' : 'transformer',
        kind: b.kind,
        weightsSha256: b.weightsSha256,
        fingerprint: b.fingerprint,
        dir: b.dir,
        reused: b.reused,
        bestEpoch: b.bestEpoch,
        parameters: b.parameters,
        evalAccuracy: null,
        evalMacroF1: typeof baseRecord?.evalMacroF1 === 'number' ? baseRecord.evalMacroF1 : null,
      },
      logits: base.logits,
    });
  }
  for (const member of members) {
    scoring.push(await memberStep(config, data, member, path.join(teacherDir, MEMBERS_DIR, member.name), log, vectors, options));
  }
  // Members of an earlier, longer list would otherwise linger beside the current ones.
  const membersDir = path.join(teacherDir, MEMBERS_DIR);
  for (const entry of fs.existsSync(membersDir) ? fs.readdirSync(membersDir) : []) {
    if (!members.some((m) => m.name === entry)) fs.rmSync(path.join(membersDir, entry), { recursive: true, force: true });
  }
  for (let i = 0; i < config.teacher.ensemble_models.length; i++) {
    scoring.push(await loadFolderMember(config, i, data.classIds.labels, log));
  }

  const C = data.classIds.labels.length;
  const threads = config.train.threads;
  // One member at a time: each already uses every thread.
  const logits = async (texts: string[], t: number) => {
    const parts: Float32Array[] = [];
    for (const m of scoring) parts.push(await m.logits(texts, t));
    return averageLogSoftmax(parts, C);
  };

  // Every member's and the ensemble's eval scores: the experiment reports them.
  let evalAccuracy: number | null = null;
  let evalMacroF1: number | null = null;
  if (data.eval.texts.length > 0) {
    const started = Date.now();
    const parts: Float32Array[] = [];
    for (const m of scoring) {
      const l = await m.logits(data.eval.texts, threads);
      parts.push(l);
      const r = classificationReport(data.eval.labels, argmaxRows(l, C), data.classIds.labels);
      m.identity.evalAccuracy = r.accuracy;
      m.identity.evalMacroF1 = r.macroF1;
      log.info(`teacher member ${m.identity.name}: eval accuracy ${formatScore(r.accuracy)} macro-F1 ${formatScore(r.macroF1)}`);
    }
    const r = classificationReport(data.eval.labels, argmaxRows(averageLogSoftmax(parts, C), C), data.classIds.labels);
    evalAccuracy = r.accuracy;
    evalMacroF1 = r.macroF1;
    log.info(
      `teacher: ensemble of ${scoring.length}: eval accuracy ${formatScore(r.accuracy)} macro-F1 ${formatScore(r.macroF1)} on ${formatCount(r.n)} rows ` +
        `(best member ${formatScore(Math.max(...scoring.map((m) => m.identity.evalAccuracy ?? 0)))}; scored in ${formatDuration((Date.now() - started) / 1000)})`,
    );
  }

  const ids = scoring.map((m) => m.identity);
  const params = ids.map((m) => m.parameters);
  const identity: TeacherIdentity = {
    kind: 'ensemble',
    weightsSha256: sha256Hex(JSON.stringify(ids.map((m) => [m.name, m.weightsSha256]))),
    dir: teacherDir,
    reused: ids.every((m) => m.reused),
    fingerprint: sha256Hex(JSON.stringify(ids.map((m) => [m.name, m.fingerprint]))),
    evalAccuracy,
    bestEpoch: 0,
    parameters: params.some((p) => p === null) ? null : params.reduce((a: number, p) => a + (p as number), 0),
    members: ids,
  };
  log.record.teacher = {
    ...identity,
    evalMacroF1,
    evalRows: data.eval.texts.length,
    ...(base !== null ? { base: log.record.teacher } : {}),
  };
  return { identity, logits };
}
