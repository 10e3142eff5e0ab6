/**
 * Quantized model folders (lib/quantize.ts, native/core/quantized_*.h): int8 and bf16 copies of
 * trained tiny students load with Classifier.load, stay close to the float32 model, are smaller,
 * export to ONNX (dequantized) and serve through the WASM backend; bad folders and requests fail
 * with errors naming the file. One CLI run covers `model-distill quantize`.
 */
import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import { Classifier } from '../lib/classifier';
import { saveModelFolder } from '../lib/model-folder';
import { quantizeModelFolder } from '../lib/quantize';
import { NativeStudent, StudentSpec } from '../lib/student';
import { ok, fails, runCli } from './helpers/cli';
import { TINY_LABELS, TINY_MAX_LENGTH, TINY_VOCAB, tinyTexts, tinyTokenizer } from './helpers/tiny-task';
import { tinyConfigText, writeConfigIni } from './helpers/tiny-config';

const C = TINY_LABELS.length;
const specs: StudentSpec[] = [
  { kind: 'textcnn', vocabSize: TINY_VOCAB.length, numClasses: C, embeddingDim: 16, windows: [2, 3], filters: 16, dropout: 0.1, seed: 5 },
  { kind: 'gru', vocabSize: TINY_VOCAB.length, numClasses: C, embeddingDim: 16, hidden: 16, bidirectional: true, dropout: 0.1, seed: 5 },
];

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

function accuracy(p: Float32Array, labels: Int32Array): number {
  let correct = 0;
  for (let r = 0; r < labels.length; r++) {
    let best = 0;
    for (let c = 1; c < C; c++) if (p[r * C + c] > p[r * C + best]) best = c;
    if (best === labels[r]) correct++;
  }
  return correct / labels.length;
}

function argmaxAgreement(a: Float32Array, b: Float32Array): number {
  let same = 0;
  for (let r = 0; r < a.length / C; r++) {
    let ia = 0;
    let ib = 0;
    for (let c = 1; c < C; c++) {
      if (a[r * C + c] > a[r * C + ia]) ia = c;
      if (b[r * C + c] > b[r * C + ib]) ib = c;
    }
    if (ia === ib) same++;
  }
  return same / (a.length / C);
}

describe('quantized model folders', () => {
  let tmp: string;
  const floatDirs: Record<string, string> = {};
  const evalSet = tinyTexts(150, 32);

  before(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'md-quantize-'));
    const { texts, labels } = tinyTexts(500, 31);
    const rows = tinyTokenizer().encodeBatch(texts, { maxLength: TINY_MAX_LENGTH });
    for (const spec of specs) {
      const student = NativeStudent.create(spec);
      await student.train({ ...rows, labels }, null, {
        epochs: 3, batchSize: 16, learningRate: 0.01, optimizer: 'adam', weightDecay: 0, warmup: 0, lrDecay: 'none', clipNorm: 0, threads: 2, seed: 1,
      });
      floatDirs[spec.kind] = saveModelFolder(path.join(tmp, spec.kind), { student, vocabTokens: TINY_VOCAB, labels: TINY_LABELS, maxLength: TINY_MAX_LENGTH, lowercase: true });
      student.dispose();
    }
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  for (const spec of specs) {
    it(`${spec.kind} int8: smaller, close to float32, same through the ONNX/WASM backend`, async () => {
      const target = path.join(tmp, `${spec.kind}-int8`);
      const result = quantizeModelFolder(floatDirs[spec.kind], target, { dtype: 'int8' });
      assert.equal(result.dir, target);
      // Tiny models: biases and the dense layer (kept float32) weigh more here than at real sizes,
      // where the file is ~3.9x smaller (docs/quantization.md).
      assert.ok(result.weightBytes < 0.5 * result.sourceWeightBytes, `weights ${result.sourceWeightBytes} -> ${result.weightBytes} bytes`);
      const config = JSON.parse(fs.readFileSync(path.join(target, 'config.json'), 'utf8'));
      assert.equal(config.formatVersion, 2);
      assert.equal(config.quantization.dtype, 'int8');

      const float = await Classifier.load(floatDirs[spec.kind], { threads: 2 });
      const int8 = await Classifier.load(target, { threads: 2 });
      const wasm = await Classifier.load(target, { backend: 'wasm' });
      try {
        assert.equal(int8.backend, 'native');
        const pf = float.predictProbabilitiesSync(evalSet.texts);
        const pq = int8.predictProbabilitiesSync(evalSet.texts);
        assert.deepEqual(await int8.predictProbabilities(evalSet.texts), pq);
        assert.ok(maxAbsDiff(pq, pf) < 0.08, `int8 vs float32: max |dp| ${maxAbsDiff(pq, pf)}`);
        assert.ok(argmaxAgreement(pq, pf) >= 0.95, `argmax agreement ${argmaxAgreement(pq, pf)}`);
        // Accuracy on held-out rows: the model learned the task, and int8 (for the GRU also its
        // integer recurrence, h quantized every step) costs at most 2 of the 150 rows.
        const [accFloat, accInt8] = [accuracy(pf, evalSet.labels), accuracy(pq, evalSet.labels)];
        assert.ok(accFloat >= 0.8, `float32 accuracy ${accFloat}`);
        assert.ok(Math.abs(accInt8 - accFloat) <= 2 / 150 + 1e-9, `accuracy float32 ${accFloat}, int8 ${accInt8}`);
        // The ONNX export dequantizes the weights; the native model also rounds its tables.
        const pw = await wasm.predictProbabilities(evalSet.texts);
        assert.ok(maxAbsDiff(pw, pq) < 0.05, `wasm (dequantized ONNX) vs native int8: max |dp| ${maxAbsDiff(pw, pq)}`);
      } finally {
        float.close();
        int8.close();
        wasm.close();
      }
    });
  }

  it('bf16: half the file, formatVersion 1, probabilities within bf16 rounding', async () => {
    const target = path.join(tmp, 'textcnn-bf16');
    const result = quantizeModelFolder(floatDirs.textcnn, target, { dtype: 'bf16' });
    assert.ok(result.weightBytes < 0.55 * result.sourceWeightBytes);
    const config = JSON.parse(fs.readFileSync(path.join(target, 'config.json'), 'utf8'));
    assert.equal(config.formatVersion, 1);
    assert.equal(config.quantization.dtype, 'bf16');
    const float = await Classifier.load(floatDirs.textcnn, { threads: 2 });
    const bf16 = await Classifier.load(target, { threads: 2 });
    try {
      const d = maxAbsDiff(bf16.predictProbabilitiesSync(evalSet.texts), float.predictProbabilitiesSync(evalSet.texts));
      assert.ok(d < 0.03, `bf16 vs float32: max |dp| ${d}`);
    } finally {
      float.close();
      bf16.close();
    }
  });

  it('a quantize over an earlier one replaces it atomically, like every model save', async () => {
    const target = path.join(tmp, 'textcnn-requantized');
    quantizeModelFolder(floatDirs.textcnn, target, { dtype: 'bf16' });
    const reader = await Classifier.load(target, { threads: 2 }); // holds the first generation's files
    try {
      quantizeModelFolder(floatDirs.textcnn, target, { dtype: 'int8' });
      // The generation layout (lib/model-generations.ts): config.json reaches the new generation
      // through .current, and the one a reader may still hold is kept; nothing else is left.
      assert.ok(fs.lstatSync(path.join(target, '.current')).isSymbolicLink());
      const generations = fs.readdirSync(target).filter((e) => e.startsWith('.gen-'));
      assert.equal(generations.length, 2, `generations: ${generations.join(', ')}`);
      assert.equal(JSON.parse(fs.readFileSync(path.join(target, 'config.json'), 'utf8')).quantization.dtype, 'int8');
      assert.equal(reader.predictProbabilitiesSync(evalSet.texts.slice(0, 3)).length, 3 * C);
    } finally {
      reader.close();
    }
  });

  it('refuses bad requests and inconsistent folders, naming the file', () => {
    const int8 = path.join(tmp, 'gru-int8-again');
    quantizeModelFolder(floatDirs.gru, int8);
    assert.throws(() => quantizeModelFolder(int8, path.join(tmp, 'twice')), /already quantized \(int8\); quantize the float32 model/);
    assert.throws(() => quantizeModelFolder(floatDirs.gru, floatDirs.gru), /must not replace its source/);
    assert.throws(() => quantizeModelFolder(floatDirs.gru, path.join(tmp, 'x'), { dtype: 'int4' as never }), /Expected int8 or bf16 for options.dtype but received string "int4"/);
    const student = NativeStudent.create(specs[1], { quantization: 'int8' });
    try {
      assert.throws(() => student.saveWeights(path.join(tmp, 'w.safetensors')), /an int8 student cannot save weights/);
    } finally {
      student.dispose();
    }
    // an int8 folder claiming version 1 (what an older writer would never produce)
    const configPath = path.join(int8, 'config.json');
    const config = JSON.parse(fs.readFileSync(configPath, 'utf8'));
    fs.writeFileSync(configPath, JSON.stringify({ ...config, formatVersion: 1 }));
    return Classifier.load(int8).then(
      () => assert.fail('loaded an int8 folder marked formatVersion 1'),
      (err: Error) => assert.match(err.message, /config\.json: an int8 folder must have formatVersion 2, found number 1/),
    );
  });

  it('model-distill quantize writes <run>/<model>-int8 from a trained run', function () {
    this.timeout(180_000);
    const fixture = path.resolve(__dirname, 'fixtures', 'tiny-reviews');
    const dir = path.join(tmp, 'cli');
    const data = ['train', 'eval', 'class_id'].map((k) => `${k} = ${path.join(fixture, k === 'class_id' ? 'class_id.txt' : `${k}.tsv`)}`);
    const cfg = writeConfigIni(dir, tinyConfigText(fixture, 'textcnn', [], { data: [...data, 'vocab = vocab.txt'], epochs: 1, gru: false }));
    ok(runCli(['train', cfg]), 'train');
    const r = ok(runCli(['quantize', cfg, '--model', 'textcnn']), 'quantize');
    const target = path.join(dir, 'runs', 'default', 'textcnn-int8');
    assert.match(r.stdout, new RegExp(`quantized textcnn of run "default" to int8: ${target.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\n`));
    assert.match(r.stdout, /weights [\d.]+ MB -> [\d.]+ MB \([\d.]+x smaller\)/);
    assert.equal(JSON.parse(fs.readFileSync(path.join(target, 'config.json'), 'utf8')).quantization.dtype, 'int8');
    fails(runCli(['quantize', cfg, '--dtype', 'fp4']), 'quantize --dtype fp4', /Expected int8 or bf16 for --dtype but received "fp4"/, 2);
  });
});
