/**
 * Atomic replacement of a model folder for concurrent readers (a server reloading the model while
 * a retrain writes it, a kill at any moment of the retrain).
 *
 * Layout (as Kubernetes mounts a ConfigMap):
 *
 *   model/textcnn/
 *     .gen-<id>/             one complete generation: config.json, weights.safetensors, vocab.txt, class_id.txt
 *     .current -> .gen-<id>  the generation being served (a relative symlink)
 *     config.json -> .current/config.json     (and the same for the other three files)
 *
 * A save writes a new .gen-<id> folder completely (fsync), then points .current at it with ONE
 * rename of a new symlink over the old one: atomic, so every reader sees either the old or the
 * new generation, and a kill at any point leaves a loadable model. Readers resolve config.json's
 * real path ONCE (resolveGeneration) and read every file from that generation folder, so a load
 * never pairs a new config.json with old weights. After each successful save everything else in
 * the folder is removed (generations other than the new and the previous one, which a reader may
 * still be reading; the temp links and generations of killed saves; files of an older layout).
 *
 * The file names stay where tools expect them (model/textcnn/config.json), and a copy made with
 * `cp -r` holds its own generations (the symlinks are relative). A folder written by an older
 * version (plain files) is converted on its next save.
 */
import * as fs from 'fs';
import * as path from 'path';

const CURRENT = '.current';
const GENERATION_PREFIX = '.gen-';
const TEMP_LINK_PREFIX = '.link-';

/** The folder holding the files of the generation `dir` serves now (dir itself for a plain folder). */
export function resolveGeneration(dir: string, anyFile: string): string {
  // One realpath resolves .current once: every later read uses the folder it returned.
  return path.dirname(fs.realpathSync(path.join(dir, anyFile)));
}

/**
 * Runs `load` (which resolves and reads a generation of `dir`) again when it failed because the
 * generation it read was removed meanwhile: a burst of saves can retire a generation while a slow
 * reader is still opening its files. Any other failure, or a tenth one, is thrown as is.
 */
export async function retryIfReplaced<T>(dir: string, anyFile: string, load: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    let generation: string | undefined;
    try {
      generation = resolveGeneration(dir, anyFile);
    } catch {
      generation = undefined; // missing, or retired while resolving: load() reports or retries
    }
    try {
      return await load();
    } catch (err) {
      // Retry only when the folder now serves another generation than when this attempt began
      // (checking that the old one still exists is not enough: it may be half deleted).
      let now: string | undefined;
      try {
        now = resolveGeneration(dir, anyFile);
      } catch {
        now = undefined;
      }
      const replaced = now !== undefined && now !== generation;
      if (!replaced || attempt >= 10) throw err;
    }
  }
}

/**
 * Saves one generation of the model folder `dir`: `fill` writes every file into the new
 * generation folder, which is then published with the one atomic swap. A failure removes the
 * half-written generation and leaves the one being served as it was. Returns dir's absolute path.
 */
export function writeGeneration(dir: string, files: readonly string[], fill: (generation: string) => void): string {
  const target = path.resolve(dir);
  if (fs.existsSync(target) && !fs.statSync(target).isDirectory()) throw new Error(`cannot save model folder: ${target} exists and is not a folder`);
  const generation = newGeneration(target);
  try {
    fill(generation);
    fsyncDir(generation);
    publishGeneration(target, generation, files);
  } catch (err) {
    discardGeneration(generation);
    throw err;
  }
  removeLegacyLeftovers(target);
  return target;
}

/** Earlier versions saved through sibling .<name>.tmp-* / .<name>.old-* folders; a kill could leave them. */
function removeLegacyLeftovers(target: string): void {
  const parent = path.dirname(target);
  const prefixes = [`.${path.basename(target)}.tmp-`, `.${path.basename(target)}.old-`];
  for (const entry of fs.readdirSync(parent)) {
    if (prefixes.some((p) => entry.startsWith(p))) fs.rmSync(path.join(parent, entry), { recursive: true, force: true });
  }
}

/** A new, empty generation folder inside `dir` (created with `dir` when needed). */
function newGeneration(dir: string): string {
  fs.mkdirSync(dir, { recursive: true });
  const unique = `${Date.now().toString(36)}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  const generation = path.join(dir, `${GENERATION_PREFIX}${unique}`);
  fs.mkdirSync(generation);
  return generation;
}

/**
 * Makes `generation` (a complete folder from newGeneration) the one `dir` serves, then removes
 * what older saves left behind. `files` are the names readers open (config.json, ...).
 */
function publishGeneration(dir: string, generation: string, files: readonly string[]): void {
  const previous = currentGeneration(dir);
  replaceWithSymlink(path.join(dir, CURRENT), path.basename(generation));
  // Each name -> .current/<name>; made once (or when converting a plain folder) and never changed.
  for (const file of files) {
    const link = path.join(dir, file);
    const target = path.join(CURRENT, file);
    if (readLinkOrNull(link) !== target) replaceWithSymlink(link, target);
  }
  fsyncDir(dir);
  // Anything else in the folder goes, as when a save replaced the whole folder: other
  // generations (killed saves), temp links, files an older model had.
  const keep = new Set([CURRENT, path.basename(generation), ...files, ...(previous !== undefined ? [previous] : [])]);
  for (const entry of fs.readdirSync(dir)) {
    if (!keep.has(entry)) fs.rmSync(path.join(dir, entry), { recursive: true, force: true });
  }
}

/** Removes a generation that was never published (a failed save). */
function discardGeneration(generation: string): void {
  fs.rmSync(generation, { recursive: true, force: true });
}

function currentGeneration(dir: string): string | undefined {
  return readLinkOrNull(path.join(dir, CURRENT)) ?? undefined;
}

function readLinkOrNull(file: string): string | null {
  try {
    return fs.readlinkSync(file);
  } catch {
    return null;
  }
}

/** Points `file` at `target` with one rename of a new symlink over it (atomic for readers). */
function replaceWithSymlink(file: string, target: string): void {
  const temp = path.join(path.dirname(file), `${TEMP_LINK_PREFIX}${process.pid}-${Math.random().toString(36).slice(2, 8)}`);
  fs.symlinkSync(target, temp);
  try {
    fs.renameSync(temp, file);
  } catch (err) {
    fs.rmSync(temp, { force: true });
    throw err;
  }
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
