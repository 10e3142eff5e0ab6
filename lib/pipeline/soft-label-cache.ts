/**
 * The soft-label cache: the teacher's logits per text, kept in the run folder so
 * that a rerun of distillation (same teacher) never scores a text twice, and so
 * that a scoring run killed half-way resumes where it stopped.
 *
 * File format (UTF-8 text, append-only, one record a line):
 *
 *   line 1   a JSON header:
 *            {"format":"model-distill-soft-labels","version":1,"teacher":"<id>","numClasses":C}
 *            <id> is the teacher's identity: the sha256 of its weights file.
 *   then     one record per scored text:
 *            "<sha256 of the text's UTF-8 bytes, 64 hex digits> <base64 of C float32 logits, little-endian>\n"
 *
 * Records are appended in chunks (one write and one fsync per chunk). A record
 * counts only when its line is complete: 64 hex digits, a space, base64 that
 * decodes to exactly 4*C bytes, and the final "\n". On open the file is read
 * from the start; at the first line that is not a complete record (a write torn
 * by a kill) the file is truncated back to the end of the last good record, so
 * nothing half-written is ever read and appending continues cleanly.
 * A header naming another teacher (or class count), or a damaged header, means
 * the file belongs to something else: it is started anew (the open result says so).
 */
import { createHash } from 'crypto';
import * as fs from 'fs';

import { writeFileAtomic } from '../util/files';

export const SOFT_LABEL_FORMAT = 'model-distill-soft-labels';
export const SOFT_LABEL_VERSION = 1;

/** sha256 of a text's UTF-8 bytes, hex: the cache key. */
export function textKey(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

export interface CacheOpenReport {
  /** Records read back from an existing file. */
  loaded: number;
  /** Bytes of a torn last record that were cut off. */
  droppedBytes: number;
  /** Why an existing file was started anew (other teacher, bad header), or null. */
  restarted: string | null;
}

const RECORD_HEX = /^[0-9a-f]{64}$/;

export class SoftLabelCache {
  readonly file: string;
  readonly teacher: string;
  readonly numClasses: number;
  readonly openReport: CacheOpenReport;
  /** key -> row in `store`. */
  private readonly index = new Map<string, number>();
  private store: Float32Array;
  private count = 0;
  private fd: number;

  private constructor(file: string, teacher: string, numClasses: number) {
    this.file = file;
    this.teacher = teacher;
    this.numClasses = numClasses;
    this.store = new Float32Array(1024 * numClasses);
    this.openReport = { loaded: 0, droppedBytes: 0, restarted: null };
    this.fd = -1;
  }

  /** Opens (or creates) the cache of `teacher` at `file`, reading back every complete record. */
  static open(file: string, teacher: string, numClasses: number): SoftLabelCache {
    const cache = new SoftLabelCache(file, teacher, numClasses);
    const header = JSON.stringify({ format: SOFT_LABEL_FORMAT, version: SOFT_LABEL_VERSION, teacher, numClasses }) + '\n';
    let goodEnd = 0;
    let size = 0;
    if (fs.existsSync(file)) {
      const bytes = fs.readFileSync(file);
      size = bytes.length;
      const firstNewline = bytes.indexOf(0x0a);
      const existingHeader = firstNewline < 0 ? null : bytes.subarray(0, firstNewline + 1).toString('utf8');
      if (existingHeader !== header) {
        cache.openReport.restarted = describeHeaderMismatch(existingHeader, teacher, numClasses);
      } else {
        goodEnd = firstNewline + 1;
        const recordBytes = 64 + 1 + Math.ceil((4 * numClasses) / 3) * 4 + 1;
        while (goodEnd < bytes.length) {
          const end = bytes.indexOf(0x0a, goodEnd);
          if (end < 0 || end + 1 - goodEnd !== recordBytes) break; // torn (no newline) or malformed
          const line = bytes.subarray(goodEnd, end).toString('latin1');
          const key = line.slice(0, 64);
          if (!RECORD_HEX.test(key) || line[64] !== ' ') break;
          const raw = Buffer.from(line.slice(65), 'base64');
          if (raw.length !== 4 * numClasses || raw.toString('base64') !== line.slice(65)) break;
          const logits = new Float32Array(numClasses);
          for (let c = 0; c < numClasses; c++) logits[c] = raw.readFloatLE(4 * c);
          cache.put(key, logits);
          goodEnd = end + 1;
        }
        cache.openReport.loaded = cache.count;
        cache.openReport.droppedBytes = bytes.length - goodEnd;
      }
    }
    if (goodEnd === 0) {
      // New file, or another teacher's: write the header through a temp file and a rename.
      writeFileAtomic(file, header);
    } else if (goodEnd < size) {
      fs.truncateSync(file, goodEnd);
    }
    cache.fd = fs.openSync(file, 'a');
    return cache;
  }

  get size(): number {
    return this.count;
  }

  has(key: string): boolean {
    return this.index.has(key);
  }

  /** Copies the logits of `key` into out[offset .. offset + C); false when the key is not cached. */
  copyTo(key: string, out: Float32Array, offset: number): boolean {
    const row = this.index.get(key);
    if (row === undefined) return false;
    const C = this.numClasses;
    out.set(this.store.subarray(row * C, row * C + C), offset);
    return true;
  }

  /** Appends one chunk of records to the file (one write + fsync) and to the in-memory index. */
  append(keys: readonly string[], logits: Float32Array): void {
    const C = this.numClasses;
    if (logits.length !== keys.length * C) throw new RangeError(`append: ${keys.length} keys but ${logits.length} logits (C = ${C})`);
    const lines: string[] = [];
    for (let i = 0; i < keys.length; i++) {
      if (this.index.has(keys[i])) continue;
      const row = logits.subarray(i * C, i * C + C);
      const raw = Buffer.alloc(4 * C);
      for (let c = 0; c < C; c++) raw.writeFloatLE(row[c], 4 * c);
      lines.push(`${keys[i]} ${raw.toString('base64')}\n`);
      this.put(keys[i], Float32Array.from(row));
    }
    if (lines.length === 0) return;
    fs.writeSync(this.fd, lines.join(''));
    fs.fsyncSync(this.fd);
  }

  close(): void {
    if (this.fd >= 0) fs.closeSync(this.fd);
    this.fd = -1;
  }

  private put(key: string, logits: Float32Array): void {
    if (this.index.has(key)) return;
    const C = this.numClasses;
    if ((this.count + 1) * C > this.store.length) {
      const bigger = new Float32Array(this.store.length * 2);
      bigger.set(this.store);
      this.store = bigger;
    }
    this.store.set(logits, this.count * C);
    this.index.set(key, this.count);
    this.count++;
  }
}

function describeHeaderMismatch(existing: string | null, teacher: string, numClasses: number): string {
  if (existing === null) return 'the existing file had no complete header';
  try {
    const h = JSON.parse(existing) as { format?: unknown; teacher?: unknown; numClasses?: unknown };
    if (h.format !== SOFT_LABEL_FORMAT) return `the existing file is not a soft-label cache (format ${JSON.stringify(h.format)})`;
    if (h.teacher !== teacher) return `the existing file holds another teacher's logits (${String(h.teacher).slice(0, 12)}…, now ${teacher.slice(0, 12)}…)`;
    if (h.numClasses !== numClasses) return `the existing file has ${String(h.numClasses)} classes, now ${numClasses}`;
    return 'the existing file has another format version';
  } catch {
    return 'the existing file had a damaged header';
  }
}
