/**
 * Classifier.load(dir, { batching }): concurrent calls coalesced into shared native calls, each
 * caller getting exactly its unbatched result; and the batcher's own rules (full batch leaves at
 * once, a delay gathers calls across turns, a failed batch fails each of its callers, close()
 * lets queued calls finish, bad options name the key).
 */
import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import { Classifier, type Prediction } from '../lib/classifier';
import { MicroBatcher, resolveBatchingOptions } from '../lib/micro-batcher';
import { TINY_LABELS, tinyTexts } from './helpers/tiny-task';
import { trainTinyModelFolder } from './helpers/tiny-model';

describe('Classifier micro-batching', () => {
  let tmp: string;
  const dirs: Record<string, string> = {};
  const { texts } = tinyTexts(1000, 31);

  before(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'md-batching-'));
    for (const kind of ['textcnn', 'gru'] as const) dirs[kind] = await trainTinyModelFolder(path.join(tmp, kind), kind);
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  for (const kind of ['textcnn', 'gru'] as const) {
    it(`${kind}: 1,000 concurrent single-text predict() calls equal the sequential unbatched results bit for bit`, async () => {
      const plain = await Classifier.load(dirs[kind]);
      const sequential: Prediction[] = [];
      for (const text of texts) sequential.push((await plain.predict([text], { topK: 2 }))[0]);
      plain.close();

      const batchSizes: number[] = [];
      const batched = await Classifier.load(dirs[kind], { batching: { maxBatch: 64, maxDelayMicros: 0, onBatch: (n) => batchSizes.push(n) } });
      const concurrent = await Promise.all(texts.map((text) => batched.predict([text], { topK: 2 })));
      batched.close();

      assert.equal(concurrent.length, texts.length);
      concurrent.forEach(([p], i) => {
        const q = sequential[i];
        assert.equal(p.label, q.label, `text ${i}`);
        assert.deepEqual(p.top, q.top, `text ${i}`);
        // Bit for bit: compare the raw float32 bytes, not values within a tolerance.
        assert.deepEqual(Buffer.from(p.probabilities.buffer, p.probabilities.byteOffset, p.probabilities.byteLength), Buffer.from(q.probabilities.buffer, q.probabilities.byteOffset, q.probabilities.byteLength), `text ${i}`);
      });
      assert.equal(batchSizes.reduce((a, b) => a + b, 0), texts.length, 'every text went through a batch once');
      assert.ok(batchSizes.every((n) => n >= 1 && n <= 64), `batch sizes within maxBatch: ${batchSizes.join(',')}`);
      assert.ok(batchSizes.length <= texts.length / 16, `calls were coalesced: ${batchSizes.length} batches for ${texts.length} calls`);
    });
  }

  it('calls of mixed sizes (empty, one, several, more than maxBatch) get their unbatched probabilities', async () => {
    const plain = await Classifier.load(dirs.textcnn);
    const batched = await Classifier.load(dirs.textcnn, { batching: { maxBatch: 32 } });
    const calls = [[], texts.slice(0, 1), texts.slice(1, 6), texts.slice(6, 106), texts.slice(106, 107), texts.slice(107, 140)];
    const got = await Promise.all(calls.map((c) => batched.predictProbabilities(c)));
    for (let i = 0; i < calls.length; i++) {
      assert.equal(got[i].length, calls[i].length * TINY_LABELS.length, `call ${i}`);
      assert.deepEqual(got[i], plain.predictProbabilitiesSync(calls[i]), `call ${i}`);
    }
    plain.close();
    batched.close();
  });

  it('a full batch leaves at once, without waiting for maxDelayMicros', async () => {
    const sizes: number[] = [];
    // A 60 s delay: if a full batch waited for it, mocha's timeout would fail the test.
    const clf = await Classifier.load(dirs.textcnn, { batching: { maxBatch: 4, maxDelayMicros: 60_000_000, onBatch: (n) => sizes.push(n) } });
    const out = await Promise.all(texts.slice(0, 8).map((t) => clf.predict([t])));
    assert.equal(out.length, 8);
    assert.deepEqual(sizes, [4, 4]);
    clf.close();
  });

  it('maxDelayMicros gathers calls made in later event-loop turns into one batch', async () => {
    const sizes: number[] = [];
    const clf = await Classifier.load(dirs.textcnn, { batching: { maxBatch: 100, maxDelayMicros: 200_000, onBatch: (n) => sizes.push(n) } });
    const first = clf.predict([texts[0]]);
    await new Promise((resolve) => setImmediate(resolve));
    const second = clf.predict([texts[1], texts[2]]);
    assert.equal(clf.pendingTexts, 3, 'both calls wait in the queue');
    await Promise.all([first, second]);
    assert.deepEqual(sizes, [3]);
    assert.equal(clf.pendingTexts, 0);
    clf.close();
  });

  it('close() starts queued calls, which then finish; later calls throw "Classifier is closed"', async () => {
    const clf = await Classifier.load(dirs.gru, { batching: { maxBatch: 100, maxDelayMicros: 60_000_000 } });
    const queued = clf.predict(texts.slice(0, 3));
    clf.close();
    assert.equal((await queued).length, 3);
    await assert.rejects(clf.predict(['a']), /Classifier is closed/);
  });

  it('a failing batch rejects every caller in it, and the next batch runs', async () => {
    let calls = 0;
    const batcher = new MicroBatcher(
      async (batch) => {
        calls++;
        if (calls === 1) throw new Error('model failed');
        return new Float32Array(batch.length * 2).fill(0.5);
      },
      2,
      resolveBatchingOptions({ maxBatch: 8 }),
    );
    const failed = await Promise.allSettled([batcher.probabilities(['a']), batcher.probabilities(['b', 'c'])]);
    assert.deepEqual(failed.map((r) => r.status), ['rejected', 'rejected']);
    assert.match(String((failed[0] as PromiseRejectedResult).reason), /model failed/);
    assert.deepEqual(await batcher.probabilities(['d']), new Float32Array([0.5, 0.5]));
  });

  describe('BAD CALL', () => {
    it('load() with bad batching options names the key and the value', async () => {
      await assert.rejects(Classifier.load(dirs.textcnn, { batching: 5 as never }), /^TypeError: Expected an object for options.batching but received number$/);
      await assert.rejects(Classifier.load(dirs.textcnn, { batching: { maxBatch: 0 } }), /Expected positive integer for options.batching.maxBatch but received 0/);
      await assert.rejects(Classifier.load(dirs.textcnn, { batching: { maxDelayMicros: -1 } }), /Expected non-negative integer for options.batching.maxDelayMicros but received -1/);
      await assert.rejects(Classifier.load(dirs.textcnn, { batching: { maxInFlight: 1.5 } }), /Expected positive integer for options.batching.maxInFlight but received 1.5/);
      await assert.rejects(Classifier.load(dirs.textcnn, { batching: { onBatch: 'x' as never } }), /Expected a function for options.batching.onBatch but received string/);
    });
  });
});
