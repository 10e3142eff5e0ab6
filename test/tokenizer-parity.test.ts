/**
 * Tokenizer parity: the TypeScript WordPieceTokenizer and the native Tokenizer must give exactly
 * the ids of Hugging Face's `tokenizers` 0.23.2 (the oracle, see test/helpers/hf-oracle.ts) with
 * ../shared/vocab/bert-base-chinese-vocab.txt, on every text of ../shared/data (train.tsv and
 * eval.tsv text column, unlabeled.txt, of every set) and on test/fixtures/tokenizer-edge-cases.txt,
 * lower-casing on and off. 100% equality; a mismatch prints the text, both id lists and the first
 * differing position.
 *
 * Texts are de-duplicated across sets before encoding: shopsenti holds the same reviews as shop10
 * (same split, other labels), so encoding them twice would only double the run time. Each set's
 * report still counts all of its texts.
 */
import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { bertNormalizer, bertPreTokenizer, type Tokenizer as OracleTokenizer } from 'tokenizers';
import { WordPieceTokenizer, preTokenize } from '../lib/wordpiece';
import { readVocabFile } from '../lib/vocab';
import { buildOracle, oracleIds } from './helpers/hf-oracle';

const repoRoot = path.resolve(__dirname, '..');
const sharedDir = path.resolve(repoRoot, '..', 'shared');
const vocabPath = path.join(sharedDir, 'vocab', 'bert-base-chinese-vocab.txt');
const dataDir = path.join(sharedDir, 'data');
const fixturePath = path.join(__dirname, 'fixtures', 'tokenizer-edge-cases.txt');
const SETS = ['shop10', 'shopsenti', 'waimai'];
const FILES = ['train.tsv', 'eval.tsv', 'unlabeled.txt'];

/** The minimal shape of an encoder under test (TS and native share it). */
interface Encoder {
  encode(text: string, options?: { addSpecialTokens?: boolean }): Int32Array;
  encodeBatch(
    texts: string[],
    options?: { maxLength?: number; addSpecialTokens?: boolean },
  ): { ids: Int32Array; lengths: Int32Array; maxLength?: number };
  readonly padId: number;
}

interface Corpus {
  /** Unique texts, data first, then the edge cases. */
  texts: string[];
  /** For each source ("shop10/train.tsv", "edge cases", ...): indexes into `texts`. */
  sources: Map<string, number[]>;
}

/** Reads one data file: the text column of a .tsv (up to the tab), or whole lines of a .txt. */
function readDataTexts(file: string): string[] {
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  if (!file.endsWith('.tsv')) return lines;
  return lines.map((line, i) => {
    const tab = line.indexOf('\t');
    if (tab < 0) throw new Error(`${file} line ${i + 1}: expected "text<TAB>label", found no tab`);
    return line.slice(0, tab);
  });
}

/** The edge cases: one JSON string literal per line, "#" lines are comments. */
function readEdgeCases(): string[] {
  const cases: string[] = [];
  fs.readFileSync(fixturePath, 'utf8')
    .split('\n')
    .forEach((line, i) => {
      if (line === '' || line.startsWith('#')) return;
      try {
        cases.push(JSON.parse(line) as string);
      } catch (err) {
        throw new Error(`${fixturePath} line ${i + 1}: not a JSON string literal (${(err as Error).message})`);
      }
    });
  return cases;
}

function loadCorpus(): Corpus {
  const texts: string[] = [];
  const indexOf = new Map<string, number>();
  const sources = new Map<string, number[]>();
  const add = (source: string, items: string[]) => {
    const idx = items.map((t) => {
      let i = indexOf.get(t);
      if (i === undefined) {
        i = texts.length;
        texts.push(t);
        indexOf.set(t, i);
      }
      return i;
    });
    sources.set(source, idx);
  };
  for (const set of SETS) {
    for (const file of FILES) {
      const p = path.join(dataDir, set, file);
      if (fs.existsSync(p)) add(`${set}/${file}`, readDataTexts(p));
    }
  }
  add('edge cases', readEdgeCases());
  return { texts, sources };
}

function describeMismatch(text: string, expected: ArrayLike<number>, actual: ArrayLike<number>, vocab: string[]): string {
  let at = 0;
  while (at < expected.length && at < actual.length && expected[at] === actual[at]) at++;
  const show = (ids: ArrayLike<number>) =>
    Array.from(ids, (id, k) => (k === at ? `>>${id}(${vocab[id]})<<` : String(id))).join(' ');
  const shown = text.length > 300 ? `${JSON.stringify(text.slice(0, 300))}… (${text.length} UTF-16 units)` : JSON.stringify(text);
  return (
    `  text:     ${shown}\n` +
    `  oracle:   ${show(expected)}\n` +
    `  got:      ${show(actual)}\n` +
    `  first difference at position ${at} (oracle ${vocab[expected[at]] ?? '<end>'}, got ${vocab[actual[at]] ?? '<end>'})`
  );
}

function sameIds(a: ArrayLike<number>, b: ArrayLike<number>): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Encodes every corpus text with `encoder` and compares with the oracle. Prints a per-source
 * summary; throws with the first few mismatches described.
 */
function compareAll(label: string, encoder: Encoder, corpus: Corpus, expected: Int32Array[], vocab: string[]): void {
  const bad = new Set<number>();
  const details: string[] = [];
  for (let i = 0; i < corpus.texts.length; i++) {
    const got = encoder.encode(corpus.texts[i]);
    if (!sameIds(expected[i], got)) {
      bad.add(i);
      if (details.length < 5) details.push(describeMismatch(corpus.texts[i], expected[i], got, vocab));
    }
  }
  const summary = [...corpus.sources].map(([source, idx]) => {
    const mismatches = idx.filter((i) => bad.has(i)).length;
    return `${source}: ${idx.length} texts, ${mismatches} mismatches`;
  });
  console.log(`    ${label}: ${corpus.texts.length} unique texts compared, ${bad.size} mismatches\n      ${summary.join('\n      ')}`);
  if (bad.size > 0) {
    assert.fail(`${label}: ${bad.size} of ${corpus.texts.length} texts differ from the oracle. First ones:\n${details.join('\n')}`);
  }
}

/** encodeBatch rows must be the oracle's ids cut to [CLS] + first maxLength-2 pieces + [SEP], padded. */
function compareBatch(label: string, encoder: Encoder, corpus: Corpus, expected: Int32Array[], maxLength: number, vocab: string[]): void {
  const { ids, lengths } = encoder.encodeBatch(corpus.texts, { maxLength });
  assert.equal(ids.length, corpus.texts.length * maxLength, `${label}: ids has the wrong size`);
  assert.equal(lengths.length, corpus.texts.length, `${label}: lengths has the wrong size`);
  let mismatches = 0;
  const details: string[] = [];
  for (let i = 0; i < corpus.texts.length; i++) {
    const full = expected[i];
    const want = new Int32Array(maxLength).fill(encoder.padId);
    const keep = Math.min(full.length - 2, maxLength - 2);
    want[0] = full[0];
    want.set(full.subarray(1, 1 + keep), 1);
    want[1 + keep] = full[full.length - 1];
    const row = ids.subarray(i * maxLength, (i + 1) * maxLength);
    if (!sameIds(want, row) || lengths[i] !== keep + 2) {
      mismatches++;
      if (details.length < 3) details.push(`${describeMismatch(corpus.texts[i], want, row, vocab)}\n  length ${lengths[i]}, expected ${keep + 2}`);
    }
  }
  console.log(`    ${label} encodeBatch maxLength ${maxLength}: ${corpus.texts.length} rows, ${mismatches} mismatches`);
  if (mismatches > 0) assert.fail(`${label} encodeBatch(maxLength ${maxLength}): ${mismatches} rows differ:\n${details.join('\n')}`);
}

/** The native Tokenizer, or the reason it is unavailable. */
function loadNative(lowercase: boolean): { encoder?: Encoder; reason?: string } {
  let mod: { Tokenizer?: { fromFile(p: string, o: object): Encoder } };
  try {
    // Loaded at run time: lib/tokenizer.ts may not exist yet in a partial checkout.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    mod = require('../lib/tokenizer');
  } catch (err) {
    return { reason: `lib/tokenizer could not be loaded: ${(err as Error).message.split('\n')[0]}` };
  }
  if (mod.Tokenizer === undefined) return { reason: 'lib/tokenizer exports no Tokenizer' };
  try {
    return { encoder: mod.Tokenizer.fromFile(vocabPath, { backend: 'native', lowercase }) };
  } catch (err) {
    return { reason: `native addon did not load: ${(err as Error).message.split('\n')[0]}` };
  }
}

/**
 * Every code point c (no surrogates) in "a" + c + "b", through normalization and pre-tokenization:
 * the words of the oracle's BertNormalizer + BertPreTokenizer against preTokenize(). This checks the
 * character tables (drop, whitespace, punctuation, CJK, Mn, the lower-casing fold) one by one,
 * including the rare code points where the oracle's older Unicode tables differ from Node's.
 * Returns a description of the first differences.
 */
function compareEveryCodePoint(lowercase: boolean): { checked: number; differences: string[] } {
  const normalizer = bertNormalizer({ cleanText: true, handleChineseChars: true, stripAccents: lowercase, lowercase });
  const preTokenizer = bertPreTokenizer();
  const differences: string[] = [];
  let checked = 0;
  for (let cp = 0; cp <= 0x10ffff; cp++) {
    if (cp === 0xd800) cp = 0xe000;
    const text = 'a' + String.fromCodePoint(cp) + 'b';
    const want = preTokenizer.preTokenizeString(normalizer.normalizeString(text)).map((w) => w[0]);
    const got = preTokenize(text, { lowercase });
    checked++;
    if (want.length !== got.length || want.some((w, k) => w !== got[k])) {
      differences.push(`U+${cp.toString(16).toUpperCase().padStart(4, '0')}: oracle ${JSON.stringify(want)}, got ${JSON.stringify(got)}`);
    }
  }
  return { checked, differences };
}

describe('tokenizer parity with Hugging Face tokenizers 0.23.2 (the oracle)', function () {
  let vocab: string[];
  let corpus: Corpus;

  before(function () {
    if (!fs.existsSync(vocabPath)) {
      console.log(`    vocab not found at ${vocabPath}: skipping tokenizer parity`);
      this.skip();
    }
    if (!fs.existsSync(dataDir)) {
      console.log(`    data not found at ${dataDir}: skipping tokenizer parity`);
      this.skip();
    }
    vocab = readVocabFile(vocabPath);
    corpus = loadCorpus();
    const dataSources = [...corpus.sources.keys()].filter((s) => s !== 'edge cases');
    assert.ok(dataSources.length > 0, `no data files (${FILES.join(', ')}) found under ${dataDir}/{${SETS.join(',')}}`);
  });

  for (const lowercase of [true, false]) {
    describe(`lowercase: ${lowercase}`, function () {
      let oracle: OracleTokenizer;
      let expected: Int32Array[];

      before(async function () {
        oracle = buildOracle(vocab, lowercase);
        expected = await oracleIds(oracle, corpus.texts);
      });

      it('normalizes and pre-tokenizes every Unicode code point as the oracle does', function () {
        const { checked, differences } = compareEveryCodePoint(lowercase);
        console.log(`    ${checked} code points checked, ${differences.length} differences`);
        if (differences.length > 0) {
          assert.fail(`${differences.length} code points differ from the oracle:\n  ${differences.slice(0, 20).join('\n  ')}`);
        }
      });

      it('TypeScript WordPieceTokenizer gives the oracle ids on every data text and edge case', function () {
        compareAll('TypeScript', new WordPieceTokenizer(vocab, { lowercase }), corpus, expected, vocab);
      });

      it('native Tokenizer gives the oracle ids on every data text and edge case', function () {
        const native = loadNative(lowercase);
        if (native.encoder === undefined) {
          console.log(`    SKIPPED native parity: ${native.reason}`);
          this.skip();
        }
        compareAll('native', native.encoder!, corpus, expected, vocab);
      });

      it('native Tokenizer gives the TypeScript ids on "a" + c + "b" for every code point c', function () {
        // The TS tokenizer matches the oracle code point by code point (test above), so this extends
        // the per-code-point check to the native tables without 1.1 million slow oracle calls.
        const native = loadNative(lowercase);
        if (native.encoder === undefined) {
          console.log(`    SKIPPED native per-code-point parity: ${native.reason}`);
          this.skip();
        }
        const ts = new WordPieceTokenizer(vocab, { lowercase });
        const texts: string[] = [];
        for (let cp = 0; cp <= 0x10ffff; cp++) {
          if (cp === 0xd800) cp = 0xe000;
          texts.push('a' + String.fromCodePoint(cp) + 'b');
        }
        const want = ts.encodeBatch(texts, { maxLength: 16 });
        const got = native.encoder!.encodeBatch(texts, { maxLength: 16 });
        const differences: string[] = [];
        for (let i = 0; i < texts.length && differences.length < 20; i++) {
          const a = want.ids.subarray(i * 16, (i + 1) * 16);
          const b = got.ids.subarray(i * 16, (i + 1) * 16);
          if (!sameIds(a, b)) differences.push(`U+${texts[i].codePointAt(1)!.toString(16).toUpperCase()}: TS ${Array.from(a).join(' ')}, native ${Array.from(b).join(' ')}`);
        }
        console.log(`    native: ${texts.length} code points checked, ${differences.length} differences`);
        if (differences.length > 0) assert.fail(`native ids differ from TS (= oracle) for:\n  ${differences.join('\n  ')}`);
      });

      it('decode gives the oracle text (skipSpecialTokens true and false) on edge cases and 2,000 data texts', async function () {
        const ts = new WordPieceTokenizer(vocab, { lowercase });
        const sample = [...corpus.sources.get('edge cases')!, ...Array.from({ length: Math.min(2000, corpus.texts.length) }, (_, i) => i)];
        let compared = 0;
        for (const i of sample) {
          for (const skip of [true, false]) {
            const want = await oracle.decode(Array.from(expected[i]), skip);
            const got = ts.decode(expected[i], { skipSpecialTokens: skip });
            compared++;
            assert.equal(got, want, `decode(skipSpecialTokens ${skip}) of the ids of ${JSON.stringify(corpus.texts[i]).slice(0, 200)}`);
          }
        }
        console.log(`    decode: ${compared} decodes equal the oracle`);
      });

      it('encodeBatch (maxLength 32 and 128) equals the truncated, padded oracle ids, TS and native', function () {
        const ts = new WordPieceTokenizer(vocab, { lowercase });
        for (const maxLength of [32, 128]) compareBatch('TypeScript', ts, corpus, expected, maxLength, vocab);
        const native = loadNative(lowercase);
        if (native.encoder === undefined) {
          console.log(`    SKIPPED native encodeBatch: ${native.reason}`);
          return;
        }
        for (const maxLength of [32, 128]) compareBatch('native', native.encoder, corpus, expected, maxLength, vocab);
      });
    });
  }
});
