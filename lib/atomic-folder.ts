/**
 * Writes a folder atomically: `fill` writes every file into a sibling temporary folder, which
 * is then renamed into place (an old folder is first moved aside and deleted only after the new
 * one is in place). A reader never sees a half-written folder, and a failure leaves the old
 * folder as it was. (The same steps as saveModelFolder in lib/model-folder.ts.)
 */
import * as fs from 'fs';
import * as path from 'path';

export function writeFolderAtomic(dir: string, fill: (tempDir: string) => void): string {
  const target = path.resolve(dir);
  const parent = path.dirname(target);
  fs.mkdirSync(parent, { recursive: true });
  const unique = `${process.pid}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
  const temp = path.join(parent, `.${path.basename(target)}.tmp-${unique}`);
  const aside = path.join(parent, `.${path.basename(target)}.old-${unique}`);
  fs.mkdirSync(temp);
  try {
    fill(temp);
    fsyncDir(temp);
    let movedAside = false;
    if (fs.existsSync(target)) {
      if (!fs.statSync(target).isDirectory()) throw new Error(`cannot write folder: ${target} exists and is not a folder`);
      fs.renameSync(target, aside);
      movedAside = true;
    }
    try {
      fs.renameSync(temp, target);
    } catch (err) {
      if (movedAside) fs.renameSync(aside, target); // put the old folder back
      throw err;
    }
    fsyncDir(parent);
    if (movedAside) fs.rmSync(aside, { recursive: true, force: true });
  } catch (err) {
    fs.rmSync(temp, { recursive: true, force: true });
    throw err;
  }
  return target;
}

/** Makes renames inside `dir` durable (best effort: not every platform can open a folder). */
function fsyncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = fs.openSync(dir, 'r');
    fs.fsyncSync(fd);
  } catch {
    // Windows cannot fsync a directory; the rename is still atomic.
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}
