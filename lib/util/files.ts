/**
 * File helpers every layer uses: a file's sha256 (the identity of weights and
 * data files in fingerprints, caches and run records) and an atomic write
 * (temp file in the same folder, then rename), so a reader never sees half a
 * file and a crash never leaves one behind. One copy here instead of one per
 * module.
 */
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';

/** sha256 of a UTF-8 string, hex. */
export function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/** sha256 of a file's bytes, hex (the teacher's identity from its weights file; data files). Read in 1 MB blocks: a pool may not fit in memory. */
export function fileSha256(file: string): string {
  const hash = createHash('sha256');
  const block = Buffer.allocUnsafe(1 << 20);
  const fd = fs.openSync(file, 'r');
  try {
    for (let n = fs.readSync(fd, block, 0, block.length, null); n > 0; n = fs.readSync(fd, block, 0, block.length, null)) hash.update(block.subarray(0, n));
  } finally {
    fs.closeSync(fd);
  }
  return hash.digest('hex');
}

/**
 * Writes `data` to `target` through a temp file in the same folder (created if
 * needed) and a rename; the temp file is removed when anything fails. Returns `target`.
 */
export function writeFileAtomic(target: string, data: string | Uint8Array): string {
  fs.mkdirSync(path.dirname(target), { recursive: true });
  const temp = path.join(path.dirname(target), `.${path.basename(target)}.tmp-${process.pid}-${Math.random().toString(36).slice(2, 8)}`);
  try {
    fs.writeFileSync(temp, data);
    fs.renameSync(temp, target);
  } catch (err) {
    fs.rmSync(temp, { force: true });
    throw err;
  }
  return target;
}
