/**
 * Step 3 of `train`: the soft labels. The teacher's logits for every train text and
 * pool text, read from / written to the soft-label cache (soft-label-cache.ts) in the
 * run folder, keyed by the text's sha256 and the teacher's weights hash; the pool's
 * logits go to disk in pool order (pool-stream.ts), never all held in memory.
 */
import * as path from 'path';

import type { Config } from '../../config';
import { newPoolStats, streamLineBatches } from '../../data';
import { formatCount, formatDuration, Progress } from '../../progress';
import { PoolLogitsWriter } from '../pool-stream';
import { fillEmptyRows, type PreparedData } from '../prepare-data';
import type { RunLog } from '../run-log';
import { SoftLabelCache, textKey } from '../soft-label-cache';
import { SOFT_LABEL_CACHE_FILE, type SoftTargets, type Teacher, type TeacherStepOptions } from './types';

/** Texts per teacher forward call while scoring (bounded memory, regular cache writes). */
const SCORE_BATCH = 256;
/** Pool texts read per batch from the file. */
const POOL_READ_BATCH = 2048;

/** Counts of one scoring pass, for run.json. */
interface ScoreCounts {
  texts: number;
  fromCache: number;
  scored: number;
}

/** Logits [texts, C] for `texts`: from the cache where present, else scored by the teacher (and appended to the cache). */
async function scoreTexts(
  teacher: Teacher,
  data: PreparedData,
  cache: SoftLabelCache,
  texts: string[],
  counts: ScoreCounts,
  threads: number,
): Promise<Float32Array> {
  const C = cache.numClasses;
  const out = new Float32Array(texts.length * C);
  const keys = texts.map(textKey);
  const missing: number[] = [];
  for (let i = 0; i < texts.length; i++) {
    if (!cache.copyTo(keys[i], out, i * C)) missing.push(i);
  }
  counts.texts += texts.length;
  counts.fromCache += texts.length - missing.length;
  for (let start = 0; start < missing.length; start += SCORE_BATCH) {
    const part = missing.slice(start, start + SCORE_BATCH);
    // Duplicates inside one call are scored once each; harmless, and the cache keeps the first.
    const logits = await teacher.logits(part.map((i) => texts[i]), threads);
    part.forEach((i, k) => out.set(logits.subarray(k * C, k * C + C), i * C));
    cache.append(part.map((i) => keys[i]), logits);
    counts.scored += part.length;
  }
  return out;
}

/** Step 3: the teacher's logits for the rows the students train on; null without a teacher or with distillation off. */
export async function softTargetsStep(
  config: Config,
  teacher: Teacher | null,
  data: PreparedData,
  runFolder: string,
  log: RunLog,
  options: TeacherStepOptions = { progress: false },
): Promise<SoftTargets | null> {
  if (teacher === null || !config.distill.enabled) {
    if (teacher !== null) log.info('soft labels: [distill] enabled = false; the students train on the labelled data alone');
    return null;
  }
  const C = data.classIds.labels.length;
  const file = path.join(runFolder, SOFT_LABEL_CACHE_FILE);
  const cache = SoftLabelCache.open(file, teacher.identity.weightsSha256, C);
  const opened = cache.openReport;
  if (opened.restarted !== null) log.info(`soft labels: started ${file} anew: ${opened.restarted}`);
  else if (opened.loaded > 0 || opened.droppedBytes > 0) {
    log.info(
      `soft labels: reusing ${formatCount(opened.loaded)} cached teacher logits from ${file}` +
        (opened.droppedBytes > 0 ? ` (a torn last record of ${opened.droppedBytes} bytes, from an interrupted run, was dropped)` : ''),
    );
  }
  const record = {
    cache: file,
    teacher: teacher.identity.weightsSha256,
    opened: opened,
    train: { texts: 0, fromCache: 0, scored: 0 },
    pool: null as null | { path: string; limit: number; texts: number; fromCache: number; scored: number; emptyLines: number; noTokenRows: number },
  };
  log.record.softLabels = record;
  try {
    const started = Date.now();
    const train = await scoreTexts(teacher, data, cache, data.train.texts, record.train, config.train.threads);
    log.info(`soft labels: ${formatCount(record.train.texts)} train texts, ${formatCount(record.train.fromCache)} from the cache, ${formatCount(record.train.scored)} scored by the teacher`);

    let pool: SoftTargets['pool'] = null;
    if (config.distill.use_unlabeled && config.data.unlabeled !== null) {
      if (config.distill.queue !== null) {
        // Scale-out (lib/queue/): workers score the chunks not yet cached; the pass below then reads them all from the cache.
        // Lazy: BullMQ and ioredis load only for runs that use the queue.
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const { scorePoolOnQueue } = require('../../queue/pool-scoring') as typeof import('../../queue/pool-scoring');
        log.record.poolQueue = await scorePoolOnQueue(config, teacher.identity, cache, { log: (line) => log.info(line), progress: options.progress, signal: options.signal });
      }
      const limit = config.distill.unlabeled_limit;
      const counts = { texts: 0, fromCache: 0, scored: 0 };
      const stats = newPoolStats();
      // The logits go to disk in pool order; the students stream the pool again (pool-stream.ts).
      const logits = new PoolLogitsWriter(runFolder, C);
      let noTokenRows = 0;
      const bar = options.progress === false ? null : new Progress({ label: 'scoring pool', total: limit, unit: 'texts', stream: options.progress });
      let lastLog = Date.now();
      try {
        for await (const batch of streamLineBatches(config.data.unlabeled, { batchSize: POOL_READ_BATCH, stats })) {
          if (options.signal?.aborted) throw new Error('soft labels: cancelled');
          const texts = limit > 0 ? batch.texts.slice(0, limit - counts.texts) : batch.texts;
          logits.append(await scoreTexts(teacher, data, cache, texts, counts, config.train.threads));
          // The students' tokenisation, only to count texts with no student token (nothing is kept).
          const enc = await data.tokenizer.encodeBatchAsync(texts, { maxLength: data.maxLength, addSpecialTokens: data.addSpecialTokens });
          noTokenRows += fillEmptyRows(enc, data.tokenizer.unkId);
          bar?.update(counts.texts, `${formatCount(counts.fromCache)} cached`);
          if (Date.now() - lastLog > 10_000) {
            lastLog = Date.now();
            log.info(`soft labels: pool ${formatCount(counts.texts)} texts so far (${formatCount(counts.scored)} scored, ${formatCount(counts.fromCache)} from the cache)`);
          }
          if (limit > 0 && counts.texts >= limit) break;
        }
      } catch (err) {
        logits.abandon();
        throw err;
      }
      const poolRows = logits.finish();
      bar?.finish(`${formatCount(counts.texts)} texts`);
      record.pool = { path: config.data.unlabeled, limit, ...counts, emptyLines: stats.emptyLines, noTokenRows };
      pool = { path: config.data.unlabeled, limit, rows: poolRows, logitsFile: logits.file, numClasses: C };
      log.info(
        `soft labels: pool ${formatCount(counts.texts)} texts${limit > 0 ? ` (unlabeled_limit ${limit})` : ''}, ` +
          `${formatCount(counts.fromCache)} from the cache, ${formatCount(counts.scored)} scored by the teacher` +
          (stats.emptyLines > 0 ? `, ${stats.emptyLines} empty lines skipped` : '') +
          (noTokenRows > 0 ? `, ${noTokenRows} with no student token (one [UNK])` : ''),
      );
    }
    log.info(`soft labels: done in ${formatDuration((Date.now() - started) / 1000)}; cache ${file} holds ${formatCount(cache.size)} texts`);
    return { train, pool, teacher: teacher.identity };
  } finally {
    cache.close();
  }
}
