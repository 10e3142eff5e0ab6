/**
 * Child process for test/model-replace.test.ts: saves two different models (A: the tiny vocab,
 * B: the tiny vocab plus 8 tokens, so files of one never fit the other) into the same folder,
 * alternately, `count` times (0 = until killed). Prints "saved" after the first save.
 *
 *   node --require tsx/cjs save-loop.ts <dir> <count>
 */
import { saveModelFolder } from '../../lib/model-folder';
import { NativeStudent } from '../../lib/student';
import { TINY_LABELS, TINY_MAX_LENGTH, TINY_VOCAB } from './tiny-task';

const [dir, countText] = process.argv.slice(2);
const count = Number(countText);
const vocabs = [TINY_VOCAB, [...TINY_VOCAB, 'x1', 'x2', 'x3', 'x4', 'x5', 'x6', 'x7', 'x8']];
const students = vocabs.map((vocab, i) =>
  NativeStudent.create({ kind: 'textcnn', vocabSize: vocab.length, numClasses: TINY_LABELS.length, embeddingDim: 8 + 8 * i, windows: [2], filters: 4, dropout: 0, seed: 1 }),
);
for (let i = 0; count === 0 || i < count; i++) {
  const which = i % 2;
  saveModelFolder(dir, { student: students[which], vocabTokens: vocabs[which], labels: TINY_LABELS, maxLength: TINY_MAX_LENGTH, lowercase: true });
  if (i === 0) process.stdout.write('saved\n');
}
