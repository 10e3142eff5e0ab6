import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as ini from 'ini';
import * as os from 'os';
import * as path from 'path';

import {
  CONFIG_SCHEMA,
  ConfigError,
  configProblem,
  loadConfig,
  parseConfig,
  readConfigEntries,
  resolveUniqid,
  resolvedConfigJson,
  runDir,
  writeResolvedConfig,
} from '../lib/config';

const EXAMPLES = path.resolve(__dirname, '..', 'examples');
const SHARED_DATA = path.resolve(__dirname, '..', '..', 'shared', 'data');

/** Every workspace() folder, removed once this file's tests are done. */
const workspaces: string[] = [];
after(() => {
  for (const dir of workspaces.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

/** A folder with tiny data files, and a config.ini written into it. */
function workspace(): { dir: string; write(text: string, name?: string): string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'md-config-'));
  workspaces.push(dir);
  fs.mkdirSync(path.join(dir, 'data'));
  fs.writeFileSync(path.join(dir, 'data', 'train.tsv'), '好\tpos\n差\tneg\n');
  fs.writeFileSync(path.join(dir, 'data', 'eval.tsv'), '好\tpos\n');
  fs.writeFileSync(path.join(dir, 'data', 'pool.txt'), '一般\n');
  fs.writeFileSync(path.join(dir, 'data', 'vectors.vec'), '2 3\n好 1 2 3\n差 4 5 6\n');
  return {
    dir,
    write(text: string, name = 'config.ini') {
      const file = path.join(dir, name);
      fs.writeFileSync(file, text);
      return file;
    },
  };
}

const MINIMAL = `[data]
train = data/train.tsv
eval = data/eval.tsv

[model]
dir = runs
`;

/** Runs fn, expects a ConfigError, returns it. */
function configErrorOf(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected a ConfigError, nothing was thrown');
}

describe('config.ini', () => {
  it('loads a minimal config and fills every default', () => {
    const ws = workspace();
    const file = ws.write(MINIMAL);
    const c = loadConfig(file);
    assert.equal(c.data.train, path.join(ws.dir, 'data', 'train.tsv'));
    assert.equal(c.data.unlabeled, null);
    assert.equal(c.data.vocab, path.join(ws.dir, 'vocab.txt'));
    assert.equal(c.data.vocab_exists, false);
    assert.equal(c.data.cleaned_train, path.join(ws.dir, 'data', 'train.cleaned.tsv'));
    assert.deepEqual(c.model.students, ['textcnn', 'gru']);
    assert.deepEqual(c.textcnn.windows, [3, 4, 5]);
    assert.equal(c.textcnn.learning_rate, c.train.learning_rate);
    assert.ok(c.train.threads >= 1, 'threads = 0 resolves to the number of cores');
    assert.equal(c.teacher.kind, 'none');
    assert.equal(c.distill.enabled, false, 'no teacher: no distillation by default');
    assert.equal(c.distill.use_unlabeled, false);
    assert.equal(c.distill.epochs, c.train.epochs);
    assert.equal(c.teacher.max_length, c.model.max_length);
    assert.equal(c.lines['data.train'], 2);
    assert.equal(c.lines['train.epochs'], undefined, 'defaults have no line');
  });

  it('rejects a config with an unknown key, naming file, line and key, with a suggestion', () => {
    const ws = workspace();
    const file = ws.write(`${MINIMAL}\n[train]\nbatch_size = 8\nepoch = 3\n`);
    const err = configErrorOf(() => loadConfig(file));
    assert.equal(err.message, `${file}:10: unknown key "epoch" in [train] (did you mean "epochs"?)`);
    assert.deepEqual(err.problems[0], { line: 10, section: 'train', key: 'epoch', message: err.problems[0].message });
  });

  it('rejects a key put in the wrong section, saying where it belongs', () => {
    const ws = workspace();
    const file = ws.write(`${MINIMAL}temperature = 2\n`);
    const err = configErrorOf(() => loadConfig(file));
    assert.match(err.message, /config\.ini:7: unknown key "temperature" in \[model\] \("temperature" belongs in \[distill\]\)/);
  });

  it('rejects an unknown section with a suggestion', () => {
    const ws = workspace();
    const file = ws.write(`${MINIMAL}[trian]\nepochs = 2\n`);
    const err = configErrorOf(() => loadConfig(file));
    assert.match(err.message, /config\.ini:7: unknown section \[trian\] \(did you mean \[train\]\?\)/);
    assert.equal(err.problems.length, 1, 'keys inside an unknown section are not reported again');
  });

  it('rejects a duplicate key, naming both lines', () => {
    const ws = workspace();
    const file = ws.write(`${MINIMAL}[train]\nepochs = 2\nseed = 1\nepochs = 3\n`);
    const err = configErrorOf(() => loadConfig(file));
    assert.match(err.message, /config\.ini:10: duplicate key "epochs" in \[train\] \(first set on line 8\)/);
  });

  it('rejects a repeated section instead of merging it silently', () => {
    const ws = workspace();
    const file = ws.write(`${MINIMAL}[data]\ntest = data/eval.tsv\n`);
    const err = configErrorOf(() => loadConfig(file));
    assert.match(err.message, /config\.ini:7: section \[data\] appears a second time \(first on line 1\)/);
  });

  it('rejects a line without "=" (ini would read it as key = true)', () => {
    const ws = workspace();
    const file = ws.write(`${MINIMAL}[gru]\nbidirectional\n`);
    const err = configErrorOf(() => loadConfig(file));
    assert.match(err.message, /config\.ini:8: expected "key = value" or "\[section\]", got "bidirectional"/);
  });

  it('rejects a missing required key, naming the section', () => {
    const ws = workspace();
    const file = ws.write(`[data]\ntrain = data/train.tsv\n\n[model]\ndir = runs\n`);
    const err = configErrorOf(() => loadConfig(file));
    assert.match(err.message, /config\.ini: \[data\] is missing required key "eval" \(.*\) — section starts on line 1/);
  });

  it('rejects a missing required section', () => {
    const ws = workspace();
    const file = ws.write(`[data]\ntrain = data/train.tsv\neval = data/eval.tsv\n`);
    const err = configErrorOf(() => loadConfig(file));
    assert.match(err.message, /config\.ini: missing section \[model\] \(it needs keys dir\)/);
  });

  it('rejects bad values, each naming its line and key, all in one error', () => {
    const ws = workspace();
    const file = ws.write(
      `${MINIMAL}max_length = -1\nstudents = textcnn,lstm\n` + // lines 7, 8
        `[textcnn]\nwindows = 3,x,5\ndropout = 1\n` + // 10, 11
        `[gru]\nbidirectional = maybe\n` + // 13
        `[train]\nepochs = 2.5\nlearning_rate = 0\noptimizer = sgd\nseed = -3\n` + // 15..18
        `[distill]\ntemperature = 0\nalpha = 1.5\nloss = ce\n`, // 20..22
    );
    const err = configErrorOf(() => loadConfig(file));
    const byLine = new Map(err.problems.map((p) => [p.line, p]));
    const expect: [number, string, RegExp][] = [
      [7, 'max_length', /\[model\] max_length must be a positive integer, got "-1"/],
      [8, 'students', /\[model\] students must be a comma-separated list of textcnn, gru .* got "textcnn,lstm": unknown "lstm"/],
      [10, 'windows', /\[textcnn\] windows must be a comma-separated list of positive integers, got "3,x,5"/],
      [11, 'dropout', /\[textcnn\] dropout must be a number in \[0, 1\), got "1"/],
      [13, 'bidirectional', /\[gru\] bidirectional must be true\/false, yes\/no, on\/off or 1\/0, got "maybe"/],
      [15, 'epochs', /\[train\] epochs must be a positive integer, got "2.5"/],
      [16, 'learning_rate', /\[train\] learning_rate must be a number > 0, got "0"/],
      [17, 'optimizer', /\[train\] optimizer must be one of adam, adamw, got "sgd"/],
      [18, 'seed', /\[train\] seed must be a non-negative integer, got "-3"/],
      [20, 'temperature', /\[distill\] temperature must be a number > 0, got "0"/],
      [21, 'alpha', /\[distill\] alpha must be a number in \[0, 1\], got "1.5"/],
      [22, 'loss', /\[distill\] loss must be one of kl, mse, got "ce"/],
    ];
    for (const [line, key, pattern] of expect) {
      const p = byLine.get(line);
      assert.ok(p, `no problem reported on line ${line} (${key}); got:\n${err.message}`);
      assert.equal(p.key, key);
      assert.match(p.message, pattern);
      assert.ok(err.message.includes(`${file}:${line}: `), `message names ${file}:${line}`);
    }
    assert.equal(err.problems.length, expect.length, err.message);
  });

  it('accepts true/false/yes/no/on/off/1/0 for booleans', () => {
    const ws = workspace();
    for (const [word, value] of [['true', true], ['YES', true], ['on', true], ['1', true], ['false', false], ['no', false], ['Off', false], ['0', false]] as const) {
      const c = loadConfig(ws.write(`${MINIMAL}[gru]\nbidirectional = ${word}\n`));
      assert.equal(c.gru.bidirectional, value, word);
    }
  });

  it('resolves relative paths against the config file folder, not the working directory', () => {
    const ws = workspace();
    fs.mkdirSync(path.join(ws.dir, 'conf'));
    const file = ws.write(
      `[data]\ntrain = ../data/train.tsv\neval = ${path.join(ws.dir, 'data', 'eval.tsv')}\nunlabeled = "../data/pool.txt"\n[model]\ndir = ../runs # comment\n`,
      'conf/config.ini',
    );
    const cwd = process.cwd();
    try {
      process.chdir(os.tmpdir());
      const c = loadConfig(path.relative(os.tmpdir(), file));
      assert.equal(c.data.train, path.join(ws.dir, 'data', 'train.tsv'));
      assert.equal(c.data.eval, path.join(ws.dir, 'data', 'eval.tsv'), 'absolute paths stay as they are');
      assert.equal(c.data.unlabeled, path.join(ws.dir, 'data', 'pool.txt'), 'quotes are removed (ini syntax)');
      assert.equal(c.model.dir, path.join(ws.dir, 'runs'), 'inline comments are removed (ini syntax)');
      assert.equal(c.data.vocab, path.join(ws.dir, 'conf', 'vocab.txt'));
      assert.equal(c.distill.use_unlabeled, false, 'no teacher: the pool is not used');
    } finally {
      process.chdir(cwd);
    }
  });

  it('reports input files that do not exist, naming the key and the resolved path', () => {
    const ws = workspace();
    const file = ws.write(MINIMAL.replace('data/eval.tsv', 'data/missing.tsv'));
    const err = configErrorOf(() => loadConfig(file));
    assert.equal(err.message, `${file}:3: [data] eval file not found: ${path.join(ws.dir, 'data', 'missing.tsv')}`);
    assert.doesNotThrow(() => loadConfig(file, { checkPaths: false }));
  });

  it('takes the embedding size from pretrained vectors, and rejects a different explicit one', () => {
    const ws = workspace();
    const c = loadConfig(ws.write(`${MINIMAL}[textcnn]\npretrained_vectors = data/vectors.vec\n`));
    assert.equal(c.textcnn.embedding_dim, 3);
    assert.equal(c.gru.embedding_dim, 128);
    const err = configErrorOf(() => loadConfig(ws.write(`${MINIMAL}[textcnn]\nembedding_dim = 64\npretrained_vectors = data/vectors.vec\n`)));
    assert.match(err.message, /config\.ini:8: \[textcnn\] embedding_dim = 64 but pretrained_vectors has dimension 3/);
  });

  it('resolves [teacher] kind = auto to the default recipe: checkpoint, ONNX file, else the four members', () => {
    const ws = workspace();
    fs.writeFileSync(path.join(ws.dir, 'data', 'model.onnx'), 'x');
    fs.writeFileSync(path.join(ws.dir, 'data', 'vocab.txt'), '[PAD]\n');
    let c = loadConfig(ws.write(`${MINIMAL}[teacher]\nkind = auto\n`));
    assert.deepEqual([c.teacher.auto, c.teacher.kind, c.teacher.ensemble], [true, 'none', ['textcnn', 'textcnn', 'gru', 'gru']]);
    assert.equal(c.distill.enabled, true, 'the default teacher turns distillation on');
    c = loadConfig(ws.write(`${MINIMAL}[teacher]\nkind = auto\nensemble = gru\nensemble_vectors = data/vectors.vec\n`));
    assert.deepEqual([c.teacher.kind, c.teacher.ensemble, c.teacher.ensemble_embedding_dim], ['none', ['gru'], 3], 'members the file lists win');
    c = loadConfig(ws.write(`${MINIMAL}[teacher]\nkind = auto\ninit_checkpoint = data\n`));
    assert.deepEqual([c.teacher.kind, c.teacher.ensemble], ['native', []]);
    c = loadConfig(ws.write(`${MINIMAL}[teacher]\nkind = auto\npath = data/model.onnx\n`));
    assert.deepEqual([c.teacher.kind, c.teacher.vocab], ['onnx', path.join(ws.dir, 'data', 'vocab.txt')]);
    // "[distill] enabled = true" with no teacher kind asks for the default teacher.
    c = loadConfig(ws.write(`${MINIMAL}[distill]\nenabled = true\n`));
    assert.deepEqual([c.teacher.auto, c.teacher.ensemble.length, c.distill.enabled], [true, 4, true]);
    // No [teacher] at all stays "students alone"; so does an explicit kind = native.
    c = loadConfig(ws.write(MINIMAL));
    assert.deepEqual([c.teacher.auto, c.teacher.kind, c.teacher.ensemble, c.distill.enabled], [false, 'none', [], false]);
    c = loadConfig(ws.write(`${MINIMAL}[teacher]\nkind = native\n`));
    assert.deepEqual([c.teacher.auto, c.teacher.kind, c.teacher.ensemble], [false, 'native', []]);
    assert.deepEqual([c.distill.check_teacher, c.distill.teacher_margin, c.distill.require_better_teacher], [true, 0, false]);
    // A key that needs the transformer names what auto became.
    const err = configErrorOf(() => loadConfig(ws.write(`${MINIMAL}[teacher]\nkind = auto\npretrain = mlm\n`)));
    assert.match(err.message, /:9: \[teacher\] pretrain = mlm needs kind = native \(kind is auto, which without init_checkpoint or path is an ensemble of members\)/);
  });

  it('checks the keys that depend on each other (teacher, distillation, pool)', () => {
    const ws = workspace();
    let err = configErrorOf(() => loadConfig(ws.write(`${MINIMAL}[teacher]\nkind = none\n[distill]\nenabled = true\nuse_unlabeled = yes\n`)));
    assert.match(err.message, /:10: \[distill\] enabled = true needs a teacher/);
    assert.match(err.message, /:11: \[distill\] use_unlabeled = true needs \[data\] unlabeled/);
    err = configErrorOf(() => loadConfig(ws.write(`${MINIMAL}[teacher]\nkind = auto\n[distill]\nrequire_better_teacher = true\ncheck_teacher = false\n`)));
    assert.match(err.message, /:10: \[distill\] require_better_teacher = true needs check_teacher = true/);
    err = configErrorOf(() => loadConfig(ws.write(`${MINIMAL}[teacher]\nkind = onnx\n`)));
    assert.match(err.message, /:8: \[teacher\] kind = onnx needs "path"/);
    err = configErrorOf(() => loadConfig(ws.write(`${MINIMAL}[teacher]\nkind = none\ninit_checkpoint = data\n`)));
    assert.match(err.message, /:9: \[teacher\] init_checkpoint is only used with kind = native \(kind is none\)/);
    err = configErrorOf(() => loadConfig(ws.write(`${MINIMAL}[teacher]\nkind = native\nhidden = 100\nheads = 3\n`)));
    assert.match(err.message, /:10: \[teacher\] heads: hidden = 100 must be a multiple of heads = 3/);
    const c = loadConfig(ws.write(`${MINIMAL.replace('eval.tsv\n', 'eval.tsv\nunlabeled = data/pool.txt\n')}[teacher]\nkind = native\n`));
    assert.equal(c.distill.enabled, true, 'a teacher turns distillation on by default');
    assert.equal(c.distill.use_unlabeled, true, 'a pool is used by default');
  });

  it('configProblem() points a later error at the line that set the key', () => {
    const ws = workspace();
    const file = ws.write(`${MINIMAL}[train]\nthreads = 2\n`);
    const c = loadConfig(file);
    assert.equal(configProblem(c, 'train', 'threads', 'too many for this model').message, `${file}:8: [train] threads: too many for this model`);
    assert.equal(configProblem(c, 'train', 'seed', 'x').message, `${file}: [train] seed: x`);
  });

  it('parses the example configs, and ini.decode() reads their values the same way', function () {
    const sets: Record<string, string> = { 'config.ini': 'shopsenti', 'shop10.ini': 'shop10', 'waimai.ini': 'waimai' };
    for (const name of Object.keys(sets)) {
      const file = path.join(EXAMPLES, name);
      const text = fs.readFileSync(file, 'utf8');
      const c = parseConfig(text, file, { checkPaths: false });
      // The examples use the default teacher: no checkpoint, so the four members with the vectors.
      assert.equal(c.teacher.auto, true);
      assert.equal(c.teacher.kind, 'none');
      assert.deepEqual(c.teacher.ensemble, ['textcnn', 'textcnn', 'gru', 'gru']);
      assert.ok(c.teacher.ensemble_vectors?.endsWith(path.join('shared', 'embeddings', 'tencent_char_200d.vec')));
      assert.ok(c.data.train.endsWith(path.join('shared', 'data', sets[name], 'train.tsv')));
      // Our line scanner and the ini package must agree on every value.
      const decoded = ini.decode(text) as Record<string, Record<string, unknown>>;
      const ours = readConfigEntries(text);
      assert.deepEqual(ours.problems, []);
      const oursAsObject: Record<string, Record<string, string>> = {};
      for (const e of ours.entries) (oursAsObject[e.section] ??= {})[e.key] = e.value;
      // ini turns "true"/"false" into booleans; everything else is the same string.
      const decodedAsStrings = Object.fromEntries(
        Object.entries(decoded).map(([s, keys]) => [s, Object.fromEntries(Object.entries(keys).map(([k, v]) => [k, String(v)]))]),
      );
      assert.deepEqual(oursAsObject, decodedAsStrings);
      for (const e of ours.entries) assert.equal(c.lines[`${e.section}.${e.key}`], e.line);
    }
    if (!fs.existsSync(SHARED_DATA)) {
      this.skip(); // data not found at ../shared/data: the paths cannot be checked
    }
    for (const name of Object.keys(sets)) {
      const c = loadConfig(path.join(EXAMPLES, name)); // every path the example names exists
      assert.ok(fs.existsSync(c.data.train), name);
      assert.equal(c.teacher.ensemble_embedding_dim, 200, `${name}: the default teacher reads the vectors' dimension`);
    }
  });

  it('documents every key of the schema in examples/config.ini', () => {
    const text = fs.readFileSync(path.join(EXAMPLES, 'config.ini'), 'utf8');
    let section = '';
    const documented = new Set<string>();
    for (const line of text.split('\n')) {
      const header = /^\[(\w+)\]/.exec(line);
      if (header) section = header[1];
      const key = /^[;#]?\s*(\w+)\s*=/.exec(line);
      if (key && section) documented.add(`${section}.${key[1]}`);
    }
    for (const [s, keys] of Object.entries(CONFIG_SCHEMA)) {
      for (const k of Object.keys(keys)) assert.ok(documented.has(`${s}.${k}`), `[${s}] ${k} is not in examples/config.ini`);
    }
  });

  it('writes the resolved config as JSON with all values and absolute paths, atomically', () => {
    const ws = workspace();
    const c = loadConfig(ws.write(MINIMAL));
    const target = path.join(runDir(c, 'default'), 'config.json');
    writeResolvedConfig(c, target, { uniqid: 'default' });
    const saved = JSON.parse(fs.readFileSync(target, 'utf8'));
    assert.equal(saved.format, 'model-distill-resolved-config');
    assert.equal(saved.uniqid, 'default');
    assert.equal(saved.data.train, c.data.train);
    assert.ok(path.isAbsolute(saved.model.dir));
    for (const section of Object.keys(CONFIG_SCHEMA)) {
      for (const key of Object.keys(CONFIG_SCHEMA[section])) {
        assert.ok(key in saved[section], `${section}.${key} missing from the saved config`);
      }
    }
    assert.deepEqual(fs.readdirSync(path.dirname(target)), ['config.json'], 'no temp file left behind');
    assert.equal(resolvedConfigJson(c, { uniqid: 'default' }), fs.readFileSync(target, 'utf8'));
  });
});

describe('uniqid and run folders', () => {
  it('uses "default" when absent', () => {
    assert.equal(resolveUniqid(), 'default');
    assert.equal(resolveUniqid(undefined), 'default');
  });

  it('turns the literal ${time} into the local date YYYYMMDD', () => {
    assert.equal(resolveUniqid('${time}', new Date(2024, 0, 5, 23, 59)), '20240105');
    assert.equal(resolveUniqid('${time}', new Date(1999, 11, 31, 0, 1)), '19991231');
  });

  it('uses any other name as given', () => {
    for (const name of ['trial-3', 'run 1', '实验', 'a..b', 'time']) assert.equal(resolveUniqid(name), name);
  });

  it('rejects names that are not one safe folder name', () => {
    assert.throws(() => resolveUniqid(''), /uniqid is empty.*'\$\{time\}' in single quotes/);
    assert.throws(() => resolveUniqid('a/b'), /uniqid "a\/b" contains a path separator/);
    assert.throws(() => resolveUniqid('a\\b'), /path separator/);
    assert.throws(() => resolveUniqid('..'), /uniqid "\.\." is not allowed/);
    assert.throws(() => resolveUniqid('.'), /not allowed/);
    assert.throws(() => resolveUniqid('a\nb'), /control character/);
  });

  it('puts a run under <model.dir>/<uniqid>', () => {
    const ws = workspace();
    const c = loadConfig(ws.write(MINIMAL));
    assert.equal(runDir(c, 'trial-3'), path.join(ws.dir, 'runs', 'trial-3'));
    assert.throws(() => runDir(c, '${time}'), /resolved uniqid/);
    assert.throws(() => runDir(c, '../x'), /path separator/);
  });
});
