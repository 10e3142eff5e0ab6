import { strict as assert } from 'assert';
import { Readable } from 'stream';

import { readLineBatches, type LineStats } from '../lib/line-batches';
import { decodeUtf8 } from '../lib/utf8';

/** Counts invalid sequences the slow, obvious way: decode with TextDecoder byte range by byte range. */
function expectedText(bytes: Uint8Array): string {
  return new TextDecoder('utf-8', { fatal: false, ignoreBOM: true }).decode(bytes);
}

/** A deterministic byte generator biased towards the interesting parts of UTF-8. */
function randomBytes(seed: number, length: number): Uint8Array {
  let s = seed >>> 0;
  const next = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0), s);
  const interesting = [0x0a, 0x41, 0x80, 0x9f, 0xa0, 0xbf, 0xc0, 0xc2, 0xdf, 0xe0, 0xe4, 0xed, 0xef, 0xf0, 0xf4, 0xf5, 0xff, 0xb8, 0xad];
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = next() % 3 === 0 ? next() & 0xff : interesting[next() % interesting.length];
  return out;
}

describe('UTF-8 decoding with a replacement count', () => {
  it('decodes valid text unchanged, with nothing replaced (a real U+FFFD is not counted)', () => {
    const text = '这款手机续航很好 ünïcode 👍 \uFFFD end';
    assert.deepEqual(decodeUtf8(Buffer.from(text, 'utf8')), { text, replaced: 0 });
  });

  it('replaces one U+FFFD per maximal ill-formed subpart, as TextDecoder does', () => {
    const cases: [number[], string, number][] = [
      [[0x61, 0xff, 0x62], 'a\uFFFDb', 1], // a byte never used in UTF-8
      [[0x80], '\uFFFD', 1], // a lone continuation byte
      [[0xe4, 0xb8], '\uFFFD', 1], // truncated 3-byte sequence: one error
      [[0xe4, 0xb8, 0x41], '\uFFFDA', 1], // cut by an ASCII byte, which survives
      [[0xed, 0xa0, 0x80], '\uFFFD\uFFFD\uFFFD', 3], // an encoded surrogate: three errors
      [[0xc0, 0xaf], '\uFFFD\uFFFD', 2], // overlong '/'
      [[0xf4, 0x90, 0x80, 0x80], '\uFFFD\uFFFD\uFFFD\uFFFD', 4], // above U+10FFFF
    ];
    for (const [bytes, text, replaced] of cases) {
      assert.deepEqual(decodeUtf8(Uint8Array.from(bytes)), { text, replaced }, JSON.stringify(bytes));
    }
  });

  it('agrees with TextDecoder on 2,000 random byte strings', () => {
    for (let seed = 1; seed <= 2000; seed++) {
      const bytes = randomBytes(seed, 1 + (seed % 40));
      const { text, replaced } = decodeUtf8(bytes);
      assert.equal(text, expectedText(bytes), `seed ${seed}`);
      // Every replacement is a U+FFFD in the output; this input has no valid EF BF BD, so they match.
      const fffd = (expectedText(bytes).match(/\uFFFD/g) ?? []).length;
      const literal = (Buffer.from(bytes).toString('latin1').match(/\xEF\xBF\xBD/g) ?? []).length;
      assert.equal(replaced, fffd - literal, `seed ${seed}`);
    }
  });
});

describe('reading lines in batches', () => {
  async function readAll(chunks: Buffer[], batchSize = 3): Promise<{ lines: string[]; batches: number; stats: LineStats }> {
    const stats: LineStats = { lines: 0, replacedSequences: 0, linesWithReplacements: 0 };
    const lines: string[] = [];
    let batches = 0;
    for await (const batch of readLineBatches(Readable.from(chunks), batchSize, stats)) {
      assert.ok(batch.length <= batchSize);
      lines.push(...batch);
      batches++;
    }
    return { lines, batches, stats };
  }

  it('splits at every chunk boundary the same way, CRLF included', async () => {
    const text = Buffer.from('第一行\r\n\nsecond 行\nthird 👍\r\nlast without newline', 'utf8');
    const whole = await readAll([text]);
    assert.deepEqual(whole.lines, ['第一行', '', 'second 行', 'third 👍', 'last without newline']);
    for (let cut = 1; cut < text.length; cut++) {
      const split = await readAll([text.subarray(0, cut), text.subarray(cut)]);
      assert.deepEqual(split.lines, whole.lines, `cut at byte ${cut}`);
      assert.equal(split.stats.replacedSequences, 0, `cut at byte ${cut}`);
    }
  });

  it('counts invalid sequences and the lines that hold them, across chunk boundaries', async () => {
    const bytes = Buffer.concat([Buffer.from('ok\nbad '), Buffer.from([0xff, 0xe4, 0xb8]), Buffer.from('\nfine\n'), Buffer.from([0x80])]);
    for (let cut = 0; cut <= bytes.length; cut++) {
      const { lines, stats } = await readAll([bytes.subarray(0, cut), bytes.subarray(cut)]);
      assert.deepEqual(lines, ['ok', 'bad \uFFFD\uFFFD', 'fine', '\uFFFD'], `cut at byte ${cut}`);
      assert.deepEqual(stats, { lines: 4, replacedSequences: 3, linesWithReplacements: 2 }, `cut at byte ${cut}`);
    }
  });

  it('an empty input has no lines; a lone newline is one empty line', async () => {
    assert.deepEqual((await readAll([])).lines, []);
    assert.deepEqual((await readAll([Buffer.from('\n')])).lines, ['']);
  });
});
