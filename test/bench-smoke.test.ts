/**
 * Keeps the train and predict benchmark suites from rotting, without timing
 * anything: each runs through the real CLI (bench/benchmark.ts) in --smoke
 * mode on the tiny-reviews fixture (no PyTorch), writing its JSON to a temp
 * folder; the JSON must hold every expected row with positive, finite numbers.
 * Also: the reference-identical encoding the train bench relies on, and the
 * suites' flag errors.
 */
import { strict as assert } from 'assert';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import { readReferenceData } from '../bench/reference-data';
import { parseSuiteFlags, quantileSorted } from '../bench/suite-flags';

const repoRoot = path.resolve(__dirname, '..');
const fixture = path.join(__dirname, 'fixtures', 'tiny-reviews');

/** As `npm run bench -- ...` runs it: through the tsx CLI (the registry's dynamic imports need its ESM hook too). */
function runBench(args: string[], resultsDir: string) {
  return spawnSync(process.execPath, [require.resolve('tsx/cli'), path.join(repoRoot, 'bench', 'benchmark.ts'), ...args], {
    cwd: repoRoot,
    encoding: 'utf8',
    env: { ...process.env, MODEL_DISTILL_BENCH_RESULTS: resultsDir },
    timeout: 110_000,
  });
}

type Row = Record<string, unknown>;

function positive(row: Row, column: string): void {
  const v = row[column];
  assert.ok(typeof v === 'number' && Number.isFinite(v) && v > 0, `${row.key}: expected a positive number in "${column}" but found ${JSON.stringify(v)}`);
}

describe('benchmark suites (smoke, nothing timed)', function () {
  let resultsDir: string;
  before(() => {
    resultsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-smoke-'));
  });
  after(() => fs.rmSync(resultsDir, { recursive: true, force: true }));

  it('train --smoke: native TextCNN and GRU rows with positive examples/s; PyTorch rows empty and said to be left out', function () {
    const r = runBench(['train', '--smoke', `--data=${fixture}`], resultsDir);
    assert.equal(r.status, 0, `bench train failed:\n${r.stdout}\n${r.stderr}`);
    const json = JSON.parse(fs.readFileSync(path.join(resultsDir, 'train.json'), 'utf8'));
    assert.equal(json.suite, 'train');
    assert.deepEqual(json.rows.map((row: Row) => row.key), ['textcnn.native', 'textcnn.pytorch', 'gru.native', 'gru.pytorch']);
    for (const row of json.rows.filter((x: Row) => x.engine === 'model-distill native')) {
      positive(row, 'examples/s');
      positive(row, 'training-only examples/s');
      // Including the evaluation can only make the rate lower.
      assert.ok((row['examples/s'] as number) <= (row['training-only examples/s'] as number), `${row.key}: rate with eval above training-only rate`);
      const acc = row['eval acc (1 epoch)'] as number;
      assert.ok(acc >= 0 && acc <= 1, `${row.key}: eval accuracy ${acc}`);
    }
    for (const row of json.rows.filter((x: Row) => x.engine === 'PyTorch reference')) assert.equal(row['examples/s'], null);
    assert.ok(json.notes.some((n: string) => n.includes('left out in --smoke mode')), 'notes say why PyTorch is missing');
    assert.equal(json.settings.trainRows, 360);
    assert.equal(typeof json.loadAverage.before, 'string');
  });

  it('predict --smoke: sync and async rows for TextCNN and GRU with positive latencies and throughputs', function () {
    const r = runBench(['predict', '--smoke', `--data=${fixture}`], resultsDir);
    assert.equal(r.status, 0, `bench predict failed:\n${r.stdout}\n${r.stderr}`);
    const json = JSON.parse(fs.readFileSync(path.join(resultsDir, 'predict.json'), 'utf8'));
    assert.equal(json.suite, 'predict');
    assert.deepEqual(json.rows.map((row: Row) => row.key), [
      'textcnn.native.sync', 'textcnn.native.async', 'gru.native.sync', 'gru.native.async',
      'textcnn.native-int8.sync', 'textcnn.native-int8.async', 'gru.native-int8.sync', 'gru.native-int8.async',
      'textcnn.onnxruntime-node.async', 'textcnn.onnxruntime-web.async', 'gru.onnxruntime-node.async', 'gru.onnxruntime-web.async',
    ]);
    for (const row of json.rows) {
      const native = /\.native(-int8)?\./.test(row.key as string);
      for (const c of ['batch-1 p50 µs', 'batch-1 p99 µs', 'batch-256 reviews/s', ...(native ? ['one-call reviews/s', 'weights MB'] : [])]) positive(row, c);
      // A difference of two RSS readings: a number, not always positive for the tiny smoke models.
      if (native) assert.ok(Number.isFinite(row['RSS after load MB']), `${row.key}: RSS after load reported`);
      assert.ok((row['batch-1 p99 µs'] as number) >= (row['batch-1 p50 µs'] as number), `${row.key}: p99 below p50`);
      assert.equal(row.input, native ? 'strings' : 'ids');
    }
    for (const kind of ['textcnn', 'gru']) assert.ok(json.ratioNativeToOnnxruntimeNode[kind] > 0, `${kind} native/onnxruntime-node ratio reported`);
    for (const kind of ['textcnn', 'gru']) assert.ok(json.ratioInt8ToFloat32[kind] > 0, `${kind} int8/float32 ratio reported`);
    assert.equal(json.settings.texts, 450, 'eval (90) + train (360) texts of the fixture');
  });

  it('teacher --smoke: native and onnxruntime-node forward rows whose logits agree, a native training row, GEMM rows below the FMA peak', function () {
    const r = runBench(['teacher', '--smoke', `--data=${fixture}`], resultsDir);
    assert.equal(r.status, 0, `bench teacher failed:\n${r.stdout}\n${r.stderr}`);
    const json = JSON.parse(fs.readFileSync(path.join(resultsDir, 'teacher.json'), 'utf8'));
    assert.equal(json.suite, 'teacher');
    const keys = json.rows.map((row: Row) => row.key as string);
    assert.deepEqual(keys.slice(0, 4), ['forward.native', 'forward.onnxruntime-node', 'train.native', 'train.pytorch']);
    for (const key of keys.slice(0, 3)) for (const c of ['tokens/s', 'texts/s']) positive(json.rows[keys.indexOf(key)], c);
    assert.equal(json.rows[3]['texts/s'], null, 'no PyTorch in --smoke');
    assert.ok(json.notes.some((n: string) => n.includes('left out in --smoke mode')), 'notes say why PyTorch is missing');
    assert.ok(json.forward.maxAbsLogitDiff <= 1e-4, `native and onnxruntime logits differ by ${json.forward.maxAbsLogitDiff}`);
    assert.ok(json.forward.paddedTokens >= json.forward.realTokens);
    const gemm = json.rows.filter((row: Row) => (row.key as string).startsWith('gemm.'));
    assert.equal(gemm.length, 8, '7 teacher shapes + the FMA peak');
    for (const row of gemm) positive(row, 'GFLOP/s');
    // A GEMM cannot beat a loop of nothing but FMAs (generous: the probes run on a shared machine).
    for (const row of gemm) assert.ok((row['GFLOP/s'] as number) < 2 * json.gemm.peakGflops, `${row.key} above twice the peak`);
  });

  it('a missing data folder is a clear skip, not a crash', function () {
    const missing = path.join(resultsDir, 'no-such-data');
    const r = runBench(['train', 'predict', 'teacher', '--smoke', `--data=${missing}`], resultsDir);
    assert.equal(r.status, 0, r.stderr);
    assert.equal((r.stdout.match(/skipped: data not found at .*no-such-data/g) ?? []).length, 3, r.stdout);
  });
});

describe('bench/reference-data: encodes exactly as torch_baseline.py', function () {
  it('labels sorted, vocab = 4 specials + characters seen twice (train + pool) by code point, unknown -> 1, cut to 128, empty -> [UNK]', function () {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'refdata-'));
    try {
      const long = '好'.repeat(130);
      // '𠀀' (U+20000, astral) twice; 'b' once in train, once in the pool; 'z' once only.
      fs.writeFileSync(path.join(dir, 'train.tsv'), `ab好\tpos\n𠀀z\tneg\n${long}\tpos\n`);
      fs.writeFileSync(path.join(dir, 'eval.tsv'), 'a𠀀q\tneg\n\tpos\n');
      fs.writeFileSync(path.join(dir, 'unlabeled.txt'), 'a b\n𠀀\n');
      const d = readReferenceData(dir);
      assert.deepEqual(d.labels, ['neg', 'pos']);
      // counts: a 2, b 2, 好 131, 𠀀 2, z 1, ' ' 1 -> kept a, b, 好, 𠀀 in code point order
      assert.equal(d.vocabSize, 4 + 4);
      const [A, B, HAO, ASTRAL] = [4, 5, 6, 7];
      const row = (rows: typeof d.train, r: number) => Array.from(rows.ids.subarray(r * 128, r * 128 + rows.lengths[r]));
      assert.deepEqual(row(d.train, 0), [A, B, HAO]);
      assert.deepEqual(row(d.train, 1), [ASTRAL, 1]);
      assert.equal(d.train.lengths[2], 128);
      assert.deepEqual(Array.from(d.train.labels), [1, 0, 1]);
      assert.deepEqual(row(d.eval, 0), [A, ASTRAL, 1]);
      assert.deepEqual(row(d.eval, 1), [1], 'an empty text is one [UNK]');
      assert.equal(d.counts.unlabeled, 2);
      // { cls: true }, the reference's transformer input: [CLS] (2) first, cut to 128 with it; an empty text is [CLS] alone.
      const c = readReferenceData(dir, { cls: true });
      assert.deepEqual(row(c.train, 0), [2, A, B, HAO]);
      assert.equal(c.train.lengths[2], 128);
      assert.equal(c.train.ids[2 * 128 + 127], HAO);
      assert.deepEqual(row(c.eval, 1), [2], 'an empty text is [CLS] alone');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('bench suite flags', function () {
  it('parses --quick, --smoke, --data=DIR, --rounds=N and names a bad one', function () {
    const f = parseSuiteFlags(['--quick', '--rounds=2', '--data=x'], 'train');
    assert.equal(f.quick, true);
    assert.equal(f.rounds, 2);
    assert.equal(f.data, path.resolve('x'));
    assert.throws(() => parseSuiteFlags(['--rounds=0'], 'train'), /expected positive integer for --rounds but received "0"/);
    assert.throws(() => parseSuiteFlags(['--data'], 'predict'), /--data needs a value, as --data=VALUE/);
    assert.throws(() => parseSuiteFlags(['--fast'], 'predict'), /unknown flag "--fast"/);
  });

  it('nearest-rank quantiles', function () {
    const xs = Array.from({ length: 100 }, (_, i) => i + 1);
    assert.equal(quantileSorted(xs, 0.5), 50);
    assert.equal(quantileSorted(xs, 0.99), 99);
    assert.equal(quantileSorted([5], 0.99), 5);
  });
});
