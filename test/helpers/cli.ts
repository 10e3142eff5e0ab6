/**
 * Running the CLI in a child process exactly as a user does (node --require tsx/cjs lib/cli.ts),
 * for the CLI end-to-end tests (cli, train-cli, distill-cli, labels-cli): one copy of the spawn
 * settings and of the exit-status assertions.
 */
import { strict as assert } from 'assert';
import { spawnSync } from 'child_process';
import * as path from 'path';

export const REPO_ROOT = path.resolve(__dirname, '..', '..');
export const CLI = path.join(REPO_ROOT, 'lib', 'cli.ts');
/** The small Chinese reviews fixture (train/eval/unlabeled/class_id) the pipeline tests share. */
export const TINY_REVIEWS = path.join(REPO_ROOT, 'test', 'fixtures', 'tiny-reviews');
export const TINY_REVIEWS_LABELS = ['正面', '负面', '物流'];

export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** `model-distill <args>` from the repo root, stdin = input; MODEL_DISTILL_DEBUG off so errors are one line. */
export function runCli(args: string[], input: string | Buffer = '', env: NodeJS.ProcessEnv = {}): CliResult {
  const r = spawnSync(process.execPath, ['--require', 'tsx/cjs', CLI, ...args], {
    cwd: REPO_ROOT,
    input,
    encoding: 'utf8',
    env: { ...process.env, MODEL_DISTILL_DEBUG: '', ...env },
    maxBuffer: 64 * 1024 * 1024,
    timeout: 240_000,
  });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Asserts exit status 0 (the message shows stderr) and returns the result. */
export function ok(r: CliResult, what: string): CliResult {
  assert.equal(r.status, 0, `${what} exited ${r.status}: ${r.stderr}`);
  return r;
}

/** Asserts exit status `code` (default 1) and a stderr matching `pattern`. */
export function fails(r: CliResult, what: string, pattern: RegExp, code = 1): void {
  assert.equal(r.status, code, `${what} should fail with exit code ${code}, got ${r.status}: ${r.stderr}`);
  assert.match(r.stderr, pattern);
}

/** Output lines (the final newline ends the last line; it does not start another). */
export function outputLines(stdout: string): string[] {
  assert.ok(stdout === '' || stdout.endsWith('\n'), 'output ends with a newline');
  return stdout === '' ? [] : stdout.slice(0, -1).split('\n');
}
