/**
 * `model-distill clean-labels config.ini [uniqid] [--relabel --min-confidence P]`
 * as a function: writes a cleaned copy of the train file from the rows that
 * `detect-wrong-labels` flagged (<run>/wrong_labels.tsv).
 *
 * - Default: the flagged rows are dropped.
 * - relabel: a flagged row whose suggested label has confidence >= minConfidence
 *   gets that label; the other flagged rows are dropped.
 * Every other line is copied unchanged and in order. The cleaned file goes to
 * [data] cleaned_train (default <train>.cleaned.tsv beside the train file),
 * written atomically; the train file itself is never changed. Point [data]
 * train at the cleaned file to train on it.
 *
 * Before writing, each flagged row is checked against the train file: the
 * line must exist and hold the same text and given label. Anything else means
 * the train file changed since detection, and cleaning it with stale line
 * numbers would drop the wrong rows, so it is an error naming the line.
 */
import * as fs from 'fs';

import * as path from 'path';

import { loadConfig, resolveUniqid, runDir } from '../config';
import { deriveClassIds, readClassIds } from '../data';
import { argumentError, checkNumberBetween } from '../util/check-args';
import { writeFileAtomic } from '../util/files';
import { WRONG_LABELS_HEADER, WRONG_LABELS_TSV } from './detect';

/** Default --min-confidence: relabel only when the model gives the new label at least even odds. */
export const DEFAULT_MIN_CONFIDENCE = 0.5;

export interface CleanOptions {
  /** Relabel flagged rows whose suggestion is confident enough instead of dropping them (default false). */
  relabel?: boolean;
  /** With relabel: the least confidence (0..1) a suggestion needs (default 0.5). */
  minConfidence?: number;
  /** "Today" for a `${time}` uniqid (tests). */
  now?: Date;
}

export interface CleanReport {
  uniqid: string;
  /** The train file read (never changed). */
  train: string;
  /** The cleaned file written. */
  output: string;
  /** The wrong_labels.tsv used. */
  wrongLabels: string;
  /** Lines of the train file. */
  rows: number;
  /** Rows listed in wrong_labels.tsv. */
  flagged: number;
  /** Lines written to the cleaned file (unchanged + relabelled). */
  kept: number;
  dropped: number;
  relabelled: number;
  relabel: boolean;
  minConfidence: number | null;
}

interface WrongLabelRow {
  /** Line in wrong_labels.tsv (for messages). */
  at: number;
  line: number;
  text: string;
  given: string;
  suggested: string;
  confidence: number;
}

/** Lines of a UTF-8 text file, without a BOM, a final empty line or trailing "\r". */
function readLines(file: string): string[] {
  let text = fs.readFileSync(file, 'utf8');
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines.map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
}

/** Parses wrong_labels.tsv; errors name the file and line. */
export function readWrongLabels(file: string): WrongLabelRow[] {
  const lines = readLines(file);
  const header = WRONG_LABELS_HEADER.join('\t');
  if (lines[0] !== header) {
    throw new Error(`${file}:1: expected the header ${JSON.stringify(header)}, found ${JSON.stringify(lines[0] ?? '')} (not a file written by detect-wrong-labels?)`);
  }
  const rows: WrongLabelRow[] = [];
  const seen = new Map<number, number>();
  for (let i = 1; i < lines.length; i++) {
    const at = i + 1;
    const parts = lines[i].split('\t');
    if (parts.length !== WRONG_LABELS_HEADER.length) {
      throw new Error(`${file}:${at}: expected ${WRONG_LABELS_HEADER.length} tab-separated fields (${WRONG_LABELS_HEADER.join(', ')}), found ${parts.length}`);
    }
    const [lineText, text, given, suggested, confText] = parts;
    const line = /^\d+$/.test(lineText) ? Number(lineText) : NaN;
    if (!Number.isSafeInteger(line) || line < 1) throw new Error(`${file}:${at}: line must be a positive integer, got ${JSON.stringify(lineText)}`);
    const confidence = confText.trim() === '' ? NaN : Number(confText);
    if (!Number.isFinite(confidence) || confidence < 0 || confidence > 1) {
      throw new Error(`${file}:${at}: confidence must be a number in [0, 1], got ${JSON.stringify(confText)}`);
    }
    if (suggested === '') throw new Error(`${file}:${at}: empty suggested label`);
    const earlier = seen.get(line);
    if (earlier !== undefined) throw new Error(`${file}:${at}: train line ${line} is listed again (first on line ${earlier})`);
    seen.set(line, at);
    rows.push({ at, line, text, given, suggested, confidence });
  }
  return rows;
}

export async function cleanLabels(configPath: string, uniqidArg?: string, options: CleanOptions = {}): Promise<CleanReport> {
  const relabel = options.relabel ?? false;
  if (typeof relabel !== 'boolean') throw argumentError('a boolean', 'relabel', relabel);
  if (!relabel && options.minConfidence !== undefined) {
    throw new TypeError(`minConfidence (${String(options.minConfidence)}) only applies with relabel: set relabel, or leave minConfidence out`);
  }
  const minConfidence = relabel ? checkNumberBetween(options.minConfidence ?? DEFAULT_MIN_CONFIDENCE, 'minConfidence', 0, 1) : null;

  const config = loadConfig(configPath);
  const uniqid = resolveUniqid(uniqidArg, options.now);
  const dir = runDir(config, uniqid);
  const wrongLabels = path.join(dir, WRONG_LABELS_TSV);
  if (!fs.existsSync(wrongLabels)) {
    const rel = path.relative(process.cwd(), config.file) || config.file;
    const id = uniqidArg === undefined ? '' : ` ${uniqidArg === uniqid ? uniqid : `'${uniqidArg}'`}`;
    throw new Error(`no ${WRONG_LABELS_TSV} in run "${uniqid}" (${wrongLabels} not found); run first: model-distill detect-wrong-labels ${rel}${id}`);
  }
  const flagged = readWrongLabels(wrongLabels);

  const train = config.data.train;
  const lines = readLines(train);
  const changed = (what: string) =>
    new Error(`${train} changed since detection: ${what}; run detect-wrong-labels again (the flagged lines no longer match the train file)`);
  const byLine = new Map<number, WrongLabelRow>();
  for (const row of flagged) {
    if (row.line > lines.length) {
      throw changed(`${wrongLabels}:${row.at} names line ${row.line}, but the file has ${lines.length} lines`);
    }
    const current = lines[row.line - 1];
    const expected = `${row.text}\t${row.given}`;
    if (current !== expected) {
      throw changed(`line ${row.line} is ${JSON.stringify(current)}, ${wrongLabels}:${row.at} expects ${JSON.stringify(expected)}`);
    }
    byLine.set(row.line, row);
  }
  if (relabel) {
    // A relabelled row must get a label the train file can use.
    const classes = config.data.class_id !== null ? readClassIds(config.data.class_id) : deriveClassIds(train);
    for (const row of flagged) {
      if (!classes.idOf.has(row.suggested)) {
        throw new Error(`${wrongLabels}:${row.at}: suggested label ${JSON.stringify(row.suggested)} is not a class (classes: ${classes.labels.join(', ')})`);
      }
    }
  }

  const out: string[] = [];
  let dropped = 0;
  let relabelled = 0;
  lines.forEach((line, i) => {
    const row = byLine.get(i + 1);
    if (row === undefined) {
      out.push(line);
    } else if (relabel && row.confidence >= (minConfidence as number)) {
      out.push(`${row.text}\t${row.suggested}`);
      relabelled++;
    } else {
      dropped++;
    }
  });
  const output = config.data.cleaned_train;
  if (path.resolve(output) === path.resolve(train)) {
    throw new Error(`[data] cleaned_train must differ from [data] train (${train}); the original is never overwritten`);
  }
  writeFileAtomic(output, out.length > 0 ? out.join('\n') + '\n' : '');
  return {
    uniqid,
    train,
    output,
    wrongLabels,
    rows: lines.length,
    flagged: flagged.length,
    kept: out.length,
    dropped,
    relabelled,
    relabel,
    minConfidence,
  };
}

/** The lines `clean-labels` prints. */
export function formatCleanSummary(r: CleanReport): string {
  const how = r.relabel ? `relabelled ${r.relabelled} (confidence >= ${r.minConfidence}), dropped ${r.dropped}` : `dropped ${r.dropped}`;
  return (
    `cleaned ${r.train}: ${r.rows} rows, ${r.flagged} flagged in ${r.wrongLabels}: ${how}; ` +
    `kept ${r.kept} rows (${r.kept - r.relabelled} unchanged)\n` +
    `written: ${r.output} (the original is unchanged; set [data] train = that file to train on it)\n`
  );
}
