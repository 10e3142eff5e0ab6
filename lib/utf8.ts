/**
 * UTF-8 decoding that COUNTS what it replaces.
 *
 * TextDecoder and Buffer#toString replace invalid bytes with U+FFFD silently,
 * and counting U+FFFD in their output would also count the U+FFFD characters
 * that were validly encoded in the input. The CLI promises to report how many
 * invalid sequences it replaced, so it decodes with this module.
 *
 * Replacement follows the WHATWG Encoding Standard's UTF-8 decoder exactly
 * (one U+FFFD per "maximal subpart" of an ill-formed sequence), which is also
 * what TextDecoder does: the text produced here equals
 * `new TextDecoder().decode(bytes)`, plus a count.
 */
import * as buffer from 'buffer';

export interface DecodedText {
  text: string;
  /** How many invalid sequences became U+FFFD. */
  replaced: number;
}

// buffer.isUtf8 (Node >= 18.14) validates at SIMD speed; fall back to the scanner below.
const isUtf8: ((input: Uint8Array) => boolean) | undefined = (buffer as { isUtf8?: (input: Uint8Array) => boolean }).isUtf8;

const REPLACEMENT = '\uFFFD';

/**
 * Decodes `bytes` as UTF-8, replacing and counting invalid sequences. A sequence
 * cut off at the end counts as invalid: callers that stream must split input at
 * a byte that cannot sit inside a sequence (the CLI splits at '\n', 0x0A).
 */
export function decodeUtf8(bytes: Uint8Array): DecodedText {
  const buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (isUtf8 !== undefined && isUtf8(buf)) return { text: buf.toString('utf8'), replaced: 0 };
  return decodeSlow(buf);
}

/**
 * The WHATWG decoder state machine. Valid stretches are copied with
 * Buffer#toString (which agrees with us on valid input); only the errors are
 * handled byte by byte.
 */
function decodeSlow(buf: Buffer): DecodedText {
  const parts: string[] = [];
  let replaced = 0;
  let runStart = 0; // start of the current stretch of valid bytes
  let i = 0;
  const n = buf.length;

  const fail = (errorStart: number, resumeAt: number) => {
    if (errorStart > runStart) parts.push(buf.toString('utf8', runStart, errorStart));
    parts.push(REPLACEMENT);
    replaced++;
    runStart = resumeAt;
  };

  while (i < n) {
    const lead = buf[i];
    if (lead < 0x80) {
      i++;
      continue;
    }
    let needed: number;
    let lower = 0x80;
    let upper = 0xbf;
    if (lead >= 0xc2 && lead <= 0xdf) needed = 1;
    else if (lead >= 0xe0 && lead <= 0xef) {
      needed = 2;
      if (lead === 0xe0) lower = 0xa0; // no overlong 3-byte forms
      if (lead === 0xed) upper = 0x9f; // no surrogates
    } else if (lead >= 0xf0 && lead <= 0xf4) {
      needed = 3;
      if (lead === 0xf0) lower = 0x90; // no overlong 4-byte forms
      if (lead === 0xf4) upper = 0x8f; // nothing above U+10FFFF
    } else {
      // A continuation byte with no lead, or a byte never used in UTF-8 (C0, C1, F5-FF).
      fail(i, i + 1);
      i++;
      continue;
    }
    const start = i;
    i++;
    let ok = true;
    for (let seen = 0; seen < needed; seen++) {
      if (i >= n) {
        ok = false; // truncated at the end of input: the whole partial sequence is one error
        break;
      }
      const b = buf[i];
      if (b < lower || b > upper) {
        ok = false; // this byte is not consumed: it is decoded afresh after the U+FFFD
        break;
      }
      lower = 0x80;
      upper = 0xbf;
      i++;
    }
    if (!ok) fail(start, i);
  }
  if (runStart < n) parts.push(buf.toString('utf8', runStart, n));
  return { text: parts.join(''), replaced };
}
