/**
 * Step 1 of `train`: everything the models need from the data files.
 *   classes   from [data] class_id, or the sorted train labels when it is absent;
 *   rows      the train and eval TSVs, where any bad row is an error naming its
 *             line (readLabelledTsv): a training set never shrinks silently;
 *   vocab     [data] vocab when the file exists; otherwise built from train +
 *             unlabeled (pieces seen at least twice, as the reference keeps
 *             characters seen twice), written to [data] vocab, where the
 *             config says it goes, and a copy into the run folder;
 *   ids       the texts tokenised to at most [model] max_length ids.
 *
 * Students see the text's tokens only, no [CLS]/[SEP] (the reference feeds
 * characters alone; a CNN or GRU has no use for the markers), and lower-cased
 * BERT-style. Both choices are saved in each model folder, so prediction
 * tokenises exactly like training.
 */
import * as fs from 'fs';
import * as path from 'path';

import type { Config } from '../config';
import { deriveClassIds, newPoolStats, readClassIds, readLabelledTsv, streamLineBatches, type ClassIds, type LabelledData } from '../data';
import { formatCount } from '../progress';
import type { EvalRows } from '../student';
import { Tokenizer } from '../tokenizer';
import { writeFileAtomic } from '../util/files';
import { readVocabFile, UNK_TOKEN } from '../vocab';
import { VocabBuilder } from '../vocab-builder';
import type { RunLog } from './run-log';

/** Students are trained on lower-cased text (BERT's uncased normalisation). */
export const STUDENT_LOWERCASE = true;
/** Students see no [CLS]/[SEP]. */
export const STUDENT_ADD_SPECIAL_TOKENS = false;
/** A piece must occur this often in train + unlabeled to enter a built vocabulary. */
export const BUILT_VOCAB_MIN_FREQ = 2;

export interface EncodingStats {
  rows: number;
  tokens: number;
  unknownTokens: number;
  /** Rows with max_length tokens: cut, or exactly that long. */
  atMaxLength: number;
  /** Rows with no token at all, encoded as one [UNK] (see fillEmptyRows). */
  empty: number;
}

export interface PreparedData {
  classIds: ClassIds;
  classSource: 'class_id' | 'derived from train labels';
  train: LabelledData;
  eval: LabelledData;
  vocabTokens: string[];
  vocabPath: string;
  vocabBuilt: boolean;
  tokenizer: Tokenizer;
  maxLength: number;
  lowercase: boolean;
  addSpecialTokens: boolean;
  trainRows: EvalRows;
  evalRows: EvalRows;
}

/**
 * A text with no tokens (only spaces, control characters...) would be a row of
 * length 0, which no model can read; like the reference (`ids or [UNK]`) it
 * becomes one [UNK]. Returns how many rows were changed.
 */
export function fillEmptyRows(rows: { ids: Int32Array; lengths: Int32Array; maxLength: number }, unkId: number): number {
  let filled = 0;
  for (let r = 0; r < rows.lengths.length; r++) {
    if (rows.lengths[r] === 0) {
      rows.ids[r * rows.maxLength] = unkId;
      rows.lengths[r] = 1;
      filled++;
    }
  }
  return filled;
}

function encodingStats(rows: EvalRows, unkId: number, empty: number): EncodingStats {
  let tokens = 0;
  let unknown = 0;
  let atMax = 0;
  for (let r = 0; r < rows.lengths.length; r++) {
    const n = rows.lengths[r];
    tokens += n;
    if (n === rows.maxLength) atMax++;
    const base = r * rows.maxLength;
    for (let i = 0; i < n; i++) if (rows.ids[base + i] === unkId) unknown++;
  }
  return { rows: rows.lengths.length, tokens, unknownTokens: unknown, atMaxLength: atMax, empty };
}

/** Builds a vocabulary from the train texts and the pool, and writes it (atomically) where the config says plus into the run folder. */
async function buildVocab(config: Config, trainTexts: readonly string[], runFolder: string, log: RunLog): Promise<string[]> {
  const builder = new VocabBuilder({ lowercase: STUDENT_LOWERCASE });
  for (const text of trainTexts) builder.addText(text);
  let poolNote = 'no [data] unlabeled';
  if (config.data.unlabeled !== null) {
    const stats = newPoolStats();
    for await (const batch of streamLineBatches(config.data.unlabeled, { stats })) {
      for (const text of batch.texts) builder.addText(text);
    }
    poolNote = `${formatCount(stats.texts)} unlabeled texts`;
    log.record.unlabeled = { path: config.data.unlabeled, lines: stats.lines, texts: stats.texts, emptyLines: stats.emptyLines };
  }
  const { tokens, summary } = builder.build({ minFreq: BUILT_VOCAB_MIN_FREQ });
  writeFileAtomic(config.data.vocab, tokens.join('\n') + '\n');
  const copy = path.join(runFolder, 'vocab.txt');
  if (path.resolve(copy) !== path.resolve(config.data.vocab)) writeFileAtomic(copy, tokens.join('\n') + '\n');
  log.info(
    `vocab: ${config.data.vocab} did not exist; built it from ${formatCount(trainTexts.length)} train texts and ${poolNote} ` +
      `(pieces seen at least ${BUILT_VOCAB_MIN_FREQ} times): ${formatCount(summary.total)} tokens ` +
      `(${summary.characters} characters, ${summary.words} words, ${summary.continuations} ## pieces); ` +
      `written there and to ${copy}`,
  );
  return tokens;
}

function describeEncoding(name: string, s: EncodingStats, maxLength: number): string {
  const pct = (a: number, b: number) => (b > 0 ? ((100 * a) / b).toFixed(1) : '0.0');
  let text =
    `${name}: ${formatCount(s.rows)} texts, ${formatCount(s.tokens)} tokens ` +
    `(mean ${(s.tokens / Math.max(1, s.rows)).toFixed(1)}), [UNK] ${pct(s.unknownTokens, s.tokens)}% of tokens, ` +
    `${formatCount(s.atMaxLength)} at max_length ${maxLength} (cut or exactly that long)`;
  if (s.empty > 0) text += `, ${s.empty} with no tokens (encoded as one ${UNK_TOKEN})`;
  return text;
}

export async function prepareData(config: Config, runFolder: string, log: RunLog): Promise<PreparedData> {
  const classIds = config.data.class_id !== null ? readClassIds(config.data.class_id) : deriveClassIds(config.data.train);
  const classSource = config.data.class_id !== null ? 'class_id' : 'derived from train labels';
  log.info(`classes (${classIds.labels.length}, ${classSource}): ${classIds.labels.join(', ')}`);

  const train = readLabelledTsv(config.data.train, classIds);
  const evalData = readLabelledTsv(config.data.eval, classIds);
  const perClass = (d: LabelledData) => {
    const counts = new Array<number>(classIds.labels.length).fill(0);
    for (const id of d.labels) counts[id]++;
    return Object.fromEntries(classIds.labels.map((l, i) => [l, counts[i]]));
  };
  log.info(`data: ${formatCount(train.texts.length)} train rows (${config.data.train}), ${formatCount(evalData.texts.length)} eval rows (${config.data.eval})`);
  const absent = classIds.labels.filter((_, i) => !train.labels.includes(i));
  if (absent.length > 0) log.info(`warning: classes with no train row: ${absent.join(', ')}`);

  let vocabTokens: string[];
  const vocabBuilt = !fs.existsSync(config.data.vocab);
  if (vocabBuilt) {
    vocabTokens = await buildVocab(config, train.texts, runFolder, log);
  } else {
    vocabTokens = readVocabFile(config.data.vocab);
    log.info(`vocab: ${formatCount(vocabTokens.length)} tokens from ${config.data.vocab}`);
  }
  if (vocabTokens[0] !== '[PAD]') {
    // Padding uses id 0 and the models keep its embedding at zero; a vocab whose
    // first token is a real one would silently lose that token.
    throw new Error(`vocab ${config.data.vocab}: the first token (id 0) must be [PAD], found ${JSON.stringify(vocabTokens[0])}`);
  }

  const tokenizer = Tokenizer.fromFile(config.data.vocab, { lowercase: STUDENT_LOWERCASE });
  const unkId = tokenizer.unkId;
  if (unkId < 0) throw new Error(`vocab ${config.data.vocab} has no ${UNK_TOKEN} token`);
  const maxLength = config.model.max_length;
  const encode = async (texts: string[], labels: Int32Array): Promise<{ rows: EvalRows; empty: number }> => {
    const enc = await tokenizer.encodeBatchAsync(texts, { maxLength, addSpecialTokens: STUDENT_ADD_SPECIAL_TOKENS });
    const rows: EvalRows = { ids: enc.ids, lengths: enc.lengths, maxLength: enc.maxLength, labels };
    return { rows, empty: fillEmptyRows(rows, unkId) };
  };
  const trainEnc = await encode(train.texts, train.labels);
  const evalEnc = await encode(evalData.texts, evalData.labels);
  const trainStats = encodingStats(trainEnc.rows, unkId, trainEnc.empty);
  const evalStats = encodingStats(evalEnc.rows, unkId, evalEnc.empty);
  log.info(describeEncoding('train', trainStats, maxLength));
  log.info(describeEncoding('eval', evalStats, maxLength));

  log.record.data = {
    train: { path: config.data.train, rows: train.texts.length, perClass: perClass(train), encoding: trainStats },
    eval: { path: config.data.eval, rows: evalData.texts.length, perClass: perClass(evalData), encoding: evalStats },
    classes: classIds.labels,
    classSource,
    vocab: { path: config.data.vocab, tokens: vocabTokens.length, built: vocabBuilt, minFreq: vocabBuilt ? BUILT_VOCAB_MIN_FREQ : null },
    tokenization: { maxLength, lowercase: STUDENT_LOWERCASE, addSpecialTokens: STUDENT_ADD_SPECIAL_TOKENS },
  };
  return {
    classIds,
    classSource,
    train,
    eval: evalData,
    vocabTokens,
    vocabPath: config.data.vocab,
    vocabBuilt,
    tokenizer,
    maxLength,
    lowercase: STUDENT_LOWERCASE,
    addSpecialTokens: STUDENT_ADD_SPECIAL_TOKENS,
    trainRows: trainEnc.rows,
    evalRows: evalEnc.rows,
  };
}

