/**
 * How a worker on another machine rebuilds the run's teacher: a recipe of
 * files on shared storage (never weights in Redis), written by the
 * coordinator from the teacher `train` built, and loaded by the worker.
 *
 * A member is scored exactly as the local pipeline scores it (teacher.ts,
 * ensemble.ts, folder-member.ts): same tokenizer, max length, special tokens,
 * [UNK] for rows with no token, and the same per-call batch sizes, so the
 * logits a worker returns are the ones a local run would cache. An ensemble
 * averages its members' log-softmax (averageLogSoftmax), a single model's
 * logits are used as they are.
 *
 * Every member names the sha256 of its weights; a worker whose copy differs
 * refuses the job instead of caching another teacher's logits under this
 * teacher's identity.
 */
import * as path from 'path';

import { Classifier } from '../classifier';
import type { Config } from '../config';
import { loadStudentFromFolder } from '../model-folder';
import { averageLogSoftmax } from '../pipeline/ensemble';
import { LOG_TINY } from '../pipeline/folder-member';
import { OnnxTeacher } from '../pipeline/onnx-teacher';
import { fillEmptyRows } from '../pipeline/prepare-data';
import { fileSha256 } from '../pipeline/soft-label-cache';
import type { TeacherIdentity } from '../pipeline/teacher';
import { Tokenizer } from '../tokenizer';

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
export function teacherRecipe(config: Config, identity: TeacherIdentity, numClasses: number): TeacherRecipe {
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

/** A loaded teacher on a worker. */
export interface LoadedTeacher {
  logits(texts: string[]): Promise<Float32Array>;
  close(): Promise<void>;
}

interface LoadedMember {
  logits(texts: string[]): Promise<Float32Array>;
  close(): Promise<void>;
}

/** Loads every member of `recipe` (checking each one's weights hash) with `threads` compute threads. */
export async function loadTeacherRecipe(recipe: TeacherRecipe, threads: number): Promise<LoadedTeacher> {
  const loaded: LoadedMember[] = [];
  try {
    for (const m of recipe.members) loaded.push(await loadMember(m, recipe.numClasses, threads));
  } catch (err) {
    for (const l of loaded) await l.close();
    throw err;
  }
  return {
    async logits(texts) {
      if (!recipe.average) return loaded[0].logits(texts);
      const parts: Float32Array[] = [];
      for (const l of loaded) parts.push(await l.logits(texts)); // one at a time: each uses every thread
      return averageLogSoftmax(parts, recipe.numClasses);
    },
    async close() {
      for (const l of loaded) await l.close();
    },
  };
}

function checkSha(what: string, file: string, expected: string): void {
  const actual = fileSha256(file);
  if (actual !== expected) {
    throw new Error(
      `${what} ${file} on this worker has sha256 ${actual.slice(0, 12)}…, but the job's teacher has ${expected.slice(0, 12)}…; ` +
        'workers must see the very files the coordinator used (shared storage, same paths)',
    );
  }
}

async function loadMember(m: MemberRecipe, numClasses: number, threads: number): Promise<LoadedMember> {
  if (m.kind === 'onnx') {
    checkSha('ONNX teacher', m.file, m.weightsSha256);
    const teacher = await OnnxTeacher.open({ file: m.file, vocab: m.vocab, numClasses, maxLength: m.maxLength, threads });
    return {
      async logits(texts) {
        const enc = await teacher.tokenizer.encodeBatchAsync(texts, { maxLength: m.maxLength, addSpecialTokens: true });
        return teacher.predictLogits({ ids: enc.ids, lengths: enc.lengths, maxLength: enc.maxLength }, { threads, batchSize: 64 });
      },
      close: () => teacher.close(),
    };
  }
  if (m.kind === 'classifier-folder') {
    const classifier = await Classifier.load(m.dir, { threads, backend: 'native' });
    checkSha(`teacher member ${m.name}`, classifier.folder.weightsPath, m.weightsSha256);
    return {
      async logits(texts) {
        return Float32Array.from(await classifier.predictProbabilities(texts), (p) => (p > 0 ? Math.log(p) : LOG_TINY));
      },
      async close() {
        classifier.close();
      },
    };
  }
  const { folder, student, vocabTokens } = loadStudentFromFolder(m.dir);
  try {
    checkSha(`teacher member ${m.name}`, folder.weightsPath, m.weightsSha256);
  } catch (err) {
    student.dispose();
    throw err;
  }
  const tokenizer = Tokenizer.fromTokens(vocabTokens, { lowercase: folder.config.lowercase });
  if (m.kind === 'transformer-folder') {
    return {
      async logits(texts) {
        const enc = await tokenizer.encodeBatchAsync(texts, { maxLength: m.maxLength, addSpecialTokens: true });
        return student.predictLogits({ ids: enc.ids, lengths: enc.lengths, maxLength: enc.maxLength }, { threads, batchSize: 64 });
      },
      async close() {
        student.dispose();
      },
    };
  }
  return {
    async logits(texts) {
      const enc = await tokenizer.encodeBatchAsync(texts, { maxLength: folder.config.maxLength, addSpecialTokens: folder.config.addSpecialTokens });
      const rows = { ids: enc.ids, lengths: enc.lengths, maxLength: enc.maxLength };
      fillEmptyRows(rows, tokenizer.unkId);
      return student.predictLogits(rows, { threads, batchSize: 256 });
    },
    async close() {
      student.dispose();
    },
  };
}
