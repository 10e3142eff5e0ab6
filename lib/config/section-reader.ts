/**
 * Reads the typed values of one config section (int, number, bool, enum,
 * lists, paths, URLs) against the schema, collecting problems with their
 * lines instead of stopping at the first.
 */
import * as fs from 'fs';
import * as path from 'path';

import type { ConfigProblem } from './errors';
import { CONFIG_SCHEMA, type KeySpec } from './schema';
import type { RawEntry, RawSection } from './scan';

const INTEGER = /^[+-]?\d+$/;
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const TRUE_WORDS = ['true', 'yes', 'on', '1'];
const FALSE_WORDS = ['false', 'no', 'off', '0'];

/**
 * Reads the typed values of one section, collecting problems. Each getter
 * returns the value from the file, or the schema default, and records the line.
 */
export class SectionReader {
  constructor(
    private readonly name: string,
    private readonly raw: RawSection | undefined,
    private readonly baseDir: string,
    private readonly problems: ConfigProblem[],
    private readonly lines: Record<string, number>,
  ) {}

  private spec<T extends KeySpec['type']>(key: string, type: T): Extract<KeySpec, { type: T }> {
    const spec = CONFIG_SCHEMA[this.name][key];
    if (!spec || spec.type !== type) throw new Error(`internal: [${this.name}] ${key} is not a ${type} key`);
    return spec as Extract<KeySpec, { type: T }>;
  }

  /** The raw text of a key set in the file, or undefined. */
  entry(key: string): RawEntry | undefined {
    const e = this.raw?.entries.get(key);
    if (e) this.lines[`${this.name}.${key}`] = e.line;
    return e;
  }

  has(key: string): boolean {
    return this.raw?.entries.has(key) ?? false;
  }

  lineOf(key: string): number | undefined {
    return this.raw?.entries.get(key)?.line;
  }

  problem(key: string, message: string): void {
    // "…: problem" reads better glued to the key; "must be …" and "= x needs …" after a space.
    const sep = message.startsWith(':') ? '' : ' ';
    this.problems.push({ line: this.lineOf(key), section: this.name, key, message: `[${this.name}] ${key}${sep}${message}` });
  }

  int(key: string): number | null {
    const spec = this.spec(key, 'int');
    const e = this.entry(key);
    if (!e) return spec.default;
    const value = INTEGER.test(e.value) ? Number(e.value) : NaN;
    // Large maxima are sanity limits, not part of what the key means: name them only when hit.
    const bounded = spec.max !== undefined && spec.max < 100000;
    const kind = bounded
      ? `an integer from ${spec.min} to ${spec.max}`
      : spec.min === 1
        ? 'a positive integer'
        : spec.min === 0
          ? 'a non-negative integer'
          : `an integer >= ${spec.min}`;
    if (!Number.isSafeInteger(value) || value < spec.min) {
      this.problem(key, `must be ${kind}, got ${JSON.stringify(e.value)}`);
      return spec.default;
    }
    if (spec.max !== undefined && value > spec.max) {
      this.problem(key, `must be at most ${spec.max}, got ${JSON.stringify(e.value)}`);
      return spec.default;
    }
    return value;
  }

  number(key: string): number | null {
    const spec = this.spec(key, 'number');
    const e = this.entry(key);
    if (!e) return spec.default;
    const value = DECIMAL.test(e.value) ? Number(e.value) : NaN;
    const low = `${spec.minExclusive ? '>' : '>='} ${spec.min}`;
    const lowBracket = spec.minExclusive ? '(' : '[';
    const range =
      spec.max === undefined ? `a number ${low}` : `a number in ${lowBracket}${spec.min}, ${spec.max}${spec.maxExclusive ? ')' : ']'}`;
    const tooLow = spec.minExclusive ? value <= spec.min : value < spec.min;
    const tooHigh = spec.max !== undefined && (spec.maxExclusive ? value >= spec.max : value > spec.max);
    if (!Number.isFinite(value) || tooLow || tooHigh) {
      this.problem(key, `must be ${range}, got ${JSON.stringify(e.value)}`);
      return spec.default;
    }
    return value;
  }

  bool(key: string): boolean | null {
    const spec = this.spec(key, 'bool');
    const e = this.entry(key);
    if (!e) return spec.default;
    const word = e.value.toLowerCase();
    if (TRUE_WORDS.includes(word)) return true;
    if (FALSE_WORDS.includes(word)) return false;
    this.problem(key, `must be true/false, yes/no, on/off or 1/0, got ${JSON.stringify(e.value)}`);
    return spec.default;
  }

  enumValue<T extends string>(key: string): T {
    const spec = this.spec(key, 'enum');
    const e = this.entry(key);
    if (!e) return spec.default as T;
    if (spec.values.includes(e.value)) return e.value as T;
    this.problem(key, `must be one of ${spec.values.join(', ')}, got ${JSON.stringify(e.value)}`);
    return spec.default as T;
  }

  intList(key: string): number[] {
    const spec = this.spec(key, 'int-list');
    const e = this.entry(key);
    if (!e) return spec.default.slice();
    const parts = e.value.split(',').map((s) => s.trim());
    const values = parts.map((s) => (INTEGER.test(s) ? Number(s) : NaN));
    if (values.length === 0 || values.some((v) => !Number.isSafeInteger(v) || v < 1)) {
      this.problem(key, `must be a comma-separated list of positive integers, got ${JSON.stringify(e.value)}`);
      return spec.default.slice();
    }
    const repeated = values.find((v, i) => values.indexOf(v) !== i);
    if (repeated !== undefined) {
      this.problem(key, `must list each value at most once, got ${JSON.stringify(e.value)}: ${repeated} repeated`);
      return spec.default.slice();
    }
    return values;
  }

  enumList<T extends string>(key: string): T[] {
    const spec = this.spec(key, 'enum-list');
    const e = this.entry(key);
    if (!e) return spec.default.slice() as T[];
    if (spec.none === true && e.value.trim() === 'none') return [];
    const parts = e.value.split(',').map((s) => s.trim());
    const bad = parts.filter((p) => !spec.values.includes(p));
    const repeated = spec.repeats === true ? [] : parts.filter((p, i) => parts.indexOf(p) !== i);
    if (e.value.trim() === '' || bad.length > 0 || repeated.length > 0) {
      const why =
        e.value.trim() === '' ? 'empty' : bad.length > 0 ? `unknown ${bad.map((b) => JSON.stringify(b)).join(', ')}` : repeated.length > 0 ? `${JSON.stringify(repeated[0])} repeated` : 'empty';
      const each = spec.repeats === true ? '' : ' (each at most once)';
      const orNone = spec.none === true ? ', or none' : '';
      this.problem(key, `must be a comma-separated list of ${spec.values.join(', ')}${each}${orNone}, got ${JSON.stringify(e.value)}: ${why}`);
      return spec.default.slice() as T[];
    }
    return parts as T[];
  }

  /** Comma-separated paths, each absolute (relative ones resolve against the config's folder); [] when unset or none. */
  pathList(key: string): string[] {
    this.spec(key, 'path-list');
    const e = this.entry(key);
    if (!e || e.value.trim() === 'none') return [];
    const parts = e.value.split(',').map((s) => s.trim());
    if (parts.some((p) => p === '')) {
      this.problem(key, `must be a comma-separated list of paths (or none), got ${JSON.stringify(e.value)}: an empty entry`);
      return [];
    }
    return parts.map((p) => path.resolve(this.baseDir, p));
  }

  /** A redis:// or rediss:// URL (checked in full where it is used, lib/queue/connection.ts), or null when unset. */
  url(key: string): string | null {
    this.spec(key, 'url');
    const e = this.entry(key);
    if (!e || e.value === '') return null;
    if (!/^rediss?:\/\/\S+$/.test(e.value)) {
      this.problem(key, `must be a Redis URL like redis://HOST:PORT, got ${JSON.stringify(e.value)}`);
      return null;
    }
    return e.value;
  }

  /** An absolute path (relative ones resolve against the config's folder), or null when unset or empty. */
  path(key: string): string | null {
    const spec = this.spec(key, 'path');
    const e = this.entry(key);
    if (!e || e.value === '') {
      if (spec.required) {
        this.problems.push({
          line: e?.line,
          section: this.name,
          key,
          message: e
            ? `[${this.name}] ${key} must be a path, got an empty value`
            : `[${this.name}] is missing required key "${key}" (${spec.doc})${this.raw ? ` — section starts on line ${this.raw.line}` : ''}`,
        });
      }
      return null;
    }
    return path.resolve(this.baseDir, e.value);
  }

  /** Reports a problem when the path set for `key` is not an existing file (or folder, when `folder`). */
  checkExists(key: string, p: string | null, what: 'file' | 'folder' = 'file'): void {
    if (p === null) return;
    let stat: fs.Stats | null;
    try {
      stat = fs.statSync(p);
    } catch {
      stat = null;
    }
    if (stat === null) this.problem(key, `${what} not found: ${p}`);
    else if (what === 'file' && !stat.isFile()) this.problem(key, `is not a file: ${p}`);
    else if (what === 'folder' && !stat.isDirectory()) this.problem(key, `is not a folder: ${p}`);
  }
}
