/**
 * A text file cut into chunks of whole lines, for the queue: each chunk is a
 * line range plus the byte range that holds it, so a worker reads its chunk
 * with one positioned read instead of scanning the file from the start.
 *
 * Lines end at the byte 0x0A (as in line-batches.ts); a chunk ends just after
 * a newline (or at the end of the file), so decoding chunk by chunk gives the
 * same lines, texts and invalid-UTF-8 replacements as decoding the whole file.
 * A last line without a newline is a line; an empty file has no chunks.
 *
 * The file's size and mtime travel with every chunk: a worker that finds
 * another size, or a chunk that no longer holds its line count, refuses it
 * (a changed or different file must never give a silently wrong output).
 */
import * as fs from 'fs';

import { readLineBatches } from '../line-batches';

export interface LineChunk {
  /** 0-based position of the chunk in the file. */
  index: number;
  /** Absolute path, the same on every worker (shared storage). */
  file: string;
  fileSize: number;
  fileMtimeMs: number;
  startByte: number;
  /** Exclusive. */
  endByte: number;
  /** 1-based number of the chunk's first line in the file. */
  firstLine: number;
  lines: number;
}

const READ_BLOCK = 1 << 20;

/** Cuts `file` into chunks of `linesPerChunk` lines (the last one shorter), in one pass over its bytes. */
export function splitIntoLineChunks(file: string, linesPerChunk: number): LineChunk[] {
  if (!Number.isSafeInteger(linesPerChunk) || linesPerChunk < 1) throw new TypeError(`Expected positive integer for linesPerChunk but received ${String(linesPerChunk)}`);
  let stat: fs.Stats;
  try {
    stat = fs.statSync(file);
  } catch {
    throw new Error(`input file not found: ${file}`);
  }
  if (!stat.isFile()) throw new Error(`input ${file} is not a file`);
  const chunks: LineChunk[] = [];
  const fd = fs.openSync(file, 'r');
  const block = Buffer.allocUnsafe(READ_BLOCK);
  let chunkStart = 0;
  let chunkLines = 0;
  let linesBefore = 0;
  let position = 0;
  let lastByte = 0x0a;
  const close = (endByte: number) => {
    chunks.push({
      index: chunks.length,
      file,
      fileSize: stat.size,
      fileMtimeMs: stat.mtimeMs,
      startByte: chunkStart,
      endByte,
      firstLine: linesBefore + 1,
      lines: chunkLines,
    });
    linesBefore += chunkLines;
    chunkStart = endByte;
    chunkLines = 0;
  };
  try {
    for (let n = fs.readSync(fd, block, 0, READ_BLOCK, position); n > 0; n = fs.readSync(fd, block, 0, READ_BLOCK, position)) {
      let at = block.indexOf(0x0a, 0);
      while (at >= 0 && at < n) {
        chunkLines++;
        if (chunkLines === linesPerChunk) close(position + at + 1);
        at = block.indexOf(0x0a, at + 1);
      }
      position += n;
      lastByte = block[n - 1];
    }
  } finally {
    fs.closeSync(fd);
  }
  if (position !== stat.size) throw new Error(`${file} changed while it was being split (${position} bytes read, ${stat.size} expected)`);
  if (position > chunkStart) {
    if (lastByte !== 0x0a) chunkLines++; // a last line without '\n'
    close(position);
  }
  return chunks;
}

/**
 * The lines of one chunk (without '\n' or a trailing '\r'), decoded as
 * readLineBatches decodes them. Throws when the file is not the one the chunk
 * was cut from (size or mtime) or the chunk does not hold its line count.
 */
export async function readChunkLines(chunk: LineChunk): Promise<{ lines: string[]; replacedSequences: number; linesWithReplacements: number }> {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(chunk.file);
  } catch {
    throw new Error(`${chunk.file} not found on this worker (workers need the same path on shared storage)`);
  }
  if (stat.size !== chunk.fileSize || stat.mtimeMs !== chunk.fileMtimeMs) {
    throw new Error(
      `${chunk.file} on this worker is not the file that was split (size ${stat.size} vs ${chunk.fileSize}, mtime ${stat.mtimeMs} vs ${chunk.fileMtimeMs}); ` +
        'was it changed during the run, or is it another copy?',
    );
  }
  const bytes = Buffer.alloc(chunk.endByte - chunk.startByte);
  const fd = fs.openSync(chunk.file, 'r');
  try {
    let done = 0;
    while (done < bytes.length) {
      const n = fs.readSync(fd, bytes, done, bytes.length - done, chunk.startByte + done);
      if (n === 0) break;
      done += n;
    }
    if (done !== bytes.length) throw new Error(`${chunk.file}: short read of chunk ${chunk.index} (${done} of ${bytes.length} bytes)`);
  } finally {
    fs.closeSync(fd);
  }
  const stats = { lines: 0, replacedSequences: 0, linesWithReplacements: 0 };
  const lines: string[] = [];
  const source = (async function* () {
    yield bytes;
  })();
  for await (const batch of readLineBatches(source, Math.max(1, chunk.lines), stats)) lines.push(...batch);
  if (lines.length !== chunk.lines) {
    throw new Error(`${chunk.file}: chunk ${chunk.index} (lines ${chunk.firstLine}..) holds ${lines.length} lines, expected ${chunk.lines}`);
  }
  return { lines, replacedSequences: stats.replacedSequences, linesWithReplacements: stats.linesWithReplacements };
}
