/**
 * Reads a byte stream (stdin, a file) as UTF-8 lines, in batches, in constant
 * memory: only the unfinished last line of a chunk is carried to the next one.
 *
 * Lines are split on the byte 0x0A before decoding. That byte never occurs inside
 * a UTF-8 sequence, and a decoder that meets it in the middle of a sequence
 * reports the sequence as invalid and then decodes the '\n' as itself; so
 * decoding line by line gives exactly the text and the replacement count of
 * decoding the whole stream at once.
 */
import { decodeUtf8 } from './utf8';

export interface LineStats {
  lines: number;
  /** Invalid UTF-8 sequences replaced by U+FFFD. */
  replacedSequences: number;
  /** Lines that held at least one of them. */
  linesWithReplacements: number;
}

const NEWLINE = 0x0a;

/** Drops the '\r' of a CRLF line ending. */
function stripCr(line: string): string {
  return line.length > 0 && line.charCodeAt(line.length - 1) === 13 ? line.slice(0, -1) : line;
}

/**
 * Yields arrays of at most `batchSize` lines (without '\n' or a trailing '\r'),
 * in input order. A final line without '\n' counts as a line; an empty input
 * has no lines. `stats` is updated as lines are read.
 */
export async function* readLineBatches(
  input: AsyncIterable<Buffer | string>,
  batchSize: number,
  stats: LineStats = { lines: 0, replacedSequences: 0, linesWithReplacements: 0 }
): AsyncGenerator<string[]> {
  // stats.lines is counted as batches leave, so it always equals the lines yielded.
  let carry: Buffer = Buffer.alloc(0);
  let batch: string[] = [];

  const addDecoded = (bytes: Buffer) => {
    const { text, replaced } = decodeUtf8(bytes);
    batch.push(stripCr(text));
    if (replaced > 0) {
      stats.replacedSequences += replaced;
      stats.linesWithReplacements++;
    }
  };

  for await (const chunk of input) {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
    const buf = carry.length > 0 ? Buffer.concat([carry, bytes]) : bytes;
    const lastNewline = buf.lastIndexOf(NEWLINE);
    if (lastNewline < 0) {
      carry = buf; // one long line still going on
      continue;
    }
    // Copy the tail: a subarray would pin the whole chunk in memory.
    carry = Buffer.from(buf.subarray(lastNewline + 1));
    const complete = buf.subarray(0, lastNewline);

    // Fast path: the usual case of a chunk of valid UTF-8 is decoded in one call.
    const whole = decodeUtf8(complete);
    if (whole.replaced === 0) {
      for (const line of whole.text.split('\n')) {
        batch.push(stripCr(line));
        if (batch.length >= batchSize) {
          stats.lines += batch.length;
          yield batch;
          batch = [];
        }
      }
    } else {
      // Rare path: find which lines hold the invalid bytes, so they can be counted.
      let start = 0;
      while (start <= complete.length) {
        let end = complete.indexOf(NEWLINE, start);
        if (end < 0) end = complete.length;
        addDecoded(complete.subarray(start, end));
        if (batch.length >= batchSize) {
          stats.lines += batch.length;
          yield batch;
          batch = [];
        }
        start = end + 1;
      }
    }
  }
  if (carry.length > 0) {
    addDecoded(carry);
  }
  if (batch.length > 0) {
    stats.lines += batch.length;
    yield batch;
  }
}
