/**
 * Pretrained embeddings in word2vec TEXT format, mapped onto a vocabulary.
 *
 * Format: a header line "count dim", then one line per token:
 * "token v1 v2 ... vdim", fields separated by single spaces (a trailing space
 * and a CRLF ending are tolerated, as word2vec and gensim write them).
 *
 * The file is streamed: only the rows of tokens in the vocabulary are kept, so
 * a multi-gigabyte file (the full Tencent embedding) costs the memory of the
 * vocabulary's matrix, not of the file.
 */
import * as fs from 'fs';

import { readLineBatches, type LineStats } from './line-batches';

export interface Word2VecHeader {
  /** How many vectors the header promises. */
  count: number;
  dim: number;
}

export interface PretrainedVectors {
  dim: number;
  /** Row-major [vocab.length, dim]; rows of tokens the file lacks are zeros (see `found`). */
  vectors: Float32Array;
  /** found[i] = 1 when vocab[i] had a vector in the file; the caller initialises the other rows. */
  found: Uint8Array;
  coverage: { found: number; total: number; ratio: number };
  /** Vectors in the file (checked against its header). */
  fileCount: number;
}

const HEADER = /^\s*(\d+)\s+(\d+)\s*$/;

/** Parses a header line; `where` names the file for errors. */
function parseHeader(line: string, where: string): Word2VecHeader {
  const m = HEADER.exec(line);
  if (!m) {
    throw new Error(
      `${where}:1: expected a word2vec text header "count dim", got ${JSON.stringify(line.slice(0, 80))}` +
        ' (binary word2vec files are not supported: convert to text format)',
    );
  }
  const count = Number(m[1]);
  const dim = Number(m[2]);
  if (!Number.isSafeInteger(count) || !Number.isSafeInteger(dim) || dim < 1) {
    throw new Error(`${where}:1: header "count dim" needs a positive dimension, got ${JSON.stringify(line)}`);
  }
  return { count, dim };
}

function openError(path: string, err: unknown): Error {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return new Error(`vectors file not found at ${path}`);
  if (code === 'EISDIR') return new Error(`vectors path ${path} is a directory, expected a word2vec text file`);
  return new Error(`cannot read vectors file ${path}: ${(err as Error).message}`);
}

/** Reads only the header line (cheap: for checking a dimension when a config is loaded). */
export function readWord2VecHeader(path: string): Word2VecHeader {
  let fd: number;
  try {
    fd = fs.openSync(path, 'r');
  } catch (err) {
    throw openError(path, err);
  }
  try {
    const buf = Buffer.alloc(256);
    const n = fs.readSync(fd, buf, 0, buf.length, 0);
    let text = buf.toString('utf8', 0, n);
    if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    const end = text.indexOf('\n');
    if (end < 0 && n === buf.length) throw new Error(`${path}:1: the first line is not a word2vec header "count dim" (too long)`);
    return parseHeader((end < 0 ? text : text.slice(0, end)).replace(/\r$/, ''), path);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Reads the vectors of `vocab`'s tokens from a word2vec text file. Errors name
 * the file and line: a bad header, a line with the wrong number of values, a
 * value that is not a finite number, a token given twice (when it is in the
 * vocabulary: which vector would be meant?), or a vector count that differs
 * from the header's. Tokens are matched exactly (no case folding).
 */
export async function readWord2Vec(path: string, vocab: readonly string[]): Promise<PretrainedVectors> {
  if (typeof path !== 'string' || path.length === 0) {
    throw new TypeError(`Expected a non-empty string for vectors path but received ${JSON.stringify(path)}`);
  }
  if (!Array.isArray(vocab)) throw new TypeError(`Expected an array of tokens for vocab but received ${typeof vocab}`);
  const rowOf = new Map<string, number>();
  vocab.forEach((token, i) => {
    if (rowOf.has(token)) throw new TypeError(`vocab has the token ${JSON.stringify(token)} twice (ids ${rowOf.get(token)} and ${i})`);
    rowOf.set(token, i);
  });

  let stream: fs.ReadStream;
  try {
    fs.accessSync(path, fs.constants.R_OK);
    if (fs.statSync(path).isDirectory()) throw Object.assign(new Error('is a directory'), { code: 'EISDIR' });
    stream = fs.createReadStream(path, { highWaterMark: 1 << 20 });
  } catch (err) {
    throw openError(path, err);
  }

  let header: Word2VecHeader | null = null;
  let vectors = new Float32Array(0);
  const found = new Uint8Array(vocab.length);
  const foundOnLine = new Map<number, number>(); // vocab row -> file line, to name both lines of a repeat
  let foundCount = 0;
  let fileCount = 0;
  let lineNo = 0;
  let firstBlankLine = 0; // 0 = none yet
  const stats: LineStats = { lines: 0, replacedSequences: 0, linesWithReplacements: 0 };
  try {
    for await (const batch of readLineBatches(stream, 4096, stats)) {
      if (stats.replacedSequences > 0) {
        throw new Error(
          `${path}: not UTF-8 text near line ${lineNo + batch.length} (binary word2vec files are not supported: convert to text format)`,
        );
      }
      for (let line of batch) {
        lineNo++;
        if (header === null) {
          if (line.charCodeAt(0) === 0xfeff) line = line.slice(1);
          header = parseHeader(line, path);
          vectors = new Float32Array(vocab.length * header.dim);
          continue;
        }
        if (line.trim() === '') {
          // Blank lines at the very end are an editor artefact; one in the middle is an error (below).
          if (firstBlankLine === 0) firstBlankLine = lineNo;
          continue;
        }
        if (firstBlankLine !== 0) throw new Error(`${path}:${firstBlankLine}: empty line (expected "token v1 .. v${header.dim}")`);
        fileCount++;
        const fields = line.replace(/ +$/, '').split(' ');
        const dim = header.dim;
        if (fields.length !== dim + 1) {
          throw new Error(
            `${path}:${lineNo}: expected a token and ${dim} values, got ${fields.length - 1} value(s) ` +
              `(token ${JSON.stringify(fields[0])})`,
          );
        }
        const row = rowOf.get(fields[0]);
        // Values are checked on every line, not only the kept ones: a damaged file is damaged.
        const base = row === undefined ? -1 : row * dim;
        for (let k = 0; k < dim; k++) {
          const s = fields[k + 1];
          const v = Number(s);
          if (s === '' || !Number.isFinite(v)) {
            throw new Error(`${path}:${lineNo}: value ${k + 1} of token ${JSON.stringify(fields[0])} is not a finite number: ${JSON.stringify(s)}`);
          }
          if (base >= 0) vectors[base + k] = v;
        }
        if (row !== undefined) {
          const earlier = foundOnLine.get(row);
          if (earlier !== undefined) {
            throw new Error(`${path}:${lineNo}: token ${JSON.stringify(fields[0])} appears again (first on line ${earlier})`);
          }
          foundOnLine.set(row, lineNo);
          found[row] = 1;
          foundCount++;
        }
      }
    }
  } finally {
    stream.destroy();
  }
  if (header === null) throw new Error(`${path} is empty (expected a word2vec header "count dim")`);
  if (fileCount !== header.count) {
    throw new Error(`${path}: the header promises ${header.count} vectors but the file has ${fileCount} (${lineNo} lines)`);
  }
  return {
    dim: header.dim,
    vectors,
    found,
    coverage: { found: foundCount, total: vocab.length, ratio: vocab.length === 0 ? 0 : foundCount / vocab.length },
    fileCount,
  };
}
