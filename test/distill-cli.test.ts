/**
 * Distillation end to end: `model-distill train` with `[teacher] kind = native`
 * on the tiny-reviews fixture, with a tiny transformer teacher (hidden 16, one
 * layer). Proves the run folder holds the teacher, both students and the
 * soft-label cache; that a rerun reuses the teacher and the cache and scores
 * nothing; that a cache torn by a kill is repaired and only the lost texts are
 * rescored; that the teacher folder predicts what training measured; and that
 * the distillation settings are recorded. Also unit tests of the cache format.
 */
import { strict as assert } from 'assert';
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import { loadStudentFromFolder } from '../lib/model-folder';
import { SoftLabelCache, textKey } from '../lib/pipeline/soft-label-cache';
import { Tokenizer } from '../lib/tokenizer';
import { ok, runCli, TINY_REVIEWS } from './helpers/cli';
import { tinyConfigText, writeConfigIni } from './helpers/tiny-config';

const fixture = TINY_REVIEWS;
const TRAIN_ROWS = 360;
const POOL_TEXTS = 240;

function train(config: string, what: string): string {
  return ok(runCli(['train', config]), what).stderr;
}

/** <dir>/config.ini: tiny students, a tiny native teacher, [distill] lines as given. */
function distillConfig(dir: string, distill: string[] = [], teacher: string[] = ['kind = native']): string {
  return writeConfigIni(dir, tinyConfigText(fixture, 'textcnn,gru', [
    '[teacher]',
    ...teacher,
    'layers = 1',
    'hidden = 16',
    'heads = 2',
    'intermediate = 32',
    'epochs = 4',
    'learning_rate = 0.003',
    'batch_size = 16',
    '[distill]',
    'temperature = 2',
    'alpha = 0.5',
    ...distill,
  ]));
}

const readJson = (file: string) => JSON.parse(fs.readFileSync(file, 'utf8'));

let tmp: string;
let config: string;
let run: string;
let firstRecord: ReturnType<typeof readJson>;

before(function () {
  this.timeout(120_000);
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'model-distill-distill-'));
  config = distillConfig(path.join(tmp, 'main'));
  train(config, 'train with a native teacher');
  run = path.join(tmp, 'main', 'runs', 'default');
  firstRecord = readJson(path.join(run, 'run.json'));
});

after(() => {
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

describe('model-distill train with [teacher] kind = native', function () {
  this.timeout(120_000);

  it('leaves teacher/, textcnn/, gru/ and soft-labels.cache in the run folder', () => {
    for (const kind of ['teacher', 'textcnn', 'gru']) {
      for (const file of ['config.json', 'weights.safetensors', 'vocab.txt', 'class_id.txt']) {
        assert.ok(fs.existsSync(path.join(run, kind, file)), `${kind}/${file} exists`);
      }
    }
    assert.ok(fs.existsSync(path.join(run, 'soft-labels.cache')));
    assert.equal(firstRecord.status, 'completed');
    const teacherConfig = readJson(path.join(run, 'teacher', 'config.json'));
    assert.equal(teacherConfig.architecture.kind, 'transformer');
    assert.equal(teacherConfig.addSpecialTokens, true, 'the teacher reads [CLS] first');
    assert.equal(teacherConfig.training.role, 'teacher');
  });

  it('the first run scores every train and pool text once and records counters, teacher and settings', () => {
    const s = firstRecord.softLabels;
    assert.equal(s.train.texts, TRAIN_ROWS);
    assert.equal(s.train.fromCache, 0);
    assert.equal(s.train.scored, TRAIN_ROWS);
    assert.equal(s.pool.texts, POOL_TEXTS);
    // Pool texts equal to a train text come from the cache even on the first run.
    assert.equal(s.pool.scored + s.pool.fromCache, POOL_TEXTS);
    assert.ok(s.pool.scored > POOL_TEXTS / 2);
    assert.equal(firstRecord.teacher.kind, 'native');
    assert.equal(firstRecord.teacher.reused, false);
    assert.match(firstRecord.teacher.weightsSha256, /^[0-9a-f]{64}$/);
    assert.equal(s.teacher, firstRecord.teacher.weightsSha256);
    assert.deepEqual(
      { ...firstRecord.distill },
      { teacher: firstRecord.teacher.weightsSha256, temperature: 2, alpha: 0.5, loss: 'kl', epochs: 2, useUnlabeled: true, unlabeledLimit: 0, poolRows: POOL_TEXTS },
    );
    // Everything needed to reproduce the run: the command, the data files' hashes, the resolved config,
    // each student's per-epoch metrics, and the pool's part size (it decides the training order).
    const r = firstRecord.reproduce;
    assert.match(r.command, /^model-distill train .*config\.ini default$/);
    for (const [key, file] of [['train', 'train.tsv'], ['eval', 'eval.tsv'], ['unlabeled', 'unlabeled.txt'], ['class_id', 'class_id.txt']]) {
      assert.equal(r.files[key].path, path.join(fixture, file));
      assert.equal(r.files[key].sha256, createHash('sha256').update(fs.readFileSync(path.join(fixture, file))).digest('hex'), `${key} hash`);
    }
    assert.ok(r.files.vocab, 'the vocab the run used (built by it) is hashed too');
    assert.equal(typeof r.poolPartRows, 'number');
    const resolved = readJson(path.join(run, 'config.resolved.json'));
    assert.equal(resolved.distill.temperature, 2);
    assert.equal(resolved.teacher.kind, 'native');
    assert.deepEqual(firstRecord.students.map((st: { kind: string }) => st.kind), ['textcnn', 'gru']);
    for (const st of firstRecord.students) {
      assert.equal(st.epochs.length, 2, `${st.kind}: one record per epoch`);
      for (const e of st.epochs) assert.ok(typeof e.trainLoss === 'number' && typeof e.evalAccuracy === 'number');
    }
    const runLog = fs.readFileSync(path.join(run, 'run.log'), 'utf8');
    assert.match(runLog, /textcnn epoch 2\/2: train loss [\d.]+, .* eval accuracy [\d.]+/);
    for (const kind of ['textcnn', 'gru']) {
      const training = readJson(path.join(run, kind, 'config.json')).training;
      assert.equal(training.distill.poolPartRows, r.poolPartRows);
      assert.equal(training.distill.teacher.weightsSha256, firstRecord.teacher.weightsSha256);
      assert.equal(training.distill.poolRows, POOL_TEXTS);
      assert.equal(training.trainRows, TRAIN_ROWS + POOL_TEXTS, `${kind} trained on labelled + pool rows`);
      assert.equal(training.options.temperature, 2);
    }
  });

  it('the saved teacher scores the eval file as training measured, and better than chance', async () => {
    const { folder, student } = loadStudentFromFolder(path.join(run, 'teacher'));
    try {
      const tokenizer = Tokenizer.fromFile(folder.vocabPath, { lowercase: folder.config.lowercase });
      const rows = fs.readFileSync(path.join(fixture, 'eval.tsv'), 'utf8').split('\n').filter((l) => l).map((l) => l.split('\t'));
      const enc = tokenizer.encodeBatch(rows.map((r) => r[0]), { maxLength: folder.config.maxLength, addSpecialTokens: true });
      const logits = await student.predictLogits({ ids: enc.ids, lengths: enc.lengths, maxLength: enc.maxLength });
      const C = folder.labels.length;
      let correct = 0;
      rows.forEach((r, i) => {
        const row = Array.from(logits.subarray(i * C, i * C + C));
        if (folder.labels[row.indexOf(Math.max(...row))] === r[1]) correct++;
      });
      const accuracy = correct / rows.length;
      assert.ok(Math.abs(accuracy - firstRecord.teacher.evalAccuracy) <= 1.5 / rows.length, `reloaded ${accuracy} vs trained ${firstRecord.teacher.evalAccuracy}`);
      assert.ok(accuracy > 0.5, `teacher accuracy ${accuracy} is above chance (1/3)`);
    } finally {
      student.dispose();
    }
  });

  it('the distilled students predict through the CLI', () => {
    const r = runCli(['predict', config, '--model', 'gru'], '物流很快，包装完好\n质量太差了\n');
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout.trim().split('\n');
    assert.equal(lines.length, 2);
    for (const line of lines) assert.match(line, /^(正面|负面|物流)\t0\.\d+$/);
  });

  it('a rerun reuses the teacher and the cache: nothing is scored again', () => {
    const stderr = train(config, 'rerun');
    const record = readJson(path.join(run, 'run.json'));
    assert.equal(record.teacher.reused, true);
    assert.equal(record.teacher.weightsSha256, firstRecord.teacher.weightsSha256);
    assert.equal(record.softLabels.opened.loaded, firstRecord.softLabels.train.scored + firstRecord.softLabels.pool.scored);
    assert.equal(record.softLabels.train.scored, 0);
    assert.equal(record.softLabels.pool.scored, 0);
    assert.equal(record.softLabels.pool.fromCache, POOL_TEXTS);
    assert.match(stderr, /soft labels: reusing \d+ cached teacher logits/);
    assert.match(stderr, /teacher: reusing /);
  });

  it('a cache torn mid-record (a killed run) is cut back to its last whole record; only the lost texts are rescored', () => {
    const file = path.join(run, 'soft-labels.cache');
    const bytes = fs.readFileSync(file);
    const total = firstRecord.softLabels.train.scored + firstRecord.softLabels.pool.scored;
    const lines = bytes.toString('latin1').split('\n');
    // Keep the header and 100 records, then half of the 101st.
    const keep = lines.slice(0, 101).join('\n').length + 1;
    fs.writeFileSync(file, bytes.subarray(0, keep + 40));
    train(config, 'rerun after a torn cache');
    const record = readJson(path.join(run, 'run.json'));
    assert.equal(record.softLabels.opened.loaded, 100);
    assert.equal(record.softLabels.opened.droppedBytes, 40);
    assert.equal(record.softLabels.train.scored + record.softLabels.pool.scored, total - 100);
    // The repaired file holds every text exactly once again.
    const after = fs.readFileSync(file, 'latin1').split('\n');
    assert.equal(after.length - 2, total, 'header + one line per text + the final empty piece');
    assert.equal(new Set(after.slice(1, -1).map((l) => l.slice(0, 64))).size, total);
  });

  it('unlabeled_limit caps the pool; use_unlabeled = false leaves it out', () => {
    const limited = distillConfig(path.join(tmp, 'limited'), ['unlabeled_limit = 50', 'loss = mse']);
    train(limited, 'train with unlabeled_limit');
    let record = readJson(path.join(tmp, 'limited', 'runs', 'default', 'run.json'));
    assert.equal(record.softLabels.pool.texts, 50);
    assert.equal(record.distill.loss, 'mse');
    assert.equal(readJson(path.join(tmp, 'limited', 'runs', 'default', 'textcnn', 'config.json')).training.trainRows, TRAIN_ROWS + 50);

    const noPool = distillConfig(path.join(tmp, 'nopool'), ['use_unlabeled = false']);
    train(noPool, 'train without the pool');
    record = readJson(path.join(tmp, 'nopool', 'runs', 'default', 'run.json'));
    assert.equal(record.softLabels.pool, null);
    assert.equal(record.distill.poolRows, 0);
    assert.equal(readJson(path.join(tmp, 'nopool', 'runs', 'default', 'gru', 'config.json')).training.trainRows, TRAIN_ROWS);
  });

  it('BAD CONFIG: kind = onnx without path, and MLM pre-training with init_checkpoint, are named with their line', () => {
    const onnx = distillConfig(path.join(tmp, 'onnx'), [], ['kind = onnx']);
    let r = runCli(['train', onnx]);
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /config\.ini:\d+: .*\[teacher\] kind = onnx needs "path"/);
    const mlm = distillConfig(path.join(tmp, 'mlm'), [], ['kind = native', 'pretrain = mlm', `init_checkpoint = ${tmp}`]);
    r = runCli(['train', mlm]);
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /config\.ini:\d+: \[teacher\] pretrain: = mlm pre-trains from random weights and cannot be combined with init_checkpoint/);
  });
});

describe('SoftLabelCache', () => {
  it('round-trips logits bit-exactly, appends across opens, and restarts for another teacher', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'md-cache-'));
    try {
      const file = path.join(dir, 'c.cache');
      const keys = ['甲', '乙', '丙'].map(textKey);
      const logits = Float32Array.from([0.1, -2.5, 3e-8, 1e6, -0, 7.25, Math.PI, -Math.E, 42]);
      let c = SoftLabelCache.open(file, 'a'.repeat(64), 3);
      c.append(keys.slice(0, 2), logits.subarray(0, 6));
      c.close();
      c = SoftLabelCache.open(file, 'a'.repeat(64), 3);
      assert.equal(c.openReport.loaded, 2);
      c.append(keys, logits); // the first two are already there: only the third is written
      c.close();
      c = SoftLabelCache.open(file, 'a'.repeat(64), 3);
      assert.equal(c.size, 3);
      const out = new Float32Array(9);
      keys.forEach((k, i) => assert.ok(c.copyTo(k, out, 3 * i)));
      assert.deepEqual(Array.from(out), Array.from(logits));
      assert.equal(c.copyTo(textKey('丁'), out, 0), false);
      c.close();
      assert.equal(fs.readFileSync(file, 'utf8').split('\n').length, 5, 'header + 3 records + final newline');

      c = SoftLabelCache.open(file, 'b'.repeat(64), 3);
      assert.match(c.openReport.restarted ?? '', /another teacher/);
      assert.equal(c.size, 0);
      c.close();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('drops a record with bad base64 and everything after it', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'md-cache-'));
    try {
      const file = path.join(dir, 'c.cache');
      let c = SoftLabelCache.open(file, 't'.repeat(64), 2);
      c.append(['x', 'y', 'z'].map(textKey), Float32Array.from([1, 2, 3, 4, 5, 6]));
      c.close();
      const lines = fs.readFileSync(file, 'utf8').split('\n');
      lines[2] = lines[2].slice(0, 65) + '!'.repeat(lines[2].length - 65); // same length, not base64
      fs.writeFileSync(file, lines.join('\n'));
      c = SoftLabelCache.open(file, 't'.repeat(64), 2);
      assert.equal(c.openReport.loaded, 1);
      assert.ok(c.openReport.droppedBytes > 0);
      c.close();
      assert.equal(fs.readFileSync(file, 'utf8').split('\n').length, 3, 'header + 1 record + final newline');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
