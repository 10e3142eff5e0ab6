/**
 * Run names: the uniqid of a run (default, `${time}` or a safe folder name)
 * and the folder it lives in.
 */
import * as path from 'path';

import type { Config } from './types';

/** The uniqid that `${time}` stands for. */
export const TIME_UNIQID = '${time}';

/**
 * The name of a run: absent -> "default"; the literal "${time}" -> the local
 * date as YYYYMMDD; anything else as given, as long as it is one safe folder
 * name (no "/" or "\", not "." or "..", not empty, no control characters).
 */
export function resolveUniqid(arg?: string, now: Date = new Date()): string {
  if (arg === undefined) return 'default';
  if (typeof arg !== 'string') throw new TypeError(`Expected a string for uniqid but received ${typeof arg}`);
  if (arg === TIME_UNIQID) {
    const pad = (n: number) => String(n).padStart(2, '0');
    return `${now.getFullYear()}${pad(now.getMonth() + 1)}${pad(now.getDate())}`;
  }
  if (arg.trim() === '') {
    throw new Error(
      `uniqid is empty; give a run name, leave it out for "default", or pass '\${time}' in single quotes ` +
        `(unquoted, the shell replaces \${time} with nothing)`,
    );
  }
  if (arg.includes('/') || arg.includes('\\')) {
    throw new Error(`uniqid ${JSON.stringify(arg)} contains a path separator; it must be a single folder name`);
  }
  if (arg === '.' || arg === '..') throw new Error(`uniqid ${JSON.stringify(arg)} is not allowed; it must name a folder of its own`);
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(arg)) throw new Error(`uniqid ${JSON.stringify(arg)} contains a control character`);
  return arg;
}

/** The folder of a run: `<model.dir>/<uniqid>` (absolute). */
export function runDir(config: Config, uniqid: string): string {
  if (resolveUniqid(uniqid) !== uniqid || uniqid === TIME_UNIQID) {
    throw new Error(`runDir() takes a resolved uniqid (from resolveUniqid), got ${JSON.stringify(uniqid)}`);
  }
  return path.join(config.model.dir, uniqid);
}
