/**
 * The PyTorch reference (../shared/reference/torch_baseline.py) as a peer in the
 * benchmarks: where it is, whether it can run, and one run of it read back from
 * the JSON line it prints per model.
 */
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

import type { SuiteFlags } from './suite-flags';

const sharedDir = path.resolve(__dirname, '..', '..', 'shared');
export const referenceScript = path.join(sharedDir, 'reference', 'torch_baseline.py');
export const python = process.env.MODEL_DISTILL_PYTHON ?? '/usr/bin/python3';

export interface ReferenceRun {
  examplesPerSecond: number;
  evalAccuracy: number;
  /** The whole process (python start, torch import, data encoding, training, final eval). */
  processSeconds: number;
}

/** Why the reference cannot run here (flags, missing script or python), or null when it can. */
export function referenceUnavailable(flags: SuiteFlags): string | null {
  if (flags.smoke) return 'left out in --smoke mode';
  if (flags.noTorch) return 'left out (--no-torch)';
  if (!fs.existsSync(referenceScript)) return `reference script not found at ${referenceScript}`;
  if (!fs.existsSync(python)) return `${python} not found (set MODEL_DISTILL_PYTHON)`;
  return null;
}

/**
 * Runs `python args...` (args include the script) and resolves with the first JSON line
 * whose model `isModel` accepts; rejects with the command and the output's tail when
 * the process fails or prints no such line.
 */
export function runReference(args: string[], isModel: (model: string) => boolean, what: string): Promise<ReferenceRun> {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const child = spawn(python, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', (err) => reject(new Error(`could not start ${python}: ${err.message}`)));
    child.on('close', (code) => {
      const processSeconds = Number(process.hrtime.bigint() - t0) / 1e9;
      const line = stdout.split('\n').map((l) => { try { return JSON.parse(l) as Record<string, unknown>; } catch { return null; } })
        .find((j) => j !== null && typeof j.model === 'string' && isModel(j.model));
      if (code !== 0 || !line || typeof line.train_examples_per_s !== 'number') {
        const tail = (stderr.trim().split('\n').slice(-3).join(' | ') || stdout.trim().slice(-300)) || '(no output)';
        reject(new Error(`${python} ${args.join(' ')} exited with ${code} and no ${what} result: ${tail}`));
        return;
      }
      resolve({ examplesPerSecond: line.train_examples_per_s, evalAccuracy: Number(line.eval), processSeconds });
    });
  });
}
