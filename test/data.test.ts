import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import {
  classIdsFromLabels,
  deriveClassIds,
  describeEmptyLines,
  newPoolStats,
  readClassIds,
  readLabelledTsv,
  readLines,
  streamLineBatches,
  streamLines,
} from '../lib/data';

const SHOPSENTI = path.resolve(__dirname, '..', '..', 'shared', 'data', 'shopsenti');

let dir: string;
function file(name: string, content: string | Buffer): string {
  const p = path.join(dir, name);
  fs.writeFileSync(p, content);
  return p;
}

const POS_NEG = classIdsFromLabels(['neg', 'pos']);

describe('data files', () => {
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'md-data-'));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  describe('labelled TSV', () => {
    it('reads text<TAB>label rows with their line numbers, stripping \\r and a BOM', () => {
      const p = file('ok.tsv', '\uFEFF好评\tpos\r\n差评\tneg\n还行\tpos');
      const d = readLabelledTsv(p, POS_NEG);
      assert.deepEqual(d.texts, ['好评', '差评', '还行']);
      assert.deepEqual([...d.labels], [1, 0, 1]);
      assert.deepEqual([...d.lineNumbers], [1, 2, 3]);
      assert.deepEqual(d.badRows, []);
    });

    it('rejects bad rows in one error that lists them with line numbers and counts them all', () => {
      const lines = ['好\tpos', 'no tab here', '\tneg', '坏\tmaybe', '', 'a\tb\tpos', '好\tpos'];
      for (let i = 0; i < 4; i++) lines.push(`x${i}\tbad${i}`);
      const p = file('bad.tsv', lines.join('\n') + '\n');
      assert.throws(
        () => readLabelledTsv(p, POS_NEG),
        (err: Error) => {
          assert.equal(
            err.message,
            `${p}: 9 bad row(s) (expected "text<TAB>label"): line 2: no tab; line 3: empty text; ` +
              `line 4: unknown label "maybe"; line 5: empty line; line 6: more than one tab; ... and 4 more ` +
              `(known labels: "neg", "pos")`,
          );
          return true;
        },
      );
    });

    it("with onBadRow: 'skip', drops bad rows and returns every one of them for the report", () => {
      const p = file('skip.tsv', '好\tpos\nno tab\n坏\tneg\n坏\tNEG\n');
      const d = readLabelledTsv(p, POS_NEG, { onBadRow: 'skip' });
      assert.deepEqual(d.texts, ['好', '坏']);
      assert.deepEqual([...d.lineNumbers], [1, 3]);
      assert.deepEqual(d.badRows, [
        { line: 2, reason: 'no tab' },
        { line: 4, reason: 'unknown label', label: 'NEG' },
      ]);
    });

    it('rejects a file with no usable rows, invalid UTF-8, or a missing file', () => {
      assert.throws(() => readLabelledTsv(file('empty.tsv', ''), POS_NEG), /no usable rows \(0 line\(s\), 0 bad\)/);
      const bytes = Buffer.concat([Buffer.from('好\tpos\n'), Buffer.from([0x61, 0xff, 0x09]), Buffer.from('pos\n')]);
      assert.throws(() => readLabelledTsv(file('latin.tsv', bytes), POS_NEG), /latin\.tsv:2: not valid UTF-8/);
      assert.throws(() => readLabelledTsv(path.join(dir, 'nope.tsv'), POS_NEG), /labelled data file not found at .*nope\.tsv/);
    });
  });

  describe('class ids', () => {
    it('reads label<TAB>id in any line order', () => {
      const c = readClassIds(file('classes.txt', 'pos\t1\nneg\t0\n'));
      assert.deepEqual(c.labels, ['neg', 'pos']);
      assert.equal(c.idOf.get('pos'), 1);
    });

    it('names the line of each kind of mistake', () => {
      const cases: [string, RegExp][] = [
        ['a\t0\nb\n', /:2: expected "label<TAB>id" \(one tab\), got "b"/],
        ['a\t0\nb\tone\n', /:2: id of "b" must be a non-negative integer, got "one"/],
        ['a\t0\na\t1\n', /:2: label "a" appears again \(first on line 1\)/],
        ['a\t0\nb\t0\n', /:2: id 0 is given to "b" and, on line 1, to "a"/],
        ['a\t0\nb\t2\n', /:2: id 2 is out of range: with 2 classes the ids must be 0\.\.1/],
        ['a\t0\n\nb\t1\n', /:2: empty line/],
        ['a\t0\n', /needs at least 2 classes, has 1/],
      ];
      cases.forEach(([text, pattern], i) => assert.throws(() => readClassIds(file(`c${i}.txt`, text)), pattern, text));
    });

    it('derives sorted classes from the train labels when no class_id file is given', () => {
      const c = deriveClassIds(file('derive.tsv', 'x\tpos\ny\tneg\nno tab\nz\tpos\n'));
      assert.deepEqual(c.labels, ['neg', 'pos']);
      assert.throws(() => deriveClassIds(file('one.tsv', 'x\tpos\n')), /needs at least 2 distinct labels/);
    });

    it('matches ../shared/data/shopsenti/class_id.txt', function () {
      if (!fs.existsSync(SHOPSENTI)) this.skip();
      const c = readClassIds(path.join(SHOPSENTI, 'class_id.txt'));
      assert.deepEqual(c.labels, ['neg', 'pos']);
      const d = readLabelledTsv(path.join(SHOPSENTI, 'eval.tsv'), c);
      assert.equal(d.texts.length, 1000);
    });
  });

  describe('unlabelled pool', () => {
    it('reads lines into memory, skipping and counting empty ones', () => {
      const r = readLines(file('pool.txt', 'a\n\nb\r\n   \nc'));
      assert.deepEqual(r.texts, ['a', 'b', 'c']);
      assert.deepEqual([...r.lineNumbers], [1, 3, 5]);
      assert.deepEqual(r.stats, { lines: 5, texts: 3, emptyLines: 2, firstEmptyLines: [2, 4] });
      assert.equal(describeEmptyLines(r.stats), '2 empty line(s) skipped (lines 2, 4)');
    });

    it('streams a large generated file in batches with the right line numbers', async () => {
      // 600,000 lines, every 1000th one empty: the pool size of the reference experiment and more.
      const n = 600_000;
      const p = path.join(dir, 'big.txt');
      const out = fs.openSync(p, 'w');
      let chunk: string[] = [];
      for (let i = 1; i <= n; i++) {
        chunk.push(i % 1000 === 0 ? '' : `文本 ${i}`);
        if (chunk.length === 50_000) {
          fs.writeSync(out, chunk.join('\n') + '\n');
          chunk = [];
        }
      }
      fs.closeSync(out);

      const stats = newPoolStats();
      let count = 0;
      let batches = 0;
      let maxBatch = 0;
      for await (const batch of streamLineBatches(p, { batchSize: 4096, stats })) {
        batches++;
        maxBatch = Math.max(maxBatch, batch.texts.length);
        for (let i = 0; i < batch.texts.length; i++) {
          const line = batch.lineNumbers[i];
          assert.ok(line % 1000 !== 0);
          if (batch.texts[i] !== `文本 ${line}`) assert.fail(`line ${line} read as ${JSON.stringify(batch.texts[i])}`);
          count++;
        }
      }
      assert.equal(count, n - n / 1000);
      assert.equal(maxBatch, 4096);
      assert.equal(batches, Math.ceil(count / 4096));
      assert.deepEqual(stats, { lines: n, texts: count, emptyLines: n / 1000, firstEmptyLines: [1000, 2000, 3000, 4000, 5000] });
      assert.equal(describeEmptyLines(stats), '600 empty line(s) skipped (lines 1000, 2000, 3000, 4000, 5000, ...)');
    });

    it('streams line by line, keeping a last line without a newline', async () => {
      const got: [string, number][] = [];
      const stats = newPoolStats();
      for await (const { text, line } of streamLines(file('s.txt', '\uFEFFone\n\ntwo\r\nthree'), { stats })) got.push([text, line]);
      assert.deepEqual(got, [['one', 1], ['two', 3], ['three', 4]]);
      assert.equal(stats.emptyLines, 1);
    });

    it('names the line of invalid UTF-8 in a streamed pool, and a missing file', async () => {
      const p = file('bad-pool.txt', Buffer.concat([Buffer.from('ok\nok\n'), Buffer.from([0xe4, 0xb8, 0x0a])]));
      await assert.rejects(async () => {
        for await (const _ of streamLines(p)) void _;
      }, /bad-pool\.txt:3: not valid UTF-8/);
      await assert.rejects(async () => {
        for await (const _ of streamLines(path.join(dir, 'missing.txt'))) void _;
      }, /text file not found at/);
    });
  });
});
