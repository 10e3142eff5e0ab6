/**
 * End-to-end tests of `model-distill train / predict / eval` on the tiny-reviews
 * fixture (three classes of short Chinese reviews, written by
 * test/fixtures/tiny-reviews/make-tiny-reviews.js). The CLI runs from source in a
 * child process, as a user calls it; models are tiny and train for 3 epochs, so
 * the whole file takes seconds. Prediction through the CLI is compared with the
 * Classifier API in this process.
 */
import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import { Classifier } from '../lib/classifier';
import { resolveUniqid } from '../lib/config';
import { fails, ok, outputLines, runCli, TINY_REVIEWS, TINY_REVIEWS_LABELS } from './helpers/cli';
import { tinyConfigText, writeConfigIni } from './helpers/tiny-config';

const fixture = TINY_REVIEWS;
const LABELS = TINY_REVIEWS_LABELS;

/** Writes <dir>/config.ini for the fixture with tiny models (3 epochs), model dir <dir>/runs, vocab <dir>/vocab.txt. */
function tinyConfig(dir: string, overrides: { students?: string; epochs?: number; data?: Record<string, string>; teacher?: string } = {}): string {
  const data = {
    train: path.join(fixture, 'train.tsv'),
    eval: path.join(fixture, 'eval.tsv'),
    unlabeled: path.join(fixture, 'unlabeled.txt'),
    class_id: path.join(fixture, 'class_id.txt'),
    vocab: 'vocab.txt', // relative: beside this config; absent, so train builds it
    ...overrides.data,
  };
  const text = tinyConfigText(
    fixture,
    overrides.students ?? 'textcnn,gru',
    overrides.teacher ? ['[teacher]', `kind = ${overrides.teacher}`] : [],
    { data: Object.entries(data).map(([k, v]) => `${k} = ${v}`), epochs: overrides.epochs ?? 3 },
  );
  return writeConfigIni(dir, '; tiny models for tests\n' + text);
}

const evalRows = fs
  .readFileSync(path.join(fixture, 'eval.tsv'), 'utf8')
  .split('\n')
  .filter((l) => l.length > 0)
  .map((l) => l.split('\t') as [string, string]);

let tmp: string;
let config: string;
let run: string;

before(function () {
  this.timeout(120_000);
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'model-distill-train-'));
  config = tinyConfig(path.join(tmp, 'main'));
  const r = ok(runCli(['train', config]), 'train');
  run = path.join(tmp, 'main', 'runs', 'default');
  assert.equal(r.stdout, `${run}\n`, 'train prints the run folder on stdout');
});

after(() => {
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

describe('model-distill train', () => {
  it('writes a model folder per student, the resolved config and the run log under <model.dir>/default/', () => {
    for (const kind of ['textcnn', 'gru']) {
      for (const file of ['config.json', 'weights.safetensors', 'vocab.txt', 'class_id.txt']) {
        assert.ok(fs.existsSync(path.join(run, kind, file)), `${kind}/${file} exists`);
      }
      const modelConfig = JSON.parse(fs.readFileSync(path.join(run, kind, 'config.json'), 'utf8'));
      assert.deepEqual(modelConfig.labels, LABELS);
      assert.equal(modelConfig.maxLength, 32);
    }
    const resolved = JSON.parse(fs.readFileSync(path.join(run, 'config.resolved.json'), 'utf8'));
    assert.equal(resolved.uniqid, 'default');
    assert.equal(resolved.train.epochs, 3);
    assert.match(fs.readFileSync(path.join(run, 'run.log'), 'utf8'), /textcnn epoch 3\/3: train loss/);
    // No temp files left behind by the atomic writes.
    assert.deepEqual(fs.readdirSync(run).filter((f) => f.includes('tmp')), []);
  });

  it('builds the vocab from train + unlabeled where [data] vocab points, and says so', () => {
    const vocab = fs.readFileSync(path.join(tmp, 'main', 'vocab.txt'), 'utf8').split('\n');
    assert.deepEqual(vocab.slice(0, 2), ['[PAD]', '[UNK]']);
    assert.ok(vocab.includes('物') && vocab.includes('流'), 'characters of the data are in the vocab');
    assert.equal(fs.readFileSync(path.join(run, 'vocab.txt'), 'utf8'), vocab.join('\n'), 'a copy sits in the run folder');
    assert.match(fs.readFileSync(path.join(run, 'run.log'), 'utf8'), /vocab: .*vocab\.txt did not exist; built it from 360 train texts and 240 unlabeled texts/);
  });

  it('records status, data counts, versions and per-epoch metrics in run.json', () => {
    const record = JSON.parse(fs.readFileSync(path.join(run, 'run.json'), 'utf8'));
    assert.equal(record.status, 'completed');
    assert.equal(record.data.train.rows, 360);
    assert.equal(record.data.eval.rows, 90);
    assert.deepEqual(record.data.train.perClass, { 正面: 120, 负面: 120, 物流: 120 });
    assert.equal(record.data.tokenization.addSpecialTokens, false);
    assert.ok(record.versions.node.startsWith('v'));
    assert.ok(record.timings.data >= 0 && record.timings.textcnn > 0 && record.timings.gru > 0 && record.timings.total > 0);
    assert.deepEqual(record.students.map((s: { kind: string }) => s.kind), ['textcnn', 'gru']);
    for (const s of record.students) {
      assert.equal(s.epochs.length, 3);
      assert.ok(s.bestEpoch >= 1 && s.bestEpoch <= 3);
      const best = s.epochs.find((e: { epoch: number }) => e.epoch === s.bestEpoch);
      assert.equal(s.evalAccuracy, best.evalAccuracy);
      for (const e of s.epochs) assert.ok(e.evalAccuracy <= s.evalAccuracy, 'the kept epoch is the best one');
      // The saved folder, loaded like users load it, scores what training measured.
      assert.ok(Math.abs(s.reloadedEvalAccuracy - s.evalAccuracy) <= 1 / 90 + 1e-12, `${s.kind}: ${s.reloadedEvalAccuracy} vs ${s.evalAccuracy}`);
      assert.ok(s.evalAccuracy > 0.6, `${s.kind} learns the fixture (eval accuracy ${s.evalAccuracy}, chance 0.33)`);
    }
  });

  it("names a '${time}' run by today's date (YYYYMMDD) and trains only the listed students", function () {
    this.timeout(120_000);
    const cfg = tinyConfig(path.join(tmp, 'dated'), { students: 'textcnn', epochs: 1 });
    const before = resolveUniqid('${time}');
    assert.match(before, /^\d{8}$/);
    const r = ok(runCli(['train', cfg, '${time}']), 'train ${time}');
    // (A run crossing midnight names the next day: either date is right.)
    const allowed = [before, resolveUniqid('${time}')].map((d) => path.join(tmp, 'dated', 'runs', d));
    const used = r.stdout.trim();
    assert.ok(allowed.includes(used), `${used} is one of ${allowed.join(', ')}`);
    assert.ok(fs.existsSync(path.join(used, 'textcnn', 'config.json')));
    assert.ok(!fs.existsSync(path.join(used, 'gru')), 'gru is not in [model] students');
  });
});

describe('model-distill predict', () => {
  const texts = evalRows.map(([t]) => t);

  it('prints one "label<TAB>score" line per input line, in order, equal to Classifier.predict', async () => {
    // An empty line and one with invalid UTF-8 in the middle: both still get their line.
    const input = Buffer.concat([
      Buffer.from(texts.slice(0, 40).join('\n') + '\n\n', 'utf8'),
      Buffer.from([0xe7, 0x89, 0x0a]), // a cut UTF-8 sequence, then '\n'
      Buffer.from(texts.slice(40).join('\n'), 'utf8'), // no final newline
    ]);
    const r = ok(runCli(['predict', config, '--batch-size', '7'], input), 'predict');
    const lines = outputLines(r.stdout);
    assert.equal(lines.length, texts.length + 2);
    const classifier = await Classifier.load(path.join(run, 'textcnn'));
    try {
      const inputs = [...texts.slice(0, 40), '', '\ufffd', ...texts.slice(40)];
      const expected = await classifier.predict(inputs);
      lines.forEach((line, i) => {
        const [label, score] = line.split('\t');
        assert.equal(label, expected[i].label, `line ${i + 1}`);
        assert.ok(Math.abs(Number(score) - expected[i].score) < 1e-6, `line ${i + 1} score`);
      });
    } finally {
      classifier.close();
    }
    assert.match(r.stderr, /replaced 1 invalid UTF-8 sequence\(s\) with U\+FFFD on 1 of 92 line\(s\)/);
    // The predictions are good, too: well above chance on the eval texts.
    const correct = texts.filter((_, i) => lines[i < 40 ? i : i + 2].split('\t')[0] === evalRows[i][1]).length;
    assert.ok(correct / texts.length > 0.6, `accuracy ${correct / texts.length}`);
  });

  it('--format jsonl prints label, score and every class probability', () => {
    const r = ok(runCli(['predict', config, '--format', 'jsonl', '--model', 'gru'], texts.slice(0, 5).join('\n') + '\n'), 'predict jsonl');
    const rows = outputLines(r.stdout).map((l) => JSON.parse(l));
    assert.equal(rows.length, 5);
    for (const row of rows) {
      assert.deepEqual(Object.keys(row.probabilities), LABELS);
      const sum = LABELS.reduce((s, l) => s + row.probabilities[l], 0);
      assert.ok(Math.abs(sum - 1) < 1e-5);
      assert.equal(row.score, Math.max(...LABELS.map((l) => row.probabilities[l])));
      assert.equal(row.probabilities[row.label], row.score);
    }
  });

  it('--top-k K prints the K best labels, best first, in tsv and jsonl', () => {
    const input = texts.slice(0, 5).join('\n') + '\n';
    const tsv = outputLines(ok(runCli(['predict', config, '--top-k', '2'], input), 'predict top-k').stdout);
    const plain = outputLines(ok(runCli(['predict', config], input), 'predict').stdout);
    tsv.forEach((line, i) => {
      const pairs = line.split('\t').map((p) => p.split(':'));
      assert.equal(pairs.length, 2);
      assert.ok(Number(pairs[0][1]) >= Number(pairs[1][1]));
      assert.notEqual(pairs[0][0], pairs[1][0]);
      assert.equal(`${pairs[0][0]}\t${pairs[0][1]}`, plain[i], 'the first pair is the plain prediction');
    });
    const jsonl = outputLines(ok(runCli(['predict', config, '--top-k', '3', '--format', 'jsonl'], input), 'predict top-k jsonl').stdout);
    for (const line of jsonl) {
      const row = JSON.parse(line);
      assert.deepEqual(row.top.map((t: { label: string }) => t.label).sort(), [...LABELS].sort());
      assert.equal(row.top[0].label, row.label);
    }
  });

  it('prints nothing for empty input', () => {
    assert.equal(ok(runCli(['predict', config], ''), 'predict empty').stdout, '');
  });
});

describe('model-distill eval', () => {
  it('--json prints one line per model of the run with accuracy above chance, equal to what training measured', () => {
    const r = ok(runCli(['eval', config, '--data', path.join(fixture, 'eval.tsv'), '--json']), 'eval --json');
    const rows = outputLines(r.stdout).map((l) => JSON.parse(l));
    assert.deepEqual(rows.map((x) => x.model), ['textcnn', 'gru']);
    const record = JSON.parse(fs.readFileSync(path.join(run, 'run.json'), 'utf8'));
    for (const row of rows) {
      assert.deepEqual(Object.keys(row), ['model', 'accuracy', 'macroF1', 'n']);
      assert.equal(row.n, 90);
      assert.ok(row.accuracy > 0.6 && row.macroF1 > 0.5, JSON.stringify(row));
      const trained = record.students.find((s: { kind: string }) => s.kind === row.model);
      assert.equal(row.accuracy, trained.reloadedEvalAccuracy);
    }
  });

  it('prints accuracy, per-class precision/recall/F1 and the confusion matrix; --data defaults to [data] eval', () => {
    const r = ok(runCli(['eval', config, 'default', '--model', 'textcnn']), 'eval');
    assert.match(r.stdout, /^textcnn \(run "default"\) on .*eval\.tsv: accuracy \d+\.\d\d%  macro-F1 \d+\.\d\d%  \(n = 90\)/);
    for (const label of LABELS) assert.match(r.stdout, new RegExp(`\\n  ${label} +\\d+\\.\\d\\d +\\d+\\.\\d\\d +\\d+\\.\\d\\d +30 +\\d+\\n`));
    assert.match(r.stdout, /confusion matrix/);
    // Each confusion row sums to the class's 30 eval rows.
    const rows = r.stdout.split('\n').filter((l) => /^  \d (正面|负面|物流) /.test(l));
    assert.equal(rows.length, 3);
    for (const row of rows) assert.equal(row.trim().split(/ +/).slice(2).map(Number).reduce((a, b) => a + b, 0), 30);
    assert.doesNotMatch(r.stdout, /gru/);
  });

  it('names the line of a row whose label the model does not know', () => {
    const bad = path.join(tmp, 'bad-eval.tsv');
    fs.writeFileSync(bad, `${evalRows[0][0]}\t${evalRows[0][1]}\n很好\t中性\n`);
    fails(runCli(['eval', config, '--data', bad]), 'eval with an unknown label', /bad-eval\.tsv: 1 bad row\(s\).*line 2: unknown label "中性"/);
  });
});

describe('train / predict / eval: bad input', () => {
  it('rejects a config with an unknown key, naming file, line and key', () => {
    const cfg = tinyConfig(path.join(tmp, 'typo'));
    fs.appendFileSync(cfg, 'epoch = 3\n'); // appended to [train] (or [teacher]); "epochs" is meant
    const line = fs.readFileSync(cfg, 'utf8').split('\n').length - 1;
    fails(runCli(['train', cfg]), 'train with a typo', new RegExp(`config\\.ini:${line}: unknown key "epoch" in \\[train\\]`));
    assert.ok(!fs.existsSync(path.join(tmp, 'typo', 'runs')), 'nothing is written');
  });

  it('names a missing train file', () => {
    const cfg = tinyConfig(path.join(tmp, 'missing'), { data: { train: 'no-such-train.tsv' } });
    fails(runCli(['train', cfg]), 'train without data', /no-such-train\.tsv/);
  });

  it('names the line of a bad row in the train TSV (never skips it)', () => {
    const dir = path.join(tmp, 'badrow');
    fs.mkdirSync(dir, { recursive: true });
    const lines = fs.readFileSync(path.join(fixture, 'train.tsv'), 'utf8').split('\n');
    lines[4] = lines[4].replace('\t', ' '); // line 5 loses its tab
    fs.writeFileSync(path.join(dir, 'train.tsv'), lines.join('\n'));
    const cfg = tinyConfig(dir, { data: { train: 'train.tsv' } });
    fails(runCli(['train', cfg]), 'train with a bad row', /train\.tsv: 1 bad row\(s\) \(expected "text<TAB>label"\): line 5: no tab/);
    const record = JSON.parse(fs.readFileSync(path.join(dir, 'runs', 'default', 'run.json'), 'utf8'));
    assert.equal(record.status, 'failed');
    assert.match(record.error, /line 5: no tab/);
  });

  it('says a teacher combination is not supported (pretrain = mlm + init_checkpoint), pointing at the config line', () => {
    const cfg = tinyConfig(path.join(tmp, 'teacher'), { teacher: 'native' });
    fs.appendFileSync(cfg, `pretrain = mlm\ninit_checkpoint = ${tmp}\n`); // [teacher] is the last section
    const line = fs.readFileSync(cfg, 'utf8').split('\n').indexOf('pretrain = mlm') + 1;
    fails(runCli(['train', cfg]), 'train with MLM pre-training and a checkpoint', new RegExp(`config\\.ini:${line}: \\[teacher\\] pretrain: = mlm pre-trains from random weights and cannot be combined with init_checkpoint`));
  });

  it('predict on a run that does not exist names the folder and the command that creates it', () => {
    fails(runCli(['predict', config, 'trial-9'], 'x\n'), 'predict without a run', /no run "trial-9": folder .*runs\/trial-9 does not exist; create it with: model-distill train .*config\.ini trial-9/);
    fails(runCli(['eval', config, 'trial-9', '--json']), 'eval without a run', /no run "trial-9"/);
  });

  it('--model that is not in the run lists what the run has; an unknown kind is named', () => {
    const dated = path.join(tmp, 'dated', 'config.ini'); // trained above with textcnn only
    const uniqid = fs.readdirSync(path.join(tmp, 'dated', 'runs'))[0];
    fails(runCli(['predict', dated, uniqid, '--model', 'gru'], 'x\n'), 'predict --model gru', /no gru model in run "\d{8}" \(.*gru\/config\.json not found; it has: textcnn\); add gru to \[model\] students/);
    fails(runCli(['predict', config, '--model', 'bert'], 'x\n'), 'predict --model bert', /Expected one of textcnn, gru for --model but received "bert"/, 2);
  });

  it('rejects bad flag values with exit code 2', () => {
    let r = runCli(['predict', config, '--format', 'csv'], 'x\n');
    assert.equal(r.status, 2);
    assert.match(r.stderr, /Expected tsv or jsonl for --format but received "csv"/);
    r = runCli(['predict', config, '--top-k', '4'], 'x\n');
    assert.equal(r.status, 2);
    assert.match(r.stderr, /Expected at most 3 \(the model's classes\) for --top-k but received 4/);
    r = runCli(['train']);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /'train' needs config\.ini \[uniqid\]/);
  });
});
