/**
 * The ONNX export (lib/onnx/export-student.ts) run by onnxruntime-node: the exported TextCNN,
 * GRU and bidirectional GRU give the native core's reference logits for rows of every length
 * (shorter than the largest window, full, padded far beyond their length), the file write is
 * atomic and bad folders are named, and the `export` CLI command writes the same model.
 */
import { strict as assert } from 'assert';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as ort from 'onnxruntime-node';

import { loadStudentFromFolder } from '../lib/model-folder';
import { exportOnnx, exportOnnxBytes } from '../lib/onnx/export-student';
import { makeOnnxTestModels, ONNX_TEST_MAX_LENGTH } from './helpers/onnx-models';
import { rng, TINY_VOCAB } from './helpers/tiny-task';

const repoRoot = path.resolve(__dirname, '..');

/** Random rows as the tokenizer makes them: [CLS] tokens [SEP], lengths 2..maxLength, zero-padded to `width`. */
function randomRows(n: number, width: number, seed: number): { ids: Int32Array; lengths: Int32Array } {
  const r = rng(seed);
  const ids = new Int32Array(n * width);
  const lengths = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    // lengths 2 (shorter than every window but 2) .. maxLength, with extra weight on the short ones
    const L = i < 6 ? 2 + i : 2 + Math.floor(r() * (ONNX_TEST_MAX_LENGTH - 1));
    lengths[i] = L;
    ids[i * width] = 2; // [CLS]
    for (let t = 1; t < L - 1; t++) ids[i * width + t] = 1 + Math.floor(r() * (TINY_VOCAB.length - 1)); // never 0 inside a text
    ids[i * width + L - 1] = 3; // [SEP]
  }
  return { ids, lengths };
}

async function onnxLogits(session: ort.InferenceSession, ids: Int32Array, rows: number, width: number): Promise<{ logits: Float32Array; probabilities: Float32Array }> {
  const input = new ort.Tensor('int64', BigInt64Array.from(ids, (v) => BigInt(v)), [rows, width]);
  const out = await session.run({ input_ids: input });
  return { logits: out.logits.data as Float32Array, probabilities: out.probabilities.data as Float32Array };
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

describe('ONNX export', () => {
  let tmp: string;
  let dirs: Record<string, string>;

  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'md-onnx-export-'));
    dirs = makeOnnxTestModels(tmp);
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  for (const name of ['textcnn', 'gru', 'bigru']) {
    it(`exported ${name} gives the native reference logits on onnxruntime-node, for short, full and over-padded rows`, async () => {
      const session = await ort.InferenceSession.create(exportOnnxBytes(dirs[name]));
      assert.deepEqual(session.inputNames, ['input_ids']);
      assert.deepEqual([...session.outputNames].sort(), ['logits', 'probabilities']);
      const { student } = loadStudentFromFolder(dirs[name]);
      try {
        const n = 40;
        const tight = randomRows(n, ONNX_TEST_MAX_LENGTH, 5);
        const reference = student.predictLogitsSync({ ...tight, maxLength: ONNX_TEST_MAX_LENGTH }, { path: 'reference' });
        const a = await onnxLogits(session, tight.ids, n, ONNX_TEST_MAX_LENGTH);
        assert.ok(maxAbsDiff(a.logits, reference) <= 1e-4, `logits differ by ${maxAbsDiff(a.logits, reference)}`);
        // the same rows padded to 3x the width: padding must not change anything
        const width = 3 * ONNX_TEST_MAX_LENGTH;
        const wide = new Int32Array(n * width);
        for (let i = 0; i < n; i++) wide.set(tight.ids.subarray(i * ONNX_TEST_MAX_LENGTH, (i + 1) * ONNX_TEST_MAX_LENGTH), i * width);
        const b = await onnxLogits(session, wide, n, width);
        assert.ok(maxAbsDiff(b.logits, reference) <= 1e-4, `over-padded logits differ by ${maxAbsDiff(b.logits, reference)}`);
        // probabilities are the softmax of the logits
        for (let i = 0; i < n; i++) {
          const row = Array.from(reference.subarray(i * 3, i * 3 + 3));
          const max = Math.max(...row);
          const e = row.map((v) => Math.exp(v - max));
          const s = e.reduce((x, y) => x + y, 0);
          e.forEach((v, c) => assert.ok(Math.abs(v / s - a.probabilities[i * 3 + c]) <= 1e-5));
        }
        // one row alone, at exactly its length (a 2-token row is narrower than the 5-window)
        const single = await onnxLogits(session, tight.ids.subarray(0, 2), 1, 2);
        assert.ok(maxAbsDiff(single.logits, reference.subarray(0, 3)) <= 1e-4);
      } finally {
        student.dispose();
      }
    });
  }

  it('masks TextCNN windows past the end: rows where an unmasked window would win still match', async () => {
    // Proof that the test above can fail: the same graph WITHOUT the length mask (every row
    // read as full-width) disagrees with the reference on some of these rows.
    const session = await ort.InferenceSession.create(exportOnnxBytes(dirs.textcnn));
    const { student } = loadStudentFromFolder(dirs.textcnn);
    try {
      const n = 40;
      const rows = randomRows(n, ONNX_TEST_MAX_LENGTH, 9);
      const reference = student.predictLogitsSync({ ...rows, maxLength: ONNX_TEST_MAX_LENGTH }, { path: 'reference' });
      const full = student.predictLogitsSync({ ids: rows.ids, lengths: new Int32Array(n).fill(ONNX_TEST_MAX_LENGTH), maxLength: ONNX_TEST_MAX_LENGTH }, { path: 'reference' });
      assert.ok(maxAbsDiff(full, reference) > 1e-3, 'windows past the end change the result for these rows');
      const { logits } = await onnxLogits(session, rows.ids, n, ONNX_TEST_MAX_LENGTH);
      assert.ok(maxAbsDiff(logits, reference) <= 1e-4);
    } finally {
      student.dispose();
    }
  });

  it('exportOnnx writes the file atomically, replaces an old one and leaves no temporary file', async () => {
    const out = path.join(tmp, 'out', 'model.onnx');
    fs.mkdirSync(path.dirname(out), { recursive: true });
    fs.writeFileSync(out, 'old');
    assert.equal(exportOnnx(dirs.gru, out), out);
    assert.deepEqual(fs.readdirSync(path.dirname(out)), ['model.onnx']);
    assert.ok(fs.readFileSync(out).equals(exportOnnxBytes(dirs.gru)), 'same bytes as exportOnnxBytes');
    const session = await ort.InferenceSession.create(out);
    assert.deepEqual(session.inputNames, ['input_ids']);
  });

  it('rejects a folder whose weights lack a tensor, naming the file and the tensor, and keeps the old output', () => {
    const broken = path.join(tmp, 'broken');
    fs.cpSync(dirs.textcnn, broken, { recursive: true, dereference: true });
    fs.copyFileSync(path.join(dirs.gru, 'weights.safetensors'), path.join(broken, 'weights.safetensors'));
    const out = path.join(tmp, 'kept.onnx');
    fs.writeFileSync(out, 'old');
    assert.throws(() => exportOnnx(broken, out), /broken[/\\]weights\.safetensors: missing tensor "conv2\.weight"/);
    assert.equal(fs.readFileSync(out, 'utf8'), 'old');
    fs.writeFileSync(path.join(broken, 'weights.safetensors'), Buffer.from([1, 2, 3, 4, 5, 6, 7, 8, 9]));
    assert.throws(() => exportOnnxBytes(broken), /weights\.safetensors: header length \d+ runs past the end of the file/);
    assert.throws(() => exportOnnx(path.join(tmp, 'nope'), out), /model folder not found/);
  });

  describe('CLI: model-distill export', () => {
    let config: string;
    before(() => {
      // a run folder as `train` leaves it: <model.dir>/<uniqid>/<kind>/
      const runs = path.join(tmp, 'cli', 'runs', 'r1');
      fs.mkdirSync(runs, { recursive: true });
      fs.cpSync(dirs.textcnn, path.join(runs, 'textcnn'), { recursive: true, dereference: true });
      fs.cpSync(dirs.bigru, path.join(runs, 'gru'), { recursive: true, dereference: true });
      config = path.join(tmp, 'cli', 'config.ini');
      fs.writeFileSync(config, ['[data]', 'train = train.tsv', 'eval = eval.tsv', '[model]', 'dir = runs', 'max_length = 16', 'students = textcnn,gru', ''].join('\n'));
    });

    const run = (args: string[]) => {
      const r = spawnSync(process.execPath, ['--require', 'tsx/cjs', path.join(repoRoot, 'lib', 'cli.ts'), ...args], {
        cwd: repoRoot,
        encoding: 'utf8',
        env: { ...process.env, MODEL_DISTILL_DEBUG: '' },
        timeout: 120_000,
      });
      if (r.error) throw r.error;
      return r;
    };

    it('writes the chosen student of the run, identical to the API export', () => {
      const out = path.join(tmp, 'cli', 'gru.onnx');
      const r = run(['export', config, 'r1', '--model', 'gru', '--onnx', out]);
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, /exported gru of run "r1"/);
      assert.ok(fs.readFileSync(out).equals(exportOnnxBytes(dirs.bigru)), 'same bytes as exportOnnxBytes');
      const first = path.join(tmp, 'cli', 'first.onnx');
      assert.equal(run(['export', config, 'r1', '--onnx', first]).status, 0);
      assert.ok(fs.readFileSync(first).equals(exportOnnxBytes(dirs.textcnn)), 'same bytes as exportOnnxBytes');
    });

    it('BAD CALL – no --onnx, --model teacher, a run that does not exist', () => {
      const noOut = run(['export', config, 'r1']);
      assert.equal(noOut.status, 2);
      assert.match(noOut.stderr, /--onnx/);
      const teacher = run(['export', config, 'r1', '--model', 'teacher', '--onnx', path.join(tmp, 'cli', 't.onnx')]);
      assert.equal(teacher.status, 1);
      assert.match(teacher.stderr, /no teacher in run "r1"/);
      const missing = run(['export', config, 'r9', '--onnx', path.join(tmp, 'cli', 'x.onnx')]);
      assert.equal(missing.status, 1);
      assert.match(missing.stderr, /no run "r9"/);
      assert.ok(!fs.existsSync(path.join(tmp, 'cli', 'x.onnx')));
    });
  });
});
