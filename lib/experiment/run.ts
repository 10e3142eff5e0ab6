/**
 * `model-distill experiment config.ini [uniqid]`: the reference experiment in
 * one call. For each student of the config (TextCNN, GRU) three settings:
 *
 *   alone           no teacher, hard labels only
 *   distilled       teacher's soft labels on the labelled rows ([distill] use_unlabeled = false)
 *   distilled+pool  the same plus the unlabelled pool   ([distill] use_unlabeled = true)
 *
 * plus the teacher itself. Each setting is an ordinary `train` run of a derived
 * config: a copy of the user's config (every key written out, paths absolute)
 * with the [teacher]/[distill] overrides of the setting and [model] dir =
 * <run>/experiment/<setting>/. The derived configs stay in <run>/experiment/
 * so any setting can be re-run or inspected with the usual commands.
 *
 * The teacher is trained once: both distilled settings use <run>/teacher/ and
 * <run>/soft-labels.cache, the same places `model-distill train config.ini
 * uniqid` uses, so a teacher an earlier train run left there is reused (when its
 * settings and data fingerprint match) and no text is scored twice.
 *
 * Every model is scored on the eval file (and on --data FILE, else [data] test,
 * when given). Results: <run>/experiment.md (table), experiment.svg and
 * experiment.png (grouped bar chart of eval accuracy).
 *
 * A setting that cannot run (no teacher in the config, or a teacher kind this
 * version does not implement) does not stop the others: its rows carry the
 * reason instead of numbers.
 */
import * as fs from 'fs';
import * as path from 'path';

import { CONFIG_SCHEMA, hasTeacher, loadConfig, resolveUniqid, runDir, type Config } from '../config';
import { Classifier } from '../classifier';
import { classIdsFromLabels, readLabelledTsv } from '../data';
import { argmaxRows, classificationReport } from '../metrics';
import type { RunProgressListener } from '../pipeline/run-progress';
import { judgeTeacher, type TeacherCheckResult, type TeacherComparison } from '../pipeline/teacher-check';
import { trainFromConfig } from '../pipeline/train';
import type { ProgressWriter } from '../progress';
import { writeFileAtomic } from '../util/files';
import { layoutBarChart, renderSvg } from './chart';
import { CHART_FONT_ENV, renderChartPng } from './render-png';

export type ExperimentSetting = 'alone' | 'distilled' | 'distilled+pool' | 'teacher';
export const STUDENT_SETTINGS: readonly Exclude<ExperimentSetting, 'teacher'>[] = ['alone', 'distilled', 'distilled+pool'];

export interface Score {
  accuracy: number;
  macroF1: number;
  n: number;
}

export interface ExperimentRow {
  model: string;
  setting: ExperimentSetting;
  /** On [data] eval; null when the setting did not run (see note). */
  eval: Score | null;
  /** On the extra labelled file, when one was given. */
  data: Score | null;
  /** Why there are no numbers, or a remark (e.g. where the teacher's figures came from). */
  note: string | null;
  /** The model folder scored, when there is one. */
  dir: string | null;
}

export interface ExperimentResult {
  runDir: string;
  rows: ExperimentRow[];
  files: { markdown: string; svg: string; png: string };
  /** The extra labelled file scored, or null. */
  dataFile: string | null;
  /** Settings that failed for a reason other than a missing/unimplemented teacher. */
  failures: string[];
  /**
   * The teacher against the students alone (pipeline/teacher-check.ts): its note says when
   * the teacher is not better by [distill] teacher_margin. null when either is missing.
   */
  teacherCheck: TeacherCheckResult | null;
  seconds: number;
}

export interface ExperimentOptions {
  /** Extra labelled file (text<TAB>label) to score every model on. Default: [data] test. */
  data?: string;
  log?: (line: string) => void;
  progress?: ProgressWriter | false;
  /** Stops the setting being trained at the next batch; it then fails with "cancelled". */
  signal?: AbortSignal;
  /** Every setting's train run reports here (steps, batches, epochs; run-progress.ts). */
  onProgress?: RunProgressListener;
  /** Only these settings (tests); default all. */
  settings?: readonly Exclude<ExperimentSetting, 'teacher'>[];
}

const FOLDER: Record<Exclude<ExperimentSetting, 'teacher'>, string> = { alone: 'alone', distilled: 'distilled', 'distilled+pool': 'distilled-pool' };

/** One ini value, quoted when ini would otherwise read part of it as a comment or trim it. */
function iniValue(v: string): string {
  return /[;#"'\\]|^\s|\s$/.test(v) ? JSON.stringify(v) : v;
}

/**
 * The config as ini text: every key of the schema that has a value, with
 * `overrides` ("section.key" -> value, or null to leave the key out) applied.
 * Paths are absolute, so the file works from any folder.
 */
export function configToIni(config: Config, overrides: Record<string, string | null>): string {
  const out: string[] = [`; derived by model-distill experiment from ${config.file}`];
  const ensemble = overrides['teacher.ensemble'];
  // ensemble_vectors / ensemble_epochs are errors without members (ensemble_epochs always has a value).
  const noEnsemble = ensemble === null || ensemble === 'none' || (ensemble === undefined && config.teacher.ensemble.length === 0);
  for (const [section, keys] of Object.entries(CONFIG_SCHEMA)) {
    out.push('', `[${section}]`);
    const values = (config as unknown as Record<string, Record<string, unknown>>)[section] ?? {};
    for (const key of Object.keys(keys)) {
      if (noEnsemble && section === 'teacher' && (key === 'ensemble_vectors' || key === 'ensemble_epochs')) continue;
      const override = overrides[`${section}.${key}`];
      const value = override !== undefined ? override : values[key];
      if (value === null || value === undefined) continue;
      if (Array.isArray(value) && value.length === 0) continue; // an empty list is the default (e.g. [teacher] ensemble)
      const text = Array.isArray(value) ? value.join(',') : String(value);
      out.push(`${key} = ${iniValue(text)}`);
    }
  }
  return out.join('\n') + '\n';
}

/** The keys a setting changes in the user's config ("section.key" -> value, or null to leave it out). */
export function settingOverrides(setting: Exclude<ExperimentSetting, 'teacher'>, modelDir: string): Record<string, string | null> {
  const o: Record<string, string | null> = { 'model.dir': modelDir };
  if (setting === 'alone') {
    o['teacher.kind'] = 'none';
    o['teacher.ensemble'] = null;
    o['teacher.ensemble_models'] = null;
    // Keys that only mean something with a teacher are config errors beside kind = none
    // (an onnx teacher's path/vocab, a native one's init_checkpoint or pretrain = mlm).
    for (const key of ['path', 'vocab', 'init_checkpoint', 'pretrain']) o[`teacher.${key}`] = null;
    o['distill.enabled'] = 'false';
    o['distill.use_unlabeled'] = 'false';
  } else {
    o['distill.enabled'] = 'true';
    o['distill.use_unlabeled'] = setting === 'distilled+pool' ? 'true' : 'false';
    // The experiment measures what distillation does, so it always distils; the table's note
    // still says when the teacher is not better than the students alone.
    o['distill.require_better_teacher'] = 'false';
  }
  return o;
}

/** Accuracy and macro-F1 of a model folder on a labelled file. */
async function scoreFolder(dir: string, file: string): Promise<Score> {
  const classifier = await Classifier.load(dir);
  try {
    const data = readLabelledTsv(file, classIdsFromLabels(classifier.labels));
    const C = classifier.labels.length;
    const predicted = new Int32Array(data.texts.length);
    const BATCH = 1024;
    for (let start = 0; start < data.texts.length; start += BATCH) {
      predicted.set(argmaxRows(await classifier.predictProbabilities(data.texts.slice(start, start + BATCH)), C), start);
    }
    const report = classificationReport(data.labels, predicted, classifier.labels);
    return { accuracy: report.accuracy, macroF1: report.macroF1, n: report.n };
  } finally {
    classifier.close();
  }
}

/**
 * The teacher's scores after a distilled run: its model folder if Classifier
 * can load it, else the figures the pipeline recorded in run.json. null when
 * the run left neither.
 */
async function scoreTeacher(
  folder: string,
  run: string,
  evalFile: string,
  dataFile: string | null,
): Promise<ExperimentRow[]> {
  const record = readTeacherRecord(run);
  if (record?.kind === 'ensemble') return ensembleTeacherRows(record);
  if (fs.existsSync(path.join(folder, 'config.json'))) {
    try {
      return [
        { model: 'teacher', setting: 'teacher', eval: await scoreFolder(folder, evalFile), data: dataFile ? await scoreFolder(folder, dataFile) : null, note: null, dir: folder },
      ];
    } catch {
      // Not loadable by Classifier (a transformer folder): fall back to run.json below.
    }
  }
  const acc = record?.evalAccuracy;
  const f1 = record?.evalMacroF1;
  if (typeof acc === 'number' && typeof f1 === 'number') {
    const n = typeof record?.evalRows === 'number' ? record.evalRows : NaN;
    return [{ model: 'teacher', setting: 'teacher', eval: { accuracy: acc, macroF1: f1, n }, data: null, note: 'eval figures from the run record (run.json)', dir: null }];
  }
  return [{ model: 'teacher', setting: 'teacher', eval: null, data: null, note: 'the distilled run left no teacher model or teacher scores to report', dir: null }];
}

/** The teacher's record in a run's run.json, or null. */
function readTeacherRecord(run: string): Record<string, unknown> | null {
  try {
    const record = JSON.parse(fs.readFileSync(path.join(run, 'run.json'), 'utf8')) as { teacher?: Record<string, unknown> };
    return record.teacher ?? null;
  } catch {
    return null; // no run.json
  }
}

/**
 * An ensemble teacher: one row for the ensemble (model "teacher") and one per member
 * (model "teacher/<member>": "teacher/transformer", "teacher/textcnn-1", ...), all from
 * the eval scores the pipeline measured when it assembled the ensemble.
 */
function ensembleTeacherRows(t: Record<string, unknown>): ExperimentRow[] {
  const n = typeof t.evalRows === 'number' ? t.evalRows : NaN;
  const score = (acc: unknown, f1: unknown): Score | null =>
    typeof acc === 'number' && typeof f1 === 'number' ? { accuracy: acc, macroF1: f1, n } : null;
  const members = Array.isArray(t.members) ? (t.members as Record<string, unknown>[]) : [];
  const rows: ExperimentRow[] = [
    {
      model: 'teacher',
      setting: 'teacher',
      eval: score(t.evalAccuracy, t.evalMacroF1),
      data: null,
      note: `ensemble of ${members.map((m) => String(m.name)).join(' + ')} (mean log-softmax); eval figures from the run record (run.json)`,
      dir: typeof t.dir === 'string' ? t.dir : null,
    },
  ];
  for (const m of members) {
    rows.push({
      model: `teacher/${String(m.name)}`,
      setting: 'teacher',
      eval: score(m.evalAccuracy, m.evalMacroF1),
      data: null,
      note: 'ensemble member',
      dir: typeof m.dir === 'string' ? m.dir : null,
    });
  }
  return rows;
}

/** A teacher-less config or an unimplemented teacher: the reason, in one line; null for other errors. */
function teacherUnavailable(err: unknown): string | null {
  const msg = err instanceof Error ? err.message : String(err);
  if (!/not implemented yet/.test(msg)) return null;
  // The pipeline's message names the derived config's line; the table wants the gist.
  const kind = /\[teacher\] kind: = (\w+) is not implemented yet/.exec(msg);
  return kind ? `needs a teacher: [teacher] kind = ${kind[1]} is not implemented yet in this version` : `needs a teacher: ${msg.split('\n')[0]}`;
}

const f4 = (x: number | undefined | null) => (x === undefined || x === null || Number.isNaN(x) ? '-' : x.toFixed(4));

export function formatMarkdown(result: Pick<ExperimentResult, 'rows' | 'dataFile' | 'teacherCheck'>, evalFile: string): string {
  const withData = result.dataFile !== null;
  const head = ['model', 'setting', 'eval accuracy', 'eval macro-F1'];
  if (withData) head.push('data accuracy', 'data macro-F1');
  head.push('note');
  const lines = [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`];
  for (const r of result.rows) {
    const cells = [r.model, r.setting, f4(r.eval?.accuracy), f4(r.eval?.macroF1)];
    if (withData) cells.push(f4(r.data?.accuracy), f4(r.data?.macroF1));
    cells.push((r.note ?? '').replace(/\|/g, '\\|'));
    lines.push(`| ${cells.join(' | ')} |`);
  }
  const sources = [`eval: ${evalFile}`];
  if (withData) sources.push(`data: ${result.dataFile}`);
  const note = result.teacherCheck?.note ? `\n${result.teacherCheck.note}\n` : '';
  return `${lines.join('\n')}\n\n${sources.join('; ')}\n${note}`;
}

/** One JSON object per row, as `--json` prints them. */
export function jsonRow(r: ExperimentRow): Record<string, unknown> {
  const o: Record<string, unknown> = { model: r.model, setting: r.setting, accuracy: r.eval?.accuracy ?? null, macroF1: r.eval?.macroF1 ?? null };
  if (r.data) {
    o.dataAccuracy = r.data.accuracy;
    o.dataMacroF1 = r.data.macroF1;
  }
  if (r.note) o.note = r.note;
  return o;
}

/** The alone setting's students as the teacher check compares with them; undefined before they ran. */
function aloneComparisons(rows: ExperimentRow[]): TeacherComparison[] | undefined {
  const alone = rows.filter((r) => r.setting === 'alone' && r.eval !== null);
  return alone.length === 0 ? undefined : alone.map((r) => ({ name: `${r.model} alone`, evalAccuracy: (r.eval as Score).accuracy }));
}

/** The teacher's row against the students alone, as the pipeline's teacher check judges it. */
function checkTeacherRows(teacherRows: ExperimentRow[], rows: ExperimentRow[], config: Config): TeacherCheckResult | null {
  const teacher = teacherRows[0]?.eval;
  const alone = aloneComparisons(rows);
  if (!teacher || alone === undefined) return null;
  return judgeTeacher(teacher.accuracy, alone, config.distill.teacher_margin, false);
}

export async function runExperiment(configPath: string, uniqidArg?: string, options: ExperimentOptions = {}): Promise<ExperimentResult> {
  const started = Date.now();
  const log = options.log ?? (() => {});
  const config = loadConfig(configPath);
  const uniqid = resolveUniqid(uniqidArg);
  const run = runDir(config, uniqid);
  const expDir = path.join(run, 'experiment');
  fs.mkdirSync(expDir, { recursive: true });
  const dataFile = options.data !== undefined ? path.resolve(options.data) : config.data.test;
  if (dataFile !== null && !fs.existsSync(dataFile)) throw new Error(`--data file not found: ${dataFile}`);

  const rows: ExperimentRow[] = [];
  const failures: string[] = [];
  let teacherRows: ExperimentRow[] | null = null;
  const settings = options.settings ?? STUDENT_SETTINGS;
  for (const setting of settings) {
    const folder = FOLDER[setting];
    const derived = path.join(expDir, `${folder}.ini`);
    writeFileAtomic(derived, configToIni(config, settingOverrides(setting, path.join(expDir, folder))));
    const unavailable = (note: string) => {
      for (const kind of config.model.students) rows.push({ model: kind, setting, eval: null, data: null, note, dir: null });
    };
    if (setting !== 'alone' && !hasTeacher(config)) {
      unavailable('no teacher: [teacher] kind = none (and no ensemble) in the config');
      continue;
    }
    if (setting === 'distilled+pool' && config.data.unlabeled === null) {
      unavailable('no pool: [data] unlabeled is not set in the config');
      continue;
    }
    log(`experiment: ${setting} (${derived})`);
    let summary;
    try {
      // The distilled settings share the run's teacher and soft-label cache (<run>/teacher/,
      // <run>/soft-labels.cache): trained or scored once, and reused from an earlier
      // `model-distill train` of the same config and uniqid when its settings and data match.
      summary = await trainFromConfig(derived, uniqid, {
        log,
        progress: options.progress ?? false,
        signal: options.signal,
        onProgress: options.onProgress,
        teacherFolder: setting === 'alone' ? undefined : run,
        // The teacher check compares with the alone setting's students instead of training one.
        aloneStudents: setting === 'alone' ? undefined : aloneComparisons(rows),
      });
    } catch (err) {
      const reason = teacherUnavailable(err);
      if (reason === null) {
        const msg = err instanceof Error ? err.message : String(err);
        failures.push(`${setting}: ${msg}`);
        log(`experiment: ${setting} failed: ${msg}`);
        unavailable(`failed: ${msg.split('\n')[0]}`);
      } else {
        log(`experiment: ${setting}: ${reason}`);
        unavailable(reason);
      }
      continue;
    }
    for (const student of summary.students) {
      rows.push({
        model: student.kind,
        setting,
        eval: await scoreFolder(student.dir, config.data.eval),
        data: dataFile ? await scoreFolder(student.dir, dataFile) : null,
        note: null,
        dir: student.dir,
      });
    }
    // One teacher serves both distilled settings (trained or found in <run>/teacher): report it once.
    if (setting !== 'alone' && teacherRows === null) {
      teacherRows = await scoreTeacher(path.join(run, 'teacher'), summary.runDir, config.data.eval, dataFile);
    }
  }
  if (teacherRows === null) {
    const why = rows.find((r) => r.setting !== 'alone' && r.note !== null)?.note ?? 'no distilled setting was run';
    teacherRows = [{ model: 'teacher', setting: 'teacher', eval: null, data: null, note: why, dir: null }];
  }
  const teacherCheck = checkTeacherRows(teacherRows, rows, config);
  if (teacherCheck?.note) {
    log(`experiment: ${teacherCheck.note}`);
    teacherRows[0].note = teacherRows[0].note === null ? teacherCheck.note : `${teacherCheck.note}; ${teacherRows[0].note}`;
  }
  // Table order: per student, its settings; the teacher last (an ensemble's members after it).
  const ordered = [...config.model.students.flatMap((k) => rows.filter((r) => r.model === k)), ...teacherRows];

  const files = { markdown: path.join(run, 'experiment.md'), svg: path.join(run, 'experiment.svg'), png: path.join(run, 'experiment.png') };
  const result: ExperimentResult = { runDir: run, rows: ordered, files, dataFile, failures, teacherCheck, seconds: 0 };
  writeFileAtomic(files.markdown, `# Experiment: run "${uniqid}" of ${config.file}\n\n${formatMarkdown(result, config.data.eval)}`);
  const colors: Record<ExperimentSetting, string> = { alone: '#9e9e9e', distilled: '#4e79a7', 'distilled+pool': '#f28e2b', teacher: '#59a14f' };
  const layout = layoutBarChart(
    // An ensemble's members are in the table, not the chart (their long names would collide).
    ordered.filter((r) => r.setting !== 'teacher' || r.model === 'teacher').map((r) => ({ group: r.model, series: r.setting, value: r.eval?.accuracy ?? null })),
    { title: 'eval accuracy', series: (['alone', 'distilled', 'distilled+pool', 'teacher'] as const).map((name) => ({ name, color: colors[name] })) },
  );
  const svg = renderSvg(layout);
  writeFileAtomic(files.svg, svg);
  const chart = renderChartPng(svg);
  writeFileAtomic(files.png, chart.png);
  if (!chart.textRendered) {
    log(
      `experiment: ${files.png} has no text: no font was found to draw it (install fonts-dejavu-core, ` +
        `or set ${CHART_FONT_ENV}=/path/to/font.ttf); ${files.svg} and ${files.markdown} are complete`,
    );
  }
  result.seconds = (Date.now() - started) / 1000;
  return result;
}
