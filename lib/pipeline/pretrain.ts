/**
 * Masked-LM pre-training of the native teacher (`model-distill pretrain`, and
 * `train` with [teacher] pretrain = mlm), for users with no pretrained
 * checkpoint: BERT's MLM objective (native/core/mlm_pretrainer.h) over the
 * training texts plus the pool ([data] unlabeled), with the [teacher]
 * architecture, tokenised as the teacher sees texts ([CLS] pieces [SEP]).
 *
 * Everything goes to <run>/pretrain/:
 *   checkpoint.safetensors  weights (Hugging Face names) + MLM head + AdamW moments + step;
 *                           written atomically every CHECKPOINT_SECONDS, on Ctrl-C and at the end
 *   encoder.safetensors     the transformer alone, when pre-training has finished: what the
 *                           teacher fine-tunes from (a NativeStudent transformer of the same spec loads it)
 *   pretrain.json           fingerprint, progress, loss curve, tokens/s (rewritten atomically)
 *   run.log / run.json      only when run by the `pretrain` command (train logs into its own run.log)
 *
 * Resuming: a rerun finds the checkpoint, checks that it was made with the
 * same settings and data (a fingerprint in its metadata), and continues from
 * its step; all randomness is derived from the seed and the step, so the
 * result equals an uninterrupted run. A finished pre-training with the same
 * fingerprint is reused as is. A checkpoint of other settings or data, or an
 * unreadable one, is an error naming the file (never silently overwritten).
 */
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';

import { loadAddon, type RawMlmPretrainer, type RawMlmPretrainOptions } from '../binding';
import { configProblem, loadConfig, resolveUniqid, runDir, writeResolvedConfig, type Config } from '../config';
import { describeEmptyLines, newPoolStats, streamLineBatches } from '../data';
import { formatCount, formatDuration, Progress, type ProgressWriter } from '../progress';
import type { TransformerSpec } from '../student';
import { prepareData, type PreparedData } from './prepare-data';
import { readSafetensorsMetadata } from '../safetensors/reader';
import { fileSha256, writeFileAtomic } from '../util/files';
import { RESOLVED_CONFIG_FILE, RunLog } from './run-log';
import type { RunProgressListener } from './run-progress';
import { teacherSpec } from './teacher/spec';

export const PRETRAIN_DIR = 'pretrain';
export const CHECKPOINT_FILE = 'checkpoint.safetensors';
export const ENCODER_FILE = 'encoder.safetensors';
export const PRETRAIN_INFO_FILE = 'pretrain.json';
/** Seconds between checkpoints while pre-training ("every few minutes"). */
export const CHECKPOINT_SECONDS = 300;
/** BERT clips the global gradient norm at 1.0. */
const MLM_CLIP_NORM = 1.0;
const POOL_READ_BATCH = 4096;
/** Points of the loss curve kept in pretrain.json (about). */
const LOSS_CURVE_POINTS = 100;

export interface PretrainStepOptions {
  progress: ProgressWriter | false;
  signal?: AbortSignal;
  /** Seconds between checkpoints (default CHECKPOINT_SECONDS; tests use less). */
  checkpointSeconds?: number;
  /** Stop after this many steps of this call, as an interruption would (tests). */
  stopAfterSteps?: number;
  /** A 'pretrain' event per progress report of the native pre-trainer. */
  onProgress?: RunProgressListener;
}

export interface PretrainSummary {
  dir: string;
  checkpoint: string;
  /** The encoder weights the teacher fine-tunes from (exists once finished). */
  encoder: string;
  /** sha256 of the settings and data pre-training depends on. */
  fingerprint: string;
  /** sha256 of encoder.safetensors (part of the teacher's identity); null until finished. */
  encoderSha256: string | null;
  /** true when an earlier, finished pre-training with the same fingerprint was reused. */
  reused: boolean;
  /** The step this call started from (0 = from scratch; > 0 = resumed from the checkpoint). */
  resumedFrom: number;
  step: number;
  totalSteps: number;
  finished: boolean;
  rows: number;
  tokensPerEpoch: number;
  /** This call only. */
  tokensPerSecond: number;
  seconds: number;
  /** Mean MLM loss over masked positions, sampled through the whole pre-training (across resumes). */
  lossCurve: { step: number; loss: number }[];
}

/** Everything pre-training depends on besides the seed-derived randomness; also the checkpoint's metadata. */
function pretrainOptions(config: Config): RawMlmPretrainOptions {
  const t = config.teacher;
  return {
    batchSize: t.mlm_batch_size,
    maskProb: t.mlm_mask_prob,
    epochs: t.mlm_epochs,
    maxSteps: t.mlm_max_steps,
    seed: config.train.seed,
    threads: config.train.threads,
    learningRate: t.mlm_learning_rate,
    weightDecay: t.weight_decay,
    warmup: t.mlm_warmup,
    clipNorm: MLM_CLIP_NORM,
  };
}

interface PretrainRows {
  ids: Int32Array;
  lengths: Int32Array;
  maxLength: number;
  trainRows: number;
  poolRows: number;
  /** "N empty line(s) skipped (lines ...)" or "". */
  poolEmptyLines: string;
  tokens: number;
}

/** Train texts then pool texts, as teacher rows ([CLS] pieces [SEP], at most [teacher] max_length ids). */
async function encodeRows(config: Config, data: PreparedData, signal: AbortSignal | undefined): Promise<PretrainRows> {
  const maxLength = config.teacher.max_length;
  const parts: { ids: Int32Array; lengths: Int32Array }[] = [];
  const train = await data.tokenizer.encodeBatchAsync(data.train.texts, { maxLength, addSpecialTokens: true });
  parts.push(train);
  let poolRows = 0;
  const stats = newPoolStats();
  if (config.data.unlabeled !== null) {
    for await (const batch of streamLineBatches(config.data.unlabeled, { batchSize: POOL_READ_BATCH, stats })) {
      if (signal?.aborted) throw new Error('pre-training: cancelled while reading the pool');
      const enc = await data.tokenizer.encodeBatchAsync(batch.texts, { maxLength, addSpecialTokens: true });
      parts.push(enc);
      poolRows += batch.texts.length;
    }
  }
  const rows = parts.reduce((n, p) => n + p.lengths.length, 0);
  const ids = new Int32Array(rows * maxLength);
  const lengths = new Int32Array(rows);
  let row = 0;
  for (const p of parts) {
    ids.set(p.ids, row * maxLength);
    lengths.set(p.lengths, row);
    row += p.lengths.length;
  }
  let tokens = 0;
  for (let i = 0; i < rows; i++) tokens += lengths[i];
  return { ids, lengths, maxLength, trainRows: train.lengths.length, poolRows, poolEmptyLines: describeEmptyLines(stats), tokens };
}

/**
 * The fingerprint of a pre-training: architecture and seed, MLM settings,
 * tokenisation, and the exact train / pool files. Threads are left out
 * (they change only the last bits of the sums).
 */
export function pretrainFingerprint(config: Config, data: PreparedData, spec: TransformerSpec): string {
  const { threads: _threads, ...options } = pretrainOptions(config);
  return createHash('sha256')
    .update(
      JSON.stringify({
        what: 'mlm',
        spec,
        options,
        maxLength: config.teacher.max_length,
        lowercase: data.lowercase,
        vocab: createHash('sha256').update(data.vocabTokens.join('\n')).digest('hex'),
        train: fileSha256(config.data.train),
        unlabeled: config.data.unlabeled === null ? null : fileSha256(config.data.unlabeled),
      }),
    )
    .digest('hex');
}

interface PretrainInfo {
  fingerprint: string;
  step: number;
  totalSteps: number;
  finished: boolean;
  encoderSha256: string | null;
  lossCurve: { step: number; loss: number }[];
  [key: string]: unknown;
}

function readInfo(dir: string): PretrainInfo | null {
  try {
    const info = JSON.parse(fs.readFileSync(path.join(dir, PRETRAIN_INFO_FILE), 'utf8')) as PretrainInfo;
    return typeof info.fingerprint === 'string' ? info : null;
  } catch {
    return null;
  }
}

/**
 * Pre-trains (or resumes, or reuses) the teacher's encoder into <runFolder>/pretrain/.
 * Throws when interrupted (the checkpoint is saved first; the message says how to resume).
 */
export async function pretrainStep(
  config: Config,
  data: PreparedData,
  runFolder: string,
  log: RunLog,
  options: PretrainStepOptions = { progress: false },
): Promise<PretrainSummary> {
  if (config.teacher.kind !== 'native') {
    throw new Error(`${config.file}: [teacher] kind = ${config.teacher.kind}: masked-LM pre-training is for the native teacher (set [teacher] kind = native)`);
  }
  const dir = path.join(runFolder, PRETRAIN_DIR);
  const checkpoint = path.join(dir, CHECKPOINT_FILE);
  const encoder = path.join(dir, ENCODER_FILE);
  const spec = teacherSpec(config, data.vocabTokens.length, data.classIds.labels.length);
  const raw = pretrainOptions(config);
  const fingerprint = pretrainFingerprint(config, data, spec);
  fs.mkdirSync(dir, { recursive: true });

  // A finished pre-training of exactly these settings and data: reuse it.
  const earlier = readInfo(dir);
  if (earlier !== null && earlier.fingerprint === fingerprint && earlier.finished && fs.existsSync(encoder)) {
    const sha = fileSha256(encoder);
    if (sha === earlier.encoderSha256) {
      log.info(`pretrain: reusing the finished masked-LM pre-training in ${dir} (same settings and data; ${formatCount(earlier.totalSteps)} steps)`);
      const summary: PretrainSummary = {
        dir,
        checkpoint,
        encoder,
        fingerprint,
        encoderSha256: sha,
        reused: true,
        resumedFrom: earlier.step,
        step: earlier.step,
        totalSteps: earlier.totalSteps,
        finished: true,
        rows: Number(earlier.rows ?? 0),
        tokensPerEpoch: Number(earlier.tokensPerEpoch ?? 0),
        tokensPerSecond: 0,
        seconds: 0,
        lossCurve: earlier.lossCurve ?? [],
      };
      log.record.pretrain = { ...summary };
      return summary;
    }
  }

  // A checkpoint of other settings or data is never overwritten silently.
  let resumeMeta: Record<string, string> | null = null;
  if (fs.existsSync(checkpoint)) {
    resumeMeta = readSafetensorsMetadata(checkpoint);
    if (resumeMeta.format !== 'model-distill-mlm-checkpoint') {
      throw new Error(`${checkpoint}: not a model-distill MLM checkpoint (metadata format is ${JSON.stringify(resumeMeta.format ?? null)}); move it away or delete it to start pre-training over`);
    }
    if (resumeMeta.fingerprint !== fingerprint) {
      throw new Error(
        `${checkpoint}: this checkpoint was made with other [teacher] settings or other data (fingerprint ${String(resumeMeta.fingerprint).slice(0, 12)}, ` +
          `this config gives ${fingerprint.slice(0, 12)}); restore the settings to resume it, or delete ${dir} to start pre-training over`,
      );
    }
  }

  const rows = await encodeRows(config, data, options.signal);
  const tokenizer = data.tokenizer;
  if (tokenizer.maskId < 0) throw new Error(`${data.vocabPath}: the vocabulary has no [MASK] token, which masked-LM pre-training needs`);
  const specialIds = Int32Array.from([tokenizer.padId, tokenizer.unkId, tokenizer.clsId, tokenizer.sepId, tokenizer.maskId].filter((id) => id >= 0));
  const addon = loadAddon();
  const pre: RawMlmPretrainer = new addon.MlmPretrainer(spec, rows, { maskId: tokenizer.maskId, specialIds }, raw);
  let resumedFrom = 0;
  if (resumeMeta !== null) {
    try {
      pre.loadCheckpoint(checkpoint);
    } catch (err) {
      throw new Error(`${(err as Error).message} (delete ${checkpoint} to start pre-training over)`);
    }
    resumedFrom = pre.step;
  }
  const totalSteps = pre.totalSteps;
  const lossCurve = earlier !== null && earlier.fingerprint === fingerprint ? (earlier.lossCurve ?? []).filter((p) => p.step <= resumedFrom) : [];
  log.info(
    `pretrain: masked-LM on ${formatCount(rows.trainRows)} train texts + ${formatCount(rows.poolRows)} pool texts` +
      (config.data.unlabeled === null ? ' (no [data] unlabeled)' : '') +
      (rows.poolEmptyLines !== '' ? ` (pool: ${rows.poolEmptyLines})` : '') +
      `, ${formatCount(rows.tokens)} tokens an epoch; transformer ${spec.layers} layers x hidden ${spec.hidden}, ${spec.heads} heads, FFN ${spec.intermediate}; ` +
      `${formatCount(totalSteps)} steps (${config.teacher.mlm_max_steps > 0 ? `mlm_max_steps` : `${config.teacher.mlm_epochs} epoch(s)`} of ${formatCount(pre.stepsPerEpoch)} batches of ${raw.batchSize}), ` +
      `mask ${raw.maskProb}, AdamW lr ${raw.learningRate} (warmup ${raw.warmup}, linear decay), weight decay ${raw.weightDecay}, clip ${raw.clipNorm}` +
      (resumedFrom > 0 ? `; resuming from ${checkpoint} at step ${formatCount(resumedFrom)}` : ''),
  );

  const base = { fingerprint, rows: rows.lengths.length, trainRows: rows.trainRows, poolRows: rows.poolRows, tokensPerEpoch: rows.tokens, totalSteps, checkpoint, encoder };
  const writeInfo = (step: number, finished: boolean, encoderSha256: string | null, extra: Record<string, unknown> = {}) =>
    writeFileAtomic(path.join(dir, PRETRAIN_INFO_FILE), JSON.stringify({ ...base, step, finished, encoderSha256, lossCurve, ...extra }, null, 2) + '\n');

  const every = Math.max(1, Math.floor(totalSteps / LOSS_CURVE_POINTS));
  let nextPoint = (Math.floor(resumedFrom / every) + 1) * every;
  let lastLoss = NaN;
  const remaining = totalSteps - resumedFrom;
  const bar =
    options.progress === false || remaining === 0
      ? null
      : new Progress({ label: resumedFrom > 0 ? `MLM pre-training (from step ${formatCount(resumedFrom)})` : 'MLM pre-training', total: remaining, unit: 'steps', stream: options.progress });
  const onAbort = () => pre.cancel();
  options.signal?.addEventListener('abort', onAbort);
  if (options.signal?.aborted) pre.cancel();
  const started = Date.now();
  let result;
  try {
    result = await pre.run(
      {
        checkpointPath: checkpoint,
        checkpointSeconds: options.checkpointSeconds ?? CHECKPOINT_SECONDS,
        encoderPath: encoder,
        metadata: { fingerprint, config: config.file },
        stopAfterSteps: options.stopAfterSteps ?? 0,
      },
      (e) => {
        if (e.kind === 'checkpoint') {
          writeInfo(e.step, false, null);
          if (e.step < e.totalSteps) log.info(`pretrain: checkpoint at step ${formatCount(e.step)}/${formatCount(e.totalSteps)} -> ${checkpoint}`);
          return;
        }
        lastLoss = e.loss ?? NaN;
        if (lossCurve.length === 0 || e.step >= nextPoint || e.step === e.totalSteps) {
          lossCurve.push({ step: e.step, loss: Number(lastLoss.toFixed(4)) });
          nextPoint = (Math.floor(e.step / every) + 1) * every;
        }
        options.onProgress?.({ type: 'pretrain', step: e.step, totalSteps: e.totalSteps, loss: lastLoss, tokensPerSecond: e.tokensPerSecond ?? 0 });
        bar?.update(e.step - resumedFrom, `loss ${lastLoss.toFixed(3)}, ${formatCount(e.tokensPerSecond ?? 0)} tokens/s`);
      },
    );
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
  }
  const seconds = (Date.now() - started) / 1000;
  if (!result.finished) {
    writeInfo(result.step, false, null);
    bar?.finish(`stopped, loss ${lastLoss.toFixed(3)}`);
    throw new Error(
      `pre-training stopped at step ${formatCount(result.step)}/${formatCount(totalSteps)}; checkpoint saved to ${checkpoint}. ` +
        'Run the same command again to resume from it.',
    );
  }
  bar?.finish(`loss ${lastLoss.toFixed(3)}, ${formatCount(result.tokensPerSecond)} tokens/s`);
  const encoderSha256 = fileSha256(encoder);
  writeInfo(result.step, true, encoderSha256, { lastRun: { fromStep: resumedFrom, steps: result.steps, seconds: result.seconds, tokensPerSecond: result.tokensPerSecond, meanLoss: result.meanLoss } });
  const first = lossCurve[0];
  log.info(
    `pretrain: done in ${formatDuration(seconds)}: ${formatCount(result.steps)} steps this run at ${formatCount(result.tokensPerSecond)} tokens/s` +
      (first !== undefined ? `; MLM loss ${first.loss.toFixed(3)} (step ${first.step}) -> ${lastLoss.toFixed(3)} (step ${result.step})` : '') +
      `; encoder weights ${encoder}`,
  );
  const summary: PretrainSummary = {
    dir,
    checkpoint,
    encoder,
    fingerprint,
    encoderSha256,
    reused: false,
    resumedFrom,
    step: result.step,
    totalSteps,
    finished: true,
    rows: rows.lengths.length,
    tokensPerEpoch: rows.tokens,
    tokensPerSecond: result.tokensPerSecond,
    seconds,
    lossCurve,
  };
  log.record.pretrain = { ...summary };
  return summary;
}

/** What the teacher's training info and run.json keep about the pre-training it started from. */
export function pretrainRecord(p: PretrainSummary): Record<string, unknown> {
  const first = p.lossCurve[0];
  const last = p.lossCurve[p.lossCurve.length - 1];
  return {
    kind: 'mlm',
    encoder: p.encoder,
    encoderSha256: p.encoderSha256,
    fingerprint: p.fingerprint,
    steps: p.step,
    reused: p.reused,
    resumedFrom: p.resumedFrom,
    tokensPerSecond: p.tokensPerSecond,
    firstLoss: first === undefined ? null : first.loss,
    lastLoss: last === undefined ? null : last.loss,
  };
}

export interface PretrainFromConfigOptions extends Partial<PretrainStepOptions> {
  log?: (line: string) => void;
  now?: Date;
}

/**
 * `model-distill pretrain config.ini [uniqid]` as a function: prepares the data
 * as `train` does, then pre-trains into <model.dir>/<uniqid>/pretrain/, with its
 * own run.log and run.json there.
 */
export async function pretrainFromConfig(configPath: string, uniqidArg?: string, options: PretrainFromConfigOptions = {}): Promise<PretrainSummary & { runDir: string }> {
  const config = loadConfig(configPath);
  if (config.teacher.kind !== 'native') {
    throw configProblem(config, 'teacher', 'kind', `= ${config.teacher.kind}: pretrain trains the native transformer teacher; set kind = native`);
  }
  const uniqid = resolveUniqid(uniqidArg, options.now);
  const dir = runDir(config, uniqid);
  const logDir = path.join(dir, PRETRAIN_DIR);
  fs.mkdirSync(logDir, { recursive: true });
  const log = new RunLog(logDir, { uniqid, config: config.file }, { echo: options.log, onProgress: options.onProgress });
  try {
    log.info(`pretrain "${uniqid}" of ${config.file} -> ${logDir}`);
    writeResolvedConfig(config, path.join(logDir, RESOLVED_CONFIG_FILE), { uniqid });
    const data = await log.step('data', () => prepareData(config, dir, log));
    const summary = await log.step('pretrain', () =>
      pretrainStep(config, data, dir, log, {
        progress: options.progress ?? false,
        signal: options.signal,
        checkpointSeconds: options.checkpointSeconds,
        stopAfterSteps: options.stopAfterSteps,
        onProgress: options.onProgress,
      }),
    );
    log.finish();
    return { ...summary, runDir: dir };
  } catch (err) {
    log.finish(err);
    throw err;
  }
}
