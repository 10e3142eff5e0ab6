/**
 * The ensemble teacher ([teacher] ensemble): the config keys and their errors,
 * the average of log-softmax it hands the students, the member folders in
 * <run>/teacher/members/, reuse by fingerprint (and that the cache key follows
 * the members), a transformer retrained beside reused members, and the
 * experiment's teacher rows. Tiny fixture (tiny-reviews), tiny models.
 */
import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import { Classifier } from '../lib/classifier';
import { ConfigError, hasTeacher, loadConfig, parseConfig } from '../lib/config';
import { runExperiment } from '../lib/experiment/run';
import { averageLogSoftmax, ensembleMembers } from '../lib/pipeline/teacher/ensemble';
import { SoftLabelCache, textKey } from '../lib/pipeline/soft-label-cache';
import { trainFromConfig } from '../lib/pipeline/train';
import { REPO_ROOT, TINY_REVIEWS } from './helpers/cli';
import { configErrors, tinyConfigText, writeConfigIni } from './helpers/tiny-config';

const VECTORS = path.join(REPO_ROOT, 'test', 'fixtures', 'tiny-vectors.vec');

/** <dir>/config.ini over tiny-reviews: tiny students, [teacher] lines as given. */
function ensembleConfig(dir: string, teacher: string[], extra: string[] = []): string {
  return writeConfigIni(dir, tinyConfigText(TINY_REVIEWS, 'textcnn', ['[teacher]', ...teacher, ...extra]));
}

const TINY_TRANSFORMER = ['layers = 1', 'hidden = 16', 'heads = 2', 'intermediate = 32', 'learning_rate = 0.003', 'batch_size = 16'];
/** The fields of a teacher member in run.json / config.json that these tests read. */
interface MemberRecord {
  name: string;
  kind: string;
  dir: string;
  reused: boolean;
}

const readJson = (file: string) => JSON.parse(fs.readFileSync(file, 'utf8'));
const lineOf = (text: string, start: string) => text.split('\n').findIndex((l) => l.startsWith(start)) + 1;

/** Each text's log-probabilities [texts, C] from the model folder, as users load it. */
async function folderLogProbs(dir: string, texts: string[]): Promise<Float32Array> {
  const clf = await Classifier.load(dir);
  try {
    return Float32Array.from(await clf.predictProbabilities(texts), Math.log);
  } finally {
    clf.close();
  }
}

/** Asserts that the run's soft-label cache holds, for each text, the mean of the members' log-probabilities. */
function assertCachedMean(run: string, teacherKey: string, texts: string[], members: Float32Array[], C: number): void {
  const cache = SoftLabelCache.open(path.join(run, 'soft-labels.cache'), teacherKey, C);
  try {
    const got = new Float32Array(C);
    for (let i = 0; i < texts.length; i++) {
      assert.ok(cache.copyTo(textKey(texts[i]), got, 0), `text ${i} is cached`);
      for (let c = 0; c < C; c++) {
        const want = members.reduce((sum, m) => sum + m[i * C + c], 0) / members.length;
        assert.ok(Math.abs(got[c] - want) < 1e-4, `text ${i} class ${c}: cached ${got[c]}, the members' mean log-probability ${want}`);
      }
    }
  } finally {
    cache.close();
  }
}

let tmp: string;
before(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'md-ensemble-'));
});
after(() => {
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

describe('ensemble teacher: config', () => {
  it('reads the member list (repeats allowed), names and seeds each member, and defaults', () => {
    const file = ensembleConfig(path.join(tmp, 'cfg'), ['kind = none', 'ensemble = textcnn, gru ,textcnn', `ensemble_vectors = ${VECTORS}`, 'ensemble_epochs = 3']);
    const config = loadConfig(file);
    assert.deepEqual(config.teacher.ensemble, ['textcnn', 'gru', 'textcnn']);
    assert.equal(config.teacher.ensemble_embedding_dim, 4, 'the vectors file decides the members\' embedding size');
    assert.equal(config.teacher.ensemble_epochs, 3);
    assert.ok(hasTeacher(config), 'members alone are a teacher');
    assert.equal(config.distill.enabled, true, 'distillation defaults on with an ensemble of members only');
    assert.deepEqual(
      ensembleMembers(config).map((m) => [m.name, m.kind, m.seed]),
      [['textcnn-1', 'textcnn', 8], ['gru-1', 'gru', 9], ['textcnn-2', 'textcnn', 10]],
    );
    const plain = loadConfig(ensembleConfig(path.join(tmp, 'cfg2'), ['kind = none', 'ensemble = none']));
    assert.deepEqual(plain.teacher.ensemble, []);
    assert.equal(plain.teacher.ensemble_epochs, 2, 'default [train] epochs');
    assert.ok(!hasTeacher(plain));
    assert.equal(plain.distill.enabled, false);
  });

  it('BAD CONFIG: an unknown member, a missing or malformed vectors file, keys without an ensemble, too many members', () => {
    const base = fs.readFileSync(ensembleConfig(path.join(tmp, 'bad'), ['kind = native']), 'utf8');
    let text = base + 'ensemble = textcnn,cnn\n';
    let msg = configErrors(text);
    assert.match(msg, new RegExp(`config\\.ini:${lineOf(text, 'ensemble =')}: \\[teacher\\] ensemble must be a comma-separated list of textcnn, gru, or none, got "textcnn,cnn": unknown "cnn"`));
    text = base + 'ensemble = \n';
    assert.match(configErrors(text), /\[teacher\] ensemble must be a comma-separated list .*: empty/);

    text = base + 'ensemble = textcnn\nensemble_vectors = /nonexistent/vectors.vec\n';
    msg = configErrors(text);
    assert.match(msg, new RegExp(`config\\.ini:${lineOf(text, 'ensemble_vectors')}: \\[teacher\\] ensemble_vectors file not found: /nonexistent/vectors\\.vec`));
    const notVectors = path.join(tmp, 'not-vectors.vec');
    fs.writeFileSync(notVectors, 'hello world\n');
    text = base + `ensemble = textcnn\nensemble_vectors = ${notVectors}\n`;
    assert.match(configErrors(text), new RegExp(`config\\.ini:${lineOf(text, 'ensemble_vectors')}: \\[teacher\\] ensemble_vectors: .*expected a word2vec text header`));

    text = base + `ensemble_vectors = ${VECTORS}\nensemble_epochs = 0\n`;
    msg = configErrors(text);
    assert.match(msg, new RegExp(`config\\.ini:${lineOf(text, 'ensemble_vectors')}: \\[teacher\\] ensemble_vectors is only used with \\[teacher\\] ensemble \\(which is not set\\)`));
    assert.match(msg, new RegExp(`config\\.ini:${lineOf(text, 'ensemble_epochs')}: \\[teacher\\] ensemble_epochs must be a positive integer, got "0"`));
    text = base + 'ensemble = none\nensemble_epochs = 3\n';
    assert.match(configErrors(text), /\[teacher\] ensemble_epochs is only used with \[teacher\] ensemble \(which is none\)/);

    text = base + `ensemble = ${Array(17).fill('gru').join(',')}\n`;
    assert.match(configErrors(text), new RegExp(`config\\.ini:${lineOf(text, 'ensemble =')}: \\[teacher\\] ensemble has 17 members; at most 16 are allowed`));

    text = base.replace('kind = native', 'kind = none') + '[distill]\nenabled = true\n';
    assert.match(configErrors(text), /\[distill\] enabled = true needs a teacher, but \[teacher\] kind is none and neither ensemble nor ensemble_models is set/);
  });
});

describe('ensemble teacher: averageLogSoftmax', () => {
  it('is the mean of each member\'s log-softmax, row by row (shift-invariant per member)', () => {
    const a = new Float32Array([0, 0, 2, 0]); // rows (0,0), (2,0)
    const b = new Float32Array([5, 5 + Math.log(3), -1, -1]); // (p .25/.75), (.5/.5)
    const out = averageLogSoftmax([a, b], 2);
    const expected = [
      (Math.log(0.5) + Math.log(0.25)) / 2,
      (Math.log(0.5) + Math.log(0.75)) / 2,
      (2 - Math.log(Math.exp(2) + 1) + Math.log(0.5)) / 2,
      (-Math.log(Math.exp(2) + 1) + Math.log(0.5)) / 2,
    ];
    expected.forEach((e, i) => assert.ok(Math.abs(out[i] - e) < 1e-6, `value ${i}: ${out[i]} vs ${e}`));
    assert.throws(() => averageLogSoftmax([a, new Float32Array(2)], 2), /members disagree on the number of rows \(1 vs 2\)/);
    assert.throws(() => averageLogSoftmax([], 2), /no members/);
  });
});

describe('ensemble teacher: train with members only (kind = none)', function () {
  this.timeout(120_000);
  let config: string;
  let run: string;
  let record: ReturnType<typeof readJson>;
  before(async () => {
    config = ensembleConfig(path.join(tmp, 'members'), ['kind = none', 'ensemble = textcnn,gru', `ensemble_vectors = ${VECTORS}`, 'ensemble_epochs = 3']);
    run = (await trainFromConfig(config, 'e1')).runDir;
    record = readJson(path.join(run, 'run.json'));
  });

  it('saves each member as a model folder in <run>/teacher/members/ and records them in the identity', () => {
    assert.equal(record.teacher.kind, 'ensemble');
    assert.deepEqual(record.teacher.members.map((m: MemberRecord) => m.name), ['textcnn-1', 'gru-1']);
    for (const m of record.teacher.members) {
      const dir = path.join(run, 'teacher', 'members', m.name);
      assert.equal(m.dir, dir);
      const c = readJson(path.join(dir, 'config.json'));
      assert.equal(c.training.role, 'teacher-member');
      assert.equal(c.training.options.epochs, 3);
      assert.equal(c.architecture.embeddingDim, 4, 'embeddings from ensemble_vectors');
      assert.equal(c.training.pretrainedVectors.source, VECTORS);
      assert.match(m.weightsSha256, /^[0-9a-f]{64}$/);
      assert.equal(typeof m.evalAccuracy, 'number');
    }
    assert.equal(record.softLabels.teacher, record.teacher.weightsSha256, 'the ensemble identity keys the cache');
    assert.notEqual(record.teacher.weightsSha256, record.teacher.members[0].weightsSha256);
    const student = readJson(path.join(run, 'textcnn', 'config.json'));
    assert.deepEqual(student.training.distill.teacher.members.map((m: MemberRecord) => m.name), ['textcnn-1', 'gru-1'], 'the student names its teacher\'s members');
  });

  it('its soft labels and eval accuracy are the average of the saved members\' log-softmax', async () => {
    const texts = fs.readFileSync(path.join(TINY_REVIEWS, 'eval.tsv'), 'utf8').split('\n').filter((l) => l).map((l) => l.split('\t'));
    const trainTexts = fs.readFileSync(path.join(TINY_REVIEWS, 'train.tsv'), 'utf8').split('\n').filter((l) => l).map((l) => l.split('\t')[0]).slice(0, 20);
    const labels = fs.readFileSync(path.join(TINY_REVIEWS, 'class_id.txt'), 'utf8').split('\n').filter((l) => l).map((l) => l.split('\t')[0]);
    const C = labels.length;
    const logProbs = (name: string, input: string[]) => folderLogProbs(path.join(run, 'teacher', 'members', name), input);
    const [a, b] = [await logProbs('textcnn-1', texts.map((t) => t[0])), await logProbs('gru-1', texts.map((t) => t[0]))];
    let correct = 0;
    for (let r = 0; r < texts.length; r++) {
      let best = 0;
      for (let c = 1; c < C; c++) if (a[r * C + c] + b[r * C + c] > a[r * C + best] + b[r * C + best]) best = c;
      if (labels[best] === texts[r][1]) correct++;
    }
    assert.ok(Math.abs(record.teacher.evalAccuracy - correct / texts.length) < 1e-9, `${record.teacher.evalAccuracy} vs ${correct / texts.length}`);

    assertCachedMean(run, record.teacher.weightsSha256, trainTexts, [await logProbs('textcnn-1', trainTexts), await logProbs('gru-1', trainTexts)], C);
  });

  it('a rerun reuses every member and scores nothing; another member list is another teacher (rescored, kept members reused)', async () => {
    const again = readJson(path.join((await trainFromConfig(config, 'e1')).runDir, 'run.json'));
    assert.equal(again.teacher.reused, true);
    assert.ok(again.teacher.members.every((m: MemberRecord) => m.reused));
    assert.equal(again.teacher.weightsSha256, record.teacher.weightsSha256);
    assert.equal(again.softLabels.train.scored, 0);
    assert.equal(again.softLabels.pool.scored, 0);

    const text = fs.readFileSync(config, 'utf8').replace('ensemble = textcnn,gru', 'ensemble = textcnn');
    fs.writeFileSync(config, text);
    const fewer = readJson(path.join((await trainFromConfig(config, 'e1')).runDir, 'run.json'));
    assert.deepEqual(fewer.teacher.members.map((m: MemberRecord) => [m.name, m.reused]), [['textcnn-1', true]]);
    assert.notEqual(fewer.teacher.weightsSha256, record.teacher.weightsSha256, 'the cache key follows the members');
    assert.equal(fewer.softLabels.train.scored, fewer.softLabels.train.texts, 'a different teacher rescores every text');
    assert.ok(!fs.existsSync(path.join(run, 'teacher', 'members', 'gru-1')), 'a member no longer listed is removed');
  });
});

describe('ensemble teacher: transformer + members', function () {
  this.timeout(120_000);

  it('a retrained transformer keeps the saved members beside it; both are in the teacher and the experiment table', async () => {
    const dir = path.join(tmp, 'tf');
    const config = ensembleConfig(dir, ['kind = native', 'ensemble = textcnn', 'epochs = 1', ...TINY_TRANSFORMER]);
    const first = readJson(path.join((await trainFromConfig(config, 'x')).runDir, 'run.json'));
    assert.deepEqual(first.teacher.members.map((m: MemberRecord) => m.name), ['transformer', 'textcnn-1']);
    assert.equal(first.teacher.base.kind, 'native', 'the transformer\'s own record is kept');
    fs.writeFileSync(config, fs.readFileSync(config, 'utf8').replace('epochs = 1\n', 'epochs = 2\n'));
    const second = readJson(path.join((await trainFromConfig(config, 'x')).runDir, 'run.json'));
    assert.deepEqual(second.teacher.members.map((m: MemberRecord) => [m.name, m.reused]), [['transformer', false], ['textcnn-1', true]]);
    const teacherDir = path.join(dir, 'runs', 'x', 'teacher');
    assert.equal(readJson(path.join(teacherDir, 'config.json')).architecture.kind, 'transformer');
    assert.ok(fs.existsSync(path.join(teacherDir, 'members', 'textcnn-1', 'weights.safetensors')));

    // The experiment: "alone" runs without any teacher; the teacher rows are the ensemble and each member.
    const result = await runExperiment(config, 'x', { settings: ['alone', 'distilled'] });
    assert.deepEqual(result.failures, []);
    const alone = fs.readFileSync(path.join(dir, 'runs', 'x', 'experiment', 'alone.ini'), 'utf8');
    assert.doesNotMatch(alone, /^ensemble/m, 'the alone setting has no ensemble');
    assert.match(alone, /^kind = none$/m);
    const teacherRows = result.rows.filter((r) => r.setting === 'teacher');
    assert.deepEqual(teacherRows.map((r) => r.model), ['teacher', 'teacher/transformer', 'teacher/textcnn-1']);
    const members = readJson(path.join(dir, 'runs', 'x', 'experiment', 'distilled', 'x', 'run.json')).teacher.members;
    assert.equal(teacherRows[1].eval?.accuracy, members[0].evalAccuracy);
    assert.equal(teacherRows[2].eval?.accuracy, members[1].evalAccuracy);
    for (const r of teacherRows) assert.equal(typeof r.eval?.macroF1, 'number', `${r.model} has a macro-F1`);
    assert.match(fs.readFileSync(result.files.markdown, 'utf8'), /\| teacher\/textcnn-1 \| teacher \| \d\.\d{4} \| \d\.\d{4} \| ensemble member \|/);
    const svg = fs.readFileSync(result.files.svg, 'utf8');
    assert.match(svg, />teacher</, 'the ensemble is charted');
    assert.doesNotMatch(svg, /teacher\/textcnn-1/, 'its members are left out of the chart');
  });
});

describe('ensemble teacher: model folders from elsewhere (ensemble_models)', function () {
  this.timeout(120_000);
  let dir: string;
  let source: string;
  before(async () => {
    // A first run without a teacher: its two students become members of the next run's teacher.
    dir = path.join(tmp, 'models');
    source = (await trainFromConfig(writeConfigIni(dir, tinyConfigText(TINY_REVIEWS, 'textcnn,gru', ['[teacher]', 'kind = none'])), 'round1')).runDir;
    fs.rmSync(path.join(dir, 'config.ini'));
  });

  it('reads the folders relative to the config; BAD CONFIG: a folder that is not a model folder, an empty entry, too many members', () => {
    const file = ensembleConfig(dir, ['kind = none', 'ensemble_models = runs/round1/textcnn , runs/round1/gru']);
    const config = loadConfig(file);
    assert.deepEqual(config.teacher.ensemble_models, [path.join(source, 'textcnn'), path.join(source, 'gru')]);
    assert.ok(hasTeacher(config), 'model folders alone are a teacher');
    assert.equal(config.distill.enabled, true);
    fs.rmSync(file);

    const base = fs.readFileSync(ensembleConfig(path.join(tmp, 'models-bad'), ['kind = none']), 'utf8');
    let text = base + `ensemble_models = ${path.join(source, 'textcnn')}, ${tmp}\n`;
    assert.match(configErrors(text), new RegExp(`config\\.ini:${lineOf(text, 'ensemble_models')}: \\[teacher\\] ensemble_models: model folder ${tmp} is missing config\\.json`));
    text = base + `ensemble_models = ${path.join(source, 'textcnn')},,\n`;
    assert.match(configErrors(text), /\[teacher\] ensemble_models must be a comma-separated list of paths \(or none\), got .*: an empty entry/);
    text = base + `ensemble = ${Array(15).fill('gru').join(',')}\nensemble_models = ${path.join(source, 'textcnn')}, ${path.join(source, 'gru')}\n`;
    assert.match(configErrors(text), /\[teacher\] ensemble: ensemble and ensemble_models list 17 members together; at most 16 are allowed/);
    assert.deepEqual(parseConfig(base + 'ensemble_models = none\n', '/x/config.ini').teacher.ensemble_models, []);
  });

  it('joins the trained members as it is: its log-probabilities enter the average, a rerun scores nothing, the experiment drops it when alone', async () => {
    const config = ensembleConfig(path.join(tmp, 'round2'), [
      'kind = none',
      'ensemble = textcnn',
      'ensemble_epochs = 2',
      `ensemble_models = ${path.join(source, 'textcnn')}, ${path.join(source, 'gru')}`,
    ]);
    const run = (await trainFromConfig(config, 'r2')).runDir;
    const record = readJson(path.join(run, 'run.json'));
    assert.deepEqual(
      record.teacher.members.map((m: MemberRecord) => [m.name, m.kind, m.dir, m.reused]),
      [
        ['textcnn-1', 'textcnn', path.join(run, 'teacher', 'members', 'textcnn-1'), false],
        ['model-1', 'textcnn', path.join(source, 'textcnn'), true],
        ['model-2', 'gru', path.join(source, 'gru'), true],
      ],
    );
    for (const m of record.teacher.members) assert.equal(typeof m.evalAccuracy, 'number', `${m.name} is scored on eval`);
    assert.ok(!fs.existsSync(path.join(run, 'teacher', 'members', 'model-1')), 'a folder member is not copied');
    const runLog = fs.readFileSync(path.join(run, 'run.log'), 'utf8');
    assert.match(runLog, /teacher: ensemble of textcnn-1, model-1, model-2: their log-softmax averaged/);
    assert.ok(runLog.includes(`teacher member model-2: gru from ${path.join(source, 'gru')} (used as it is`), 'the log names each folder');

    const trainTexts = fs.readFileSync(path.join(TINY_REVIEWS, 'train.tsv'), 'utf8').split('\n').filter((l) => l).map((l) => l.split('\t')[0]).slice(0, 20);
    const parts = [path.join(run, 'teacher', 'members', 'textcnn-1'), path.join(source, 'textcnn'), path.join(source, 'gru')].map((dir) => folderLogProbs(dir, trainTexts));
    assertCachedMean(run, record.teacher.weightsSha256, trainTexts, await Promise.all(parts), 3);

    const again = readJson(path.join((await trainFromConfig(config, 'r2')).runDir, 'run.json'));
    assert.equal(again.teacher.weightsSha256, record.teacher.weightsSha256, 'same folders, same teacher');
    assert.equal(again.softLabels.train.scored, 0);

    const result = await runExperiment(config, 'r2', { settings: ['alone'] });
    assert.deepEqual(result.failures, []);
    const alone = fs.readFileSync(path.join(tmp, 'round2', 'runs', 'r2', 'experiment', 'alone.ini'), 'utf8');
    assert.doesNotMatch(alone, /^ensemble/m, 'the alone setting has no ensemble members of either kind');
  });

  it('BAD MEMBER: a folder with other classes (or another order) is an error naming the key and both class lists; nothing is trained', async () => {
    const swapped = path.join(tmp, 'swapped-textcnn');
    fs.cpSync(path.join(source, 'textcnn'), swapped, { recursive: true, dereference: true });
    const c = readJson(path.join(swapped, 'config.json'));
    c.labels = c.labels.slice().reverse();
    fs.writeFileSync(path.join(swapped, 'config.json'), JSON.stringify(c));
    fs.writeFileSync(path.join(swapped, 'class_id.txt'), c.labels.map((l: string, i: number) => `${l}\t${i}`).join('\n') + '\n');
    const config = ensembleConfig(path.join(tmp, 'swapped'), ['kind = none', `ensemble_models = ${swapped}`]);
    const quote = (labels: string[]) => JSON.stringify(labels).replace(/[[\]]/g, '\\$&');
    await assert.rejects(
      trainFromConfig(config, 'r'),
      (err: Error) =>
        err instanceof ConfigError &&
        new RegExp(`config\\.ini:\\d+: \\[teacher\\] ensemble_models: model-1 \\(${swapped}\\) has the classes ${quote(c.labels)} but this run's are ${quote(c.labels.slice().reverse())}`).test(err.message),
    );
    assert.ok(!fs.existsSync(path.join(tmp, 'swapped', 'runs', 'r', 'textcnn')), 'no student was trained');
  });
});
