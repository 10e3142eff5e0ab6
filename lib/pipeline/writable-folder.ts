/**
 * Where a run writes ([model] dir) must be a real, writable filesystem. Under /proc a training run
 * hung forever instead of failing; on a read-only or permission-denied folder it failed late,
 * after the data and the teacher. So the folder (or, when it does not exist yet, its nearest
 * existing parent) is checked before anything is written, with an error naming the key.
 */
import * as fs from 'fs';
import * as path from 'path';

/** statfs(2) f_type magic numbers of Linux pseudo filesystems (linux/magic.h). */
const PSEUDO_FILESYSTEMS = new Map<number, string>([
  [0x9fa0, 'proc'],
  [0x62656572, 'sysfs'],
  [0x1cd1, 'devpts'],
  [0x64626720, 'debugfs'],
  [0x74726163, 'tracefs'],
  [0x27e0eb, 'cgroup'],
  [0x63677270, 'cgroup2'],
  [0x73636673, 'securityfs'],
  [0xf97cff8c, 'selinuxfs'],
  [0x6e736673, 'nsfs'],
  [0xcafe4a11, 'bpf'],
  [0x42494e4d, 'binfmt_misc'],
  [0x19800202, 'mqueue'],
  [0x50495045, 'pipefs'],
  [0x958458f6, 'hugetlbfs'],
]);

/** The pseudo filesystem `dir` is on ('proc', ...), or undefined for a real one (or where statfs is missing). */
export function pseudoFilesystem(dir: string): string | undefined {
  if (typeof fs.statfsSync !== 'function') return undefined;
  return PSEUDO_FILESYSTEMS.get(fs.statfsSync(dir).type);
}

/**
 * Throws unless `dir` can hold a run: `what` names where it came from (e.g. "config.ini: [model]
 * dir"). The folder need not exist yet; its nearest existing parent is checked then.
 */
export function checkWritableFolder(dir: string, what: string): void {
  let existing = path.resolve(dir);
  while (!fs.existsSync(existing) && path.dirname(existing) !== existing) existing = path.dirname(existing);
  const named = existing === path.resolve(dir) ? dir : `${dir} (its parent ${existing})`;
  if (!fs.statSync(existing).isDirectory()) throw new Error(`${what} ${named} is not a folder`);
  const pseudo = pseudoFilesystem(existing);
  if (pseudo !== undefined) throw new Error(`${what} ${named} is on the ${pseudo} pseudo filesystem, which cannot hold files; choose a folder on a disk`);
  try {
    fs.accessSync(existing, fs.constants.W_OK);
  } catch {
    throw new Error(`${what} ${named} is not writable`);
  }
}
