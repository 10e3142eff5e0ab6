/**
 * `model-distill detect-wrong-labels` and `clean-labels` end to end, on a copy
 * of the tiny-reviews fixture (three classes of short Chinese reviews) with a
 * seeded 10% of its labels flipped to another class. The CLI runs from source
 * in a child process, as a user calls it. Detection must find most flips with
 * few false alarms (a broken pipeline — wrong row order, probabilities of the
 * wrong rows, in-fold instead of out-of-fold predictions — flags mostly clean
 * rows or nothing); clean-labels must write the cleaned file, leave the
 * original alone, and refuse stale or missing inputs with messages naming them.
 */
import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import { loadConfig } from '../lib/config';
import { detectWrongLabels, outOfFoldProbabilities, repeatSeed, stratifiedFolds } from '../lib/labels/detect';
import { prepareData } from '../lib/pipeline/prepare-data';
import { RunLog } from '../lib/pipeline/run-log';
import { seededRandom } from '../lib/util/random';
import { fails, ok, runCli, TINY_REVIEWS, TINY_REVIEWS_LABELS, type CliResult } from './helpers/cli';
import { tinyConfigText, writeConfigIni } from './helpers/tiny-config';

const fixture = TINY_REVIEWS;
const LABELS = TINY_REVIEWS_LABELS;

function writeConfig(dir: string, extra: string[] = []): string {
  const data = ['train = train.tsv', `eval = ${path.join(fixture, 'eval.tsv')}`, `class_id = ${path.join(fixture, 'class_id.txt')}`, 'vocab = vocab.txt'];
  return writeConfigIni(dir, tinyConfigText(fixture, 'textcnn', extra, { data, gru: false, epochs: 5 }));
}

let tmp: string;
let config: string;
let trainFile: string;
let noisyText: string;
const flipped = new Set<number>();
let detectOut: CliResult;

before(function () {
  this.timeout(120_000);
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'model-distill-labels-'));
  const lines = fs.readFileSync(path.join(fixture, 'train.tsv'), 'utf8').split('\n').filter((l) => l !== '');
  const random = seededRandom(99);
  const order = lines.map((_, i) => i);
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  for (const i of order.slice(0, Math.round(lines.length / 10))) {
    const [text, label] = lines[i].split('\t');
    const others = LABELS.filter((l) => l !== label);
    lines[i] = `${text}\t${others[Math.floor(random() * others.length)]}`;
    flipped.add(i + 1);
  }
  trainFile = path.join(tmp, 'train.tsv');
  noisyText = lines.join('\n') + '\n';
  fs.writeFileSync(trainFile, noisyText);
  config = writeConfig(tmp);
  detectOut = ok(runCli(['detect-wrong-labels', config]), 'detect-wrong-labels');
});

after(() => {
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

function readTsv(file: string): string[][] {
  return fs.readFileSync(file, 'utf8').split('\n').filter((l) => l !== '').map((l) => l.split('\t'));
}

describe('model-distill detect-wrong-labels', () => {
  it('finds most of the flipped labels, with few false alarms', () => {
    const rows = readTsv(path.join(tmp, 'runs', 'default', 'wrong_labels.tsv'));
    assert.deepEqual(rows[0], ['line', 'text', 'given_label', 'suggested_label', 'confidence']);
    const flagged = rows.slice(1).map((r) => Number(r[0]));
    const hits = flagged.filter((l) => flipped.has(l)).length;
    const precision = hits / Math.max(1, flagged.length);
    const recall = hits / flipped.size;
    // 36 flips in 360 rows; measured with the defaults (3 splits, low_self_confidence): 28 flagged,
    // precision 1.0, recall 0.78 (1 split, prune_by_noise_rate: 37 flagged, 0.92 / 0.94). Random
    // flags would score ~0.1.
    assert.ok(precision >= 0.8, `precision ${precision.toFixed(3)} (${hits}/${flagged.length})`);
    assert.ok(recall >= 0.6, `recall ${recall.toFixed(3)} (${hits}/${flipped.size})`);
  });

  it('lists line, text and given label as in the train file, most suspect first', () => {
    const trainLines = noisyText.split('\n');
    const rows = readTsv(path.join(tmp, 'runs', 'default', 'wrong_labels.tsv')).slice(1);
    assert.ok(rows.length > 0);
    for (const [line, text, given, suggested, confidence] of rows) {
      assert.equal(trainLines[Number(line) - 1], `${text}\t${given}`, `line ${line}`);
      assert.ok(LABELS.includes(suggested) && suggested !== given, `suggestion ${suggested} for ${given}`);
      const c = Number(confidence);
      assert.ok(c > 0 && c <= 1, `confidence ${confidence}`);
    }
    // Ranked by self-confidence (the default), not by line.
    const lines = rows.map((r) => Number(r[0]));
    assert.notDeepEqual(lines, [...lines].sort((a, b) => a - b), 'not simply in file order');
  });

  it('writes the summary JSON and prints it: noise per class, counts, settings', () => {
    const summary = JSON.parse(fs.readFileSync(path.join(tmp, 'runs', 'default', 'wrong_labels.json'), 'utf8'));
    assert.equal(summary.format, 'model-distill-wrong-labels');
    assert.deepEqual(summary.classes, LABELS);
    assert.equal(summary.counts.rows, 360);
    assert.deepEqual(summary.settings, { model: 'textcnn', folds: 5, repeats: 3, filter: 'low_self_confidence', rankBy: 'self_confidence', seed: 7, epochs: 5 });
    // low_self_confidence flags as many rows as confident learning counts off the diagonal (fewer
    // only where a class would drop below one row).
    assert.ok(summary.counts.estimatedIssues > 0 && summary.counts.flagged <= summary.counts.estimatedIssues, JSON.stringify(summary.counts));
    assert.equal(summary.perClass.length, 3);
    assert.equal(summary.perClass.reduce((a: number, c: { rows: number }) => a + c.rows, 0), 360);
    assert.equal(summary.perClass.reduce((a: number, c: { flagged: number }) => a + c.flagged, 0), summary.counts.flagged);
    // Default [labels] repeats = 3: three seeded splits of 5 folds.
    assert.deepEqual(summary.folds.map((f: { repeat: number; fold: number }) => `${f.repeat}/${f.fold}`), [1, 2, 3].flatMap((r) => [1, 2, 3, 4, 5].map((f) => `${r}/${f}`)));
    for (const f of summary.folds) assert.equal(f.trainRows + f.heldOutRows, 360);
    // The estimate is near the true 10%.
    assert.ok(summary.estimatedNoiseRate > 0.04 && summary.estimatedNoiseRate < 0.2, `estimated ${summary.estimatedNoiseRate}`);
    assert.match(detectOut.stdout, new RegExp(`${summary.counts.flagged} of 360 train rows flagged`));
    assert.match(detectOut.stdout, new RegExp(`confident learning counts ${summary.counts.estimatedIssues} label issues`));
    for (const label of LABELS) assert.match(detectOut.stdout, new RegExp(label));
    assert.match(detectOut.stderr, /fold 5\/5/);
  });

  it('stratified folds: seeded, every fold gets its share of every class', () => {
    const labels = Int32Array.from({ length: 103 }, (_, i) => (i % 7 === 0 ? 2 : i % 2));
    const a = stratifiedFolds(labels, 3, 5, 1);
    assert.deepEqual(a, stratifiedFolds(labels, 3, 5, 1));
    assert.notDeepEqual(a, stratifiedFolds(labels, 3, 5, 2));
    const sizes = [0, 0, 0, 0, 0];
    for (const f of a) sizes[f]++;
    assert.ok(Math.max(...sizes) - Math.min(...sizes) <= 1, `fold sizes ${sizes}`);
    for (let c = 0; c < 3; c++) {
      const per = [0, 0, 0, 0, 0];
      labels.forEach((y, i) => y === c && per[a[i]]++);
      assert.ok(Math.max(...per) - Math.min(...per) <= 1, `class ${c} per fold ${per}`);
    }
    assert.throws(() => stratifiedFolds(Int32Array.from([0, 1]), 2, 3, 1), /cannot split 2 rows into 3 folds/);
  });

  it('[labels] repeats = 2 and model = textcnn,gru: the mean of the four out-of-fold runs, each split by its own seed', async function () {
    this.timeout(240_000);
    const dir = path.join(tmp, 'repeats');
    fs.mkdirSync(dir);
    fs.copyFileSync(trainFile, path.join(dir, 'train.tsv'));
    const cfg = writeConfig(dir, ['[gru]', 'embedding_dim = 16', 'hidden = 16', '[labels]', 'repeats = 2', 'model = textcnn,gru']);
    const report = await detectWrongLabels(cfg);
    assert.deepEqual(
      { model: report.settings.model, repeats: report.settings.repeats },
      { model: 'textcnn+gru', repeats: 2 },
    );
    assert.deepEqual(
      report.foldReports.map((f) => `${f.model}/${f.repeat}/${f.fold}`),
      ['textcnn', 'gru'].flatMap((m) => [1, 2].flatMap((r) => [1, 2, 3, 4, 5].map((f) => `${m}/${r}/${f}`))),
    );
    // Split 1 is the plain k-fold split (seed = [train] seed); split 2 another one.
    assert.equal(repeatSeed(7, 0), 7);
    assert.notDeepEqual(stratifiedFolds(report.givenLabels, 3, 5, repeatSeed(7, 1)), stratifiedFolds(report.givenLabels, 3, 5, 7));

    // The four member runs, one by one: the report's probabilities are their mean.
    const config = loadConfig(cfg);
    const log = new RunLog(path.join(dir, 'runs', 'default'), { uniqid: 'default', config: cfg });
    const data = await prepareData(config, path.join(dir, 'runs', 'default'), log);
    const members: Float32Array[] = [];
    for (const kind of ['textcnn', 'gru'] as const) {
      for (const r of [0, 1]) members.push((await outOfFoldProbabilities(config, kind, data, 5, log, {}, r, 2)).probs);
    }
    let maxDiff = 0;
    let memberSpread = 0;
    for (let k = 0; k < report.probabilities.length; k++) {
      const mean = (members[0][k] + members[1][k] + members[2][k] + members[3][k]) / 4;
      maxDiff = Math.max(maxDiff, Math.abs(report.probabilities[k] - mean));
      memberSpread = Math.max(memberSpread, Math.abs(members[0][k] - members[1][k]), Math.abs(members[0][k] - members[2][k]));
    }
    assert.ok(maxDiff < 1e-6, `report vs mean of the member runs: max difference ${maxDiff}`);
    // The members differ (other split, other model): averaging changes the probabilities.
    assert.ok(memberSpread > 0.05, `members nearly identical: max difference ${memberSpread}`);
    // The stored summary says what was averaged.
    const summary = JSON.parse(fs.readFileSync(path.join(dir, 'runs', 'default', 'wrong_labels.json'), 'utf8'));
    assert.equal(summary.settings.repeats, 2);
    assert.equal(summary.folds.length, 20);
  });

  it('bad [labels] repeats, model and filter values are config errors naming the file, line and key', () => {
    const dir = path.join(tmp, 'bad-labels');
    fs.mkdirSync(dir);
    fs.copyFileSync(trainFile, path.join(dir, 'train.tsv'));
    // writeConfig's lines: [labels] is line 21, repeats 22, model 23, filter 24.
    const cfg = writeConfig(dir, ['[labels]', 'repeats = 0', 'model = textcnn,bert', 'filter = low_confidence']);
    const r = runCli(['detect-wrong-labels', cfg]);
    fails(r, 'repeats = 0', /config\.ini:22: \[labels\] repeats must be an integer from 1 to 100, got "0"/, 1);
    assert.match(r.stderr, /config\.ini:23: \[labels\] model .*textcnn, gru, teacher.*unknown "bert"/);
    assert.match(r.stderr, /config\.ini:24: \[labels\] filter .*low_self_confidence/);
    const words = writeConfig(dir, ['[labels]', 'repeats = two']);
    fails(runCli(['detect-wrong-labels', words]), 'repeats = two', /config\.ini:22: \[labels\] repeats .*"two"/, 1);
  });
});

describe('model-distill clean-labels', () => {
  const cleanedFile = () => path.join(tmp, 'train.cleaned.tsv');

  it('drops the flagged rows and keeps every other line in order; the original is unchanged', () => {
    const r = ok(runCli(['clean-labels', config]), 'clean-labels');
    const flagged = new Set(readTsv(path.join(tmp, 'runs', 'default', 'wrong_labels.tsv')).slice(1).map((x) => Number(x[0])));
    const expected = noisyText.split('\n').filter((l, i) => l !== '' && !flagged.has(i + 1));
    assert.deepEqual(fs.readFileSync(cleanedFile(), 'utf8').split('\n').filter((l) => l !== ''), expected);
    assert.equal(fs.readFileSync(trainFile, 'utf8'), noisyText, 'train file unchanged');
    assert.match(r.stdout, new RegExp(`dropped ${flagged.size}; kept ${360 - flagged.size} rows`));
  });

  it('--relabel gives confident rows their suggested label and drops the rest', () => {
    const rows = readTsv(path.join(tmp, 'runs', 'default', 'wrong_labels.tsv')).slice(1);
    const min = 0.9;
    const r = ok(runCli(['clean-labels', config, '--relabel', '--min-confidence', String(min)]), 'clean-labels --relabel');
    const byLine = new Map(rows.map((x) => [Number(x[0]), x]));
    const expected: string[] = [];
    let relabelled = 0;
    noisyText.split('\n').forEach((l, i) => {
      if (l === '') return;
      const row = byLine.get(i + 1);
      if (!row) expected.push(l);
      else if (Number(row[4]) >= min) {
        expected.push(`${row[1]}\t${row[3]}`);
        relabelled++;
      }
    });
    assert.ok(relabelled > 0 && relabelled < rows.length, `some relabelled (${relabelled} of ${rows.length})`);
    assert.deepEqual(fs.readFileSync(cleanedFile(), 'utf8').split('\n').filter((l) => l !== ''), expected);
    assert.match(r.stdout, new RegExp(`relabelled ${relabelled} \\(confidence >= 0.9\\), dropped ${rows.length - relabelled}`));
    // Relabelling mostly restores the labels before the flip: the fixture's original file.
    const original = fs.readFileSync(path.join(fixture, 'train.tsv'), 'utf8').split('\n');
    const restored = rows.filter((x) => Number(x[4]) >= min && original[Number(x[0]) - 1] === `${x[1]}\t${x[3]}`).length;
    assert.ok(restored / relabelled >= 0.7, `restored ${restored} of ${relabelled}`);
  });

  it('BAD CALL – --min-confidence out of range, or without --relabel, is a usage error', () => {
    fails(runCli(['clean-labels', config, '--relabel', '--min-confidence', '1.5']), 'min-confidence 1.5', /Expected a number between 0 and 1 for --min-confidence but received "1.5"/, 2);
    fails(runCli(['clean-labels', config, '--min-confidence', '0.5']), 'without --relabel', /--min-confidence only applies with --relabel/, 2);
  });

  it('a run without detection says to run detect-wrong-labels first', () => {
    fails(runCli(['clean-labels', config, 'other']), 'no wrong_labels.tsv', /no wrong_labels\.tsv in run "other" .*run first: model-distill detect-wrong-labels .*config\.ini other/, 1);
  });

  it('a train file changed since detection is refused, naming the line', () => {
    const rows = readTsv(path.join(tmp, 'runs', 'default', 'wrong_labels.tsv')).slice(1);
    const line = Number(rows[0][0]);
    const changed = noisyText.split('\n');
    changed[line - 1] = `改过的文字\t${rows[0][2]}`;
    const dir = path.join(tmp, 'changed');
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, 'train.tsv'), changed.join('\n'));
    fs.mkdirSync(path.join(dir, 'runs', 'default'), { recursive: true });
    fs.copyFileSync(path.join(tmp, 'runs', 'default', 'wrong_labels.tsv'), path.join(dir, 'runs', 'default', 'wrong_labels.tsv'));
    const cfg = writeConfig(dir);
    fails(runCli(['clean-labels', cfg]), 'changed train', new RegExp(`train\\.tsv changed since detection: line ${line} is "改过的文字\\\\t`), 1);
    assert.ok(!fs.existsSync(path.join(dir, 'train.cleaned.tsv')), 'nothing written');
    // A shorter file: the message names the missing line.
    fs.writeFileSync(path.join(dir, 'train.tsv'), noisyText.split('\n').slice(0, 10).join('\n') + '\n');
    // The first listed row past line 10 (rows before it still match the file).
    const far = rows.map((x) => Number(x[0])).find((l) => l > 10);
    fails(runCli(['clean-labels', cfg]), 'short train', new RegExp(`names line ${far}, but the file has 10 lines`), 1);
  });

  it('a damaged wrong_labels.tsv names its line', () => {
    const file = path.join(tmp, 'changed', 'runs', 'default', 'wrong_labels.tsv');
    fs.writeFileSync(file, 'line\ttext\tgiven_label\tsuggested_label\tconfidence\n3\t好\t正面\t负面\tabc\n');
    fails(runCli(['clean-labels', path.join(tmp, 'changed', 'config.ini')]), 'bad confidence', /wrong_labels\.tsv:2: confidence must be a number in \[0, 1\], got "abc"/, 1);
  });

  it('detect-wrong-labels with [labels] model = teacher and no teacher is a config error naming the line', () => {
    const dir = path.join(tmp, 'teacher');
    fs.mkdirSync(dir);
    fs.copyFileSync(trainFile, path.join(dir, 'train.tsv'));
    const cfg = writeConfig(dir, ['[labels]', 'model = teacher']);
    fails(runCli(['detect-wrong-labels', cfg]), 'teacher', /config\.ini:\d+: .*\[labels\] .*teacher/, 1);
  });
});
