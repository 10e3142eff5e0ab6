/**
 * `model-distill train config.ini [uniqid]` as a function: runs the pipeline
 * the config describes and leaves everything under <model.dir>/<uniqid>/:
 *
 *   <run>/config.resolved.json   every setting, defaults filled, paths absolute
 *   <run>/run.log                what the run printed, timestamped
 *   <run>/run.json               status, timings, data counts, versions, per-epoch metrics
 *   <run>/vocab.txt              only when the vocab was built by this run
 *   <run>/<student>/             one model folder per student (config.json,
 *                                weights.safetensors, vocab.txt, class_id.txt)
 *
 * Steps, each timed in run.json:
 *   1. data      classes, train/eval rows, vocab, token ids   (prepare-data.ts)
 *   2. teacher   none, or native: fine-tune a transformer     (teacher/)
 *                -> <run>/teacher/ (reused when settings + data are unchanged);
 *                onnx: an exported model; [teacher] ensemble: members averaged
 *                with it -> <run>/teacher/members/<name>/      (teacher/ensemble.ts)
 *   2b. check    the teacher against the first student trained alone  (teacher-check.ts)
 *   3. soft      the teacher's logits for train rows and pool  (teacher/)
 *                -> <run>/soft-labels.cache (soft-label-cache.ts)
 *   4. students  one by one, in [model] students order        (train-student.ts)
 * A run with the same uniqid replaces the models of the earlier one.
 */
import * as fs from 'fs';
import * as path from 'path';

import { loadConfig, resolveUniqid, runDir, writeResolvedConfig, type Config, type StudentKind } from '../config';
import type { ProgressWriter } from '../progress';
import { fileSha256 } from '../util/files';
import { POOL_PART_ROWS } from './pool-stream';
import { prepareData } from './prepare-data';
import { RESOLVED_CONFIG_FILE, RunLog, RUN_JSON_FILE, RUN_LOG_FILE } from './run-log';
import type { RunProgressListener } from './run-progress';
import { checkTeacherSupported, softTargetsStep, teacherStep } from './teacher';
import { teacherCheckApplies, teacherCheckStep, type TeacherComparison, type TeacherCheckStep } from './teacher-check';
import { trainStudentStep, type StudentResult } from './train-student';
import { checkWritableFolder } from './writable-folder';

export interface TrainFromConfigOptions {
  /** Each message of the run, as it happens (default: none; the CLI prints them to stderr). */
  log?: (line: string) => void;
  /** Where progress bars are drawn (a bar on a terminal, plain lines otherwise); false or absent = none. */
  progress?: ProgressWriter | false;
  /** Stops training at the next batch; the run then fails with "cancelled". */
  signal?: AbortSignal;
  /** Steps, batches and epochs as data (run-progress.ts). */
  onProgress?: RunProgressListener;
  /** "Today" for a `${time}` uniqid (tests). */
  now?: Date;
  /** `train --queue`: score the pool on workers through this Redis URL (overrides [distill] queue). */
  queue?: string;
  /**
   * Where the teacher (<folder>/teacher/) and its soft-label cache live; default the run
   * folder. `experiment` points every distilled setting at the user's run folder, so the
   * teacher is trained (or found) once and every text is scored once for all settings.
   */
  teacherFolder?: string;
  /**
   * Students already trained alone on the same rows (`experiment`'s alone setting): the
   * teacher check compares with these instead of training one.
   */
  aloneStudents?: TeacherComparison[];
}

export interface RunSummary {
  uniqid: string;
  runDir: string;
  config: string;
  files: { resolvedConfig: string; runLog: string; runJson: string };
  students: StudentResult[];
  seconds: number;
}

export async function trainFromConfig(configPath: string, uniqidArg?: string, options: TrainFromConfigOptions = {}): Promise<RunSummary> {
  const config = loadConfig(configPath);
  if (options.queue !== undefined) config.distill.queue = options.queue;
  const uniqid = resolveUniqid(uniqidArg, options.now);
  // Before anything is written: a config this version cannot run fails now.
  checkTeacherSupported(config);
  const dir = runDir(config, uniqid);
  checkWritableFolder(config.model.dir, `${config.file}: [model] dir`);
  const replacing = fs.existsSync(dir);
  fs.mkdirSync(dir, { recursive: true });

  const log = new RunLog(dir, { uniqid, config: config.file }, { echo: options.log, onProgress: options.onProgress });
  const files = {
    resolvedConfig: path.join(dir, RESOLVED_CONFIG_FILE),
    runLog: path.join(dir, RUN_LOG_FILE),
    runJson: path.join(dir, RUN_JSON_FILE),
  };
  const students: StudentResult[] = [];
  try {
    log.info(`run "${uniqid}" of ${config.file} -> ${dir}${replacing ? ' (replacing the earlier run of that name)' : ''}`);
    writeResolvedConfig(config, files.resolvedConfig, { uniqid });
    const v = log.record.versions;
    log.info(`model-distill ${v.package}, core ${v.core} (${v.simd}), node ${v.node}, ${v.cores} cores, threads ${config.train.threads}`);

    const data = await log.step('data', () => prepareData(config, dir, log));
    // What reproduces this run: the command, and the exact bytes of every data file it read.
    log.record.reproduce = {
      command: `model-distill train ${config.file} ${uniqid}`,
      files: dataFileHashes(config),
      poolPartRows: POOL_PART_ROWS,
    };
    const stepOptions = { progress: options.progress ?? false, signal: options.signal, onProgress: options.onProgress } as const;
    const teacherFolder = options.teacherFolder === undefined ? dir : path.resolve(options.teacherFolder);
    if (teacherFolder !== dir) fs.mkdirSync(teacherFolder, { recursive: true });
    const teacher = await log.step('teacher', () => teacherStep(config, data, teacherFolder, log, stepOptions));
    const check: TeacherCheckStep = teacherCheckApplies(config, teacher)
      ? await log.step('teacher_check', () => teacherCheckStep(config, teacher, data, dir, log, { ...stepOptions, alone: options.aloneStudents }))
      : { result: null, trainedAlone: null };
    const distil = check.result === null || check.result.action === 'distil';
    const soft = distil ? await log.step('soft_targets', () => softTargetsStep(config, teacher, data, teacherFolder, log, stepOptions)) : null;
    if (soft !== null) {
      const d = config.distill;
      log.record.distill = {
        teacher: soft.teacher.weightsSha256,
        temperature: d.temperature,
        alpha: d.alpha,
        loss: d.loss,
        epochs: soft.pool === null ? d.epochs : d.pool_epochs,
        useUnlabeled: d.use_unlabeled,
        unlabeledLimit: d.unlabeled_limit,
        poolRows: soft.pool === null ? 0 : soft.pool.rows,
      };
    }

    log.record.students = students;
    for (const kind of config.model.students as StudentKind[]) {
      // The teacher check's student alone is this run's model when there is no distillation.
      const trainedAlone = soft === null && check.trainedAlone?.kind === kind ? check.trainedAlone : null;
      const result = trainedAlone ?? (await log.step(kind, () => trainStudentStep(config, kind, data, soft, dir, log, stepOptions)));
      students.push(result);
    }
    const summaryLine = students
      .map((s) => `${s.kind} eval accuracy ${s.evalAccuracy === null ? '-' : s.evalAccuracy.toFixed(4)} (epoch ${s.bestEpoch})`)
      .join(', ');
    log.info(`done in ${log.elapsed().toFixed(1)} s: ${summaryLine}. Run folder: ${dir}`);
    log.finish();
  } catch (err) {
    log.finish(err);
    throw err;
  }
  return { uniqid, runDir: dir, config: config.file, files, students, seconds: log.record.timings.total };
}

/** sha256 of each data file the run reads ([data] train, eval, unlabeled, class_id, vocab, test). */
function dataFileHashes(config: Config): Record<string, { path: string; sha256: string }> {
  const out: Record<string, { path: string; sha256: string }> = {};
  const d = config.data;
  for (const [key, file] of [['train', d.train], ['eval', d.eval], ['unlabeled', d.unlabeled], ['class_id', d.class_id], ['vocab', d.vocab], ['test', d.test]] as const) {
    if (file !== null && fs.existsSync(file)) out[key] = { path: file, sha256: fileSha256(file) };
  }
  return out;
}
