/**
 * The public Tokenizer class (lib/tokenizer.ts) on the native backend: behaviour of every method and
 * the errors bad arguments get. Parity with Hugging Face on real data is test/tokenizer-parity.test.ts.
 */
import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import { Tokenizer, setMaxJoinedUnitsForTests } from '../lib/tokenizer';
import { addonAvailable, loadAddon } from '../lib/binding';
import { joinTexts, textOffsets } from '../lib/joined-texts';

// Ids: 0 [PAD] 1 [UNK] 2 [CLS] 3 [SEP] 4 [MASK] 5 un 6 ##aff 7 ##able ...
const TOKENS = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', 'un', '##aff', '##able', 'hello', 'world', ',', '!', '中', '国', '.', 'é'];
const id = (token: string) => TOKENS.indexOf(token);
const bertVocab = path.resolve(__dirname, '..', '..', 'shared', 'vocab', 'bert-base-chinese-vocab.txt');

describe('Tokenizer (native backend)', function () {
  let tok: Tokenizer;
  before(function () {
    if (!addonAvailable()) {
      console.log('    SKIPPED: the native addon does not load (see test/binding.test.ts)');
      this.skip();
    }
    tok = Tokenizer.fromTokens(TOKENS);
  });

  it('uses the native backend by default and exposes the vocabulary facts', () => {
    assert.equal(tok.backend, 'native');
    assert.equal(tok.vocabSize, TOKENS.length);
    assert.equal(tok.lowercase, true);
    assert.deepEqual([tok.padId, tok.unkId, tok.clsId, tok.sepId], [0, 1, 2, 3]);
    assert.equal(tok.tokenToId('##aff'), 6);
    assert.equal(tok.tokenToId('nope'), undefined);
    assert.equal(tok.idToToken(7), '##able');
    assert.equal(tok.idToToken(-1), undefined);
    assert.equal(tok.idToToken(TOKENS.length), undefined);
    assert.equal(tok.idToToken(1.5), undefined);
  });

  it('encode wraps the pieces in [CLS] ... [SEP] unless addSpecialTokens is false', () => {
    assert.deepEqual(Array.from(tok.encode('Hello, unaffable world!')), [2, id('hello'), id(','), 5, 6, 7, id('world'), id('!'), 3]);
    assert.deepEqual(Array.from(tok.encode('hello', { addSpecialTokens: false })), [id('hello')]);
    assert.deepEqual(Array.from(tok.encode('')), [2, 3]);
    assert.ok(tok.encode('x') instanceof Int32Array);
  });

  it('tokenize gives word pieces: CJK one by one, [UNK] for a word it cannot spell, specials whole', () => {
    assert.deepEqual(tok.tokenize('中国hello'), ['中', '国', 'hello']);
    assert.deepEqual(tok.tokenize('unaffablex world'), ['[UNK]', 'world']);
    assert.deepEqual(tok.tokenize('hello[SEP]world [sep]'), ['hello', '[SEP]', 'world', '[UNK]', '[UNK]', '[UNK]']);
    assert.deepEqual(tok.tokenize('HÉLLO'), ['hello']);
  });

  it('drops lone UTF-16 surrogates and control characters without splitting the word', () => {
    assert.deepEqual(tok.tokenize('hel\ud800lo'), ['hello']);
    assert.deepEqual(tok.tokenize('hel\u0000lo wor\u200bld'), ['hello', 'world']);
    const { ids } = tok.encodeBatch(['hel\udc00lo'], { maxLength: 4 });
    assert.deepEqual(Array.from(ids), [2, id('hello'), 3, 0]);
  });

  it('lowercase: false keeps case and accents', () => {
    const cased = Tokenizer.fromTokens(TOKENS, { lowercase: false });
    assert.equal(cased.lowercase, false);
    assert.deepEqual(cased.tokenize('Hello hello é'), ['[UNK]', 'hello', 'é']);
    assert.deepEqual(tok.tokenize('é'), ['[UNK]']); // lower-casing strips the accent: "e" is unknown
  });

  it('encodeBatch truncates to maxLength counting [CLS]/[SEP], pads with [PAD] and reports lengths', () => {
    const batch = tok.encodeBatch(['hello world hello', 'unaffable', '', 'hello'], { maxLength: 4 });
    assert.equal(batch.maxLength, 4);
    assert.deepEqual(Array.from(batch.ids), [2, 8, 9, 3, /**/ 2, 5, 6, 3, /**/ 2, 3, 0, 0, /**/ 2, 8, 3, 0]);
    assert.deepEqual(Array.from(batch.lengths), [4, 4, 2, 3]);
    const bare = tok.encodeBatch(['hello world hello', ''], { maxLength: 1, addSpecialTokens: false });
    assert.deepEqual(Array.from(bare.ids), [8, 0]);
    assert.deepEqual(Array.from(bare.lengths), [1, 0]);
    const wide = tok.encodeBatch(['hello']);
    assert.equal(wide.maxLength, 128);
    assert.equal(wide.ids.length, 128);
    assert.equal(tok.encodeBatch([]).ids.length, 0);
  });

  it('encodeBatch rows equal encode() cut to the row, on a mixed batch', () => {
    const texts = ['中国', 'hello , world !', 'unaffable unaffable unaffable', '', '  \t ', 'x'.repeat(300), 'é'.repeat(50)];
    const { ids, lengths } = tok.encodeBatch(texts, { maxLength: 6 });
    texts.forEach((text, i) => {
      let want = Array.from(tok.encode(text));
      if (want.length > 6) want = [...want.slice(0, 5), 3];
      assert.equal(lengths[i], want.length, text);
      assert.deepEqual(Array.from(ids.subarray(i * 6, i * 6 + want.length)), want, text);
      assert.ok(Array.from(ids.subarray(i * 6 + want.length, (i + 1) * 6)).every((v) => v === 0));
    });
  });

  it('a batch larger than one joined slice is stitched back in order', () => {
    const texts = Array.from({ length: 50 }, (_, i) => (i % 3 === 0 ? 'hello world' : i % 3 === 1 ? '中国 unaffable' : ''));
    const whole = tok.encodeBatch(texts, { maxLength: 8 });
    const old = setMaxJoinedUnitsForTests(20);
    try {
      const sliced = tok.encodeBatch(texts, { maxLength: 8 });
      assert.deepEqual(sliced.ids, whole.ids);
      assert.deepEqual(sliced.lengths, whole.lengths);
    } finally {
      setMaxJoinedUnitsForTests(old);
    }
  });

  it('encodeBatch with out writes into the given arrays, reused from call to call', () => {
    const out = { ids: new Int32Array(10 * 6).fill(-1), lengths: new Int32Array(12).fill(-1) };
    for (const texts of [['中国', 'hello , world !', ''], ['unaffable', 'x'.repeat(30)]]) {
      const want = tok.encodeBatch(texts, { maxLength: 6 });
      const got = tok.encodeBatch(texts, { maxLength: 6, out });
      assert.equal(got.ids.buffer, out.ids.buffer);
      assert.equal(got.lengths.buffer, out.lengths.buffer);
      assert.deepEqual(got.ids, want.ids); // views of exactly this batch's rows
      assert.deepEqual(got.lengths, want.lengths);
      assert.deepEqual(Array.from(out.ids.subarray(0, texts.length * 6)), Array.from(want.ids));
    }
    assert.ok(out.ids.subarray(3 * 6).every((v) => v === -1), 'rows past the batch are left alone');
    // A batch over several slices writes each slice into its own rows.
    const texts = Array.from({ length: 40 }, (_, i) => (i % 2 ? '中国 hello' : 'unaffable'));
    const whole = tok.encodeBatch(texts, { maxLength: 5 });
    const old = setMaxJoinedUnitsForTests(30);
    try {
      const sliced = tok.encodeBatch(texts, { maxLength: 5, out: { ids: new Int32Array(200), lengths: new Int32Array(40) } });
      assert.deepEqual(sliced.ids, whole.ids);
      assert.deepEqual(sliced.lengths, whole.lengths);
    } finally {
      setMaxJoinedUnitsForTests(old);
    }
    // The typescript backend honours it too.
    const ts = Tokenizer.fromTokens(TOKENS, { backend: 'typescript' });
    const tsOut = { ids: new Int32Array(18), lengths: new Int32Array(3) };
    const tsGot = ts.encodeBatch(['中国', 'hello', 'unaffable'], { maxLength: 6, out: tsOut });
    assert.equal(tsGot.ids.buffer, tsOut.ids.buffer);
    assert.deepEqual(tsGot.ids, tok.encodeBatch(['中国', 'hello', 'unaffable'], { maxLength: 6 }).ids);
  });

  it('a texts array whose getter calls encodeBatch again gets its ids (no deadlock on the thread pool)', () => {
    const texts = Array.from({ length: 3000 }, (_, i) => (i % 2 ? '中国 hello' : 'unaffable world'));
    const want = tok.encodeBatch(texts, { maxLength: 8 });
    const tricky = texts.slice();
    let calls = 0;
    Object.defineProperty(tricky, 1500, {
      get() {
        calls++;
        // Enough texts that the inner call needs the pool's threads (a tiny one runs inline anyway).
        const inner = tok.encodeBatch(Array.from({ length: 100 }, () => 'hello 中国'), { maxLength: 8 });
        return inner.lengths[99] > 0 ? texts[1500] : '';
      },
    });
    const got = tok.encodeBatch(tricky, { maxLength: 8 });
    assert.ok(calls >= 2, 'the getter ran during the copy as well as during the argument check');
    assert.deepEqual(got.ids, want.ids);
    assert.deepEqual(got.lengths, want.lengths);
  });

  it('encodeBatchAsync gives the same result and leaves the event loop free while it runs', async () => {
    const texts = Array.from({ length: 200_000 }, (_, i) => `hello 中国 unaffable world ${i} ,!`);
    const sync = tok.encodeBatch(texts, { maxLength: 16 });
    const events: string[] = [];
    const pending = tok.encodeBatchAsync(texts, { maxLength: 16 }).then((r) => {
      events.push('resolved');
      return r;
    });
    setImmediate(() => events.push('immediate'));
    const result = await pending;
    assert.deepEqual(result.ids, sync.ids);
    assert.deepEqual(result.lengths, sync.lengths);
    assert.equal(result.maxLength, 16);
    assert.deepEqual(events, ['immediate', 'resolved']);
  });

  it('decode joins ## pieces, drops specials by default and tightens punctuation', () => {
    const ids = tok.encode('Hello, unaffable world!');
    assert.equal(tok.decode(ids), 'hello, unaffable world!');
    assert.equal(tok.decode(ids, { skipSpecialTokens: false }), '[CLS] hello, unaffable world! [SEP]');
    assert.equal(tok.decode([8, 999, -1, 9]), 'hello world'); // ids outside the vocab are left out
    assert.equal(tok.decode(new Int32Array([])), '');
  });

  it('fromFile reads a vocab.txt, with the typescript backend giving the same ids', function () {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tok-test-'));
    try {
      const file = path.join(dir, 'vocab.txt');
      fs.writeFileSync(file, TOKENS.join('\n') + '\n');
      const native = Tokenizer.fromFile(file);
      const ts = Tokenizer.fromFile(file, { backend: 'typescript' });
      assert.equal(ts.backend, 'typescript');
      const texts = ['Hello, unaffable world!', '中国中国 hello', '[SEP][CLS]', 'hel\ud800lo'];
      for (const t of texts) assert.deepEqual(native.encode(t), ts.encode(t), t);
      assert.deepEqual(native.encodeBatch(texts, { maxLength: 5 }), ts.encodeBatch(texts, { maxLength: 5 }));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reads the bert-base-chinese vocabulary', function () {
    if (!fs.existsSync(bertVocab)) {
      console.log(`    SKIPPED: vocab not found at ${bertVocab}`);
      this.skip();
    }
    const bert = Tokenizer.fromFile(bertVocab);
    assert.equal(bert.vocabSize, 21128);
    assert.deepEqual(Array.from(bert.encode('你好')), [101, 872, 1962, 102]);
  });

  it('the addon reads the texts array directly with the ids of the former joined-string input', () => {
    const raw = new (loadAddon().WordPieceTokenizer)(TOKENS, true);
    // one-byte (Latin-1) and two-byte V8 strings, an empty text, a lone surrogate, a cons string
    const texts = ['x', 'Hello, unaffable world!', '', '中国 hello', 'hel\ud800lo', 'café', 'un' + 'affable'.repeat(3), '!'];
    for (const from of [0, 1, 3]) {
      const offsets = textOffsets(texts, from, texts.length);
      const got = raw.encodeBatch(texts, from, offsets, 6, true);
      const want = raw.encodeBatchJoined(...joinTexts(texts, from, texts.length), 6, true);
      assert.deepEqual(Array.from(got.lengths), Array.from(want.lengths), `from ${from}`);
      assert.deepEqual(Array.from(got.ids), Array.from(want.ids), `from ${from}`);
    }
    assert.deepEqual(Array.from(raw.encodeBatch(texts, texts.length, new Uint32Array([0]), 4, true).ids), []);
  });

  describe('BAD CALLS', () => {
    it('the raw addon encodeBatch() names a non-string text and offsets that do not fit', () => {
      const raw = new (loadAddon().WordPieceTokenizer)(TOKENS, true);
      assert.throws(() => raw.encodeBatch(['a', 7 as unknown as string], 0, new Uint32Array([0, 1, 2]), 4, true), /^TypeError: texts\[1\] is not a string$/);
      assert.throws(() => raw.encodeBatch(['ab', 'c'], 0, new Uint32Array([0, 1, 2]), 4, true), /^RangeError: texts\[0\] does not have the 1 UTF-16 units its offsets give it$/);
      assert.throws(() => raw.encodeBatch(['a', 'c'], 0, new Uint32Array([0, 1, 3]), 4, true), /texts\[1\] does not have the 2 UTF-16 units/);
      assert.throws(() => raw.encodeBatch(['a'], 1, new Uint32Array([0, 1]), 4, true), /outside the array/);
      assert.throws(() => raw.encodeBatch(['a'], 0, new Uint32Array([1, 2]), 4, true), /offsets\[0\] must be 0/);
    });

    it('encodeBatch() with a non-array or a non-string element names it', () => {
      assert.throws(() => tok.encodeBatch('hello' as unknown as string[]), /^TypeError: Expected an array of strings for texts but received string "hello"$/);
      assert.throws(() => tok.encodeBatch(['a', 'b', 'c', 3 as unknown as string]), /^TypeError: Expected an array of strings for texts but received number at index 3$/);
      assert.throws(() => tok.encodeBatch([null as unknown as string]), /received null at index 0/);
    });

    it('encodeBatch() with a bad maxLength or option names the value', () => {
      assert.throws(() => tok.encodeBatch(['a'], { maxLength: 1 }), /^TypeError: Expected integer >= 2 for maxLength but received number 1$/);
      assert.throws(() => tok.encodeBatch(['a'], { maxLength: 0, addSpecialTokens: false }), /Expected integer >= 1 for maxLength but received number 0/);
      assert.throws(() => tok.encodeBatch(['a'], { maxLength: 2.5 }), /Expected integer >= 2 for maxLength but received number 2.5/);
      assert.throws(() => tok.encodeBatch(['a'], { maxLength: '8' as unknown as number }), /Expected integer >= 2 for maxLength but received string "8"/);
      assert.throws(() => tok.encodeBatch(['a'], { addSpecialTokens: 'yes' as unknown as boolean }), /Expected boolean for addSpecialTokens but received string "yes"/);
      assert.throws(() => tok.encodeBatch(['a'], null as unknown as object), /Expected an object for options but received null/);
    });

    it('encodeBatch() with a bad out names what is wrong with it', () => {
      const ids = new Int32Array(8);
      const lengths = new Int32Array(2);
      assert.throws(() => tok.encodeBatch(['a', 'b'], { maxLength: 4, out: [] as unknown as { ids: Int32Array; lengths: Int32Array } }), /^TypeError: Expected an object for out but received/);
      assert.throws(() => tok.encodeBatch(['a', 'b'], { maxLength: 4, out: { ids: new Float32Array(8) as unknown as Int32Array, lengths } }), /^TypeError: Expected an Int32Array for out.ids but received/);
      assert.throws(() => tok.encodeBatch(['a', 'b'], { maxLength: 4, out: { ids, lengths: undefined as unknown as Int32Array } }), /^TypeError: Expected an Int32Array for out.lengths but received undefined$/);
      assert.throws(() => tok.encodeBatch(['a', 'b'], { maxLength: 5, out: { ids, lengths } }), /^RangeError: out.ids has 8 entries; 2 texts x maxLength 5 need 10$/);
      assert.throws(() => tok.encodeBatch(['a', 'b', 'c'], { maxLength: 2, out: { ids, lengths } }), /^RangeError: out.lengths has 2 entries; 3 texts need 3$/);
      const shared = new Int32Array(12);
      assert.throws(() => tok.encodeBatch(['a', 'b'], { maxLength: 4, out: { ids: shared.subarray(0, 8), lengths: shared.subarray(7) } }), /^RangeError: out.ids and out.lengths share memory/);
      assert.doesNotThrow(() => tok.encodeBatch(['a', 'b'], { maxLength: 4, out: { ids: shared.subarray(0, 8), lengths: shared.subarray(8, 10) } }));
      // The raw addon checks for itself too.
      const raw = new (loadAddon().WordPieceTokenizer)(TOKENS, true);
      const offsets = new Uint32Array([0, 1, 2]);
      assert.throws(() => raw.encodeBatch(['a', 'b'], 0, offsets, 4, true, new Int32Array(9), lengths), /^RangeError: out.ids has 9 entries; this batch needs 8$/);
      assert.throws(() => raw.encodeBatch(['a', 'b'], 0, offsets, 4, true, ids, new Uint32Array(2) as unknown as Int32Array), /^TypeError: out.lengths must be an Int32Array$/);
      assert.throws(() => raw.encodeBatch(['a', 'b'], 0, offsets, 4, true, shared.subarray(0, 8), shared.subarray(6, 8)), /^RangeError: out.ids and out.lengths overlap$/);
    });

    it('encodeBatchAsync() rejects an out option: worker threads would write arrays JS can touch', async () => {
      await assert.rejects(tok.encodeBatchAsync(['a'], { out: { ids: new Int32Array(128), lengths: new Int32Array(1) } } as object), /^TypeError: encodeBatchAsync takes no out option/);
    });

    it('encodeBatchAsync() rejects (does not throw) with the same messages', async () => {
      await assert.rejects(tok.encodeBatchAsync(['a', 7 as unknown as string]), /received number at index 1/);
      await assert.rejects(tok.encodeBatchAsync(['a'], { maxLength: -1 }), /Expected integer >= 2 for maxLength but received number -1/);
    });

    it('encode(), tokenize(), decode(), tokenToId() with the wrong type', () => {
      assert.throws(() => tok.encode(5 as unknown as string), /^TypeError: Expected string for text but received number 5$/);
      assert.throws(() => tok.tokenize(undefined as unknown as string), /Expected string for text but received undefined/);
      assert.throws(() => tok.decode(5 as unknown as number[]), /Expected an array of ids for ids but received number 5/);
      assert.throws(() => tok.tokenToId({} as unknown as string), /Expected string for token but received an object/);
    });

    it('constructors reject bad vocabularies and options, naming the problem', () => {
      assert.throws(() => Tokenizer.fromTokens(['a', 'b']), /no \[UNK\] token/);
      assert.throws(() => Tokenizer.fromTokens(['[UNK]', 'a', 'a']), /duplicate token "a" at ids 1 and 2/);
      assert.throws(() => Tokenizer.fromTokens(['[UNK]', 1 as unknown as string]), /Expected an array of strings for tokens but received number at index 1/);
      assert.throws(() => Tokenizer.fromTokens(TOKENS, { lowercase: 'no' as unknown as boolean }), /Expected boolean for lowercase but received string "no"/);
      assert.throws(() => Tokenizer.fromTokens(TOKENS, { backend: 'gpu' as 'native' }), /Expected 'native' or 'typescript' for backend but received string "gpu"/);
      assert.throws(() => Tokenizer.fromFile(path.join(os.tmpdir(), 'no-such-dir-toknative', 'vocab.txt')), /vocab file not found at .*no-such-dir-toknative/);
    });

    it('a vocabulary without [CLS]/[SEP]/[PAD] explains what is missing when it is needed', () => {
      const bare = Tokenizer.fromTokens(['[UNK]', 'a']);
      assert.equal(bare.padId, -1);
      assert.throws(() => bare.encode('a'), /no \[CLS\] token; pass \{ addSpecialTokens: false \}/);
      assert.deepEqual(Array.from(bare.encode('a', { addSpecialTokens: false })), [1]);
      assert.throws(() => bare.encodeBatch(['a'], { addSpecialTokens: false }), /no \[PAD\] token/);
    });
  });
});
