/**
 * The line scanner: splits a config text into sections of raw `key = value`
 * entries with their line numbers, reporting structural problems (unknown or
 * repeated sections and keys, lines that are neither). Why the lines are
 * scanned here rather than by ini.decode(): see parse.ts.
 */
import * as ini from 'ini';

import type { ConfigProblem } from './errors';
import { CONFIG_SCHEMA } from './schema';
import { suggestKey, suggestSection } from './suggest';

/** One `key = value` of the file, with where it came from. */
export interface RawEntry {
  value: string;
  line: number;
}

export interface RawSection {
  line: number;
  entries: Map<string, RawEntry>;
}

// The two patterns ini.decode() uses (ini 5), so a line means the same to both.
const SECTION_LINE = /^\[([^\]]*)\]\s*$/;
const KEY_LINE = /^([^=]+)=(.*)$/;
const COMMENT_LINE = /^\s*[;#]/;

/** Splits the text into sections of raw entries; structural problems go to `problems`. */
export function scanLines(text: string, problems: ConfigProblem[]): Map<string, RawSection> {
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1); // a byte-order mark is not part of line 1
  const sections = new Map<string, RawSection>();
  let current: { name: string; section: RawSection | null } | null = null;
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    const line = lines[i].endsWith('\r') ? lines[i].slice(0, -1) : lines[i];
    if (line.trim() === '' || COMMENT_LINE.test(line)) continue;

    const header = SECTION_LINE.exec(line);
    if (header) {
      const name = ini.unsafe(header[1]);
      const earlier = sections.get(name);
      if (earlier) {
        problems.push({
          line: lineNo,
          section: name,
          message: `section [${name}] appears a second time (first on line ${earlier.line}); put all its keys under one header`,
        });
        current = { name, section: null }; // keys below are still checked, but not kept
        continue;
      }
      if (!(name in CONFIG_SCHEMA)) {
        problems.push({ line: lineNo, section: name, message: `unknown section [${name}]${suggestSection(name)}` });
        current = { name, section: null };
        continue;
      }
      const section: RawSection = { line: lineNo, entries: new Map() };
      sections.set(name, section);
      current = { name, section };
      continue;
    }

    const keyLine = KEY_LINE.exec(line);
    if (!keyLine) {
      const hint = line.trimStart().startsWith('[')
        ? ' (a section header must start at the beginning of the line and have nothing after "]"; comments go on their own line)'
        : '';
      problems.push({ line: lineNo, message: `expected "key = value" or "[section]", got ${JSON.stringify(line.trim())}${hint}` });
      continue;
    }
    const key = ini.unsafe(keyLine[1]);
    const value = ini.unsafe(keyLine[2]);
    if (current === null) {
      problems.push({ line: lineNo, key, message: `key "${key}" comes before any [section] header` });
      continue;
    }
    if (current.section === null) continue; // inside an unknown or repeated section: already reported
    const known = CONFIG_SCHEMA[current.name];
    if (!(key in known)) {
      problems.push({ line: lineNo, section: current.name, key, message: `unknown key "${key}" in [${current.name}]${suggestKey(current.name, key)}` });
      continue;
    }
    const earlier = current.section.entries.get(key);
    if (earlier) {
      problems.push({
        line: lineNo,
        section: current.name,
        key,
        message: `duplicate key "${key}" in [${current.name}] (first set on line ${earlier.line})`,
      });
      continue;
    }
    current.section.entries.set(key, { value, line: lineNo });
  }
  return sections;
}

/**
 * The raw `key = value` entries of a config text, in file order, with their
 * lines, before any typing (for tools and for tests comparing with ini.decode).
 * Problems of structure (unknown or duplicate keys, bad lines) are returned, not thrown.
 */
export function readConfigEntries(text: string): {
  entries: { section: string; key: string; value: string; line: number }[];
  problems: ConfigProblem[];
} {
  const problems: ConfigProblem[] = [];
  const entries: { section: string; key: string; value: string; line: number }[] = [];
  for (const [section, raw] of scanLines(text, problems)) {
    for (const [key, { value, line }] of raw.entries) entries.push({ section, key, value, line });
  }
  entries.sort((a, b) => a.line - b.line);
  return { entries, problems };
}
