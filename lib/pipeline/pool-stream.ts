/**
 * Distilling with a pool far larger than memory (500,000+ lines): the pool is
 * never held. Two pieces:
 *
 *   PoolLogitsWriter  while the teacher scores the pool (teacher/soft-targets.ts), its
 *                     logits are written IN POOL ORDER to <teacher folder>/
 *                     pool-logits.f32 (float32 little-endian, [rows, C]; temp
 *                     file + rename), so training needs no per-text lookup;
 *   poolTrainSource   each student epoch reads the pool file again in parts of
 *                     `partRows` texts (empty lines skipped, unlabeled_limit
 *                     applied, exactly as when scoring), tokenises the part,
 *                     reads its logits rows from pool-logits.f32, adds its share
 *                     of the labelled rows, and hands the part to
 *                     NativeStudent.trainStream, which shuffles it and trains.
 *
 * Mixing: the labelled rows (held anyway: they are small) are shuffled per
 * epoch with a seeded generator and dealt out in proportion, part i getting
 * rows [floor(i*L/n), floor((i+1)*L/n)) of that order, so every labelled row
 * and every pool row is trained exactly once per epoch. The pool's parts come
 * in file order; rows are shuffled within a part (trainStream). Everything is
 * a function of (seed, partRows, threads): reruns give the same model.
 *
 * Memory: one part at a time, about (partRows + L/n) rows x (4 * max_length
 * ids + 4 * C logits + 4), held twice (JS and the addon's copy), plus the
 * part's texts: ~25 MB for 20,000 rows of 128 ids; independent of the pool size.
 */
import * as fs from 'fs';
import * as path from 'path';

import { newPoolStats, streamLineBatches, type PoolStats } from '../data';
import type { TrainRows, TrainStreamSource } from '../student';
import { fillEmptyRows, type PreparedData } from './prepare-data';

/** Pool texts per part (and per read from the file) when training students with the pool. */
export const POOL_PART_ROWS = 20_000;
export const POOL_LOGITS_FILE = 'pool-logits.f32';

/** The pool as the students see it: where its texts and the teacher's logits are, never the rows. */
export interface PoolSoftLabels {
  /** The pool file ([data] unlabeled). */
  path: string;
  /** [distill] unlabeled_limit: the first `limit` texts; 0 = all. */
  limit: number;
  /** Texts used (non-empty lines, up to the limit). */
  rows: number;
  /** The teacher's logits of those texts in pool order, [rows, C] float32 LE. */
  logitsFile: string;
  numClasses: number;
}

/** Writes the pool's logits in pool order, atomically (visible only after finish()). */
export class PoolLogitsWriter {
  readonly file: string;
  private readonly temp: string;
  private fd: number;
  private rows = 0;

  constructor(folder: string, private readonly numClasses: number) {
    this.file = path.join(folder, POOL_LOGITS_FILE);
    this.temp = `${this.file}.${process.pid}.tmp`;
    this.fd = fs.openSync(this.temp, 'w');
  }

  append(logits: Float32Array): void {
    if (logits.length % this.numClasses !== 0) throw new RangeError(`pool logits: ${logits.length} values is not a multiple of C = ${this.numClasses}`);
    const bytes = Buffer.from(logits.buffer, logits.byteOffset, logits.byteLength);
    // Float32Array is little-endian on every platform Node supports (x64, arm64).
    fs.writeSync(this.fd, bytes);
    this.rows += logits.length / this.numClasses;
  }

  /** Closes and renames the file into place; returns the rows written. */
  finish(): number {
    fs.fsyncSync(this.fd);
    fs.closeSync(this.fd);
    this.fd = -1;
    fs.renameSync(this.temp, this.file);
    return this.rows;
  }

  /** Drops the temp file (after an error). */
  abandon(): void {
    if (this.fd >= 0) fs.closeSync(this.fd);
    this.fd = -1;
    fs.rmSync(this.temp, { force: true });
  }
}

/** Updates per epoch: each part trains ceil(rows / batchSize) batches. */
export function stepsPerEpoch(poolRows: number, labelledRows: number, partRows: number, batchSize: number): number {
  let steps = 0;
  for (const size of partSizes(poolRows, labelledRows, partRows)) steps += Math.ceil(size / batchSize);
  return steps;
}

/** Rows of each part: its pool rows plus its share of the labelled rows. */
export function partSizes(poolRows: number, labelledRows: number, partRows: number): number[] {
  const n = Math.max(1, Math.ceil(poolRows / partRows));
  const sizes: number[] = [];
  for (let i = 0; i < n; i++) {
    const pool = Math.min(poolRows, (i + 1) * partRows) - Math.min(poolRows, i * partRows);
    sizes.push(pool + labelledShare(i + 1, n, labelledRows) - labelledShare(i, n, labelledRows));
  }
  return sizes;
}

function labelledShare(i: number, n: number, labelled: number): number {
  return Math.floor((i * labelled) / n);
}

/** splitmix32-style generator: the labelled rows' per-epoch order, from (seed, epoch). */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}

/** 0..n-1 shuffled (Fisher-Yates) by a generator seeded from (seed, epoch). */
export function labelledOrder(n: number, seed: number, epoch: number): Int32Array {
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  const next = rng(Math.imul(seed ^ 0x5f3759df, 2654435761) + epoch * 0x632be5ab);
  for (let i = n - 1; i > 0; i--) {
    const j = next() % (i + 1);
    const t = order[i];
    order[i] = order[j];
    order[j] = t;
  }
  return order;
}

export interface PoolSourceOptions {
  batchSize: number;
  seed: number;
  /** Pool texts per part; default POOL_PART_ROWS. */
  partRows?: number;
  signal?: AbortSignal;
  /** Called once per epoch after the pool was read, with the epoch's pool statistics. */
  onEpochRead?(epoch: number, counts: { poolRows: number; noTokenRows: number; stats: PoolStats }): void;
}

/**
 * The parts of every epoch of distillation with the pool (see the top of this
 * file). `labelledSoft` holds the teacher's logits of the labelled rows.
 */
export function poolTrainSource(
  data: Pick<PreparedData, 'trainRows' | 'tokenizer' | 'maxLength' | 'addSpecialTokens'>,
  labelledSoft: Float32Array,
  pool: PoolSoftLabels,
  epochs: number,
  options: PoolSourceOptions,
): TrainStreamSource {
  const partRows = options.partRows ?? POOL_PART_ROWS;
  if (!Number.isSafeInteger(partRows) || partRows < 1) throw new TypeError(`Expected positive integer for partRows but received ${String(partRows)}`);
  const C = pool.numClasses;
  const t = data.trainRows;
  const L = t.lengths.length;
  const maxLength = t.maxLength;
  if (labelledSoft.length !== L * C) throw new RangeError(`labelled soft targets: ${labelledSoft.length} values for ${L} rows x ${C} classes`);
  const expectedBytes = pool.rows * C * 4;
  const size = fs.statSync(pool.logitsFile).size;
  if (size !== expectedBytes) {
    throw new Error(`${pool.logitsFile}: ${size} bytes, expected ${expectedBytes} (${pool.rows} pool rows x ${C} classes); rerun train to rescore`);
  }
  const n = Math.max(1, Math.ceil(pool.rows / partRows));
  const totalSteps = epochs * stepsPerEpoch(pool.rows, L, partRows, options.batchSize);

  async function* parts(epoch: number): AsyncGenerator<TrainRows> {
    const order = labelledOrder(L, options.seed, epoch);
    const stats = newPoolStats();
    const fd = fs.openSync(pool.logitsFile, 'r');
    let poolDone = 0;
    let noTokenRows = 0;
    let part = 0;
    try {
      const batches = pool.rows === 0 ? [] : streamLineBatches(pool.path, { batchSize: partRows, stats });
      for await (const batch of batches) {
        if (options.signal?.aborted) return;
        const texts = batch.texts.slice(0, Math.min(batch.texts.length, pool.rows - poolDone));
        if (texts.length === 0) break;
        const enc = await data.tokenizer.encodeBatchAsync(texts, { maxLength, addSpecialTokens: data.addSpecialTokens });
        if (enc.maxLength !== maxLength) throw new Error(`pool part: tokenizer returned maxLength ${enc.maxLength}, expected ${maxLength}`);
        noTokenRows += fillEmptyRows(enc, data.tokenizer.unkId);
        const poolLogits = new Float32Array(texts.length * C);
        const bytes = Buffer.from(poolLogits.buffer);
        const read = fs.readSync(fd, bytes, 0, bytes.length, poolDone * C * 4);
        if (read !== bytes.length) throw new Error(`${pool.logitsFile}: short read at pool row ${poolDone}`);
        yield assemble(enc, poolLogits, order, labelledShare(part, n, L), labelledShare(part + 1, n, L));
        poolDone += texts.length;
        part++;
        if (poolDone >= pool.rows) break;
      }
    } finally {
      fs.closeSync(fd);
    }
    if (poolDone !== pool.rows) {
      throw new Error(`${pool.path}: read ${poolDone} pool texts in epoch ${epoch}, but ${pool.rows} were scored; the file changed during training`);
    }
    // A pool with no texts (or fewer parts than planned) still deals out every labelled row.
    for (; part < n; part++) {
      const lo = labelledShare(part, n, L);
      const hi = labelledShare(part + 1, n, L);
      if (hi > lo) yield assemble({ ids: new Int32Array(0), lengths: new Int32Array(0) }, new Float32Array(0), order, lo, hi);
    }
    options.onEpochRead?.(epoch, { poolRows: poolDone, noTokenRows, stats });
  }

  /** One part: labelled rows order[lo..hi) (labels + soft targets), then the pool rows (soft targets, label -1). */
  function assemble(enc: { ids: Int32Array; lengths: Int32Array }, poolLogits: Float32Array, order: Int32Array, lo: number, hi: number): TrainRows {
    const nl = hi - lo;
    const np = enc.lengths.length;
    const ids = new Int32Array((nl + np) * maxLength);
    const lengths = new Int32Array(nl + np);
    const labels = new Int32Array(nl + np).fill(-1);
    const softTargets = new Float32Array((nl + np) * C);
    for (let k = 0; k < nl; k++) {
      const r = order[lo + k];
      ids.set(t.ids.subarray(r * maxLength, (r + 1) * maxLength), k * maxLength);
      lengths[k] = t.lengths[r];
      labels[k] = t.labels[r];
      softTargets.set(labelledSoft.subarray(r * C, (r + 1) * C), k * C);
    }
    ids.set(enc.ids, nl * maxLength);
    lengths.set(enc.lengths, nl);
    softTargets.set(poolLogits, nl * C);
    return { ids, lengths, maxLength, labels, softTargets };
  }

  return { totalSteps, parts };
}
