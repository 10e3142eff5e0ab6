/**
 * Unit tests of the pure-TypeScript WordPiece tokenizer (lib/wordpiece/) and of vocab reading
 * (lib/vocab.ts), on small vocabularies written here. Parity with Hugging Face on real data is
 * test/tokenizer-parity.test.ts.
 */
import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { readVocabFile } from '../lib/vocab';
import { WordPieceTokenizer, decodeWordPieceTokens, preTokenize } from '../lib/wordpiece';

// Ids: [PAD]=0 [UNK]=1 [CLS]=2 [SEP]=3 [MASK]=4, then the rest in order.
const VOCAB = [
  '[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]',
  'un', 'unaff', '##aff', '##able', '##a', '##b', 'a', 'b', 'hello', 'world', 'cafe', 'café',
  '你', '好', ',', '!', '.', '[', ']', 'cl', '##s', 'ab', 'x', '##x', 'ασ', "'", 't', 'can', '##😀', '😀',
];
const id = (t: string) => {
  const i = VOCAB.indexOf(t);
  if (i < 0) throw new Error(`test vocab has no ${t}`);
  return i;
};

describe('WordPieceTokenizer', function () {
  const lower = new WordPieceTokenizer(VOCAB);
  const cased = new WordPieceTokenizer(VOCAB, { lowercase: false });

  it('takes the longest matching piece first, then ## continuations', function () {
    assert.deepEqual(lower.tokenize('unaffable'), ['unaff', '##able']);
    assert.deepEqual(lower.tokenize('unable'), ['un', '##able']);
    assert.deepEqual(lower.tokenize('abab'), ['ab', '##a', '##b']);
  });

  it('turns a word with any unmatched piece into one [UNK], keeping its neighbours', function () {
    assert.deepEqual(lower.tokenize('hello unaffablez world'), ['hello', '[UNK]', 'world']);
    assert.deepEqual(lower.tokenize('zzz'), ['[UNK]']);
  });

  it('spells words of up to 100 code points and makes a longer one [UNK]', function () {
    assert.equal(lower.tokenize('x'.repeat(100)).length, 100);
    assert.deepEqual(lower.tokenize('x'.repeat(101)), ['[UNK]']);
    // The limit counts code points, not UTF-16 units: 100 emoji are 200 units.
    assert.equal(lower.tokenize('😀'.repeat(100)).length, 100);
    assert.deepEqual(lower.tokenize('😀'.repeat(101)), ['[UNK]']);
  });

  it('splits CJK ideographs and punctuation into words of their own', function () {
    assert.deepEqual(lower.tokenize('你好,hello!'), ['你', '好', ',', 'hello', '!']);
    assert.deepEqual(lower.tokenize('a你b'), ['a', '你', 'b']);
    assert.deepEqual(preTokenize('Hello,world...你好'), ['hello', ',', 'world', '.', '.', '.', '你', '好']);
  });

  it('lower-cases and strips accents only when lowercase is on', function () {
    assert.deepEqual(lower.tokenize('HELLO Café CAFE\u0301'), ['hello', 'cafe', 'cafe']);
    assert.deepEqual(cased.tokenize('HELLO'), ['[UNK]']);
    assert.deepEqual(cased.tokenize('café'), ['café']); // composed, as in the vocab
    assert.deepEqual(cased.tokenize('cafe\u0301'), ['[UNK]']); // decomposed: no NFD without lowercase
  });

  it('lower-cases code point by code point, without the final-sigma rule', function () {
    assert.deepEqual(preTokenize('ΑΣ'), ['ασ']);
    assert.deepEqual(lower.tokenize('ΑΣ'), ['ασ']);
  });

  it('drops control characters, U+0000, U+FFFD and lone surrogates without splitting the word', function () {
    assert.deepEqual(lower.tokenize('a\u0000b'), ['ab']);
    assert.deepEqual(lower.tokenize('a\u200db\ufffd'), ['ab']);
    assert.deepEqual(lower.tokenize('a\ud800b'), ['ab']);
    assert.deepEqual(lower.tokenize('\u0001\u0002'), []);
  });

  it('treats every kind of whitespace as a separator', function () {
    assert.deepEqual(lower.tokenize('a\tb\r\nx\u3000a\u00a0b'), ['a', 'b', 'x', 'a', 'b']);
    assert.deepEqual(lower.tokenize(' \t\n '), []);
  });

  it('keeps special tokens written in the text whole, even glued to words, but not lower-case ones', function () {
    assert.deepEqual(lower.tokenize('a[SEP]b [MASK]'), ['a', '[SEP]', 'b', '[MASK]']);
    assert.deepEqual(lower.tokenize('[cls]'), ['[', 'cl', '##s', ']']);
    // Specials are matched in the raw text: a control character inside breaks the match.
    assert.deepEqual(lower.tokenize('[SE\u0000P]'), ['[', '[UNK]', ']']);
  });

  it('encode wraps the ids in [CLS] ... [SEP] unless addSpecialTokens is false', function () {
    assert.deepEqual(Array.from(lower.encode('hello world')), [id('[CLS]'), id('hello'), id('world'), id('[SEP]')]);
    assert.deepEqual(Array.from(lower.encode('hello', { addSpecialTokens: false })), [id('hello')]);
    assert.deepEqual(Array.from(lower.encode('')), [id('[CLS]'), id('[SEP]')]);
    assert.ok(lower.encode('x') instanceof Int32Array);
  });

  it('encodeBatch truncates to maxLength counting [CLS]/[SEP], pads with [PAD], and reports lengths', function () {
    const texts = ['hello world a b', 'x', ''];
    const batch = lower.encodeBatch(texts, { maxLength: 4 });
    assert.equal(batch.maxLength, 4);
    assert.deepEqual(Array.from(batch.lengths), [4, 3, 2]);
    assert.deepEqual(Array.from(batch.ids), [
      id('[CLS]'), id('hello'), id('world'), id('[SEP]'),
      id('[CLS]'), id('x'), id('[SEP]'), id('[PAD]'),
      id('[CLS]'), id('[SEP]'), id('[PAD]'), id('[PAD]'),
    ]);
    for (let i = 0; i < texts.length; i++) {
      const single = lower.encode(texts[i]);
      if (single.length <= 4) assert.deepEqual(Array.from(batch.ids.subarray(i * 4, i * 4 + single.length)), Array.from(single));
    }
    const plain = lower.encodeBatch(['hello world a'], { maxLength: 2, addSpecialTokens: false });
    assert.deepEqual(Array.from(plain.ids), [id('hello'), id('world')]);
    assert.equal(lower.encodeBatch([]).ids.length, 0);
  });

  it('decode joins ## pieces, drops specials by default, and cleans spaces before punctuation', function () {
    const ids = lower.encode('unaffable world, hello!');
    assert.equal(lower.decode(ids), 'unaffable world, hello!');
    assert.equal(lower.decode(ids, { skipSpecialTokens: false }), '[CLS] unaffable world, hello! [SEP]');
    assert.equal(lower.decode([id('[UNK]'), id('hello'), 9999, -1]), 'hello'); // [UNK] is special; unknown ids vanish
    assert.equal(decodeWordPieceTokens(['##x', 'can', "'", 't', '.']), "##x can ' t.");
    assert.equal(decodeWordPieceTokens([]), '');
  });

  it('maps tokens and ids both ways and exposes the special ids', function () {
    assert.equal(lower.vocabSize, VOCAB.length);
    assert.equal(lower.tokenToId('hello'), id('hello'));
    assert.equal(lower.tokenToId('nope'), undefined);
    assert.equal(lower.idToToken(id('world')), 'world');
    assert.equal(lower.idToToken(VOCAB.length), undefined);
    assert.equal(lower.idToToken(1.5), undefined);
    assert.deepEqual([lower.padId, lower.unkId, lower.clsId, lower.sepId], [0, 1, 2, 3]);
  });

  it('BAD CALL – encode() with a number, encodeBatch() with a bad maxLength or non-string text', function () {
    assert.throws(() => lower.encode(5 as unknown as string), /Expected string for text but received number 5/);
    assert.throws(() => lower.encodeBatch(['a'], { maxLength: 1 }), /Expected integer >= 2 for maxLength but received number 1/);
    assert.throws(() => lower.encodeBatch(['a'], { maxLength: -1, addSpecialTokens: false }), /Expected integer >= 1 for maxLength but received number -1/);
    assert.throws(() => lower.encodeBatch(['a', null as unknown as string]), /Expected string for texts\[1\] but received null/);
    assert.throws(() => lower.encodeBatch('a' as unknown as string[]), /Expected an array of strings for texts/);
    assert.throws(() => lower.encode('a', { addSpecialTokens: 'yes' as unknown as boolean }), /Expected boolean for addSpecialTokens/);
    assert.throws(() => new WordPieceTokenizer(VOCAB, { lowercase: 1 as unknown as boolean }), /Expected boolean for lowercase/);
  });

  it('rejects a token list without [UNK], and explains a missing [CLS]/[PAD] when they are needed', function () {
    assert.throws(() => new WordPieceTokenizer(['a', 'b']), /no \[UNK\] token/);
    const bare = new WordPieceTokenizer(['[UNK]', 'a']);
    assert.deepEqual(Array.from(bare.encode('a a', { addSpecialTokens: false })), [1, 1]);
    assert.throws(() => bare.encode('a'), /no \[CLS\] and \[SEP\] token; pass \{ addSpecialTokens: false \}/);
    assert.throws(() => bare.encodeBatch(['a'], { addSpecialTokens: false }), /no \[PAD\] token/);
  });
});

describe('readVocabFile', function () {
  let dir: string;
  before(function () {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'md-vocab-'));
  });
  after(function () {
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const write = (name: string, text: string) => {
    const p = path.join(dir, name);
    fs.writeFileSync(p, text);
    return p;
  };

  it('reads one token per line, line number = id, stripping \\r and ignoring the final newline', function () {
    const p = write('ok.txt', '[PAD]\r\n[UNK]\r\nhello\r\n\r\nworld\n');
    // The empty line 4 is a token: dropping it would shift every later id.
    assert.deepEqual(readVocabFile(p), ['[PAD]', '[UNK]', 'hello', '', 'world']);
    assert.deepEqual(readVocabFile(write('nonl.txt', '[UNK]\nlast')), ['[UNK]', 'last']);
  });

  it('rejects a missing file, naming the path', function () {
    const p = path.join(dir, 'absent.txt');
    assert.throws(() => readVocabFile(p), new RegExp(`vocab file not found at ${escapeRegExp(p)}`));
  });

  it('rejects an empty file', function () {
    const p = write('empty.txt', '');
    assert.throws(() => readVocabFile(p), new RegExp(`vocab file ${escapeRegExp(p)} is empty`));
  });

  it('rejects a duplicate token, naming both lines', function () {
    const p = write('dup.txt', '[PAD]\n[UNK]\nhello\nworld\nhello\n');
    assert.throws(() => readVocabFile(p), new RegExp(`${escapeRegExp(p)} has a duplicate token "hello" on line 5 \\(first on line 3\\)`));
  });

  it('rejects a vocab without [UNK]', function () {
    const p = write('nounk.txt', '[PAD]\nhello\n');
    assert.throws(() => readVocabFile(p), new RegExp(`${escapeRegExp(p)} has no \\[UNK\\] token`));
  });

  it('rejects a directory and a non-string path', function () {
    assert.throws(() => readVocabFile(dir), /is a directory/);
    assert.throws(() => readVocabFile(42 as unknown as string), /Expected a non-empty string for vocab path but received number 42/);
  });

  it('WordPieceTokenizer.fromFile uses it', function () {
    const p = write('tok.txt', '[PAD]\n[UNK]\n[CLS]\n[SEP]\nhi\n');
    assert.deepEqual(Array.from(WordPieceTokenizer.fromFile(p).encode('HI there')), [2, 4, 1, 3]);
    assert.throws(() => WordPieceTokenizer.fromFile(path.join(dir, 'nope.txt')), /vocab file not found at/);
  });
});

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
