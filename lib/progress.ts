/**
 * Progress of a long job (training epochs, scoring the pool, folds), on stderr.
 *
 * On a terminal: one bar that redraws in place, with done/total, rate and ETA:
 *   epoch 2/10 [#########...........]  5,120/11,190  45.8%  3,210 examples/s  ETA 0:00:02
 * Elsewhere (a log file, CI): plain lines, at most one per 10% of the work or
 * per 10 seconds, whichever comes first, so a log stays readable:
 *   epoch 2/10: 5,120/11,190 (45.8%) 3,210 examples/s ETA 0:00:02
 * A job of unknown size (total 0) shows done and rate only.
 *
 * The clock is injectable so tests can drive time without sleeping.
 */

export interface ProgressWriter {
  write(chunk: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export interface ProgressOptions {
  /** What is being done, e.g. "epoch 2/10" or "scoring pool". */
  label: string;
  /** Units of work in all; 0 when unknown. */
  total: number;
  /** Name of a unit in the rate, e.g. "examples" (default) or "tokens". */
  unit?: string;
  /** Where to write (default process.stderr). */
  stream?: ProgressWriter;
  /** Override the terminal test (default: stream.isTTY). */
  tty?: boolean;
  /** Milliseconds since some origin (default Date.now). */
  now?: () => number;
  /** Minimum time between terminal redraws (default 100 ms). */
  redrawMs?: number;
  /** Plain mode: a line at least every this many ms (default 10 s) ... */
  lineEveryMs?: number;
  /** ... and at every this fraction of the total (default 0.1). */
  lineEveryFraction?: number;
}

/** 1234567 -> "1,234,567" (fixed locale, so logs look the same everywhere). */
export function formatCount(n: number): string {
  return Math.round(n)
    .toString()
    .replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/** An accuracy, F1 or loss for a log line: four decimals, or "-" when there is none. */
export function formatScore(x: number | null | undefined): string {
  return x === null || x === undefined ? '-' : x.toFixed(4);
}

/** Seconds -> "H:MM:SS". */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return `${h}:${String(m).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}`;
}

function formatRate(perSecond: number): string {
  if (!Number.isFinite(perSecond)) return '?';
  return perSecond >= 100 ? formatCount(perSecond) : perSecond.toFixed(1);
}

export class Progress {
  private readonly label: string;
  private readonly total: number;
  private readonly unit: string;
  private readonly stream: ProgressWriter;
  private readonly tty: boolean;
  private readonly now: () => number;
  private readonly redrawMs: number;
  private readonly lineEveryMs: number;
  private readonly lineEveryFraction: number;
  private readonly start: number;
  private done = 0;
  private note = '';
  private lastDraw = -Infinity;
  private lastLineAt: number;
  private lastLineStep = 0;
  private finished = false;
  private barWidth = 0; // characters of the last terminal draw, to blank leftovers

  constructor(options: ProgressOptions) {
    if (!Number.isFinite(options.total) || options.total < 0) {
      throw new TypeError(`Expected non-negative number for total but received ${String(options.total)}`);
    }
    this.label = options.label;
    this.total = options.total;
    this.unit = options.unit ?? 'examples';
    this.stream = options.stream ?? process.stderr;
    this.tty = options.tty ?? this.stream.isTTY === true;
    this.now = options.now ?? Date.now;
    this.redrawMs = options.redrawMs ?? 100;
    this.lineEveryMs = options.lineEveryMs ?? 10_000;
    this.lineEveryFraction = options.lineEveryFraction ?? 0.1;
    this.start = this.now();
    this.lastLineAt = this.start;
  }

  /** Adds `n` finished units (default 1); `note` (e.g. "loss 0.412") is shown after the ETA. */
  tick(n = 1, note?: string): void {
    this.update(this.done + n, note);
  }

  /** Sets the finished units to `done`. */
  update(done: number, note?: string): void {
    if (this.finished) return;
    this.done = done;
    if (note !== undefined) this.note = note;
    const t = this.now();
    if (this.tty) {
      if (t - this.lastDraw >= this.redrawMs) this.drawBar(t);
      return;
    }
    const step = this.total > 0 ? Math.floor(this.done / this.total / this.lineEveryFraction + 1e-9) : 0;
    if (step > this.lastLineStep || t - this.lastLineAt >= this.lineEveryMs) {
      this.lastLineStep = Math.max(step, this.lastLineStep);
      this.lastLineAt = t;
      if (this.total > 0 && this.done >= this.total) return; // finish() prints the last line
      this.stream.write(`${this.describe(t, false)}\n`);
    }
  }

  /** Prints the final state (done, total time, mean rate) and ends the bar's line. */
  finish(note?: string): void {
    if (this.finished) return;
    if (note !== undefined) this.note = note;
    const t = this.now();
    const elapsed = Math.max((t - this.start) / 1000, 1e-9);
    const totalText = this.total > 0 ? `/${formatCount(this.total)}` : '';
    const line = `${this.label}: ${formatCount(this.done)}${totalText} ${this.unit} in ${formatDuration(elapsed)} (${formatRate(this.done / elapsed)} ${this.unit}/s)${this.note ? `  ${this.note}` : ''}`;
    if (this.tty) this.stream.write(`\r${line.padEnd(this.barWidth)}\n`);
    else this.stream.write(`${line}\n`);
    this.finished = true;
  }

  private describe(t: number, withBar: boolean): string {
    const elapsed = (t - this.start) / 1000;
    const rate = elapsed > 0 ? this.done / elapsed : NaN;
    const parts: string[] = [];
    if (this.total > 0) {
      const fraction = Math.min(1, this.done / this.total);
      const pct = `${(fraction * 100).toFixed(1)}%`;
      const eta = rate > 0 ? formatDuration((this.total - this.done) / rate) : '?';
      const counts = `${formatCount(this.done)}/${formatCount(this.total)}`;
      if (withBar) {
        const width = 20;
        const filled = Math.round(fraction * width);
        parts.push(`${this.label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`, counts, pct);
      } else {
        parts.push(`${this.label}: ${counts} (${pct})`);
      }
      parts.push(`${formatRate(rate)} ${this.unit}/s`, `ETA ${eta}`);
    } else {
      parts.push(withBar ? this.label : `${this.label}:`, `${formatCount(this.done)} ${this.unit}`, `${formatRate(rate)} ${this.unit}/s`);
    }
    if (this.note) parts.push(this.note);
    return parts.join(withBar ? '  ' : ' ');
  }

  private drawBar(t: number): void {
    this.lastDraw = t;
    let text = this.describe(t, true);
    const columns = this.stream.columns;
    if (columns !== undefined && columns > 10 && text.length > columns - 1) text = text.slice(0, columns - 1);
    this.stream.write(`\r${text.padEnd(this.barWidth)}`);
    this.barWidth = text.length;
  }
}
