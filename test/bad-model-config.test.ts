/**
 * Sizes and small defects in a model folder or config are errors naming the file and the key:
 * before, config.json's maxLength 4294967301 wrapped to 5 in the addon and served as such, and
 * huge sizes allocated gigabytes or died with a bare std::bad_alloc. Plus the small ones of the
 * hardening issue: a folder where weights.safetensors should be, repeated window sizes, a bad
 * --model value (a usage error, exit 2), and Tokenizer.dispose().
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { Classifier } from '../lib/classifier';
import { readModelFolder, saveModelFolder } from '../lib/model-folder';
import { SIZE_LIMITS } from '../lib/size-limits';
import { NativeStudent } from '../lib/student';
import { Tokenizer } from '../lib/tokenizer';
import { runCli } from './helpers/cli';
import { configErrors, tinyConfigText } from './helpers/tiny-config';
import { TINY_LABELS, TINY_MAX_LENGTH, TINY_VOCAB } from './helpers/tiny-task';

describe('bad sizes and small defects in model folders and configs', function () {
  this.timeout(60_000);
  let tmp: string;
  let good: string;

  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'md-bad-config-'));
    const student = NativeStudent.create({
      kind: 'textcnn', vocabSize: TINY_VOCAB.length, numClasses: TINY_LABELS.length, embeddingDim: 8, windows: [2, 3], filters: 4, dropout: 0, seed: 5,
    });
    good = saveModelFolder(path.join(tmp, 'good'), { student, vocabTokens: TINY_VOCAB, labels: TINY_LABELS, maxLength: TINY_MAX_LENGTH, lowercase: true });
    student.dispose();
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  /** A copy of the good folder whose config.json was changed by `edit`. */
  function withConfig(name: string, edit: (config: Record<string, unknown> & { architecture: Record<string, unknown> }) => void): string {
    const dir = path.join(tmp, name);
    fs.cpSync(good, dir, { recursive: true, dereference: true });
    const file = path.join(dir, 'config.json');
    const config = JSON.parse(fs.readFileSync(file, 'utf8'));
    edit(config);
    fs.writeFileSync(file, JSON.stringify(config));
    return dir;
  }

  const cases: [string, (c: Record<string, unknown> & { architecture: Record<string, unknown> }) => void, RegExp][] = [
    ['maxLength above 2^32 (wrapped to 5 before)', (c) => (c.maxLength = 4294967301), /config\.json: expected an integer from 3 to 8192 for maxLength but found number 4294967301/],
    ['maxLength 1e8', (c) => (c.maxLength = 1e8), /config\.json: expected an integer from 3 to 8192 for maxLength but found number 100000000/],
    ['embeddingDim 1e6', (c) => (c.architecture.embeddingDim = 1e6), /config\.json: bad architecture: Expected at most 8192 for architecture\.embeddingDim but received 1000000/],
    ['filters 2^31', (c) => (c.architecture.filters = 2 ** 31), /config\.json: bad architecture: Expected at most 8192 for architecture\.filters but received 2147483648/],
    ['window size 1e9', (c) => (c.architecture.windows = [2, 1e9]), /config\.json: bad architecture: Expected at most 64 for architecture\.windows\[1\] but received 1000000000/],
    ['repeated window sizes', (c) => (c.architecture.windows = [3, 3]), /config\.json: bad architecture: Expected distinct window sizes for architecture\.windows but received 3 twice/],
    ['numClasses 2^40', (c) => (c.architecture.numClasses = 2 ** 40), /config\.json: bad architecture: Expected at most 100000 for architecture\.numClasses/],
  ];
  for (const [what, edit, pattern] of cases) {
    it(`rejects config.json with ${what}, naming the file and the key`, async () => {
      const dir = withConfig(what.replace(/\W+/g, '-'), edit);
      assert.throws(() => readModelFolder(dir), pattern);
      await assert.rejects(Classifier.load(dir), pattern);
    });
  }

  it('rejects a spec whose sizes are each allowed but multiply past the weight limit', () => {
    assert.throws(
      () => NativeStudent.create({ kind: 'textcnn', vocabSize: SIZE_LIMITS.vocabSize, numClasses: 2, embeddingDim: 8192, windows: [3], filters: 8, dropout: 0, seed: 1 }),
      /Expected a spec of at most 1073741824 weights but this one needs about 3276\d+/,
    );
  });

  it('names weights.safetensors when it is a folder', async () => {
    const dir = path.join(tmp, 'weights-dir');
    fs.cpSync(good, dir, { recursive: true, dereference: true });
    fs.rmSync(path.join(dir, 'weights.safetensors'));
    fs.mkdirSync(path.join(dir, 'weights.safetensors'));
    await assert.rejects(Classifier.load(dir), /weights\.safetensors: is not a regular file \(a folder\?\)/);
  });

  it('config.ini: [textcnn] windows = 3,3 is an error naming file and line', () => {
    const text = tinyConfigText('tiny-reviews', 'textcnn').replace(/^windows = .*$/m, 'windows = 3,3');
    const line = text.split('\n').findIndex((l) => l === 'windows = 3,3') + 1;
    assert.ok(line > 0, 'the fixture config has a windows line');
    assert.match(configErrors(text), new RegExp(`/x/config\\.ini:${line}: \\[textcnn\\] windows must list each value at most once, got "3,3": 3 repeated`));
  });

  it('config.ini: an empty [model] students = is an error naming file and line', () => {
    assert.match(configErrors(tinyConfigText('tiny-reviews', '')), /\/x\/config\.ini:\d+: \[model\] students must be .*got "": empty/);
  });

  it('a bad --model value is a usage error (exit 2) naming the flag', () => {
    const r = runCli(['predict', path.join(tmp, 'no-such-config.ini'), '--model', 'xml']);
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /^model-distill: Expected one of textcnn, gru for --model but received "xml"/m);
  });

  for (const backend of ['native', 'typescript'] as const) {
    it(`Tokenizer.dispose() (${backend}) frees it: later calls say it is disposed, dispose twice is fine`, async () => {
      const tokenizer = Tokenizer.fromFile(path.join(good, 'vocab.txt'), { backend });
      assert.deepEqual(Array.from(tokenizer.encode('good movie')), [2, TINY_VOCAB.indexOf('good'), TINY_VOCAB.indexOf('movie'), 3]);
      const pending = tokenizer.encodeBatchAsync(['good movie', 'bad plot'], { maxLength: 8 }); // in flight: still finishes
      tokenizer.dispose();
      tokenizer.close();
      assert.equal(tokenizer.isDisposed, true);
      assert.equal((await pending).lengths.length, 2);
      assert.throws(() => tokenizer.encode('good'), /Tokenizer is disposed/);
      assert.throws(() => tokenizer.encodeBatch(['good']), /Tokenizer is disposed/);
      assert.throws(() => tokenizer.tokenize('good'), /Tokenizer is disposed/);
      await assert.rejects(tokenizer.encodeBatchAsync(['good']), /Tokenizer is disposed/);
    });
  }
});
