import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import { Classifier } from '../lib/classifier';
import { saveModelFolder } from '../lib/model-folder';
import { NativeStudent, softmaxRows, StudentSpec } from '../lib/student';
import { TINY_LABELS, TINY_MAX_LENGTH, TINY_VOCAB, tinyTexts, tinyTokenizer } from './helpers/tiny-task';

const C = TINY_LABELS.length;
const specs: StudentSpec[] = [
  { kind: 'textcnn', vocabSize: TINY_VOCAB.length, numClasses: C, embeddingDim: 16, windows: [2, 3], filters: 16, dropout: 0.1, seed: 11 },
  { kind: 'gru', vocabSize: TINY_VOCAB.length, numClasses: C, embeddingDim: 16, hidden: 16, bidirectional: false, dropout: 0.1, seed: 11 },
];

describe('Classifier', () => {
  let tmp: string;
  const dirs: Record<string, string> = {};
  const students: Record<string, NativeStudent> = {};
  const { texts, labels } = tinyTexts(600, 21);
  const evalSet = tinyTexts(120, 22);

  before(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'md-classifier-'));
    const rows = tinyTokenizer().encodeBatch(texts, { maxLength: TINY_MAX_LENGTH });
    for (const spec of specs) {
      const student = NativeStudent.create(spec);
      await student.train({ ...rows, labels }, null, {
        epochs: 4, batchSize: 16, learningRate: 0.01, optimizer: 'adam', weightDecay: 0, warmup: 0, lrDecay: 'none', clipNorm: 0, threads: 2, seed: 1,
      });
      students[spec.kind] = student;
      dirs[spec.kind] = saveModelFolder(path.join(tmp, spec.kind), { student, vocabTokens: TINY_VOCAB, labels: TINY_LABELS, maxLength: TINY_MAX_LENGTH, lowercase: true });
    }
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  for (const spec of specs) {
    it(`${spec.kind}: predict, predictSync and NativeStudent + Tokenizer agree, and are accurate`, async () => {
      const clf = await Classifier.load(dirs[spec.kind], { threads: 2 });
      assert.deepEqual(clf.labels, TINY_LABELS);
      assert.equal(clf.kind, spec.kind);
      assert.equal(clf.backend, 'native');
      const asyncOut = await clf.predict(evalSet.texts, { topK: 2 });
      const syncOut = clf.predictSync(evalSet.texts, { topK: 2 });
      const raw = await clf.predictProbabilities(evalSet.texts);
      const viaStudent = softmaxRows(
        students[spec.kind].predictLogitsSync(tinyTokenizer().encodeBatch(evalSet.texts, { maxLength: TINY_MAX_LENGTH })),
        C,
      );
      assert.equal(raw.length, evalSet.texts.length * C);
      assert.deepEqual(clf.predictProbabilitiesSync(evalSet.texts), raw);
      let maxDiff = 0;
      for (let i = 0; i < raw.length; i++) maxDiff = Math.max(maxDiff, Math.abs(raw[i] - viaStudent[i]));
      assert.ok(maxDiff <= 1e-6, `max difference ${maxDiff}`);
      let right = 0;
      asyncOut.forEach((p, i) => {
        assert.deepEqual(p, syncOut[i]);
        assert.deepEqual(p.probabilities, raw.subarray(i * C, (i + 1) * C));
        assert.equal(p.label, p.top![0].label);
        assert.equal(p.score, p.top![0].score);
        assert.ok(p.top![0].score >= p.top![1].score);
        if (p.label === TINY_LABELS[evalSet.labels[i]]) right++;
      });
      assert.ok(right / evalSet.texts.length >= 0.95, `accuracy ${right / evalSet.texts.length}`);
      clf.close();
    });
  }

  it('handles empty input, empty texts and text longer than maxLength', async () => {
    const clf = await Classifier.load(dirs.textcnn);
    assert.deepEqual(await clf.predict([]), []);
    const out = clf.predictSync(['', 'good '.repeat(500), 'x y z']);
    assert.equal(out.length, 3);
    for (const p of out) assert.ok(Math.abs(p.probabilities.reduce((a, b) => a + b, 0) - 1) < 1e-5);
    assert.equal(out[1].label, 'pos');
    clf.close();
  });

  it('keeps the event loop free during a large predict (a timer fires while it runs)', async () => {
    const clf = await Classifier.load(dirs.gru);
    const big: string[] = [];
    for (let i = 0; i < 200; i++) big.push(...texts);
    let finished = false;
    let tickedWhileRunning = 0;
    // If the work ran on the JS thread, the promise would settle before any timer could fire.
    const timer = setInterval(() => {
      if (!finished) tickedWhileRunning++;
    }, 1);
    const probabilities = await clf.predictProbabilities(big);
    finished = true;
    clearInterval(timer);
    assert.equal(probabilities.length, big.length * C);
    assert.ok(tickedWhileRunning > 0, 'no timer tick while predicting');
    clf.close();
  });

  it('close() frees the model; later calls throw "Classifier is closed"', async () => {
    const clf = await Classifier.load(dirs.textcnn);
    const inFlight = clf.predict(evalSet.texts);
    clf.close();
    clf.close(); // twice is fine
    assert.equal((await inFlight).length, evalSet.texts.length); // work already started still finishes
    assert.throws(() => clf.predictSync(['a']), /Classifier is closed/);
    await assert.rejects(clf.predict(['a']), /Classifier is closed/);
    await assert.rejects(clf.predictProbabilities(['a']), /Classifier is closed/);
    assert.equal(clf.closed, true);
  });

  it('an async failure carries the stack of the predict call, unless callerStacks is false', async () => {
    const failing = (clf: Classifier): Classifier => {
      // The backend's call fails as a native worker would: later, with no caller on its stack.
      (clf as unknown as { impl: { probabilities(): Promise<never> } }).impl.probabilities = () => new Promise((_, reject) => setImmediate(() => reject(new Error('worker failed'))));
      return clf;
    };
    const withStacks = failing(await Classifier.load(dirs.textcnn));
    const without = failing(await Classifier.load(dirs.textcnn, { callerStacks: false }));
    try {
      const stackOf = async (clf: Classifier): Promise<string> => {
        const err = await clf.predictProbabilities(['a']).then(() => assert.fail('expected a rejection'), (e: Error) => e);
        assert.match(err.message, /^worker failed$/);
        return err.stack ?? '';
      };
      assert.match(await stackOf(withStacks), /--- predictProbabilities called from ---\n.*classifier\.test\.ts/);
      assert.doesNotMatch(await stackOf(without), /called from/);
    } finally {
      withStacks.close();
      without.close();
    }
  });

  describe('BAD CALL', () => {
    let clf: Classifier;
    before(async () => {
      clf = await Classifier.load(dirs.textcnn);
    });
    after(() => clf.close());

    it('predict() with a number', async () => {
      await assert.rejects(clf.predict(5 as never), /^TypeError: Expected an array of strings for texts but received number$/);
      assert.throws(() => clf.predictSync(5 as never), /Expected an array of strings for texts but received number/);
    });
    it('predict() with a non-string inside the array names the index', async () => {
      await assert.rejects(clf.predict(['ok', null] as never), /Expected an array of strings for texts but received null at index 1/);
    });
    it('predict() with a bad topK', async () => {
      await assert.rejects(clf.predict(['ok'], { topK: 0 }), /Expected positive integer for options.topK but received number 0/);
    });
    it('load() with a bad folder, thread count or backend', async () => {
      await assert.rejects(Classifier.load(path.join(tmp, 'missing')), /model folder not found/);
      await assert.rejects(Classifier.load(dirs.textcnn, { threads: -1 }), /Expected non-negative integer for options.threads but received number -1/);
      await assert.rejects(Classifier.load(dirs.textcnn, { backend: 'cuda' as never }), /for options.backend but received string "cuda"/);
      await assert.rejects(Classifier.load(42 as never), /Expected a non-empty string for dir but received number 42/);
      await assert.rejects(Classifier.load(dirs.textcnn, { callerStacks: 'no' as never }), /Expected a boolean for options.callerStacks but received string "no"/);
    });
  });
});
