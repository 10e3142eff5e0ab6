/**
 * A worker's copy of the run's teacher, built from its recipe
 * (teacher-recipe.ts). A member is scored exactly as the local pipeline scores
 * it (teacher.ts, ensemble.ts, folder-member.ts): same tokenizer, max length,
 * special tokens, [UNK] for rows with no token, and the same per-call batch
 * sizes, so the logits a worker returns are the ones a local run would cache.
 * An ensemble averages its members' log-softmax (averageLogSoftmax); a single
 * model's logits are used as they are.
 */
import { Classifier } from '../classifier';
import { loadStudentFromFolder } from '../model-folder';
import { averageLogSoftmax } from '../pipeline/teacher/ensemble';
import { logProbabilities } from '../pipeline/teacher/folder-member';
import { OnnxTeacher } from '../pipeline/teacher/onnx';
import { fillEmptyRows } from '../pipeline/prepare-data';
import { fileSha256 } from '../util/files';
import { Tokenizer } from '../tokenizer';
import type { MemberRecipe, TeacherRecipe } from './teacher-recipe';

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
        return logProbabilities(await classifier.predictProbabilities(texts));
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
