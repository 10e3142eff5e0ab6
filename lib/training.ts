/**
 * The training API: what the `train`, `pretrain`, `experiment`, `detect-wrong-labels` and
 * `clean-labels` commands do, as functions a Node script can call and await, with typed
 * results. The commands are thin callers of these (lib/commands/); everything is configured
 * by a config.ini, as on the command line.
 *
 *   import { train } from 'model-distill';
 *   const run = await train('data/config.ini', 'exp1', { onProgress: (e) => { ... } });
 *   run.students[0].evalAccuracy;
 *
 * Progress: `onProgress` receives events as data (run-progress.ts: steps, batches, epochs,
 * pre-training steps); `log` receives the lines the CLI prints; `progress` draws the CLI's
 * bars on a stream (process.stderr). `signal` stops training at the next batch (the call
 * then rejects with "cancelled"; pre-training keeps its checkpoint).
 */
import { cleanLabels as cleanLabelsImpl, type CleanOptions, type CleanReport } from './labels/clean';
import { detectWrongLabels as detectWrongLabelsImpl, type DetectionReport, type DetectOptions } from './labels/detect';
import { runExperiment, type ExperimentResult } from './experiment/run';
import { pretrainFromConfig, type PretrainSummary } from './pipeline/pretrain';
import type { RunProgressListener } from './pipeline/run-progress';
import { trainFromConfig, type RunSummary } from './pipeline/train';
import type { ProgressWriter } from './progress';
import { argumentError, checkNonEmptyString, checkObject, checkOptionalFunction } from './util/check-args';

export interface RunOptions {
  /** Steps, batches, epochs (and pre-training steps) as they happen. */
  onProgress?: RunProgressListener;
  /** Each message of the run, as it happens (the CLI prints them to stderr); default none. */
  log?: (line: string) => void;
  /** Where the CLI's progress bars are drawn (e.g. process.stderr); default none. */
  progress?: ProgressWriter | false;
  /** Stops training at the next batch; the call then rejects. */
  signal?: AbortSignal;
}

export interface TrainRunOptions extends RunOptions {
  /** redis://HOST:PORT: score the pool on `model-distill worker`s through this queue (overrides [distill] queue). */
  queue?: string;
}

export interface ExperimentRunOptions extends RunOptions {
  /** An extra labelled file (text<TAB>label) every model is scored on; default [data] test. */
  data?: string;
}

/** What `pretrain` returns: the pre-training's summary and the run folder it belongs to. */
export type PretrainResult = PretrainSummary & { runDir: string };

/**
 * `model-distill train`: the teacher, its soft labels and every student of the config, into
 * <model.dir>/<uniqid>/. Resolves with each student's folder, scores and per-epoch reports.
 */
export async function train(configPath: string, uniqid?: string, options: TrainRunOptions = {}): Promise<RunSummary> {
  checkRunArguments('train', configPath, uniqid, options);
  if (options.queue !== undefined) checkNonEmptyString(options.queue, 'options.queue', 'train');
  return trainFromConfig(configPath, uniqid, { ...runOptions(options), queue: options.queue });
}

/** `model-distill pretrain`: masked-LM pre-training of the native teacher (resumable). */
export async function pretrain(configPath: string, uniqid?: string, options: RunOptions = {}): Promise<PretrainResult> {
  checkRunArguments('pretrain', configPath, uniqid, options);
  return pretrainFromConfig(configPath, uniqid, { ...runOptions(options) });
}

/**
 * `model-distill experiment`: every student alone, distilled and distilled with the pool, plus
 * the teacher; writes the table and chart and resolves with the rows. A setting that fails is a
 * row with a note and an entry in `failures` (the call itself resolves).
 */
export async function experiment(configPath: string, uniqid?: string, options: ExperimentRunOptions = {}): Promise<ExperimentResult> {
  checkRunArguments('experiment', configPath, uniqid, options);
  if (options.data !== undefined) checkNonEmptyString(options.data, 'options.data', 'experiment');
  return runExperiment(configPath, uniqid, { ...runOptions(options), data: options.data });
}

/** `model-distill detect-wrong-labels`: cross-validated students flag likely mislabelled train rows. */
export async function detectWrongLabels(configPath: string, uniqid?: string, options: DetectOptions = {}): Promise<DetectionReport> {
  checkRunArguments('detectWrongLabels', configPath, uniqid, options);
  return detectWrongLabelsImpl(configPath, uniqid, options);
}

/** `model-distill clean-labels`: writes the train file without (or relabelling) the flagged rows. */
export async function cleanLabels(configPath: string, uniqid?: string, options: CleanOptions = {}): Promise<CleanReport> {
  checkRunArguments('cleanLabels', configPath, uniqid, options);
  return cleanLabelsImpl(configPath, uniqid, options);
}

function runOptions(o: RunOptions): RunOptions {
  return { onProgress: o.onProgress, log: o.log, progress: o.progress ?? false, signal: o.signal };
}

/** Sharp-style checks: a bad argument is a TypeError naming the function, the argument and the value. */
function checkRunArguments(fn: string, configPath: unknown, uniqid: unknown, options: unknown): void {
  checkNonEmptyString(configPath, 'configPath', fn);
  if (uniqid !== undefined && (typeof uniqid !== 'string' || uniqid.length === 0)) {
    throw argumentError('a non-empty string or undefined', 'uniqid', uniqid, fn);
  }
  checkObject(options, 'options', fn);
  const o = options as Record<string, unknown>;
  for (const key of ['onProgress', 'log'] as const) checkOptionalFunction(o[key], `options.${key}`, fn);
  if (o.signal !== undefined && !(o.signal instanceof AbortSignal)) {
    throw argumentError('an AbortSignal', 'options.signal', o.signal, fn);
  }
}
