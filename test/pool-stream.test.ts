/**
 * Streaming the pool into student training (lib/pipeline/pool-stream.ts) and
 * NativeStudent.trainStream: with parts of 100 texts over a 1,000-line pool,
 * every pool row and every labelled row is dealt out exactly once per epoch,
 * no part is larger than its share, empty lines are skipped and counted, the
 * order is a function of the seed, unlabeled_limit cuts the pool, and a pool
 * file that no longer matches its scored logits is an error. A student trained
 * from such a stream learns the task, deterministically.
 */
import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import { labelledOrder, partSizes, poolTrainSource, stepsPerEpoch, type PoolSoftLabels } from '../lib/pipeline/pool-stream';
import { NativeStudent, type EvalRows, type TrainRows } from '../lib/student';
import { TINY_MAX_LENGTH, TINY_VOCAB, tinyTexts, tinyTokenizer } from './helpers/tiny-task';

const C = 3;
const POOL_LINES = 1000;
const LABELLED = 250;
const PART = 100;

let tmp: string;
let poolFile: string;
let logitsFile: string;
let emptyLines = 0;
let labelled: EvalRows;
let labelledSoft: Float32Array;
const tokenizer = tinyTokenizer();

async function encode(texts: string[], labels: Int32Array): Promise<EvalRows> {
  const enc = await tokenizer.encodeBatchAsync(texts, { maxLength: TINY_MAX_LENGTH, addSpecialTokens: false });
  return { ids: enc.ids, lengths: enc.lengths, maxLength: enc.maxLength, labels };
}

/** Pool row i has logits [i, -i, 0.5]; labelled row r has [10000 + r, 0, 0]: each row identifies itself. */
function poolRowOf(part: TrainRows, k: number): number {
  return part.softTargets![k * C];
}

before(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'model-distill-pool-stream-'));
  const pool = tinyTexts(POOL_LINES, 11).texts;
  const lines: string[] = [];
  pool.forEach((t, i) => {
    lines.push(t);
    if (i % 97 === 5) {
      lines.push(i % 2 === 0 ? '' : '   ');
      emptyLines++;
    }
  });
  poolFile = path.join(tmp, 'pool.txt');
  fs.writeFileSync(poolFile, lines.join('\n') + '\n');
  const logits = new Float32Array(POOL_LINES * C);
  for (let i = 0; i < POOL_LINES; i++) logits.set([i, -i, 0.5], i * C);
  logitsFile = path.join(tmp, 'pool-logits.f32');
  fs.writeFileSync(logitsFile, Buffer.from(logits.buffer));
  const l = tinyTexts(LABELLED, 12);
  labelled = await encode(l.texts, l.labels);
  labelledSoft = new Float32Array(LABELLED * C);
  for (let r = 0; r < LABELLED; r++) labelledSoft[r * C] = 10000 + r;
});

after(() => {
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

function source(seed: number, pool: Partial<PoolSoftLabels> = {}, epochs = 2) {
  const p: PoolSoftLabels = { path: poolFile, limit: 0, rows: POOL_LINES, logitsFile, numClasses: C, ...pool };
  const reads: { epoch: number; poolRows: number; emptyLines: number }[] = [];
  const src = poolTrainSource({ trainRows: labelled, tokenizer, maxLength: TINY_MAX_LENGTH, addSpecialTokens: false }, labelledSoft, p, epochs, {
    batchSize: 16,
    seed,
    partRows: PART,
    onEpochRead: (epoch, c) => reads.push({ epoch, poolRows: c.poolRows, emptyLines: c.stats.emptyLines }),
  });
  return { src, reads };
}

async function collect(parts: AsyncIterable<TrainRows> | Iterable<TrainRows>): Promise<TrainRows[]> {
  const out: TrainRows[] = [];
  for await (const p of parts) out.push(p);
  return out;
}

describe('pool streaming (pool-stream.ts)', () => {
  it('plans parts: pool rows in parts of partRows, labelled rows dealt out in proportion', () => {
    assert.deepEqual(partSizes(1000, 250, 100), new Array(10).fill(125));
    assert.deepEqual(partSizes(250, 10, 100), [103, 103, 54]);
    assert.equal(partSizes(250, 10, 100).reduce((a, b) => a + b), 260);
    assert.deepEqual(partSizes(0, 7, 100), [7], 'no pool: one part of labelled rows');
    assert.equal(stepsPerEpoch(1000, 250, 100, 16), 10 * Math.ceil(125 / 16));
    const o = labelledOrder(50, 3, 1);
    assert.deepEqual([...o].sort((a, b) => a - b), [...Array(50).keys()], 'a permutation');
    assert.deepEqual([...labelledOrder(50, 3, 1)], [...o], 'same seed and epoch, same order');
    assert.notDeepEqual([...labelledOrder(50, 3, 2)], [...o], 'another epoch, another order');
    assert.notDeepEqual([...labelledOrder(50, 4, 1)], [...o], 'another seed, another order');
  });

  it('deals every pool row and every labelled row exactly once per epoch, in parts of at most partRows + share', async () => {
    const { src, reads } = source(7);
    assert.equal(src.totalSteps, 2 * stepsPerEpoch(POOL_LINES, LABELLED, PART, 16));
    const orders: number[][] = [];
    for (const epoch of [1, 2]) {
      const parts = await collect(src.parts(epoch));
      assert.equal(parts.length, POOL_LINES / PART);
      const poolSeen: number[] = [];
      const labelledSeen: number[] = [];
      for (const part of parts) {
        const n = part.lengths.length;
        assert.equal(n, PART + LABELLED / (POOL_LINES / PART), 'part size');
        assert.equal(part.ids.length, n * TINY_MAX_LENGTH);
        for (let k = 0; k < n; k++) {
          const tag = poolRowOf(part, k);
          if (part.labels![k] === -1) {
            poolSeen.push(tag);
            assert.equal(part.softTargets![k * C + 1], -tag, 'the pool row carries its own logits');
          } else {
            const r = tag - 10000;
            labelledSeen.push(r);
            assert.equal(part.labels![k], labelled.labels[r], 'a labelled row keeps its label');
            assert.equal(part.lengths[k], labelled.lengths[r]);
          }
          assert.ok(part.lengths[k] >= 1 && part.lengths[k] <= TINY_MAX_LENGTH);
        }
      }
      assert.deepEqual(poolSeen, [...Array(POOL_LINES).keys()], 'each pool row once, in file order');
      assert.deepEqual([...labelledSeen].sort((a, b) => a - b), [...Array(LABELLED).keys()], 'each labelled row once');
      orders.push(labelledSeen);
    }
    assert.notDeepEqual(orders[0], orders[1], 'the labelled rows are reshuffled every epoch');
    assert.deepEqual(reads, [
      { epoch: 1, poolRows: POOL_LINES, emptyLines },
      { epoch: 2, poolRows: POOL_LINES, emptyLines },
    ]);
    assert.ok(emptyLines > 5, 'the fixture has empty lines, which are skipped and counted');

    // The same seed gives the same parts; another seed deals the labelled rows differently.
    const again = await collect(source(7).src.parts(1));
    const first = await collect(src.parts(1));
    assert.deepEqual(again.map((p) => [...p.softTargets!]), first.map((p) => [...p.softTargets!]));
    const other = await collect(source(8).src.parts(1));
    assert.notDeepEqual(other.map((p) => [...p.softTargets!]), first.map((p) => [...p.softTargets!]));
  });

  it('the pool tokens of a part are the tokenisation of its lines', async () => {
    const parts = await collect(source(7).src.parts(1));
    const lines = fs.readFileSync(poolFile, 'utf8').split('\n').filter((l) => l.trim() !== '');
    const part = parts[3];
    const k = part.lengths.length - 1; // the last row of part 3 is pool row 399
    assert.equal(poolRowOf(part, k), 399);
    const expected = tokenizer.encodeBatch([lines[399]], { maxLength: TINY_MAX_LENGTH, addSpecialTokens: false });
    assert.deepEqual([...part.ids.subarray(k * TINY_MAX_LENGTH, k * TINY_MAX_LENGTH + part.lengths[k])], [...expected.ids.subarray(0, expected.lengths[0])]);
  });

  it('unlabeled_limit: only the first `rows` texts are read; the labelled rows are still all dealt out', async () => {
    const limited = path.join(tmp, 'limited.f32');
    fs.writeFileSync(limited, fs.readFileSync(logitsFile).subarray(0, 550 * C * 4));
    const parts = await collect(source(7, { rows: 550, limit: 550, logitsFile: limited }).src.parts(1));
    assert.equal(parts.length, 6);
    const pool = parts.flatMap((p) => [...Array(p.lengths.length).keys()].filter((k) => p.labels![k] === -1).map((k) => poolRowOf(p, k)));
    assert.deepEqual(pool, [...Array(550).keys()]);
    assert.equal(parts.reduce((a, p) => a + p.lengths.length, 0), 550 + LABELLED);
  });

  it('BAD STATE: logits of another size, or a pool file shorter than what was scored, are errors naming the file', async () => {
    assert.throws(() => source(7, { rows: 999 }), /pool-logits\.f32: 12000 bytes, expected 11988 \(999 pool rows x 3 classes\)/);
    const short = path.join(tmp, 'short.txt');
    fs.writeFileSync(short, fs.readFileSync(poolFile, 'utf8').split('\n').slice(0, 500).join('\n'));
    await assert.rejects(collect(source(7, { path: short }).src.parts(1)), /short\.txt: read \d+ pool texts in epoch 1, but 1000 were scored; the file changed/);
  });
});

describe('NativeStudent.trainStream', () => {
  const spec = { kind: 'textcnn' as const, vocabSize: TINY_VOCAB.length, numClasses: C, embeddingDim: 16, windows: [2, 3], filters: 16, dropout: 0.1, seed: 3 };
  const options = { epochs: 3, batchSize: 16, learningRate: 0.01, optimizer: 'adam' as const, weightDecay: 0, warmup: 0, lrDecay: 'none' as const, clipNorm: 0, threads: 2, seed: 5 };

  async function streamed(): Promise<{ student: NativeStudent; report: Awaited<ReturnType<NativeStudent['trainStream']>> }> {
    const t = tinyTexts(600, 21);
    const rows = await encode(t.texts, t.labels);
    const evalRows = await encode(tinyTexts(150, 22).texts, tinyTexts(150, 22).labels);
    // Three parts per epoch: hard labels only (the stream carries whatever rows it is given).
    const part = (lo: number, hi: number): TrainRows => ({
      ids: rows.ids.slice(lo * TINY_MAX_LENGTH, hi * TINY_MAX_LENGTH),
      lengths: rows.lengths.slice(lo, hi),
      maxLength: TINY_MAX_LENGTH,
      labels: rows.labels.slice(lo, hi),
    });
    const bounds = [[0, 250], [250, 500], [500, 600]];
    const totalSteps = options.epochs * bounds.reduce((a, [lo, hi]) => a + Math.ceil((hi - lo) / options.batchSize), 0);
    const student = NativeStudent.create(spec);
    const epochs: number[] = [];
    const report = await student.trainStream({ totalSteps, parts: () => bounds.map(([lo, hi]) => part(lo, hi)) }, evalRows, options, {
      onEpoch: (e) => epochs.push(e.epoch),
    });
    assert.deepEqual(epochs, [1, 2, 3]);
    return { student, report };
  }

  it('learns from parts, keeps the best epoch, and is deterministic for a seed and thread count', async function () {
    this.timeout(60_000);
    const a = await streamed();
    const b = await streamed();
    assert.equal(a.report.steps, 3 * (16 + 16 + 7));
    assert.equal(a.report.cancelled, false);
    assert.ok(a.report.bestEpoch >= 1 && a.report.restoredBest);
    const best = a.report.epochs[a.report.bestEpoch - 1];
    assert.ok(best.evalAccuracy! > 0.8, `eval accuracy ${best.evalAccuracy}`);
    const probe = await encode(tinyTexts(40, 23).texts, tinyTexts(40, 23).labels);
    assert.deepEqual([...(await a.student.predictLogits(probe))], [...(await b.student.predictLogits(probe))]);
    a.student.dispose();
    b.student.dispose();
  });

  it('BAD CALL: a part with neither labels nor soft targets is named, and the student is usable afterwards', async () => {
    const student = NativeStudent.create(spec);
    const t = await encode(['good movie'], new Int32Array([1]));
    await assert.rejects(
      student.trainStream({ totalSteps: 1, parts: () => [{ ids: t.ids, lengths: t.lengths, maxLength: t.maxLength }] }, null, options),
      /Expected labels or softTargets \(or both\) in epoch 1 part 0 but received neither/,
    );
    await student.predictLogits(t); // unlocked by finish()
    await assert.rejects(student.trainStream({ totalSteps: 0, parts: () => [] }, null, options), /source\.totalSteps/);
    student.dispose();
  });
});
