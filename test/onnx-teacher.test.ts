/**
 * `[teacher] kind = onnx` (lib/pipeline/teacher/onnx.ts) and the whole "teacher from elsewhere"
 * path end to end:
 *  - OnnxTeacher scores like the native teacher it was exported from (<= 1e-4), in any batch size;
 *  - a model with a wrong input name, an extra input, a wrong class count (declared, or only
 *    visible when run) or no logits output is refused with an error naming the file and the
 *    offending name or shape; a missing onnxruntime-node says how to install it;
 *  - CLI: `train` with [teacher] init_checkpoint (a small random BERT checkpoint built here),
 *    `export --model teacher`, then a second run with [teacher] kind = onnx on that file gives
 *    the first run's soft labels (<= 1e-4), trains its students, and a rerun scores nothing again.
 */
import { strict as assert } from 'assert';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import { exportTeacherOnnx } from '../lib/onnx/export-teacher';
import { DataType, encodeModel, floatTensor, int64Tensor, type NodeDef, type ValueInfoDef } from '../lib/onnx/proto';
import { createTeacherFromCheckpoint } from '../lib/pipeline/checkpoint-import';
import { SoftLabelCache, textKey } from '../lib/pipeline/soft-label-cache';
import { loadOnnxRuntime, OnnxTeacher } from '../lib/pipeline/teacher/onnx';
import { fileSha256 } from '../lib/util/files';
import { NativeStudent } from '../lib/student';
import { Tokenizer } from '../lib/tokenizer';
import { writeCheckpoint } from './helpers/bert-checkpoint';
import { tinyConfigText, writeConfigIni } from './helpers/tiny-config';
import { TINY_VOCAB, tinyTexts } from './helpers/tiny-task';

const repoRoot = path.resolve(__dirname, '..');
const cli = path.join(repoRoot, 'lib', 'cli.ts');
const fixture = path.join(repoRoot, 'test', 'fixtures', 'tiny-reviews');

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/**
 * A stand-in ONNX classifier with the given inputs and outputs: each output is
 * mean(Cast(first input)) * ones[1, C], so it runs on any [batch, sequence] ids. actualC
 * 'sequence' makes C the sequence length, which no shape inference can know before a run.
 */
function fakeModel(
  file: string,
  inputs: string[],
  outputs: { name: string; declared: (number | string)[]; actualC: number | 'sequence' }[],
  elemType: typeof DataType.INT64 | typeof DataType.INT32 = DataType.INT64,
): string {
  const nodes: NodeDef[] = [
    { opType: 'Cast', inputs: [inputs[0]], outputs: ['x'], attributes: { to: DataType.FLOAT } },
    { opType: 'ReduceMean', inputs: ['x'], outputs: ['m'], attributes: { axes: [1], keepdims: 1 } },
  ];
  const initializers = [];
  for (const o of outputs) {
    if (o.actualC === 'sequence') {
      initializers.push(int64Tensor('one_i64', [1], [1]), int64Tensor('index_1', [1], [1]));
      nodes.push(
        { opType: 'Shape', inputs: [inputs[0]], outputs: ['shape'] },
        { opType: 'Gather', inputs: ['shape', 'index_1'], outputs: ['seq'], attributes: { axis: 0 } },
        { opType: 'Concat', inputs: ['one_i64', 'seq'], outputs: ['ones_shape'], attributes: { axis: 0 } },
        { opType: 'ConstantOfShape', inputs: ['ones_shape'], outputs: [`ones_${o.name}`], attributes: { value: floatTensor('value', [1], [1]) } },
      );
    } else initializers.push(floatTensor(`ones_${o.name}`, [1, o.actualC], new Array(o.actualC).fill(1)));
    nodes.push({ opType: 'Mul', inputs: ['m', `ones_${o.name}`], outputs: [o.name] });
  }
  const ins: ValueInfoDef[] = inputs.map((name) => ({ name, elemType, shape: ['batch', 'sequence'] }));
  const outs: ValueInfoDef[] = outputs.map((o) => ({ name: o.name, elemType: DataType.FLOAT, shape: o.declared }));
  fs.writeFileSync(file, encodeModel({ irVersion: 8, opsetVersion: 17, producerName: 'test', producerVersion: '1', graph: { name: 'fake', nodes, initializers, inputs: ins, outputs: outs } }));
  return file;
}

describe('[teacher] kind = onnx', () => {
  let tmp: string;
  let vocab: string;
  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'md-onnx-teacher-'));
    vocab = path.join(tmp, 'vocab.txt');
    fs.writeFileSync(vocab, TINY_VOCAB.join('\n') + '\n');
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('scores like the native teacher it was exported from, whatever the batch size', async () => {
    const ckpt = path.join(tmp, 'ckpt');
    writeCheckpoint(ckpt, { prefix: 'bert.', vocab: TINY_VOCAB, hidden: 16, layers: 2, heads: 2, intermediate: 32, maxPositions: 32, seed: 3 });
    const { student } = createTeacherFromCheckpoint(ckpt, { numClasses: 3, seed: 1, dropout: 0.1 });
    const file = exportTeacherOnnx(student, path.join(tmp, 'teacher.onnx'));
    const teacher = await OnnxTeacher.open({ file, vocab, numClasses: 3, maxLength: 16, threads: 1 });
    try {
      assert.equal(teacher.sha256, fileSha256(file));
      assert.deepEqual(teacher.inputs, ['input_ids', 'attention_mask', 'token_type_ids']);
      const { texts } = tinyTexts(50, 9);
      const rows = await teacher.encode(texts);
      const expected = Tokenizer.fromTokens(TINY_VOCAB, { lowercase: true }).encodeBatch(texts, { maxLength: 16 });
      assert.deepEqual(rows.ids, expected.ids, 'the vocab.txt tokenizer, [CLS] ... [SEP], max_length 16');
      const native = student.predictLogitsSync(rows);
      for (const batchSize of [1, 7, 64]) {
        const logits = await teacher.predictLogits(rows, { batchSize });
        assert.ok(maxAbsDiff(logits, native) <= 1e-4, `batch ${batchSize}: max abs diff ${maxAbsDiff(logits, native)}`);
      }
    } finally {
      await teacher.close();
      student.dispose();
    }
    await assert.rejects(teacher.predictLogits({ ids: new Int32Array(2), lengths: Int32Array.from([2]), maxLength: 2 }), /is closed/);
  });

  it('feeds int32 inputs to a model that declares them: ids in place, padding 0 (output = mean id of the trimmed row)', async () => {
    const file = fakeModel(path.join(tmp, 'int32.onnx'), ['input_ids', 'attention_mask'], [{ name: 'logits', declared: ['batch', 3], actualC: 3 }], DataType.INT32);
    const teacher = await OnnxTeacher.open({ file, vocab, numClasses: 3, maxLength: 16, threads: 1 });
    try {
      const { texts } = tinyTexts(9, 2);
      const rows = await teacher.encode(texts);
      const logits = await teacher.predictLogits(rows, { batchSize: 64 });
      const T = Math.max(...rows.lengths); // one batch, trimmed to its longest row
      for (let i = 0; i < texts.length; i++) {
        let sum = 0;
        for (let t = 0; t < rows.lengths[i]; t++) sum += rows.ids[i * rows.maxLength + t];
        for (let c = 0; c < 3; c++) assert.ok(Math.abs(logits[i * 3 + c] - sum / T) < 1e-5, `row ${i}: ${logits[i * 3 + c]} vs ${sum / T}`);
      }
    } finally {
      await teacher.close();
    }
  });

  describe('bad models', () => {
    const open = (file: string, numClasses = 3) => OnnxTeacher.open({ file, vocab, numClasses, maxLength: 16, threads: 1 });

    it('a model without input_ids (its input is "ids") names the file, the missing and the unknown input', async () => {
      const file = fakeModel(path.join(tmp, 'ids.onnx'), ['ids', 'attention_mask'], [{ name: 'logits', declared: ['batch', 3], actualC: 3 }]);
      await assert.rejects(open(file), (err: Error) => err.message.startsWith(file) && /no input "input_ids"/.test(err.message) && /input "ids" is not one the teacher can feed/.test(err.message));
    });

    it('an extra input (position_ids) is refused by name', async () => {
      const file = fakeModel(path.join(tmp, 'extra.onnx'), ['input_ids', 'attention_mask', 'position_ids'], [{ name: 'logits', declared: ['batch', 3], actualC: 3 }]);
      await assert.rejects(open(file), /extra\.onnx: input "position_ids" is not one the teacher can feed \(its inputs: input_ids, attention_mask, position_ids/);
    });

    it('declared logits [batch, 5] for data with 3 classes', async () => {
      const file = fakeModel(path.join(tmp, 'five.onnx'), ['input_ids', 'attention_mask'], [{ name: 'logits', declared: ['batch', 5], actualC: 5 }]);
      await assert.rejects(open(file), /five\.onnx: output "logits" has shape \[batch, 5\] \(5 classes\) but the data has 3 classes/);
    });

    it('a symbolic class dimension that turns out to be 2 when run (caught by the probe row)', async () => {
      const file = fakeModel(path.join(tmp, 'symbolic.onnx'), ['input_ids', 'attention_mask'], [{ name: 'logits', declared: ['batch', 'classes'], actualC: 'sequence' }]);
      await assert.rejects(open(file), /symbolic\.onnx: output "logits" came back float32 \[1, 2\] for 1 rows; expected float32 \[1, 3\]/);
    });

    it('two outputs and neither is "logits"; a single output of another name is used', async () => {
      const two = fakeModel(path.join(tmp, 'two.onnx'), ['input_ids', 'attention_mask'], [
        { name: 'scores', declared: ['batch', 3], actualC: 3 },
        { name: 'probs', declared: ['batch', 3], actualC: 3 },
      ]);
      await assert.rejects(open(two), /two\.onnx: no output "logits" and more than one output \(scores, probs\)/);
      const single = fakeModel(path.join(tmp, 'single.onnx'), ['input_ids', 'attention_mask'], [{ name: 'output_0', declared: ['batch', 3], actualC: 3 }]);
      const teacher = await open(single);
      assert.equal(teacher.output, 'output_0');
      await teacher.close();
    });

    it('[teacher] max_length beyond the model\'s positions is caught when the teacher opens', async () => {
      const student = NativeStudent.create({ kind: 'transformer', vocabSize: TINY_VOCAB.length, numClasses: 3, hidden: 8, layers: 1, heads: 2, intermediate: 8, maxPositions: 12, dropout: 0, pooler: true, seed: 1 });
      const file = exportTeacherOnnx(student, path.join(tmp, 'short.onnx'));
      student.dispose();
      await assert.rejects(
        OnnxTeacher.open({ file, vocab, numClasses: 3, maxLength: 16, threads: 1 }),
        /short\.onnx: onnxruntime failed on a batch of 1 rows x 16 tokens: [^]*a row of \[teacher\] max_length = 16 ids fails while a 2-id row runs/,
      );
      const ok = await OnnxTeacher.open({ file, vocab, numClasses: 3, maxLength: 12, threads: 1 });
      await ok.close();
    });

    it('a missing file, and a missing onnxruntime-node, say what to do', async () => {
      await assert.rejects(open(path.join(tmp, 'nope.onnx')), /ONNX teacher not found: .*nope\.onnx/);
      assert.throws(() => loadOnnxRuntime('onnxruntime-node-not-installed'), /not installed .*Install it beside model-distill: npm install onnxruntime-node/);
    });
  });
});

// ---- end to end: init_checkpoint -> export --model teacher -> kind = onnx -----------------------

function runCli(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--require', 'tsx/cjs', cli, ...args], {
    cwd: repoRoot,
    encoding: 'utf8',
    env: { ...process.env, MODEL_DISTILL_DEBUG: '' },
    maxBuffer: 64 * 1024 * 1024,
    timeout: 240_000,
  });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function writeConfig(dir: string, teacher: string[]): string {
  return writeConfigIni(dir, tinyConfigText(fixture, 'textcnn', ['[teacher]', ...teacher], { textcnnDropout: false, gru: false }));
}

const readJson = (file: string) => JSON.parse(fs.readFileSync(file, 'utf8'));
const trainTexts = () =>
  fs
    .readFileSync(path.join(fixture, 'train.tsv'), 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => l.split('\t')[0]);

describe('teacher from elsewhere, end to end (CLI)', function () {
  this.timeout(600_000);
  let tmp: string;
  let runA: string;
  let runB: string;
  let onnxFile: string;
  let ckpt: string;

  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'md-teacher-elsewhere-'));
    // A "pretrained" checkpoint over the fixture's characters (random weights; the point is the plumbing).
    const chars = new Set<string>();
    for (const f of ['train.tsv', 'eval.tsv', 'unlabeled.txt']) {
      for (const ch of fs.readFileSync(path.join(fixture, f), 'utf8').replace(/\t[^\n]*/g, '')) if (!/\s/.test(ch)) chars.add(ch.toLowerCase());
    }
    const vocab = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', ...[...chars].sort()];
    ckpt = path.join(tmp, 'ckpt');
    writeCheckpoint(ckpt, { prefix: 'ernie.', vocab, hidden: 16, layers: 1, heads: 2, intermediate: 32, maxPositions: 64, useTaskId: true, layerNormEps: 1e-5, seed: 4, scale: 0.1 });
    const configA = writeConfig(path.join(tmp, 'a'), ['kind = native', `init_checkpoint = ${ckpt}`, 'epochs = 2', 'learning_rate = 0.003', 'batch_size = 16']);
    const r = runCli(['train', configA]);
    assert.equal(r.status, 0, `train with init_checkpoint: ${r.stderr}`);
    runA = path.join(tmp, 'a', 'runs', 'default');
  });
  after(() => {
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('init_checkpoint: the teacher starts from the checkpoint, with its vocabulary, and the run records the import', () => {
    const record = readJson(path.join(runA, 'run.json'));
    assert.equal(record.teacher.kind, 'native');
    assert.match(record.teacher.initCheckpoint.sha256, /^[0-9a-f]{64}$/);
    assert.equal(record.teacher.initCheckpoint.prefix, 'ernie.');
    assert.match(record.teacher.initCheckpoint.adaptations.join('\n'), /task_type_embeddings/);
    assert.ok(fs.readFileSync(path.join(runA, 'teacher', 'vocab.txt')).equals(fs.readFileSync(path.join(ckpt, 'vocab.txt'))), "the teacher keeps the checkpoint's vocab.txt");
    const arch = readJson(path.join(runA, 'teacher', 'config.json')).architecture;
    assert.deepEqual([arch.hidden, arch.layers, arch.maxPositions, arch.layerNormEps], [16, 1, 64, 1e-5]);
    assert.match(fs.readFileSync(path.join(runA, 'run.log'), 'utf8'), /teacher: starting from the ernie checkpoint .*classifier head fresh for 3 classes/);
  });

  it('export --model teacher writes the ONNX teacher with its vocab.txt beside it', () => {
    onnxFile = path.join(tmp, 'exported', 'teacher.onnx');
    const r = runCli(['export', path.join(tmp, 'a', 'config.ini'), '--model', 'teacher', '--onnx', onnxFile]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /exported the teacher of run "default"/);
    assert.ok(fs.readFileSync(path.join(tmp, 'exported', 'vocab.txt')).equals(fs.readFileSync(path.join(ckpt, 'vocab.txt'))));
    assert.deepEqual(readJson(path.join(tmp, 'exported', 'tokenizer_config.json')), { do_lower_case: true });
  });

  it('kind = onnx on the export gives the native run\'s soft labels (<= 1e-4) and its students train', () => {
    assert.ok(onnxFile, 'the export test ran');
    const configB = writeConfig(path.join(tmp, 'b'), ['kind = onnx', `path = ${onnxFile}`]);
    const r = runCli(['train', configB]);
    assert.equal(r.status, 0, `train with kind = onnx: ${r.stderr}`);
    runB = path.join(tmp, 'b', 'runs', 'default');
    const a = readJson(path.join(runA, 'run.json'));
    const b = readJson(path.join(runB, 'run.json'));
    assert.equal(b.teacher.kind, 'onnx');
    assert.equal(b.teacher.weightsSha256, fileSha256(onnxFile));
    assert.equal(b.softLabels.train.scored, 360);
    assert.ok(Math.abs(b.teacher.evalAccuracy - a.teacher.evalAccuracy) <= 1.5 / 90, `onnx eval accuracy ${b.teacher.evalAccuracy} vs native ${a.teacher.evalAccuracy}`);
    const cacheA = SoftLabelCache.open(path.join(runA, 'soft-labels.cache'), a.teacher.weightsSha256, 3);
    const cacheB = SoftLabelCache.open(path.join(runB, 'soft-labels.cache'), b.teacher.weightsSha256, 3);
    try {
      const pool = fs.readFileSync(path.join(fixture, 'unlabeled.txt'), 'utf8').split('\n').filter((l) => l.trim() !== '');
      const texts = [...trainTexts(), ...pool];
      const la = new Float32Array(texts.length * 3);
      const lb = new Float32Array(texts.length * 3);
      texts.forEach((t, i) => {
        assert.ok(cacheA.copyTo(textKey(t), la, i * 3), `native cache has ${t}`);
        assert.ok(cacheB.copyTo(textKey(t), lb, i * 3), `onnx cache has ${t}`);
      });
      assert.ok(maxAbsDiff(la, lb) <= 1e-4, `soft labels differ by ${maxAbsDiff(la, lb)}`);
    } finally {
      cacheA.close();
      cacheB.close();
    }
    const student = readJson(path.join(runB, 'textcnn', 'config.json'));
    assert.equal(student.training.distill.teacher.kind, 'onnx');
    assert.ok(b.students[0].evalAccuracy > 0.34, `the distilled textcnn learns something (${b.students[0].evalAccuracy})`);
  });

  it('a rerun with the same .onnx scores nothing again (the soft-label cache is keyed by its sha256)', () => {
    assert.ok(runB, 'the kind = onnx run ran');
    const r = runCli(['train', path.join(tmp, 'b', 'config.ini')]);
    assert.equal(r.status, 0, r.stderr);
    const b = readJson(path.join(runB, 'run.json'));
    assert.equal(b.softLabels.train.scored, 0);
    assert.equal(b.softLabels.train.fromCache, 360);
    assert.equal(b.softLabels.pool.scored, 0);
  });

  it('kind = onnx with a model for another number of classes fails before training, naming the file', () => {
    const five = fakeModel(path.join(tmp, 'exported', 'five.onnx'), ['input_ids', 'attention_mask'], [{ name: 'logits', declared: ['batch', 5], actualC: 5 }]);
    const config = writeConfig(path.join(tmp, 'c'), ['kind = onnx', `path = ${five}`]);
    const r = runCli(['train', config]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /five\.onnx: output "logits" has shape \[batch, 5\] \(5 classes\) but the data has 3 classes/);
  });
});
