/**
 * Flags of the train and predict suites: `npm run bench -- train --quick`,
 * `... predict --smoke --data=DIR`. Values go after `=` so that bench/benchmark.ts
 * can tell suite names from flags without knowing each suite's flags.
 */
import * as path from 'path';

export interface SuiteFlags {
  /** Less data and fewer rounds: a run of a minute or two, numbers only indicative. */
  quick: boolean;
  /** The smallest run that exercises every row (used by test/bench-smoke.test.ts); no PyTorch. */
  smoke: boolean;
  /** A data folder (train.tsv, eval.tsv[, unlabeled.txt]) instead of the suite's default. */
  data: string | null;
  /** Interleaved rounds; the table shows medians. null = the suite's default. */
  rounds: number | null;
  /** Leave out the PyTorch reference (train and teacher suites). */
  noTorch: boolean;
}

export function parseSuiteFlags(args: readonly string[], suite: string): SuiteFlags {
  const flags: SuiteFlags = { quick: false, smoke: false, data: null, rounds: null, noTorch: false };
  for (const arg of args) {
    const eq = arg.indexOf('=');
    const name = eq < 0 ? arg : arg.slice(0, eq);
    const value = eq < 0 ? null : arg.slice(eq + 1);
    const needValue = (): string => {
      if (value === null || value === '') throw new Error(`bench ${suite}: ${name} needs a value, as ${name}=VALUE`);
      return value;
    };
    const noValue = (): void => {
      if (value !== null) throw new Error(`bench ${suite}: ${name} takes no value but received ${JSON.stringify(value)}`);
    };
    switch (name) {
      case '--quick':
        noValue();
        flags.quick = true;
        break;
      case '--smoke':
        noValue();
        flags.smoke = true;
        break;
      case '--no-torch':
        noValue();
        flags.noTorch = true;
        break;
      case '--data':
        flags.data = path.resolve(needValue());
        break;
      case '--rounds': {
        const n = Number(needValue());
        if (!Number.isSafeInteger(n) || n < 1) throw new Error(`bench ${suite}: expected positive integer for --rounds but received ${JSON.stringify(value)}`);
        flags.rounds = n;
        break;
      }
      default:
        throw new Error(`bench ${suite}: unknown flag ${JSON.stringify(arg)} (flags: --quick, --smoke, --data=DIR, --rounds=N${suite === 'train' || suite === 'teacher' ? ', --no-torch' : ''})`);
    }
  }
  return flags;
}

/** Quantile of sorted values by nearest rank (p99 of 2,000 calls = the 1,980th smallest). */
export function quantileSorted(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil(q * sorted.length)));
  return sorted[rank - 1];
}
