import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import { readVocabFile } from '../lib/vocab';
import { readWord2Vec, readWord2VecHeader } from '../lib/vectors';

const FIXTURE = path.join(__dirname, 'fixtures', 'tiny-vectors.vec');
const SHARED = path.resolve(__dirname, '..', '..', 'shared');
const TENCENT = path.join(SHARED, 'embeddings', 'tencent_char_200d.vec');
const BERT_VOCAB = path.join(SHARED, 'vocab', 'bert-base-chinese-vocab.txt');

/** Every tempFile() folder, removed once this file's tests are done. */
const tempDirs: string[] = [];
after(() => {
  for (const dir of tempDirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

function tempFile(text: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'md-vec-'));
  tempDirs.push(dir);
  const file = path.join(dir, 'v.vec');
  fs.writeFileSync(file, text);
  return file;
}

async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (err) {
    return err as Error;
  }
  assert.fail('expected a rejection');
}

describe('word2vec text vectors', () => {
  it('reads the header alone', () => {
    assert.deepEqual(readWord2VecHeader(FIXTURE), { count: 5, dim: 4 });
  });

  it('maps vectors onto the vocabulary, zero rows and a mask for tokens the file lacks', async () => {
    const vocab = ['[PAD]', '好', '差', '[UNK]', '缺'];
    const v = await readWord2Vec(FIXTURE, vocab);
    assert.equal(v.dim, 4);
    assert.equal(v.fileCount, 5);
    assert.deepEqual([...v.found], [0, 1, 1, 1, 0]);
    assert.deepEqual(v.coverage, { found: 3, total: 5, ratio: 0.6 });
    const row = (i: number) => [...v.vectors.subarray(i * 4, i * 4 + 4)];
    assert.deepEqual(row(0), [0, 0, 0, 0]);
    assert.deepEqual(row(1), [0.1, 0.2, 0.3, 0.4].map(Math.fround));
    assert.deepEqual(row(2), [-1, -2, -3, -4], 'a trailing space and CRLF are tolerated');
    assert.deepEqual(row(3), [1e-3, 200, -0.5, 0].map(Math.fround));
    assert.deepEqual(row(4), [0, 0, 0, 0]);
  });

  it('names the file and line of a row with the wrong number of values', async () => {
    const file = tempFile('2 3\na 1 2 3\nb 1 2\n');
    const err = await rejection(readWord2Vec(file, ['a']));
    assert.equal(err.message, `${file}:3: expected a token and 3 values, got 2 value(s) (token "b")`);
  });

  it('names the file and line of a value that is not a number', async () => {
    const file = tempFile('2 3\na 1 2 3\nb 1 x 3\n');
    const err = await rejection(readWord2Vec(file, ['a']));
    assert.equal(err.message, `${file}:3: value 2 of token "b" is not a finite number: "x"`);
    const nan = await rejection(readWord2Vec(tempFile('1 2\na NaN 1\n'), ['a']));
    assert.match(nan.message, /:2: value 1 of token "a" is not a finite number: "NaN"/);
  });

  it('rejects a header that does not match the file', async () => {
    const more = await rejection(readWord2Vec(tempFile('3 2\na 1 2\nb 3 4\n'), ['a']));
    assert.match(more.message, /the header promises 3 vectors but the file has 2/);
    const bad = await rejection(readWord2Vec(tempFile('a 1 2\n'), ['a']));
    assert.match(bad.message, /:1: expected a word2vec text header "count dim", got "a 1 2"/);
    assert.throws(() => readWord2VecHeader(tempFile('two 3\n')), /:1: expected a word2vec text header/);
    const blank = await rejection(readWord2Vec(tempFile('2 1\na 1\n\nb 2\n'), ['a']));
    assert.match(blank.message, /:3: empty line/);
    const empty = await rejection(readWord2Vec(tempFile(''), ['a']));
    assert.match(empty.message, /is empty/);
  });

  it('rejects a vocabulary token given twice in the file, naming both lines', async () => {
    const err = await rejection(readWord2Vec(tempFile('3 1\na 1\nb 2\na 3\n'), ['a']));
    assert.match(err.message, /:4: token "a" appears again \(first on line 2\)/);
  });

  it('says "not found" for a missing file', async () => {
    const err = await rejection(readWord2Vec('/nonexistent/v.vec', ['a']));
    assert.equal(err.message, 'vectors file not found at /nonexistent/v.vec');
  });

  it('covers part of the bert-base-chinese vocabulary with the Tencent character vectors', async function () {
    if (!fs.existsSync(TENCENT) || !fs.existsSync(BERT_VOCAB)) {
      console.log(`      (skipped: data not found at ${TENCENT} or ${BERT_VOCAB})`);
      this.skip();
    }
    const vocab = readVocabFile(BERT_VOCAB);
    const v = await readWord2Vec(TENCENT, vocab);
    assert.equal(v.dim, 200);
    assert.equal(v.fileCount, 4758);
    assert.ok(v.coverage.found > 0);
    console.log(`      coverage of bert-base-chinese vocab: ${v.coverage.found}/${v.coverage.total} = ${(100 * v.coverage.ratio).toFixed(1)}%`);
  });
});
