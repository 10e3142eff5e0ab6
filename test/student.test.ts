import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import { EpochReport, NativeStudent, softmaxRows, StudentSpec, StudentTrainOptions, TrainProgressEvent } from '../lib/student';
import { TINY_LABELS, TINY_MAX_LENGTH, TINY_VOCAB, tinyTexts, tinyTokenizer } from './helpers/tiny-task';

const C = TINY_LABELS.length;
const V = TINY_VOCAB.length;
const textcnnSpec: StudentSpec = { kind: 'textcnn', vocabSize: V, numClasses: C, embeddingDim: 16, windows: [2, 3], filters: 16, dropout: 0.1, seed: 7 };
const gruSpec: StudentSpec = { kind: 'gru', vocabSize: V, numClasses: C, embeddingDim: 16, hidden: 16, bidirectional: true, dropout: 0.1, seed: 7 };
const options: StudentTrainOptions = {
  epochs: 4, batchSize: 16, learningRate: 0.01, optimizer: 'adam', weightDecay: 0, warmup: 0.1, lrDecay: 'linear',
  clipNorm: 5, threads: 2, seed: 3,
};

function encode(n: number, seed: number) {
  const { texts, labels } = tinyTexts(n, seed);
  const enc = tinyTokenizer().encodeBatch(texts, { maxLength: TINY_MAX_LENGTH });
  return { ...enc, labels, texts };
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

function accuracy(logits: Float32Array, labels: Int32Array): number {
  let right = 0;
  for (let i = 0; i < labels.length; i++) {
    let best = 0;
    for (let c = 1; c < C; c++) if (logits[i * C + c] > logits[i * C + best]) best = c;
    if (best === labels[i]) right++;
  }
  return right / labels.length;
}

describe('NativeStudent', () => {
  const train = encode(600, 1);
  const evalRows = encode(150, 2);

  for (const spec of [textcnnSpec, gruSpec]) {
    describe(spec.kind, () => {
      it('learns the tiny task from JS: loss falls, eval accuracy high, hooks fire', async () => {
        const student = NativeStudent.create(spec);
        assert.ok(student.parameterCount > 0);
        const before = accuracy(student.predictLogitsSync(evalRows), evalRows.labels);
        const epochs: EpochReport[] = [];
        const progress: TrainProgressEvent[] = [];
        const report = await student.train(train, evalRows, options, { onEpoch: (e) => epochs.push(e), onProgress: (p) => progress.push(p) });
        assert.equal(report.epochs.length, 4);
        assert.deepEqual(epochs, report.epochs);
        assert.ok(progress.length >= 4, `only ${progress.length} progress events`);
        assert.equal(progress[progress.length - 1].step, report.steps);
        assert.equal(report.steps, 4 * Math.ceil(600 / 16));
        assert.ok(report.epochs[3].trainLoss < report.epochs[0].trainLoss / 2, JSON.stringify(report.epochs.map((e) => e.trainLoss)));
        assert.ok(report.bestEpoch >= 1 && report.bestEpoch <= 4);
        assert.ok(report.examplesPerSecond > 0);
        assert.equal(report.cancelled, false);
        const after = accuracy(await student.predictLogits(evalRows), evalRows.labels);
        assert.ok(after >= 0.95, `eval accuracy ${after} (before training ${before})`);
        assert.equal(report.epochs[report.bestEpoch - 1].evalAccuracy, after);
        student.dispose();
      });

      it('fast path equals the reference path (probabilities within 1e-5), sync equals async', async () => {
        const student = NativeStudent.create(spec);
        await student.train(train, null, { ...options, epochs: 1 });
        const fast = student.predictLogitsSync(evalRows, { path: 'fast' });
        const reference = student.predictLogitsSync(evalRows, { path: 'reference' });
        assert.ok(maxAbsDiff(softmaxRows(fast, C), softmaxRows(reference, C)) <= 1e-5);
        const asyncFast = await student.predictLogits(evalRows, { threads: 1, batchSize: 7 });
        assert.ok(maxAbsDiff(fast, asyncFast) <= 1e-6);
      });

      it('is deterministic for a seed and thread count', async () => {
        const run = async () => {
          const s = NativeStudent.create(spec);
          const r = await s.train(train, evalRows, { ...options, epochs: 2 });
          return { losses: r.epochs.map((e) => e.trainLoss), logits: s.predictLogitsSync(evalRows) };
        };
        const a = await run();
        const b = await run();
        assert.deepEqual(a.losses, b.losses);
        assert.deepEqual(a.logits, b.logits);
        const other = NativeStudent.create({ ...spec, seed: 8 });
        assert.notDeepEqual(other.predictLogitsSync(evalRows), NativeStudent.create(spec).predictLogitsSync(evalRows));
      });
    });
  }

  it('learns from soft targets alone (distillation rows without labels)', async () => {
    const teacher = NativeStudent.create(textcnnSpec);
    await teacher.train(train, null, options);
    const soft = teacher.predictLogitsSync(train);
    const student = NativeStudent.create({ ...textcnnSpec, seed: 99 });
    const report = await student.train({ ...train, labels: undefined, softTargets: soft }, evalRows, { ...options, temperature: 2, distillLoss: 'kl' });
    assert.ok(report.epochs[report.bestEpoch - 1].evalAccuracy! >= 0.9);
  });

  it('an AbortSignal cancels training after the current batch; the student is usable again', async () => {
    const student = NativeStudent.create(textcnnSpec);
    const controller = new AbortController();
    let epochs = 0;
    const report = await student.train(train, evalRows, { ...options, epochs: 500, batchSize: 8 }, {
      onEpoch: () => {
        epochs++;
        if (epochs === 1) controller.abort();
      },
      signal: controller.signal,
    });
    assert.equal(report.cancelled, true);
    assert.ok(report.epochs.length < 500, `${report.epochs.length} epochs ran`);
    assert.equal(student.predictLogitsSync(evalRows).length, 150 * C);
    // Already aborted before the start: nothing trains.
    const early = await student.train(train, null, options, { signal: AbortSignal.abort() });
    assert.equal(early.cancelled, true);
    assert.equal(early.steps, 0);
    assert.deepEqual(early.epochs, []);
  });

  it('a hook that throws stops training and rejects train() with its error', async () => {
    const student = NativeStudent.create(textcnnSpec);
    await assert.rejects(
      student.train(train, evalRows, { ...options, epochs: 20 }, { onEpoch: () => { throw new Error('hook failed'); } }),
      /hook failed/,
    );
    assert.equal(student.predictLogitsSync(evalRows).length, 150 * C);
  });

  it('refuses other calls while training', async () => {
    const student = NativeStudent.create(textcnnSpec);
    const running = student.train(train, null, { ...options, epochs: 3 });
    assert.throws(() => student.predictLogitsSync(evalRows), /busy training/);
    assert.throws(() => student.loadWeights('/nonexistent.safetensors'), /busy training/);
    await running;
  });

  it('setEmbeddings copies found rows only and keeps the padding row zero', () => {
    const student = NativeStudent.create(textcnnSpec);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'md-student-'));
    const base = student.predictLogitsSync(evalRows);
    const vectors = new Float32Array(V * 16).fill(0.25);
    const none = new Uint8Array(V);
    student.setEmbeddings(vectors, none); // nothing found: nothing changes
    assert.deepEqual(student.predictLogitsSync(evalRows), base);
    student.setEmbeddings(vectors);
    assert.notDeepEqual(student.predictLogitsSync(evalRows), base);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('saveWeights/loadWeights round-trip; loading errors name the file and the tensor', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'md-student-'));
    try {
      const a = NativeStudent.create(textcnnSpec);
      await a.train(train, null, { ...options, epochs: 1 });
      const file = path.join(dir, 'w.safetensors');
      a.saveWeights(file, { note: 'test' });
      const b = NativeStudent.create({ ...textcnnSpec, seed: 123 });
      b.loadWeights(file);
      assert.deepEqual(b.predictLogitsSync(evalRows), a.predictLogitsSync(evalRows));
      const wider = NativeStudent.create({ ...textcnnSpec, filters: 8 });
      assert.throws(() => wider.loadWeights(file), (e: Error) => /w\.safetensors/.test(e.message) && /shape mismatch for conv2\.weight/.test(e.message));
      const gru = NativeStudent.create(gruSpec);
      assert.throws(() => gru.loadWeights(file), /w\.safetensors.*(missing tensor|unexpected tensor)/);
      assert.throws(() => a.loadWeights(path.join(dir, 'none.safetensors')), /none\.safetensors/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  describe('BAD CALL', () => {
    const student = NativeStudent.create(textcnnSpec);
    it('create() with bad spec fields names them', () => {
      assert.throws(() => NativeStudent.create({ ...textcnnSpec, kind: 'lstm' } as never), /Expected one of 'textcnn', 'gru', 'transformer' for spec.kind but received string "lstm"/);
      assert.throws(() => NativeStudent.create({ ...textcnnSpec, filters: -1 }), /Expected positive integer for spec.filters but received number -1/);
      assert.throws(() => NativeStudent.create({ ...textcnnSpec, windows: [3, 0] }), /spec.windows\[1\]/);
      assert.throws(() => NativeStudent.create({ ...gruSpec, bidirectional: 'yes' } as never), /Expected boolean for spec.bidirectional but received string "yes"/);
      assert.throws(() => NativeStudent.create({ ...textcnnSpec, dropout: 1 }), /Expected number in \[0, 1\) for spec.dropout but received number 1/);
    });
    it('rows of the wrong length or type', () => {
      const ids = new Int32Array(100 * 16 - 1);
      assert.throws(
        () => student.predictLogitsSync({ ids, lengths: new Int32Array(100).fill(1), maxLength: 16 }),
        /Expected Int32Array of length rows\*maxLength \(100\*16\) = 1600 for rows.ids but received length 1599/,
      );
      assert.throws(() => student.predictLogitsSync({ ids: new Float32Array(16) as never, lengths: new Int32Array(1), maxLength: 16 }), /Expected Int32Array for rows.ids but received Float32Array/);
      assert.throws(() => student.predictLogitsSync({ ids: new Int32Array(16), lengths: new Int32Array(1), maxLength: 0 }), /Expected positive integer for rows.maxLength but received number 0/);
    });
    it('token ids outside the vocabulary and bad lengths name the row', () => {
      const ids = new Int32Array(2 * 4);
      ids[4 + 2] = V;
      assert.throws(() => student.predictLogitsSync({ ids, lengths: new Int32Array([1, 3]), maxLength: 4 }), new RegExp(`token id ${V} at row 1, position 2 is outside the vocabulary \\[0, ${V}\\)`));
      assert.throws(() => student.predictLogitsSync({ ids: new Int32Array(8), lengths: new Int32Array([1, 0]), maxLength: 4 }), /length 0 at row 1 is outside \[1, 4\]/);
    });
    it('bad train options and labels', async () => {
      await assert.rejects(student.train(train, null, { ...options, optimizer: 'sgd' as never }), /Expected one of 'adam', 'adamw' for options.optimizer but received string "sgd"/);
      await assert.rejects(student.train(train, null, { ...options, warmup: 1 }), /options.warmup/);
      await assert.rejects(student.train({ ...train, labels: undefined }, null, options), /Expected labels or softTargets/);
      const labels = train.labels.slice();
      labels[5] = 9;
      await assert.rejects(student.train({ ...train, labels }, null, options), /label 9 at row 5 is outside \[0, 3\)/);
      await assert.rejects(student.train({ ...train, softTargets: new Float32Array(3) }, null, options), /train.softTargets/);
    });
    it('setEmbeddings with the wrong size', () => {
      assert.throws(() => student.setEmbeddings(new Float32Array(5)), new RegExp(`for vectors but received length 5`));
    });
    it('calls after dispose()', () => {
      const s = NativeStudent.create(textcnnSpec);
      s.dispose();
      assert.throws(() => s.parameterCount, /NativeStudent is disposed/);
      assert.throws(() => s.predictLogitsSync(evalRows), /NativeStudent is disposed/);
    });
  });
});
