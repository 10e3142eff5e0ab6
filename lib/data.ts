/**
 * Reading the data files a config names: labelled TSV, class ids, the
 * unlabelled pool (in memory, or streamed when it is larger than memory).
 *
 * Rule: no row disappears silently. A labelled row that cannot be used (no tab,
 * empty text, unknown label) is either an error that lists the first few with
 * their line numbers and gives the total, or, with `onBadRow: 'skip'`, skipped
 * and returned (count and line numbers) so the caller reports it. Line numbers
 * are 1-based and count every line of the file, so they match an editor's.
 */
import * as fs from 'fs';

import { readLineBatches, type LineStats } from './line-batches';
import { decodeUtf8 } from './utf8';

/** How many bad rows an error message lists before "... and N more". */
const SHOWN_IN_ERRORS = 5;

export interface ClassIds {
  /** labels[id] = the class name of id. */
  labels: string[];
  /** The id of each class name. */
  idOf: Map<string, number>;
}

/** Builds ClassIds from names in id order. */
export function classIdsFromLabels(labels: readonly string[]): ClassIds {
  const idOf = new Map<string, number>();
  labels.forEach((label, id) => {
    if (idOf.has(label)) throw new Error(`class ${JSON.stringify(label)} is given twice (ids ${idOf.get(label)} and ${id})`);
    idOf.set(label, id);
  });
  return { labels: labels.slice(), idOf };
}

function readText(path: string, what: string): string {
  if (typeof path !== 'string' || path.length === 0) {
    throw new TypeError(`Expected a non-empty string for ${what} path but received ${JSON.stringify(path)}`);
  }
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new Error(`${what} file not found at ${path}`);
    if (code === 'EISDIR') throw new Error(`${what} path ${path} is a directory, expected a file`);
    throw new Error(`cannot read ${what} file ${path}: ${(err as Error).message}`);
  }
  const { text, replaced } = decodeUtf8(bytes);
  if (replaced > 0) {
    // Find the first damaged line so the user can look at it.
    const line = text.slice(0, text.indexOf('\uFFFD')).split('\n').length;
    throw new Error(`${path}:${line}: not valid UTF-8 (${replaced} invalid byte sequence(s) in the file); save it as UTF-8`);
  }
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

/** The lines of a text: no '\n', no trailing '\r'; a final newline does not start a line. */
function splitLines(text: string): string[] {
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i];
    if (l.length > 0 && l.charCodeAt(l.length - 1) === 13) lines[i] = l.slice(0, -1);
  }
  return lines;
}

// ---------------------------------------------------------------------------
// class_id.txt
// ---------------------------------------------------------------------------

/**
 * Reads `label<TAB>id` lines. Ids must be the integers 0..C-1, each once, and
 * labels unique; at least two classes. Errors name the file and line.
 */
export function readClassIds(path: string): ClassIds {
  const lines = splitLines(readText(path, 'class id'));
  const labelAt = new Map<number, { label: string; line: number }>();
  const lineOfLabel = new Map<string, number>();
  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    const line = lines[i];
    if (line.trim() === '') throw new Error(`${path}:${lineNo}: empty line (expected "label<TAB>id")`);
    const parts = line.split('\t');
    if (parts.length !== 2) {
      throw new Error(`${path}:${lineNo}: expected "label<TAB>id" (one tab), got ${JSON.stringify(line)}`);
    }
    const [label, idText] = parts;
    if (label === '') throw new Error(`${path}:${lineNo}: empty label`);
    if (!/^\d+$/.test(idText.trim())) {
      throw new Error(`${path}:${lineNo}: id of ${JSON.stringify(label)} must be a non-negative integer, got ${JSON.stringify(idText)}`);
    }
    const id = Number(idText.trim());
    const earlierLabel = lineOfLabel.get(label);
    if (earlierLabel !== undefined) throw new Error(`${path}:${lineNo}: label ${JSON.stringify(label)} appears again (first on line ${earlierLabel})`);
    const earlierId = labelAt.get(id);
    if (earlierId !== undefined) {
      throw new Error(`${path}:${lineNo}: id ${id} is given to ${JSON.stringify(label)} and, on line ${earlierId.line}, to ${JSON.stringify(earlierId.label)}`);
    }
    lineOfLabel.set(label, lineNo);
    labelAt.set(id, { label, line: lineNo });
  }
  const count = labelAt.size;
  if (count < 2) throw new Error(`${path}: needs at least 2 classes, has ${count}`);
  for (const [id, { line }] of labelAt) {
    if (id >= count) {
      throw new Error(`${path}:${line}: id ${id} is out of range: with ${count} classes the ids must be 0..${count - 1}, each once`);
    }
  }
  const labels: string[] = [];
  for (let id = 0; id < count; id++) labels.push(labelAt.get(id)!.label); // dense: checked above
  return classIdsFromLabels(labels);
}

/**
 * The classes when no class_id file is given: the distinct labels of the
 * well-formed rows of a labelled TSV, sorted (JavaScript string order, i.e.
 * by UTF-16 code unit: "neg" < "pos"). Malformed rows are left for
 * readLabelledTsv to report.
 */
export function deriveClassIds(tsvPath: string): ClassIds {
  const seen = new Set<string>();
  for (const line of splitLines(readText(tsvPath, 'labelled data'))) {
    const tab = line.indexOf('\t');
    if (tab <= 0 || line.indexOf('\t', tab + 1) >= 0) continue;
    const label = line.slice(tab + 1);
    if (label !== '') seen.add(label);
  }
  const labels = [...seen].sort();
  if (labels.length < 2) {
    throw new Error(`${tsvPath}: needs at least 2 distinct labels to derive the classes, found ${labels.length} (${labels.map((l) => JSON.stringify(l)).join(', ')})`);
  }
  return classIdsFromLabels(labels);
}

// ---------------------------------------------------------------------------
// Labelled TSV
// ---------------------------------------------------------------------------

export type BadRowReason = 'no tab' | 'more than one tab' | 'empty text' | 'unknown label' | 'empty line';

export interface BadRow {
  line: number;
  reason: BadRowReason;
  /** The offending label, for 'unknown label'. */
  label?: string;
}

export interface LabelledData {
  texts: string[];
  /** Class id of each text. */
  labels: Int32Array;
  /** 1-based line of each kept row in the file (wrong_labels.tsv reports these). */
  lineNumbers: Int32Array;
  /** Rows skipped with onBadRow: 'skip' (always empty with 'error'). */
  badRows: BadRow[];
}

export interface ReadLabelledOptions {
  /** 'error' (default): throw one error listing the bad rows. 'skip': drop them and return them in badRows. */
  onBadRow?: 'error' | 'skip';
}

function describeBadRow(row: BadRow): string {
  return row.reason === 'unknown label' ? `line ${row.line}: unknown label ${JSON.stringify(row.label)}` : `line ${row.line}: ${row.reason}`;
}

/** One line summing up bad rows: the first few with line numbers, and the total. */
export function summarizeBadRows(path: string, badRows: readonly BadRow[], knownLabels?: readonly string[]): string {
  const shown = badRows.slice(0, SHOWN_IN_ERRORS).map(describeBadRow).join('; ');
  const more = badRows.length > SHOWN_IN_ERRORS ? `; ... and ${badRows.length - SHOWN_IN_ERRORS} more` : '';
  const known =
    knownLabels && badRows.some((r) => r.reason === 'unknown label') ? ` (known labels: ${knownLabels.map((l) => JSON.stringify(l)).join(', ')})` : '';
  return `${path}: ${badRows.length} bad row(s) (expected "text<TAB>label"): ${shown}${more}${known}`;
}

/**
 * Reads `text<TAB>label` rows. Labels must be classes of `classIds`.
 * A row with no tab, more than one tab, empty text or an unknown label is bad:
 * see ReadLabelledOptions.onBadRow. An empty file is an error.
 */
export function readLabelledTsv(path: string, classIds: ClassIds, options: ReadLabelledOptions = {}): LabelledData {
  const onBadRow = options.onBadRow ?? 'error';
  if (onBadRow !== 'error' && onBadRow !== 'skip') {
    throw new TypeError(`Expected 'error' or 'skip' for onBadRow but received ${JSON.stringify(onBadRow)}`);
  }
  const lines = splitLines(readText(path, 'labelled data'));
  const texts: string[] = [];
  const labels: number[] = [];
  const lineNumbers: number[] = [];
  const badRows: BadRow[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    const lineNo = i + 1;
    if (line === '') {
      badRows.push({ line: lineNo, reason: 'empty line' });
      continue;
    }
    const tab = line.indexOf('\t');
    if (tab < 0) {
      badRows.push({ line: lineNo, reason: 'no tab' });
      continue;
    }
    if (line.indexOf('\t', tab + 1) >= 0) {
      badRows.push({ line: lineNo, reason: 'more than one tab' });
      continue;
    }
    const text = line.slice(0, tab);
    const label = line.slice(tab + 1);
    if (text.trim() === '') {
      badRows.push({ line: lineNo, reason: 'empty text' });
      continue;
    }
    const id = classIds.idOf.get(label);
    if (id === undefined) {
      badRows.push({ line: lineNo, reason: 'unknown label', label });
      continue;
    }
    texts.push(text);
    labels.push(id);
    lineNumbers.push(lineNo);
  }
  if (badRows.length > 0 && onBadRow === 'error') throw new Error(summarizeBadRows(path, badRows, classIds.labels));
  if (texts.length === 0) throw new Error(`${path}: no usable rows (${lines.length} line(s), ${badRows.length} bad)`);
  return { texts, labels: Int32Array.from(labels), lineNumbers: Int32Array.from(lineNumbers), badRows };
}

// ---------------------------------------------------------------------------
// The unlabelled pool
// ---------------------------------------------------------------------------

export interface PoolStats {
  /** Lines read, empty ones included. */
  lines: number;
  /** Texts yielded. */
  texts: number;
  /** Empty (or whitespace-only) lines: skipped, counted here. */
  emptyLines: number;
  /** The first few empty lines' numbers, for the report. */
  firstEmptyLines: number[];
}

export function newPoolStats(): PoolStats {
  return { lines: 0, texts: 0, emptyLines: 0, firstEmptyLines: [] };
}

/** "12 empty line(s) skipped (lines 4, 9, ...)" or "" when there were none. */
export function describeEmptyLines(stats: PoolStats): string {
  if (stats.emptyLines === 0) return '';
  const more = stats.emptyLines > stats.firstEmptyLines.length ? ', ...' : '';
  return `${stats.emptyLines} empty line(s) skipped (lines ${stats.firstEmptyLines.join(', ')}${more})`;
}

function noteEmpty(stats: PoolStats, lineNo: number): void {
  stats.emptyLines++;
  if (stats.firstEmptyLines.length < SHOWN_IN_ERRORS) stats.firstEmptyLines.push(lineNo);
}

export interface PoolLines {
  texts: string[];
  /** 1-based line of each text. */
  lineNumbers: Int32Array;
  stats: PoolStats;
}

/** Reads a one-text-per-line file into memory; empty lines are skipped and counted in `stats`. */
export function readLines(path: string): PoolLines {
  const lines = splitLines(readText(path, 'text'));
  const stats = newPoolStats();
  const texts: string[] = [];
  const lineNumbers: number[] = [];
  for (let i = 0; i < lines.length; i++) {
    stats.lines++;
    if (lines[i].trim() === '') {
      noteEmpty(stats, i + 1);
      continue;
    }
    texts.push(lines[i]);
    lineNumbers.push(i + 1);
  }
  stats.texts = texts.length;
  return { texts, lineNumbers: Int32Array.from(lineNumbers), stats };
}

export interface PoolBatch {
  texts: string[];
  /** 1-based line of each text. */
  lineNumbers: number[];
}

export interface StreamOptions {
  /** Texts per batch (streamLineBatches); default 1024. */
  batchSize?: number;
  /** Filled in as lines are read; read it after the loop for the report. */
  stats?: PoolStats;
}

/**
 * Streams a one-text-per-line file in batches, in constant memory (the file
 * may be far larger than memory). Empty lines are skipped and counted in
 * `options.stats`. Invalid UTF-8 is an error naming the line.
 */
export async function* streamLineBatches(path: string, options: StreamOptions = {}): AsyncGenerator<PoolBatch> {
  const batchSize = options.batchSize ?? 1024;
  if (!Number.isSafeInteger(batchSize) || batchSize < 1) {
    throw new TypeError(`Expected positive integer for batchSize but received ${String(batchSize)}`);
  }
  const stats = options.stats ?? newPoolStats();
  let stream: fs.ReadStream;
  try {
    if (fs.statSync(path).isDirectory()) throw Object.assign(new Error('directory'), { code: 'EISDIR' });
    fs.accessSync(path, fs.constants.R_OK);
    stream = fs.createReadStream(path, { highWaterMark: 1 << 20 });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new Error(`text file not found at ${path}`);
    if (code === 'EISDIR') throw new Error(`text path ${path} is a directory, expected a file`);
    throw new Error(`cannot read text file ${path}: ${(err as Error).message}`);
  }
  const lineStats: LineStats = { lines: 0, replacedSequences: 0, linesWithReplacements: 0 };
  try {
    let out: PoolBatch = { texts: [], lineNumbers: [] };
    for await (const lines of readLineBatches(stream, batchSize, lineStats)) {
      for (let line of lines) {
        const lineNo = ++stats.lines;
        if (lineNo === 1 && line.charCodeAt(0) === 0xfeff) line = line.slice(1);
        if (line.includes('\uFFFD') && lineStats.replacedSequences > 0) {
          throw new Error(`${path}:${lineNo}: not valid UTF-8; save the file as UTF-8`);
        }
        if (line.trim() === '') {
          noteEmpty(stats, lineNo);
          continue;
        }
        out.texts.push(line);
        out.lineNumbers.push(lineNo);
        stats.texts++;
        if (out.texts.length >= batchSize) {
          yield out;
          out = { texts: [], lineNumbers: [] };
        }
      }
    }
    if (out.texts.length > 0) yield out;
  } finally {
    stream.destroy();
  }
}

/** Like streamLineBatches, one text at a time: `for await (const { text, line } of streamLines(p))`. */
export async function* streamLines(path: string, options: { stats?: PoolStats } = {}): AsyncGenerator<{ text: string; line: number }> {
  for await (const batch of streamLineBatches(path, { batchSize: 1024, stats: options.stats })) {
    for (let i = 0; i < batch.texts.length; i++) yield { text: batch.texts[i], line: batch.lineNumbers[i] };
  }
}
