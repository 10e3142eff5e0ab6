/**
 * Finding a trained run and its models, for `predict` and `eval`. Every
 * "not found" says which folder was looked for and the command that makes it.
 */
import * as fs from 'fs';
import * as path from 'path';

import { resolveUniqid, runDir, STUDENT_KINDS, type Config, type StudentKind } from '../config';

/** A model folder is recognised by its config.json. */
function isModelFolder(dir: string): boolean {
  return fs.existsSync(path.join(dir, 'config.json'));
}

function trainCommand(config: Config, uniqid: string, uniqidArg: string | undefined): string {
  const rel = path.relative(process.cwd(), config.file) || config.file;
  const id = uniqidArg === undefined ? '' : ` ${uniqid === uniqidArg ? uniqid : `'${uniqidArg}'`}`;
  return `model-distill train ${rel}${id}`;
}

export interface RunModels {
  uniqid: string;
  dir: string;
  /** Students with a model folder in the run, in [model] students order, then any other kinds. */
  models: StudentKind[];
}

/** The run `uniqidArg` names (absent: "default") and the students saved in it. */
export function findRun(config: Config, uniqidArg: string | undefined): RunModels {
  const uniqid = resolveUniqid(uniqidArg);
  const dir = runDir(config, uniqid);
  if (!fs.existsSync(dir)) {
    throw new Error(`no run "${uniqid}": folder ${dir} does not exist; create it with: ${trainCommand(config, uniqid, uniqidArg)}`);
  }
  const order = [...config.model.students, ...STUDENT_KINDS.filter((k) => !config.model.students.includes(k))];
  const models = order.filter((k) => isModelFolder(path.join(dir, k)));
  return { uniqid, dir, models };
}

/**
 * The folder of one student of a run: `requested` (checked to be a student
 * kind), else the first student in [model] students. Errors list what the run has.
 */
export function modelFolder(config: Config, run: RunModels, requested: string | undefined, uniqidArg: string | undefined): { kind: StudentKind; dir: string } {
  if (requested !== undefined && !(STUDENT_KINDS as readonly string[]).includes(requested)) {
    throw new Error(`Expected one of ${STUDENT_KINDS.join(', ')} for --model but received ${JSON.stringify(requested)}`);
  }
  const kind = (requested ?? config.model.students[0]) as StudentKind;
  const dir = path.join(run.dir, kind);
  if (!isModelFolder(dir)) {
    const has = run.models.length > 0 ? `it has: ${run.models.join(', ')}` : 'it has no model folders';
    const how =
      requested !== undefined && !config.model.students.includes(kind)
        ? `add ${kind} to [model] students in ${config.file} and run: ${trainCommand(config, run.uniqid, uniqidArg)}`
        : `train it with: ${trainCommand(config, run.uniqid, uniqidArg)}`;
    throw new Error(`no ${kind} model in run "${run.uniqid}" (${dir}/config.json not found; ${has}); ${how}`);
  }
  return { kind, dir };
}
