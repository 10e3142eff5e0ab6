/**
 * Steps 2 and 3 of `train`: the teacher, and the soft labels it gives the
 * students. The pipeline is
 *
 *   data -> teacher -> soft labels (train rows, and the pool when distilling
 *   with it) -> students
 *
 * In this version only `[teacher] kind = none` runs: the students train on the
 * labelled rows alone. The native transformer teacher (issue 4) and ONNX
 * teachers, and distillation (issue 5), slot in here: teacherStep() returns a
 * teacher, softTargetsStep() its logits for the train rows and the pool, and
 * the student step already passes softTargets to NativeStudent.train().
 */
import { configProblem, type Config } from '../config';
import type { PreparedData } from './prepare-data';
import type { RunLog } from './run-log';

/** The teacher kinds this version can run. */
const IMPLEMENTED_TEACHERS: ReadonlySet<string> = new Set(['none']);
const TEACHER_ISSUE: Record<string, string> = { native: 'issue 4', onnx: 'issues 4 and 5' };

/**
 * Fails fast, before any data is read, when the config asks for a teacher this
 * version does not have. The error points at the config line.
 */
export function checkTeacherSupported(config: Config): void {
  const kind = config.teacher.kind;
  if (!IMPLEMENTED_TEACHERS.has(kind)) {
    throw configProblem(
      config,
      'teacher',
      'kind',
      `= ${kind} is not implemented yet (${TEACHER_ISSUE[kind] ?? 'a later issue'}); set kind = none to train the students on the labelled data alone`,
    );
  }
}

/** What the students learn from besides the hard labels. */
export interface Teacher {
  /** Shown in logs and run.json: where the teacher came from. */
  identity: Record<string, unknown>;
}

export interface SoftTargets {
  /** [train rows, C] teacher logits for the labelled rows. */
  train: Float32Array;
}

/** Step 2: trains / loads the teacher; null when [teacher] kind = none. */
export async function teacherStep(config: Config, _data: PreparedData, log: RunLog): Promise<Teacher | null> {
  checkTeacherSupported(config);
  log.record.teacher = { kind: config.teacher.kind };
  log.info('teacher: none ([teacher] kind = none); the students train on the labelled data alone');
  return null;
}

/** Step 3: the teacher's logits for the rows the students train on; null without a teacher or with distillation off. */
export async function softTargetsStep(config: Config, teacher: Teacher | null, _data: PreparedData, _log: RunLog): Promise<SoftTargets | null> {
  if (teacher === null || !config.distill.enabled) return null;
  // Unreachable until a teacher kind is implemented (checkTeacherSupported).
  throw new Error('distillation is not implemented yet (issue 5)');
}
