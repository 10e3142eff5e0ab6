/**
 * What every benchmark suite shares: machine description, timing with warm-up
 * and median, a plain-text table, and the JSON result file.
 *
 * The machine these numbers come from is usually shared and noisy, so suites
 * run their peers side by side in one process, interleave repetitions (every
 * peer sees the same background load) and report medians; the RATIOS between
 * peers are the result to read, the absolute numbers are only indicative.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as v8 from 'v8';
import * as vm from 'vm';

import { nativeInfo } from '../lib';

export interface MachineInfo {
  cpuModel: string;
  cores: number;
  availableParallelism: number;
  memoryGiB: number;
  platform: string;
  node: string;
  simdLevel: string;
  loadAverage1m: number;
}

/** One suite: a name for `npm run bench -- <name>`, and a run that returns its table. */
export interface Suite {
  name: string;
  description: string;
  /** args: the `--flags` given after the suite names (`npm run bench -- train --quick`). */
  run(args?: string[]): Promise<SuiteResult>;
}

export type Cell = string | number | null;

export interface SuiteResult {
  /** When set, the suite could not run (e.g. data missing); nothing else is read. */
  skipped?: string;
  columns: string[];
  rows: Record<string, Cell>[];
  /** Lines printed under the table and stored in the JSON (ratios, caveats). */
  notes?: string[];
  /** Anything else worth keeping in the JSON (settings, ratios as numbers). */
  extra?: Record<string, unknown>;
}

export function machineInfo(): MachineInfo {
  let simdLevel = 'unknown (addon not loaded)';
  try {
    // nativeInfo() throws where the addon cannot load; a suite that needs no addon still runs.
    simdLevel = nativeInfo().simdLevel;
  } catch {
    // keep the placeholder
  }
  const cpus = os.cpus();
  return {
    cpuModel: cpus[0]?.model ?? 'unknown',
    cores: cpus.length,
    availableParallelism: typeof os.availableParallelism === 'function' ? os.availableParallelism() : cpus.length,
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    platform: `${process.platform}-${process.arch}`,
    node: process.version,
    simdLevel,
    loadAverage1m: Math.round(os.loadavg()[0] * 100) / 100,
  };
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** A peer in a side-by-side comparison: `run` does one full pass over the workload. */
export interface Peer {
  name: string;
  run(): unknown | Promise<unknown>;
}

/**
 * Times peers side by side: one warm-up pass each, then `repetitions` rounds in
 * which every peer runs once (round-robin, so load spikes hit all peers alike).
 * Returns each peer's pass times in seconds.
 *
 * settle: before each timed pass, collect garbage and let the event loop turn
 * (untimed). Without it, work the previous peers left behind is billed to the
 * first peer that awaits: N-API finalizers of collected objects (e.g. the
 * thousands of `tokenizers` Encoding wrappers) and other deferred tasks run only
 * when the loop turns, which synchronous peers never let it do. Measured: a
 * 45-85 ms stall in the one async peer's pass, 3-10x its real time.
 */
export async function timePeers(
  peers: Peer[],
  repetitions: number,
  log: (line: string) => void = () => {},
  settle = false,
): Promise<Map<string, number[]>> {
  const times = new Map<string, number[]>(peers.map((p) => [p.name, []]));
  const settleNow = settle ? settler() : async () => {};
  for (const peer of peers) {
    await settleNow();
    const t0 = process.hrtime.bigint();
    await peer.run();
    log(`  warm-up ${peer.name}: ${(Number(process.hrtime.bigint() - t0) / 1e9).toFixed(2)} s`);
  }
  for (let rep = 0; rep < repetitions; rep++) {
    for (const peer of peers) {
      await settleNow();
      const t0 = process.hrtime.bigint();
      await peer.run();
      times.get(peer.name)!.push(Number(process.hrtime.bigint() - t0) / 1e9);
    }
    log(`  round ${rep + 1}/${repetitions} done`);
  }
  return times;
}

/** A full garbage collection, then two turns of the event loop so the finalizers it queued run. */
function settler(): () => Promise<void> {
  // gc() without --expose-gc on the command line: turn the flag on, then fetch gc from a fresh context.
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc') as () => void;
  const turn = () => new Promise<void>((resolve) => setImmediate(resolve));
  return async () => {
    gc();
    await turn();
    await turn();
  };
}

/** A fixed-width text table; numbers right-aligned. */
export function formatTable(columns: string[], rows: Record<string, Cell>[]): string {
  const text = (c: Cell) => (c === null ? '-' : typeof c === 'number' ? formatNumber(c) : c);
  const widths = columns.map((col) => Math.max(col.length, ...rows.map((r) => text(r[col] ?? null).length)));
  const line = (cells: string[], numeric: boolean[]) =>
    cells.map((c, i) => (numeric[i] ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ').trimEnd();
  const out = [line(columns, columns.map(() => false)), widths.map((w) => '-'.repeat(w)).join('  ')];
  for (const row of rows) {
    out.push(line(columns.map((col) => text(row[col] ?? null)), columns.map((col) => typeof row[col] === 'number')));
  }
  return out.join('\n');
}

/** Three significant digits at most, thousands grouped: 12,345 / 45.6 / 1.23. */
export function formatNumber(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  if (Math.abs(x) >= 100) return Math.round(x).toLocaleString('en-US');
  return x.toPrecision(3);
}

/** MODEL_DISTILL_BENCH_RESULTS moves it (the smoke test writes to a temp folder, never over real results). */
export const resultsDir = process.env.MODEL_DISTILL_BENCH_RESULTS || path.join(__dirname, 'results');

/** Writes bench/results/<suite>.json atomically (temp file + rename). */
export function writeResult(suite: string, payload: unknown): string {
  fs.mkdirSync(resultsDir, { recursive: true });
  const file = path.join(resultsDir, `${suite}.json`);
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(payload, null, 2) + '\n');
  fs.renameSync(tmp, file);
  return file;
}
