/**
 * A small trained student saved as a model folder, in about a second: the tiny synthetic task
 * (test/helpers/tiny-task.ts), one short epoch. For tests that need a real model to load and
 * serve (micro-batching, the HTTP server), not for accuracy.
 */
import { saveModelFolder } from '../../lib/model-folder';
import { NativeStudent, type StudentSpec } from '../../lib/student';
import { TINY_LABELS, TINY_MAX_LENGTH, TINY_VOCAB, tinyTexts, tinyTokenizer } from './tiny-task';

/** Trains a tiny `kind` student (seeded: the same weights every run) and saves it to `dir`; returns the folder's path. */
export async function trainTinyModelFolder(dir: string, kind: 'textcnn' | 'gru', seed = 11): Promise<string> {
  const spec: StudentSpec =
    kind === 'textcnn'
      ? { kind, vocabSize: TINY_VOCAB.length, numClasses: TINY_LABELS.length, embeddingDim: 16, windows: [2, 3], filters: 16, dropout: 0.1, seed }
      : { kind, vocabSize: TINY_VOCAB.length, numClasses: TINY_LABELS.length, embeddingDim: 16, hidden: 16, bidirectional: false, dropout: 0.1, seed };
  const { texts, labels } = tinyTexts(300, seed);
  const rows = tinyTokenizer().encodeBatch(texts, { maxLength: TINY_MAX_LENGTH });
  const student = NativeStudent.create(spec);
  try {
    await student.train({ ...rows, labels }, null, {
      epochs: 1, batchSize: 16, learningRate: 0.01, optimizer: 'adam', weightDecay: 0, warmup: 0, lrDecay: 'none', clipNorm: 0, threads: 2, seed: 1,
    });
    return saveModelFolder(dir, { student, vocabTokens: TINY_VOCAB, labels: TINY_LABELS, maxLength: TINY_MAX_LENGTH, lowercase: true });
  } finally {
    student.dispose();
  }
}
