/**
 * End-to-end tests of the `model-distill` command: the CLI runs from source in a
 * child process (node --require tsx/cjs lib/cli.ts), exactly as a user calls it,
 * and its output is compared with the library API in this process.
 */
import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import { Tokenizer } from '../lib/tokenizer';
import { ok, outputLines, REPO_ROOT, runCli, type CliResult } from './helpers/cli';
import { preTokenize } from '../lib/wordpiece';

const repoRoot = REPO_ROOT;
const sample = path.join(repoRoot, 'examples', 'reviews-zh.txt');
const sampleLines = fs.readFileSync(sample, 'utf8').split('\n').filter((l) => l.length > 0);

let tmp: string;
/** A vocabulary built by the CLI from the committed sample, used by the tokenize tests. */
let vocabPath: string;
let tokenizer: Tokenizer;

before(function () {
  this.timeout(60_000);
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'model-distill-cli-'));
  vocabPath = path.join(tmp, 'vocab.txt');
  ok(runCli(['build-vocab', '--input', sample, '--output', vocabPath]), 'build-vocab');
  tokenizer = Tokenizer.fromFile(vocabPath);
});

after(() => {
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

describe('model-distill tokenize', () => {
  // Texts the sample vocab only partly covers: unseen characters become [UNK],
  // unseen Latin words are spelled with ## pieces.
  const texts = [...sampleLines.slice(0, 10), '这款手机 iPhone 15 续航 很好!!', 'WINDOWS 快 1150 米', '未见过的字：龘', '  spaces   between  ', 'Windowsphone 和 WiFis'];

  it('prints, per input line, exactly the ids of Tokenizer.encode', () => {
    const r = ok(runCli(['tokenize', '--vocab', vocabPath], texts.join('\n') + '\n'), 'tokenize');
    assert.deepEqual(outputLines(r.stdout), texts.map((t) => tokenizer.encode(t).join(' ')));
    assert.equal(r.stderr, '');
  });

  it('--tokens prints the tokens of the same ids', () => {
    const r = ok(runCli(['tokenize', '--vocab', vocabPath, '--tokens'], texts.join('\n')), 'tokenize --tokens');
    const expected = texts.map((t) => ['[CLS]', ...tokenizer.tokenize(t), '[SEP]'].join(' '));
    assert.deepEqual(outputLines(r.stdout), expected);
    assert.ok(expected.some((line) => line.includes('##')), 'the test texts exercise ## pieces');
    assert.ok(expected.some((line) => line.includes('[UNK]')), 'the test texts exercise [UNK]');
  });

  it('--max-length truncates with the special tokens counted, and does not pad', () => {
    const r = ok(runCli(['tokenize', '--vocab', vocabPath, '--max-length', '8'], texts.join('\n')), 'tokenize --max-length 8');
    const cls = tokenizer.tokenToId('[CLS]');
    const sep = tokenizer.tokenToId('[SEP]');
    outputLines(r.stdout).forEach((line, i) => {
      const full = Array.from(tokenizer.encode(texts[i]));
      const expected = full.length <= 8 ? full : [...full.slice(0, 7), sep];
      assert.equal(line, expected.join(' '), `line ${i + 1}`);
      assert.equal(line.split(' ')[0], String(cls));
    });
    assert.ok(texts.some((t) => tokenizer.encode(t).length > 8) && texts.some((t) => tokenizer.encode(t).length < 8));
  });

  it('--no-special-tokens leaves out [CLS] and [SEP]', () => {
    const r = ok(runCli(['tokenize', '--vocab', vocabPath, '--no-special-tokens'], texts.join('\n')), 'tokenize --no-special-tokens');
    assert.deepEqual(outputLines(r.stdout), texts.map((t) => tokenizer.encode(t, { addSpecialTokens: false }).join(' ')));
  });

  it('--no-lower-case keeps case (upper-case Latin is then unknown to a lower-cased vocab)', () => {
    const r = ok(runCli(['tokenize', '--vocab', vocabPath, '--no-lower-case', '--tokens', '--no-special-tokens'], 'WiFi wifi\n'), 'tokenize --no-lower-case');
    const cased = Tokenizer.fromFile(vocabPath, { lowercase: false });
    assert.equal(r.stdout, cased.tokenize('WiFi wifi').join(' ') + '\n');
    assert.notEqual(r.stdout, tokenizer.tokenize('WiFi wifi').join(' ') + '\n');
  });

  it('keeps the order of 10,000 lines across batches, and one output line per input line', () => {
    const lines = Array.from({ length: 10_000 }, (_, i) => `${i} ${sampleLines[i % sampleLines.length].slice(0, 3 + (i % 17))}`);
    const r = ok(runCli(['tokenize', '--vocab', vocabPath], lines.join('\n') + '\n'), 'tokenize 10,000 lines');
    const got = outputLines(r.stdout);
    assert.equal(got.length, lines.length);
    for (let i = 0; i < lines.length; i++) assert.equal(got[i], tokenizer.encode(lines[i]).join(' '), `line ${i + 1}`);
  });

  it('a line longer than a stdin chunk and than a batch row is tokenised whole (no --max-length: no truncation)', () => {
    const long = sampleLines.join(' ').repeat(60); // ~100 KB of UTF-8, several thousand tokens
    const r = ok(runCli(['tokenize', '--vocab', vocabPath], `短\n${long}\n好\n`), 'tokenize long line');
    const got = outputLines(r.stdout);
    assert.equal(got.length, 3);
    assert.equal(got[1], tokenizer.encode(long).join(' '));
    assert.ok(tokenizer.encode(long).length > 2000);
    assert.equal(got[2], tokenizer.encode('好').join(' '));
  });

  it('replaces invalid UTF-8, counts it on stderr, and still prints every line', () => {
    const input = Buffer.concat([
      Buffer.from('好的\n坏'),
      Buffer.from([0xff, 0xe4, 0xb8]), // two invalid sequences on line 2
      Buffer.from('字\n干净的一行\n'),
      Buffer.from([0xc0]), // one more on line 4, which has no final newline
      Buffer.from('末'),
    ]);
    const r = ok(runCli(['tokenize', '--vocab', vocabPath, '--tokens'], input), 'tokenize invalid UTF-8');
    const decoded = new TextDecoder().decode(input).split('\n');
    assert.deepEqual(outputLines(r.stdout), decoded.map((t) => ['[CLS]', ...tokenizer.tokenize(t), '[SEP]'].join(' ')));
    assert.equal(outputLines(r.stdout)[1], '[CLS] 坏 字 [SEP]', 'U+FFFD is dropped by BERT cleaning');
    assert.match(r.stderr, /^model-distill: replaced 3 invalid UTF-8 sequences on 2 lines/);
  });

  it('empty lines give [CLS] [SEP] (or an empty line), CRLF endings are stripped', () => {
    const empty = tokenizer.encode('').join(' ');
    assert.equal(empty, `${tokenizer.tokenToId('[CLS]')} ${tokenizer.tokenToId('[SEP]')}`);
    const r = ok(runCli(['tokenize', '--vocab', vocabPath], '好\r\n\r\n\n很好\r\n'), 'tokenize CRLF');
    assert.deepEqual(outputLines(r.stdout), [tokenizer.encode('好').join(' '), empty, empty, tokenizer.encode('很好').join(' ')]);
    const bare = ok(runCli(['tokenize', '--vocab', vocabPath, '--no-special-tokens'], '\n好\n\n'), 'tokenize empty lines');
    assert.deepEqual(outputLines(bare.stdout), ['', tokenizer.encode('好', { addSpecialTokens: false }).join(' '), '']);
    assert.equal(ok(runCli(['tokenize', '--vocab', vocabPath], ''), 'tokenize no input').stdout, '');
  });
});

describe('model-distill build-vocab', () => {
  function buildFrom(text: string, extraArgs: string[] = [], name = 'in.txt'): { tokens: string[]; result: CliResult } {
    const input = path.join(tmp, name);
    const output = path.join(tmp, `out-${Math.random().toString(36).slice(2)}.txt`);
    fs.writeFileSync(input, text);
    const result = runCli(['build-vocab', '--input', input, '--output', output, ...extraArgs]);
    assert.equal(result.status, 0, result.stderr);
    return { tokens: fs.readFileSync(output, 'utf8').split('\n').slice(0, -1), result };
  }
  const SPECIALS = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'];

  it('writes the specials first, then pieces by frequency, ties by code point', () => {
    // Counts: 好 4, 很 3; "ok"/"OK" (lower-cased) twice gives ok 2, o 2, ##k 2; 你 2; 乙 1, 甲 1.
    // Ties by code point: ##k (#=U+23) < o < ok < 你 (U+4F60); 乙 (U+4E59) < 甲 (U+7532).
    const { tokens, result } = buildFrom('好很好\n你好 ok\n很好 OK 甲\n你很 乙\n');
    assert.deepEqual(tokens, [...SPECIALS, '好', '很', '##k', 'o', 'ok', '你', '乙', '甲']);
    assert.match(result.stderr, /wrote 13 tokens/);
  });

  it('is deterministic: the same input gives the same file', () => {
    const text = sampleLines.join('\n');
    assert.deepEqual(buildFrom(text).tokens, buildFrom(text).tokens);
  });

  it('--min-freq leaves out rare pieces; --max-size keeps the most frequent', () => {
    const text = '好很好\n你好 ok\n很好 OK 甲\n你很 乙\n';
    assert.deepEqual(buildFrom(text, ['--min-freq', '2']).tokens, [...SPECIALS, '好', '很', '##k', 'o', 'ok', '你']);
    assert.deepEqual(buildFrom(text, ['--max-size', '7']).tokens, [...SPECIALS, '好', '很']);
    const full = buildFrom(sampleLines.join('\n')).tokens;
    const cut = buildFrom(sampleLines.join('\n'), ['--max-size', '100']).tokens;
    assert.deepEqual(cut, full.slice(0, 100));
  });

  it('uses only the text column of a .tsv file, and whole lines of other files', () => {
    const tsv = buildFrom('好评\tpositive\n差评\tnegative\n', [], 'train.tsv').tokens;
    assert.deepEqual([...tsv].sort(), [...SPECIALS, '好', '评', '差'].sort());
    const txt = buildFrom('好评\tpositive\n', [], 'plain.txt').tokens;
    assert.ok(txt.includes('positive'));
  });

  it('gives a vocabulary the tokenizer loads, with no [UNK] on its own text and ## spelling of unseen words', () => {
    const unk = tokenizer.tokenToId('[UNK]');
    for (const line of sampleLines) assert.ok(!tokenizer.encode(line).includes(unk!), line);
    // "wifis" never occurs in the sample, but its letters do: WordPiece spells it.
    assert.ok(!preTokenize(sampleLines.join(' ')).includes('wifis'));
    const pieces = tokenizer.tokenize('wifis');
    assert.ok(!pieces.includes('[UNK]'), pieces.join(' '));
    assert.ok(pieces.length > 1 && pieces.slice(1).every((p) => p.startsWith('##')), pieces.join(' '));
  });

  it('--no-lower-case keeps upper-case pieces apart', () => {
    const lower = buildFrom('WiFi wifi\n').tokens;
    const cased = buildFrom('WiFi wifi\n', ['--no-lower-case']).tokens;
    assert.ok(lower.includes('wifi') && !lower.includes('WiFi'));
    assert.ok(cased.includes('wifi') && cased.includes('WiFi') && cased.includes('##F'));
  });

  it('leaves no file at all when an input is missing, and keeps an existing output when a row is bad', () => {
    const dir = fs.mkdtempSync(path.join(tmp, 'atomic-'));
    const output = path.join(dir, 'vocab.txt');
    const missing = path.join(dir, 'no-such-file.txt');
    const r = runCli(['build-vocab', '--input', sample, missing, '--output', output]);
    assert.equal(r.status, 1);
    assert.ok(r.stderr.includes(missing), r.stderr);
    assert.deepEqual(fs.readdirSync(dir), []);

    fs.writeFileSync(output, 'previous vocabulary\n');
    const bad = path.join(dir, 'bad.tsv');
    fs.writeFileSync(bad, '好评\tpositive\nno tab on this line\n');
    const r2 = runCli(['build-vocab', '--input', bad, '--output', output]);
    assert.equal(r2.status, 1);
    assert.match(r2.stderr, /bad\.tsv line 2: expected text<TAB>label/);
    assert.equal(fs.readFileSync(output, 'utf8'), 'previous vocabulary\n');
    assert.deepEqual(fs.readdirSync(dir).sort(), ['bad.tsv', 'vocab.txt']);
  });
});

describe('model-distill: bad calls', () => {
  it('BAD CALL – tokenize without --vocab: usage error, exit 2, no stack', () => {
    const r = runCli(['tokenize'], '好\n');
    assert.equal(r.status, 2);
    assert.match(r.stderr, /^model-distill: 'tokenize' needs --vocab FILE/);
    assert.doesNotMatch(r.stderr, /\n\s+at /);
  });

  it('BAD CALL – tokenize with a missing vocab file names the path', () => {
    const missing = path.join(tmp, 'nowhere', 'vocab.txt');
    const r = runCli(['tokenize', '--vocab', missing], '好\n');
    assert.equal(r.status, 1);
    assert.equal(r.stderr, `model-distill: vocabulary file not found: ${missing} (given with --vocab)\n`);
  });

  it('BAD CALL – an unknown flag, an unknown command', () => {
    const flag = runCli(['tokenize', '--vocab', vocabPath, '--lowercase']);
    assert.equal(flag.status, 2);
    assert.match(flag.stderr, /^model-distill: unknown option --lowercase for 'tokenize'/);
    const command = runCli(['tokenise']);
    assert.equal(command.status, 2);
    assert.match(command.stderr, /^model-distill: unknown command 'tokenise' \(commands: tokenize, build-vocab/);
  });

  it('BAD CALL – --max-length -1 names the value', () => {
    const r = runCli(['tokenize', '--vocab', vocabPath, '--max-length', '-1']);
    assert.equal(r.status, 2);
    assert.equal(r.stderr, 'model-distill: Expected positive integer for --max-length but received "-1"\n');
    const one = runCli(['tokenize', '--vocab', vocabPath, '--max-length', '1']);
    assert.equal(one.status, 2);
    assert.match(one.stderr, /Expected at least 2 for --max-length \(\[CLS\] and \[SEP\] count\) but received 1/);
    const zero = runCli(['build-vocab', '--input', sample, '--output', path.join(tmp, 'x.txt'), '--max-size', '3']);
    assert.equal(zero.status, 2);
    assert.match(zero.stderr, /Expected at least 5 \(the special tokens\) for --max-size but received 3/);
  });

  it('MODEL_DISTILL_DEBUG=1 adds the stack trace', () => {
    const r = runCli(['tokenize', '--vocab', path.join(tmp, 'missing.txt')], '', { MODEL_DISTILL_DEBUG: '1' });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /\n\s+at /);
  });

  it('--help works for the program and for each command', () => {
    const main = ok(runCli(['--help']), '--help');
    assert.match(main.stdout, /Commands:\n {2}tokenize .*\n {2}build-vocab /);
    for (const command of ['tokenize', 'build-vocab']) {
      const r = ok(runCli([command, '--help']), `${command} --help`);
      assert.match(r.stdout, new RegExp(`^Usage: model-distill ${command} `));
      assert.match(r.stdout, /--help +show this help/);
    }
    assert.equal(runCli([]).status, 2, 'no command is a usage error (after printing the help)');
  });
});
