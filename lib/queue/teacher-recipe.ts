/**
 * How a worker on another machine rebuilds the run's teacher: a recipe of
 * files on shared storage (never weights in Redis), written by the
 * coordinator from the teacher `train` built, and loaded by the worker
 * (teacher-loader.ts). Every member names the sha256 of its weights; a worker
 * whose copy differs refuses the job instead of caching another teacher's
 * logits under this teacher's identity.
 */
import * as path from 'path';

import type { Config } from '../config';

/**
 * The parts of the pipeline's TeacherIdentity (pipeline/teacher.ts) a recipe
 * needs, stated here so this folder does not import the pipeline's teacher
 * (which calls into this folder: that would be an import cycle).
 */
export interface TeacherFiles {
  kind: 'native' | 'onnx' | 'ensemble';
  weightsSha256: string;
  dir: string;
  members?: ReadonlyArray<{ name: string; weightsSha256: string; dir: string }>;
}

export type MemberRecipe =
  /** [teacher] kind = native: the fine-tuned transformer's model folder; rows [CLS] pieces [SEP]. */
  | { kind: 'transformer-folder'; name: string; dir: string; weightsSha256: string; maxLength: number }
  /** [teacher] kind = onnx: the .onnx file and its vocab.txt. */
  | { kind: 'onnx'; name: string; file: string; vocab: string; maxLength: number; weightsSha256: string }
  /** A member trained by [teacher] ensemble: the students' tokenisation as saved in its folder. */
  | { kind: 'student-folder'; name: string; dir: string; weightsSha256: string }
  /** A folder of [teacher] ensemble_models: the log of its Classifier probabilities. */
  | { kind: 'classifier-folder'; name: string; dir: string; weightsSha256: string };

export interface TeacherRecipe {
  /** The teacher's identity (its soft-label cache key). */
  teacherSha256: string;
  numClasses: number;
  /** true for an ensemble: the members' log-softmax is averaged (even for one member, as ensemble.ts does). */
  average: boolean;
  members: MemberRecipe[];
}

/** The recipe of the teacher train built; `config` gives what the identity does not (ONNX vocab, max length). */
export function teacherRecipe(config: Config, identity: TeacherFiles, numClasses: number): TeacherRecipe {
  const base = { teacherSha256: identity.weightsSha256, numClasses };
  if (identity.kind === 'native') {
    return { ...base, average: false, members: [{ kind: 'transformer-folder', name: 'transformer', dir: path.resolve(identity.dir), weightsSha256: identity.weightsSha256, maxLength: config.teacher.max_length }] };
  }
  if (identity.kind === 'onnx') return { ...base, average: false, members: [onnxMember(config, identity.weightsSha256)] };
  const members: MemberRecipe[] = (identity.members ?? []).map((m) => {
    const dir = path.resolve(m.dir);
    if (m.name === 'transformer') return { kind: 'transformer-folder', name: m.name, dir, weightsSha256: m.weightsSha256, maxLength: config.teacher.max_length };
    if (m.name === 'onnx') return onnxMember(config, m.weightsSha256);
    if (/^model-\d+$/.test(m.name)) return { kind: 'classifier-folder', name: m.name, dir, weightsSha256: m.weightsSha256 };
    return { kind: 'student-folder', name: m.name, dir, weightsSha256: m.weightsSha256 };
  });
  if (members.length === 0) throw new Error('queue scoring: the ensemble teacher lists no members');
  return { ...base, average: true, members };
}

function onnxMember(config: Config, sha256: string): MemberRecipe {
  const t = config.teacher;
  if (t.path === null || t.vocab === null) throw new Error('queue scoring: [teacher] kind = onnx needs path and vocab');
  return { kind: 'onnx', name: 'onnx', file: path.resolve(t.path), vocab: path.resolve(t.vocab), maxLength: t.max_length, weightsSha256: sha256 };
}
