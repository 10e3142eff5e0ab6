/**
 * The teacher check (a quality gate), between the teacher step and the soft labels.
 *
 * Distillation only helps when the teacher knows more than the student would learn
 * alone. A teacher trained here can fail that (a transformer from random weights on
 * ten thousand rows ends below a TextCNN), and then distilling makes the student worse,
 * silently. So after the teacher is trained its eval accuracy is compared with a
 * student trained alone on the same rows: the first of [model] students, trained by
 * this step with the run's own settings (or, in `experiment`, the alone setting's
 * students, which are trained anyway). When the teacher is not better by
 * [distill] teacher_margin the run says so on stderr and in run.json; with
 * [distill] require_better_teacher = true it then keeps the students trained alone.
 *
 * The student trained here is saved as the run's model of its kind, like any student
 * trained alone: a distilled one replaces it (model-generations.ts), and when the
 * check keeps the students alone it is not trained twice.
 */
import type { Config, StudentKind } from '../config';
import { formatScore } from '../progress';
import type { PreparedData } from './prepare-data';
import type { RunLog } from './run-log';
import type { Teacher } from './teacher/types';
import { trainStudentStep, type StudentResult, type StudentStepOptions } from './train-student';

/** A student trained alone, as the check compares with it. */
export interface TeacherComparison {
  /** "textcnn alone", ... */
  name: string;
  evalAccuracy: number;
}

/** What the check found; recorded as run.json's "teacherCheck". */
export interface TeacherCheckResult {
  teacherAccuracy: number;
  /** The students alone it compared with, the best first. */
  alone: TeacherComparison[];
  margin: number;
  /** true when the teacher beats the best student alone by more than the margin. */
  passed: boolean;
  /** One line for stderr, run.json and the experiment table; null when passed. */
  note: string | null;
  /** What the run does about it. */
  action: 'distil' | 'keep students trained alone';
}

export interface TeacherCheckOptions extends StudentStepOptions {
  /** Students alone already trained on the same rows (experiment): no student is trained here. */
  alone?: TeacherComparison[];
}

/** The check's verdict, and the student it trained alone (null when it trained none). */
export interface TeacherCheckStep {
  result: TeacherCheckResult | null;
  trainedAlone: StudentResult | null;
}

/**
 * Compares the teacher with a student trained alone; call it where teacherCheckApplies(). null
 * result when there is nothing to compare: no eval figure for the teacher or the student.
 */
export async function teacherCheckStep(
  config: Config,
  teacher: Teacher,
  data: PreparedData,
  runFolder: string,
  log: RunLog,
  options: TeacherCheckOptions,
): Promise<TeacherCheckStep> {
  const teacherAccuracy = teacher.identity.evalAccuracy;
  if (teacherAccuracy === null) {
    log.info('teacher check: skipped (the teacher has no eval accuracy to compare)');
    return { result: null, trainedAlone: null };
  }
  let trainedAlone: StudentResult | null = null;
  let alone = options.alone ?? [];
  if (options.alone === undefined) {
    const kind = config.model.students[0] as StudentKind;
    log.info(`teacher check: training ${kind} alone on the labelled rows, to compare the teacher with it ([distill] check_teacher = false skips this)`);
    trainedAlone = await trainStudentStep(config, kind, data, null, runFolder, log, options);
    if (trainedAlone.evalAccuracy !== null) alone = [{ name: `${kind} alone`, evalAccuracy: trainedAlone.evalAccuracy }];
  }
  if (alone.length === 0) {
    log.info('teacher check: skipped (no student alone with an eval accuracy to compare)');
    return { result: null, trainedAlone };
  }
  const result = judgeTeacher(teacherAccuracy, alone, config.distill.teacher_margin, config.distill.require_better_teacher);
  if (result.note === null) {
    const by = config.distill.teacher_margin > 0 ? ` by more than ${config.distill.teacher_margin}` : '';
    log.info(`teacher check: teacher ${formatScore(teacherAccuracy)} > ${describe(result.alone)}${by}: distilling`);
  } else {
    log.info(result.note);
    if (result.action === 'keep students trained alone') {
      log.info('teacher check: [distill] require_better_teacher = true: the students train on the labelled rows alone (no distillation)');
    }
  }
  log.record.teacherCheck = result;
  return { result, trainedAlone };
}

/** Whether the run checks its teacher: there is one, it distils, and [distill] check_teacher is on. */
export function teacherCheckApplies(config: Config, teacher: Teacher | null): teacher is Teacher {
  return teacher !== null && config.distill.enabled && config.distill.check_teacher;
}

/** The verdict: passed when the teacher beats the best student alone by more than `margin`. */
export function judgeTeacher(teacherAccuracy: number, alone: TeacherComparison[], margin: number, requireBetter: boolean): TeacherCheckResult {
  const sorted = [...alone].sort((a, b) => b.evalAccuracy - a.evalAccuracy);
  const best = sorted[0];
  // A hair of tolerance: accuracies are ratios of row counts, and 0.905 - 0.9 is not exactly
  // 0.005; a difference equal to the margin is not more than it.
  const passed = teacherAccuracy - best.evalAccuracy > margin + 1e-9;
  let note: string | null = null;
  if (!passed) {
    const relation = teacherAccuracy < best.evalAccuracy ? '<' : teacherAccuracy === best.evalAccuracy ? '=' : `is not more than ${margin} above`;
    note = `note: teacher ${formatScore(teacherAccuracy)} ${relation} ${describe(sorted)} on eval: distillation is unlikely to help`;
  }
  return {
    teacherAccuracy,
    alone: sorted,
    margin,
    passed,
    note,
    action: !passed && requireBetter ? 'keep students trained alone' : 'distil',
  };
}

/** "textcnn alone 0.7790, gru alone 0.7700" */
function describe(alone: TeacherComparison[]): string {
  return alone.map((a) => `${a.name} ${formatScore(a.evalAccuracy)}`).join(', ');
}
