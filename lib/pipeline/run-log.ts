/**
 * The record of one training run, kept beside its models:
 *   run.log   what a person reads: every message the run printed, with the
 *             seconds since the start, in order;
 *   run.json  what a program reads: status, timings, data counts, versions and
 *             each student's per-epoch metrics (see RunRecord).
 * Both are rewritten atomically (temp file + rename) after each step, so a run
 * that fails or is stopped half-way still leaves a readable account of how far
 * it got, and never a half-written file.
 */
import * as os from 'os';
import * as path from 'path';

import { loadAddon } from '../binding';
import { writeFileAtomic } from '../util/files';
import type { RunProgressListener } from './run-progress';

export const RUN_LOG_FILE = 'run.log';
export const RUN_JSON_FILE = 'run.json';
export const RESOLVED_CONFIG_FILE = 'config.resolved.json';
export const RUN_FORMAT = 'model-distill-run';
export const RUN_FORMAT_VERSION = 1;

export interface Versions {
  package: string;
  node: string;
  /** From the native addon; "unavailable" when it did not load. */
  core: string;
  simd: string;
  platform: string;
  cpu: string;
  cores: number;
}

/** The versions of everything that shaped a run's numbers. */
export function collectVersions(): Versions {
  let pkg = 'unknown';
  for (const rel of ['../../package.json', '../../../package.json']) {
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports -- package.json sits at another depth in dist/
      const p = require(rel) as { name?: string; version?: string };
      if (p.name === 'model-distill' && p.version) {
        pkg = p.version;
        break;
      }
    } catch {
      // try the next location (source tree vs dist/)
    }
  }
  let core = 'unavailable';
  let simd = 'unavailable';
  try {
    const addon = loadAddon();
    core = addon.coreVersion;
    simd = addon.simdLevel();
  } catch {
    // the run fails later with the addon's own error; the record says what was missing
  }
  const cpus = os.cpus();
  return {
    package: pkg,
    node: process.version,
    core,
    simd,
    platform: `${process.platform}-${process.arch}`,
    cpu: cpus[0]?.model ?? 'unknown',
    cores: cpus.length,
  };
}

/** Everything run.json holds. Fields are filled in as the run goes. */
export interface RunRecord {
  format: typeof RUN_FORMAT;
  formatVersion: typeof RUN_FORMAT_VERSION;
  uniqid: string;
  config: string;
  runDir: string;
  status: 'running' | 'completed' | 'failed';
  error?: string;
  startedAt: string;
  finishedAt?: string;
  /** Seconds per step ("data", "teacher", "textcnn", ...), in the order they ran. */
  timings: Record<string, number>;
  versions: Versions;
  /** Filled by the steps: data counts, vocab, teacher, students. */
  [step: string]: unknown;
}

export interface RunLogOptions {
  /** Also send each message here as it happens (the CLI prints to stderr). */
  echo?: (line: string) => void;
  /** Milliseconds clock (tests). */
  now?: () => number;
  /** Receives a 'step' event when each step starts and finishes. */
  onProgress?: RunProgressListener;
}

export class RunLog {
  readonly dir: string;
  readonly record: RunRecord;
  private readonly lines: string[] = [];
  private readonly echo: (line: string) => void;
  private readonly now: () => number;
  private readonly onProgress: RunProgressListener | undefined;
  private readonly start: number;

  constructor(dir: string, base: { uniqid: string; config: string }, options: RunLogOptions = {}) {
    this.dir = dir;
    this.echo = options.echo ?? (() => {});
    this.now = options.now ?? Date.now;
    this.onProgress = options.onProgress;
    this.start = this.now();
    this.record = {
      format: RUN_FORMAT,
      formatVersion: RUN_FORMAT_VERSION,
      uniqid: base.uniqid,
      config: base.config,
      runDir: dir,
      status: 'running',
      startedAt: new Date(this.start).toISOString(),
      timings: {},
      versions: collectVersions(),
    };
  }

  /** Seconds since the run started. */
  elapsed(): number {
    return (this.now() - this.start) / 1000;
  }

  /** A message for the person running the command; goes to run.log (timestamped) and to `echo`. */
  info(message: string): void {
    for (const line of message.split('\n')) this.lines.push(`[${this.elapsed().toFixed(1).padStart(7)} s] ${line}`);
    this.echo(message);
  }

  /**
   * Runs one step, timing it into record.timings[name]; the log files are
   * rewritten when it ends (also when it throws).
   */
  async step<T>(name: string, body: () => Promise<T> | T): Promise<T> {
    const t0 = this.now();
    this.onProgress?.({ type: 'step', step: name, state: 'started' });
    try {
      return await body();
    } finally {
      this.record.timings[name] = Math.round(this.now() - t0) / 1000;
      this.save();
      this.onProgress?.({ type: 'step', step: name, state: 'finished', seconds: this.record.timings[name] });
    }
  }

  /** Marks the run finished (or failed, with the error's message) and saves. */
  finish(error?: unknown): void {
    this.record.status = error === undefined ? 'completed' : 'failed';
    if (error !== undefined) {
      this.record.error = error instanceof Error ? error.message : String(error);
      this.lines.push(`[${this.elapsed().toFixed(1).padStart(7)} s] FAILED: ${this.record.error}`);
    }
    this.record.finishedAt = new Date(this.now()).toISOString();
    this.record.timings.total = Math.round(this.now() - this.start) / 1000;
    this.save();
  }

  /** Rewrites run.log and run.json (atomically). */
  save(): void {
    writeFileAtomic(path.join(this.dir, RUN_LOG_FILE), this.lines.join('\n') + '\n');
    writeFileAtomic(path.join(this.dir, RUN_JSON_FILE), JSON.stringify(this.record, null, 2) + '\n');
  }
}
