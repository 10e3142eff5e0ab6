/**
 * `model-distill detect-wrong-labels config.ini [uniqid]` as a function: which
 * rows of the train file are probably mislabelled.
 *
 * 1. The data step of `train` (lib/pipeline/prepare-data.ts): classes, train and
 *    eval rows (a bad row is an error naming its line), vocab, token ids.
 * 2. k-fold cross-validation, stratified by given label and seeded
 *    (k = [labels] folds): for each fold a fresh student ([labels] model;
 *    default: the first of [model] students) trains on the other folds, exactly
 *    as `train` would train it (same sizes and [train] settings; best epoch on
 *    the held-out fold's given labels, never on the eval file), and predicts
 *    the held-out fold. Every train row thus gets
 *    probabilities from a model that never saw it ("out of fold").
 *    With [labels] repeats = R the whole split is made R times with different
 *    seeds, and with several [labels] models each model is cross-validated;
 *    a row's probabilities are the mean over all of these runs (each still
 *    out of fold): less dependent on one split's and one model's luck.
 * 3. Confident learning on those probabilities (confident-learning.ts), with
 *    [labels] filter and rank_by.
 * 4. Writes, atomically, into the run folder <model.dir>/<uniqid>/:
 *      wrong_labels.tsv   header, then one flagged row a line, most suspect
 *                         first: line (1-based, in the train file), text,
 *                         given label, suggested label (the out-of-fold
 *                         argmax), confidence (its probability);
 *      wrong_labels.json  the summary: estimated noise per class, counts, the
 *                         confident joint, per-fold results, the settings and
 *                         the train file's size and SHA-256.
 *    `clean-labels` reads both.
 */
import * as fs from 'fs';
import * as path from 'path';

import { loadConfig, resolveUniqid, runDir, type Config, type LabelFilter, type LabelRankBy, type StudentKind } from '../config';
import { formatCount, formatDuration, Progress, type ProgressWriter } from '../progress';
import { NativeStudent, softmaxRows, type EvalRows } from '../student';
import { fileSha256, writeFileAtomic } from '../util/files';
import { seededRandom } from '../util/random';
import { readWord2Vec } from '../vectors';
import { findLabelIssues, type ConfidentLearningResult } from './confident-learning';
import { prepareData, type PreparedData } from '../pipeline/prepare-data';
import { RunLog } from '../pipeline/run-log';
import { studentSpec, studentTrainOptions } from '../pipeline/train-student';

export const WRONG_LABELS_TSV = 'wrong_labels.tsv';
export const WRONG_LABELS_JSON = 'wrong_labels.json';
export const WRONG_LABELS_HEADER = ['line', 'text', 'given_label', 'suggested_label', 'confidence'] as const;
export const WRONG_LABELS_FORMAT = 'model-distill-wrong-labels';
export const WRONG_LABELS_VERSION = 1;

export interface DetectOptions {
  /** Each message, as it happens (the CLI prints them to stderr). */
  log?: (line: string) => void;
  /** Where the progress bar over the folds goes; false or absent = none. */
  progress?: ProgressWriter | false;
  /** Stops training at the next batch; detection then fails with "cancelled". */
  signal?: AbortSignal;
  /** "Today" for a `${time}` uniqid (tests). */
  now?: Date;
}

export interface FlaggedRow {
  /** 1-based line in the train file. */
  line: number;
  text: string;
  givenLabel: string;
  suggestedLabel: string;
  /** Out-of-fold probability of the suggested label. */
  confidence: number;
  /** Out-of-fold probability of the given label. */
  selfConfidence: number;
}

export interface ClassSummary {
  label: string;
  rows: number;
  threshold: number | null;
  estimatedErrors: number;
  estimatedNoiseRate: number;
  flagged: number;
}

export interface FoldReport {
  /** The student cross-validated. */
  model: StudentKind;
  /** Which split (1..[labels] repeats). */
  repeat: number;
  fold: number;
  trainRows: number;
  heldOutRows: number;
  bestEpoch: number;
  /** Accuracy of the best epoch on the held-out fold's given labels (the epoch is chosen there, not on the eval file). */
  evalAccuracy: number | null;
  /** Share of held-out rows whose predicted class equals the given label. */
  heldOutAgreement: number;
  seconds: number;
}

export interface DetectionReport {
  uniqid: string;
  runDir: string;
  config: string;
  train: string;
  files: { tsv: string; json: string };
  settings: {
    /** The models, joined with "+" when several are averaged. */
    model: string;
    folds: number;
    repeats: number;
    filter: LabelFilter;
    rankBy: LabelRankBy;
    seed: number;
    epochs: number;
  };
  classes: string[];
  rows: number;
  flagged: FlaggedRow[];
  perClass: ClassSummary[];
  /** Rows confident learning counts off the diagonal (the number the low_* filters flag; see findLabelIssues). */
  estimatedIssues: number;
  /** From the calibrated confident joint: sum over classes of n_i - C[i][i]. */
  estimatedErrors: number;
  estimatedNoiseRate: number;
  /** Share of rows whose out-of-fold prediction equals the given label. */
  outOfFoldAgreement: number;
  /** Calibrated confident joint, [given][true], in class order. */
  confidentJoint: number[][];
  foldReports: FoldReport[];
  /** Out-of-fold probabilities [rows, C], row r = the r-th train row read (not written to disk). */
  probabilities: Float32Array;
  /** Given class id of each train row, in the same order. */
  givenLabels: Int32Array;
  /** 1-based train-file line of each row, in the same order. */
  lineNumbers: Int32Array;
  seconds: number;
}

// ---------------------------------------------------------------------------
// Folds
// ---------------------------------------------------------------------------

/**
 * The fold (0..k-1) of every row: each class's rows are shuffled (seeded) and
 * dealt round-robin, each class starting where the previous one stopped, so
 * every fold gets its share of every class and the folds differ in size by at
 * most one row.
 */
export function stratifiedFolds(labels: ArrayLike<number>, numClasses: number, folds: number, seed: number): Int32Array {
  if (!Number.isInteger(folds) || folds < 2) throw new TypeError(`Expected integer >= 2 for folds but received ${String(folds)}`);
  if (labels.length < folds) {
    throw new Error(`cannot split ${labels.length} rows into ${folds} folds: each fold needs at least one row (lower [labels] folds)`);
  }
  const random = seededRandom(seed);
  const byClass: number[][] = Array.from({ length: numClasses }, () => []);
  for (let r = 0; r < labels.length; r++) byClass[labels[r]].push(r);
  const out = new Int32Array(labels.length);
  let next = 0;
  for (const rows of byClass) {
    for (let i = rows.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [rows[i], rows[j]] = [rows[j], rows[i]];
    }
    for (const r of rows) {
      out[r] = next;
      next = (next + 1) % folds;
    }
  }
  return out;
}

/** The rows `indices` of `rows`, as a new set. */
export function selectRows(rows: EvalRows, indices: readonly number[]): EvalRows {
  const L = rows.maxLength;
  const ids = new Int32Array(indices.length * L);
  const lengths = new Int32Array(indices.length);
  const labels = new Int32Array(indices.length);
  indices.forEach((r, i) => {
    ids.set(rows.ids.subarray(r * L, (r + 1) * L), i * L);
    lengths[i] = rows.lengths[r];
    labels[i] = rows.labels[r];
  });
  return { ids, lengths, maxLength: L, labels };
}

// ---------------------------------------------------------------------------
// Detection
// ---------------------------------------------------------------------------

/** The students whose probabilities drive detection: [labels] model when the file sets it, else the first of [model] students. */
export function detectionModels(config: Config): StudentKind[] {
  const set = config.lines['labels.model'] !== undefined;
  const models = set ? config.labels.model : [config.model.students[0]];
  if (models.includes('teacher')) {
    throw new Error(
      `${config.file}:${config.lines['labels.model']}: [labels] model = teacher is not supported yet ` +
        `(detection cross-validates students only); set [labels] model = textcnn, gru or textcnn,gru`,
    );
  }
  return models as StudentKind[];
}

/**
 * The seed of repeat `repeat`'s fold split: repeat 0 uses [train] seed itself
 * (so one repeat is the plain k-fold run), later repeats seeds derived from it.
 */
export function repeatSeed(seed: number, repeat: number): number {
  return repeat === 0 ? seed >>> 0 : (seed + Math.imul(repeat, 0x9e3779b1)) >>> 0;
}

/**
 * Out-of-fold probabilities [rows, C] of `data`'s train rows, one student per
 * fold, for one split (`repeat`: which seeded split; 0 = split by [train] seed).
 */
export async function outOfFoldProbabilities(
  config: Config,
  kind: StudentKind,
  data: PreparedData,
  folds: number,
  log: RunLog,
  options: DetectOptions,
  repeat = 0,
  repeats = 1,
): Promise<{ probs: Float32Array; foldReports: FoldReport[] }> {
  const C = data.classIds.labels.length;
  const n = data.trainRows.lengths.length;
  const splitSeed = repeatSeed(config.train.seed, repeat);
  const fold = stratifiedFolds(data.trainRows.labels, C, folds, splitSeed);
  const repeatTag = repeats > 1 ? `split ${repeat + 1}/${repeats}, ` : '';
  const trainOptions = studentTrainOptions(config, kind);
  const probs = new Float32Array(n * C);
  const foldReports: FoldReport[] = [];

  const members: number[][] = Array.from({ length: folds }, () => []);
  for (let r = 0; r < n; r++) members[fold[r]].push(r);
  const small = data.classIds.labels.filter((_, c) => {
    let count = 0;
    for (let r = 0; r < n; r++) if (data.trainRows.labels[r] === c) count++;
    return count > 0 && count < folds;
  });
  if (small.length > 0 && repeat === 0) log.info(`note: classes with fewer rows than folds (${folds}), absent from some folds: ${small.join(', ')}`);

  // The pretrained vectors, read once for all folds (each fold starts its embeddings from them).
  const vectorsFile = config[kind].pretrained_vectors;
  const vectors = vectorsFile === null ? null : await readWord2Vec(vectorsFile, data.vocabTokens);

  // One bar over every example every fold trains on.
  const workPerFold = members.map((m) => (n - m.length) * trainOptions.epochs);
  const totalWork = workPerFold.reduce((a, b) => a + b, 0);
  const bar = options.progress ? new Progress({ label: `${kind} cross-validation (${folds} folds${repeats > 1 ? `, split ${repeat + 1}/${repeats}` : ''})`, total: totalWork, stream: options.progress }) : null;
  let doneBefore = 0;

  for (let f = 0; f < folds; f++) {
    const started = Date.now();
    const heldOut = members[f];
    const trainIdx: number[] = [];
    for (let r = 0; r < n; r++) if (fold[r] !== f) trainIdx.push(r);
    const foldTrain = selectRows(data.trainRows, trainIdx);
    const foldHeldOut = selectRows(data.trainRows, heldOut);

    // Each fold its own seed: folds are independent models, and reruns repeat.
    const seed = (splitSeed + f) >>> 0;
    const student = NativeStudent.create({ ...studentSpec(config, kind, data.vocabTokens.length, C), seed });
    if (vectors !== null) student.setEmbeddings(vectors.vectors, vectors.found);
    // The best epoch is chosen on the fold's held-out rows (their given, possibly
    // wrong labels), never on the eval file: detection must not tune on eval data.
    const report = await student.train(foldTrain, foldHeldOut, { ...trainOptions, seed }, {
      signal: options.signal,
      onProgress: (p) => {
        const done = Math.min(workPerFold[f], p.step * trainOptions.batchSize);
        bar?.update(doneBefore + done, `fold ${f + 1}/${folds}, epoch ${p.epoch}/${p.epochs}, loss ${p.runningLoss.toFixed(4)}`);
      },
    });
    if (report.cancelled) throw new Error(`detection cancelled in fold ${f + 1}/${folds}; nothing written`);
    doneBefore += workPerFold[f];
    bar?.update(doneBefore);

    const foldProbs = softmaxRows(await student.predictLogits(foldHeldOut, { threads: config.train.threads }), C);
    let agree = 0;
    heldOut.forEach((r, i) => {
      probs.set(foldProbs.subarray(i * C, (i + 1) * C), r * C);
      let best = 0;
      for (let c = 1; c < C; c++) if (foldProbs[i * C + c] > foldProbs[i * C + best]) best = c;
      if (best === data.trainRows.labels[r]) agree++;
    });
    const best = report.epochs.find((e) => e.epoch === report.bestEpoch);
    const fr: FoldReport = {
      model: kind,
      repeat: repeat + 1,
      fold: f + 1,
      trainRows: trainIdx.length,
      heldOutRows: heldOut.length,
      bestEpoch: report.bestEpoch,
      evalAccuracy: best?.evalAccuracy ?? null,
      heldOutAgreement: heldOut.length > 0 ? agree / heldOut.length : 0,
      seconds: (Date.now() - started) / 1000,
    };
    foldReports.push(fr);
    log.info(
      `${repeatTag}fold ${f + 1}/${folds}: ${kind} trained on ${formatCount(fr.trainRows)} rows (best epoch ${fr.bestEpoch}, ` +
        `held-out accuracy ${fr.evalAccuracy === null ? '-' : fr.evalAccuracy.toFixed(4)}); ` +
        `predicts the given label of ${(100 * fr.heldOutAgreement).toFixed(1)}% of its ${formatCount(fr.heldOutRows)} held-out rows ` +
        `(${formatDuration(fr.seconds)})`,
    );
  }
  bar?.finish();
  return { probs, foldReports };
}

/** The TSV text of flagged rows: header, then one row a line. */
export function wrongLabelsTsv(rows: readonly FlaggedRow[]): string {
  const lines = [WRONG_LABELS_HEADER.join('\t')];
  for (const r of rows) lines.push([r.line, r.text, r.givenLabel, r.suggestedLabel, r.confidence.toFixed(4)].join('\t'));
  return lines.join('\n') + '\n';
}

export async function detectWrongLabels(configPath: string, uniqidArg?: string, options: DetectOptions = {}): Promise<DetectionReport> {
  const started = Date.now();
  const config = loadConfig(configPath);
  const uniqid = resolveUniqid(uniqidArg, options.now);
  const models = detectionModels(config);
  const modelName = models.join('+');
  const folds = config.labels.folds;
  const repeats = config.labels.repeats;
  const dir = runDir(config, uniqid);
  fs.mkdirSync(dir, { recursive: true });

  // The train pipeline's log object gives prepareData its messages; it is
  // never saved here, so a trained run's run.log and run.json stay as they are.
  const log = new RunLog(dir, { uniqid, config: config.file }, { echo: options.log });
  log.info(`detect-wrong-labels: run "${uniqid}" of ${config.file} -> ${dir}`);
  const data = await prepareData(config, dir, log);
  const classes = data.classIds.labels;
  const C = classes.length;
  const n = data.trainRows.lengths.length;
  log.info(
    `${folds}-fold cross-validation of ${models.join(' and ')} over ${formatCount(n)} train rows` +
      `${repeats > 1 ? `, ${repeats} splits` : ''} (${config.train.epochs} epochs each, seed ${config.train.seed}); ` +
      `filter ${config.labels.filter}, rank by ${config.labels.rank_by}`,
  );

  // The mean of every (model, split) run's out-of-fold probabilities.
  const sum = new Float64Array(n * C);
  const foldReports: FoldReport[] = [];
  for (const kind of models) {
    for (let r = 0; r < repeats; r++) {
      const run = await outOfFoldProbabilities(config, kind, data, folds, log, options, r, repeats);
      for (let k = 0; k < sum.length; k++) sum[k] += run.probs[k];
      foldReports.push(...run.foldReports);
    }
  }
  const probs = new Float32Array(n * C);
  const runs = models.length * repeats;
  for (let k = 0; k < sum.length; k++) probs[k] = sum[k] / runs;
  const cl: ConfidentLearningResult = findLabelIssues(probs, data.trainRows.labels, C, {
    filter: config.labels.filter,
    rankBy: config.labels.rank_by,
  });

  const flagged: FlaggedRow[] = Array.from(cl.flagged, (r) => ({
    line: data.train.lineNumbers[r],
    text: data.train.texts[r],
    givenLabel: classes[data.train.labels[r]],
    suggestedLabel: classes[cl.suggested[r]],
    confidence: cl.suggestedConfidence[r],
    selfConfidence: probs[r * C + data.train.labels[r]],
  }));
  let agree = 0;
  for (let r = 0; r < n; r++) if (cl.suggested[r] === data.train.labels[r]) agree++;
  const perClass: ClassSummary[] = cl.perClass.map((c, i) => ({ label: classes[i], ...c }));

  const files = { tsv: path.join(dir, WRONG_LABELS_TSV), json: path.join(dir, WRONG_LABELS_JSON) };
  const report: DetectionReport = {
    uniqid,
    runDir: dir,
    config: config.file,
    train: config.data.train,
    files,
    settings: { model: modelName, folds, repeats, filter: cl.filter, rankBy: cl.rankBy, seed: config.train.seed, epochs: config.train.epochs },
    classes,
    rows: n,
    flagged,
    perClass,
    estimatedIssues: cl.estimatedIssues,
    estimatedErrors: cl.estimatedErrors,
    estimatedNoiseRate: cl.estimatedErrors / n,
    outOfFoldAgreement: agree / n,
    confidentJoint: cl.confidentJoint,
    foldReports,
    probabilities: probs,
    givenLabels: data.train.labels,
    lineNumbers: data.train.lineNumbers,
    seconds: (Date.now() - started) / 1000,
  };

  const trainStat = fs.statSync(config.data.train);
  const json = {
    format: WRONG_LABELS_FORMAT,
    formatVersion: WRONG_LABELS_VERSION,
    createdAt: new Date().toISOString(),
    uniqid,
    config: config.file,
    // What clean-labels checks the train file against (and a person can too).
    trainFile: { path: config.data.train, bytes: trainStat.size, sha256: fileSha256(config.data.train), rows: n },
    settings: report.settings,
    classes,
    counts: { rows: n, flagged: flagged.length, estimatedIssues: cl.estimatedIssues, estimatedErrors: cl.estimatedErrors },
    estimatedNoiseRate: report.estimatedNoiseRate,
    outOfFoldAgreement: report.outOfFoldAgreement,
    perClass,
    confidentJoint: cl.confidentJoint,
    rawConfidentJoint: cl.rawConfidentJoint,
    folds: foldReports,
    seconds: report.seconds,
  };
  // The TSV first: a JSON beside it means both were written.
  writeFileAtomic(files.tsv, wrongLabelsTsv(flagged));
  writeFileAtomic(files.json, JSON.stringify(json, null, 2) + '\n');
  log.info(`wrote ${files.tsv} (${formatCount(flagged.length)} rows) and ${files.json}`);
  return report;
}

/** The summary `detect-wrong-labels` prints on stdout. */
export function formatDetectionSummary(report: DetectionReport): string {
  const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
  const width = Math.max(5, ...report.perClass.map((c) => c.label.length));
  const lines = [
    `wrong labels (${report.settings.model}, ${report.settings.folds}-fold${report.settings.repeats > 1 ? ` x ${report.settings.repeats} splits` : ''}, ` +
      `${report.settings.filter}, ranked by ${report.settings.rankBy}): ` +
      `${formatCount(report.flagged.length)} of ${formatCount(report.rows)} train rows flagged (${pct(report.flagged.length / report.rows)}); ` +
      `confident learning counts ${formatCount(report.estimatedIssues)} label issues (${pct(report.estimatedIssues / report.rows)}), ` +
      `calibrated estimate of label noise ${pct(report.estimatedNoiseRate)} (${formatCount(report.estimatedErrors)} rows); ` +
      `out-of-fold predictions agree with ${pct(report.outOfFoldAgreement)} of the given labels`,
    '',
    `${'class'.padEnd(width)}  ${'rows'.padStart(7)}  ${'est. noise'.padStart(10)}  ${'flagged'.padStart(7)}`,
    ...report.perClass.map(
      (c) => `${c.label.padEnd(width)}  ${formatCount(c.rows).padStart(7)}  ${pct(c.estimatedNoiseRate).padStart(10)}  ${formatCount(c.flagged).padStart(7)}`,
    ),
    '',
    `rows, most suspect first: ${report.files.tsv}`,
    `summary: ${report.files.json}`,
  ];
  return lines.join('\n') + '\n';
}
