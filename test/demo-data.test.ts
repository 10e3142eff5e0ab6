/**
 * The demo's generated advertising-claims data set (lib/demo/ad-claims.ts):
 * reproducible for a seed, confined to its folder, every class present in
 * sensible shares, eval texts unseen in training, and not decidable by a
 * single keyword (compliant copy also uses the "banned" words harmlessly).
 */
import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import { loadConfig } from '../lib/config';
import { CLASSES, writeAdClaimsDataset } from '../lib/demo/ad-claims';

const SMALL = { train: 600, eval: 200, unlabeled: 800 };

function readTsv(file: string): { text: string; label: string }[] {
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => {
      const [text, label, extra] = l.split('\t');
      assert.strictEqual(extra, undefined, `more than one tab in ${JSON.stringify(l)}`);
      return { text, label };
    });
}

describe('demo data: advertising claims generator', () => {
  let tmp: string;
  beforeEach(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'md-demo-data-'));
  });
  afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('writes byte-identical files for the same seed, and different ones for another seed', () => {
    const a = writeAdClaimsDataset(path.join(tmp, 'a'), { ...SMALL, seed: 11 });
    const b = writeAdClaimsDataset(path.join(tmp, 'b'), { ...SMALL, seed: 11 });
    const c = writeAdClaimsDataset(path.join(tmp, 'c'), { ...SMALL, seed: 12 });
    for (const key of ['train', 'eval', 'unlabeled', 'classId', 'config'] as const) {
      assert.ok(fs.readFileSync(a.files[key]).equals(fs.readFileSync(b.files[key])), `${key} differs for the same seed`);
    }
    assert.notStrictEqual(fs.readFileSync(a.files.train, 'utf8'), fs.readFileSync(c.files.train, 'utf8'));
  });

  it('writes exactly its five files into the folder it is given, nothing beside it', () => {
    const ds = writeAdClaimsDataset(path.join(tmp, 'out'), SMALL);
    assert.deepStrictEqual(fs.readdirSync(tmp), ['out']);
    assert.deepStrictEqual(fs.readdirSync(ds.dir).sort(), ['class_id.txt', 'config.ini', 'eval.tsv', 'train.tsv', 'unlabeled.txt']);
  });

  it('has the requested counts, every class in train and eval in balanced-ish shares, and a loadable config', () => {
    const ds = writeAdClaimsDataset(path.join(tmp, 'out'), SMALL);
    const train = readTsv(ds.files.train);
    const evalRows = readTsv(ds.files.eval);
    const pool = fs.readFileSync(ds.files.unlabeled, 'utf8').split('\n').filter((l) => l !== '');
    assert.strictEqual(train.length, SMALL.train);
    assert.strictEqual(evalRows.length, SMALL.eval);
    assert.strictEqual(pool.length, SMALL.unlabeled);
    for (const [name, rows] of [['train', train], ['eval', evalRows]] as const) {
      for (const cls of CLASSES) {
        const share = rows.filter((r) => r.label === cls).length / rows.length;
        assert.ok(share > 0.07 && share < 0.45, `${name}: class ${cls} has share ${share.toFixed(3)}`);
      }
      assert.ok(rows.every((r) => (CLASSES as readonly string[]).includes(r.label)), `${name} has an unknown label`);
    }
    assert.deepStrictEqual(fs.readFileSync(ds.files.classId, 'utf8'), CLASSES.map((c, i) => `${c}\t${i}\n`).join(''));
    const config = loadConfig(ds.files.config);
    assert.strictEqual(config.data.train, ds.files.train);
    assert.strictEqual(config.model.dir, path.join(ds.dir, 'runs'));
  });

  it('never repeats a text across train, eval and the pool', () => {
    const ds = writeAdClaimsDataset(path.join(tmp, 'out'), SMALL);
    const train = readTsv(ds.files.train).map((r) => r.text);
    const evalTexts = readTsv(ds.files.eval).map((r) => r.text);
    const pool = fs.readFileSync(ds.files.unlabeled, 'utf8').split('\n').filter((l) => l !== '');
    const all = [...train, ...evalTexts, ...pool];
    assert.strictEqual(new Set(all).size, all.length);
  });

  it('is not separable by one keyword: compliant rows use claim words harmlessly, and some train labels are noisy', () => {
    const ds = writeAdClaimsDataset(path.join(tmp, 'out'), { ...SMALL, seed: 3 });
    const evalRows = readTsv(ds.files.eval);
    const compliant = evalRows.filter((r) => r.label === '合规');
    const loaded = compliant.filter((r) => /最|第一|治疗|保证|专家|医生|[0-9]/.test(r.text));
    assert.ok(loaded.length / compliant.length > 0.1, `only ${loaded.length}/${compliant.length} compliant eval rows carry a claim-like word`);
    // The best single-character rule "contains ch -> not compliant" misclassifies some rows.
    const claims = evalRows.filter((r) => r.label !== '合规');
    for (const ch of ['最', '第', '治', '保', '专']) {
      const compliantWith = compliant.filter((r) => r.text.includes(ch)).length;
      const claimsWithout = claims.filter((r) => !r.text.includes(ch)).length;
      assert.ok(compliantWith + claimsWithout > 0, `"${ch}" alone separates the classes`);
    }
    assert.ok(ds.counts.noisyTrainLabels > 0 && ds.counts.noisyTrainLabels < SMALL.train * 0.1, `noisy labels: ${ds.counts.noisyTrainLabels}`);
  });

  it('BAD CALL – a negative row count is refused by name', () => {
    assert.throws(() => writeAdClaimsDataset(path.join(tmp, 'out'), { train: -1 }), /Expected integer >= 1 for train but received -1/);
    assert.ok(!fs.existsSync(path.join(tmp, 'out')), 'nothing written on a bad call');
  });
});
