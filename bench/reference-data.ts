/**
 * A data folder read and encoded EXACTLY as ../shared/reference/torch_baseline.py
 * does it, so the native students of the train bench see the same token ids,
 * the same vocabulary size and the same text lengths as the PyTorch reference:
 *
 *   labels  sorted set of the train labels, id = position;
 *   vocab   [PAD] [UNK] [CLS] [MASK], then every character (code point) seen at
 *           least twice in train texts + unlabeled lines, sorted by code point;
 *   ids     one id per character, unknown -> [UNK] (1), cut to 128, an empty
 *           text -> [UNK]; no lower-casing, no word splitting. With { cls: true }
 *           (the reference's transformer input, enc(texts, cls=True)): [CLS] (2),
 *           then the characters, cut to 128; an empty text is [CLS] alone.
 *
 * (The product's own pipeline tokenises BERT-style with lib/tokenizer.ts; that
 * path is what the predict bench measures. Here the point is the same workload
 * on both engines.)
 */
import * as fs from 'fs';
import * as path from 'path';

import type { EvalRows } from '../lib/student';
import { compareCodePoints } from '../lib/vocab-builder';

export const REFERENCE_MAX_LENGTH = 128;
const SPECIALS = ['[PAD]', '[UNK]', '[CLS]', '[MASK]'];
const UNK = 1;
const CLS = 2;

export interface ReferenceData {
  labels: string[];
  vocabSize: number;
  train: EvalRows;
  eval: EvalRows;
  /** Texts and lines read, for the notes. */
  counts: { train: number; eval: number; unlabeled: number };
  meanTrainLength: number;
}

/** Lines as Python's text-mode file iteration yields them (universal newlines), '\n' stripped. */
function pythonLines(file: string): string[] {
  const text = fs.readFileSync(file, 'utf8').replace(/\r\n?/g, '\n');
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}

/** `t, l = line.rsplit('\t', 1)`: a line without a tab is an error there, so it is one here. */
function readTsv(file: string): { texts: string[]; labels: string[] } {
  const texts: string[] = [];
  const labels: string[] = [];
  pythonLines(file).forEach((line, i) => {
    const tab = line.lastIndexOf('\t');
    if (tab < 0) throw new Error(`${file}:${i + 1}: no tab (expected text<TAB>label)`);
    texts.push(line.slice(0, tab));
    labels.push(line.slice(tab + 1));
  });
  return { texts, labels };
}

export function readReferenceData(dir: string, options: { cls?: boolean } = {}): ReferenceData {
  const cls = options.cls === true;
  const train = readTsv(path.join(dir, 'train.tsv'));
  const evalSet = readTsv(path.join(dir, 'eval.tsv'));
  const poolPath = path.join(dir, 'unlabeled.txt');
  const pool = fs.existsSync(poolPath) ? pythonLines(poolPath) : [];

  const labels = [...new Set(train.labels)].sort(compareCodePoints); // Python sorts by code point
  const labelId = new Map(labels.map((l, i) => [l, i]));
  const counts = new Map<string, number>();
  for (const text of [...train.texts, ...pool]) for (const c of text) counts.set(c, (counts.get(c) ?? 0) + 1);
  const itos = [...SPECIALS, ...[...counts].filter(([, n]) => n >= 2).map(([c]) => c).sort(compareCodePoints)];
  const stoi = new Map(itos.map((c, i) => [c, i]));

  const encode = (texts: string[], textLabels: string[], file: string): EvalRows => {
    const L = REFERENCE_MAX_LENGTH;
    const ids = new Int32Array(texts.length * L);
    const lengths = new Int32Array(texts.length);
    const out = new Int32Array(texts.length);
    texts.forEach((text, r) => {
      let n = 0;
      if (cls) ids[r * L + n++] = CLS;
      for (const c of text) {
        if (n === L) break;
        ids[r * L + n++] = stoi.get(c) ?? UNK;
      }
      if (n === 0) ids[r * L + n++] = UNK;
      lengths[r] = n;
      const label = labelId.get(textLabels[r]);
      // The reference fails with a KeyError on an eval label that train lacks.
      if (label === undefined) throw new Error(`${file}: row ${r + 1} has label ${JSON.stringify(textLabels[r])}, which no train row has`);
      out[r] = label;
    });
    return { ids, lengths, maxLength: L, labels: out };
  };
  const trainRows = encode(train.texts, train.labels, path.join(dir, 'train.tsv'));
  let tokens = 0;
  for (const n of trainRows.lengths) tokens += n;
  return {
    labels,
    vocabSize: itos.length,
    train: trainRows,
    eval: encode(evalSet.texts, evalSet.labels, path.join(dir, 'eval.tsv')),
    counts: { train: train.texts.length, eval: evalSet.texts.length, unlabeled: pool.length },
    meanTrainLength: tokens / Math.max(1, trainRows.lengths.length),
  };
}
