/**
 * Serving over HTTP under load: `model-distill serve` against what a user could run instead,
 * measured with autocannon (programmatic) in one run. Each server is its own process on
 * 127.0.0.1, loaded by autocannon from this process (so load generator and server share the
 * machine's cores, as the bare route does too: the ratios are the result to read).
 *   a. serve           model-distill serve, micro-batching on (the default)
 *   b. bare            fastify, the same route answering a constant: the HTTP ceiling
 *   c. onnx            fastify + onnxruntime-node on the model's ONNX export, one run() per request
 *                      (1 intra-op thread: on a small shared machine its spinning pool of 2 was far slower)
 *   d. serve-unbatched model-distill serve --no-batching: one native call per request
 * For each: requests/s, texts/s, p50 and p99 latency at concurrency 1, 16 and 256 with 1-text
 * and 32-text requests (bodies rotate over real texts). All four run throughout; each cell
 * measures them one after the other (1 s warm-up, then the timed run).
 *
 * The model is a TextCNN of the predict suite's size (embedding 128, windows 3/4/5, 128 filters,
 * max length 128) over a vocab built from the data's train.tsv, with its initial weights: speed
 * does not depend on training, so the suite spends no time on it.
 *
 *   npm run bench -- serve                 5 s per cell (about 3 minutes)
 *   npm run bench -- serve --quick         2 s per cell
 *   npm run bench -- serve --smoke --data=DIR   0.5 s per cell, tiny data (the smoke test)
 */
import { spawn, type ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import type { Cell, Suite, SuiteResult } from './harness';
import { parseSuiteFlags } from './suite-flags';

const repoRoot = path.resolve(__dirname, '..');
const defaultDataDir = path.resolve(repoRoot, '..', 'shared', 'data', 'shop10');
const CONCURRENCY = [1, 16, 256];
const TEXTS_PER_REQUEST = [1, 32];
const MAX_LENGTH = 128;

interface Target {
  key: 'serve' | 'bare' | 'onnx' | 'serve-unbatched';
  what: string;
  args: (modelDir: string) => string[];
}

const TARGETS: Target[] = [
  { key: 'serve', what: 'model-distill serve (micro-batching)', args: (dir) => [path.join(repoRoot, 'lib', 'cli.ts'), 'serve', '--model-dir', `bench=${dir}`, '--port', '0', '--max-texts', '64'] },
  { key: 'bare', what: 'bare fastify route (constant)', args: () => [path.join(repoRoot, 'bench', 'serve-targets.ts'), 'bare', '0'] },
  { key: 'onnx', what: 'fastify + onnxruntime-node per request', args: (dir) => [path.join(repoRoot, 'bench', 'serve-targets.ts'), 'onnx', '0', dir, '1'] },
  { key: 'serve-unbatched', what: 'model-distill serve --no-batching', args: (dir) => [path.join(repoRoot, 'lib', 'cli.ts'), 'serve', '--model-dir', `bench=${dir}`, '--port', '0', '--no-batching', '--max-texts', '64'] },
];

/** autocannon's result, the fields read here. */
interface LoadResult {
  requests: { average: number };
  latency: { p50: number; p99: number };
  non2xx: number;
  errors: number;
  timeouts: number;
}
type Autocannon = (options: Record<string, unknown>) => Promise<LoadResult>;

export const suite: Suite = {
  name: 'serve',
  description: 'HTTP serving under load (autocannon): model-distill serve vs a bare route, onnxruntime-node per request, and serve without micro-batching',
  async run(args: string[] = []): Promise<SuiteResult> {
    const flags = parseSuiteFlags(args, 'serve');
    const dataDir = flags.data ?? defaultDataDir;
    const trainFile = path.join(dataDir, 'train.tsv');
    const evalFile = path.join(dataDir, 'eval.tsv');
    if (!fs.existsSync(trainFile) || !fs.existsSync(evalFile)) {
      return { skipped: `no ${trainFile} / ${evalFile} (the shared shop10 data, or --data=DIR with train.tsv and eval.tsv)`, columns: [], rows: [] };
    }
    const seconds = flags.smoke ? 0.5 : flags.quick ? 2 : 5;
    const warmupSeconds = flags.smoke ? 0.3 : 1;
    const log = (line: string): void => void process.stderr.write(line + '\n');

    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'model-distill-bench-serve-'));
    try {
      const modelDir = await buildModel(trainFile, path.join(tmp, 'textcnn'));
      const texts = readTexts(evalFile);
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const autocannon = require('autocannon') as Autocannon;
      const rows: Record<string, Cell>[] = [];
      // Every server runs for the whole suite, and each cell measures them back to back, so
      // the four see nearly the same background load (this machine is shared and noisy).
      const servers: { target: Target; child: ChildProcess; url: string }[] = [];
      try {
        for (const target of TARGETS) {
          servers.push({ target, ...(await startTarget(target, modelDir)) });
          log(`  ${target.key}: ${servers[servers.length - 1].url}`);
        }
        for (const n of TEXTS_PER_REQUEST) {
          const requests = bodies(texts, n, 64).map((body) => ({ method: 'POST', path: '/v1/predict', headers: { 'content-type': 'application/json' }, body }));
          for (const connections of CONCURRENCY) {
            for (const { target, url } of servers) {
              const options = { url, connections, pipelining: 1, requests, timeout: 10 };
              await autocannon({ ...options, duration: warmupSeconds });
              const r = await autocannon({ ...options, duration: seconds });
              const failed = r.non2xx + r.errors + r.timeouts;
              rows.push({
                key: `${target.key}.${n}text.c${connections}`,
                server: target.key,
                'texts/request': n,
                concurrency: connections,
                'requests/s': Math.round(r.requests.average),
                'texts/s': Math.round(r.requests.average * n),
                'p50 ms': r.latency.p50,
                'p99 ms': r.latency.p99,
                failed,
              });
              log(`    ${target.key}, ${n} text(s), c=${connections}: ${Math.round(r.requests.average)} req/s, p50 ${r.latency.p50} ms, p99 ${r.latency.p99} ms${failed ? `, ${failed} failed` : ''}`);
            }
          }
        }
      } finally {
        for (const { child } of servers) await stopTarget(child);
      }
      // Rows grouped by server, as the table reads best.
      rows.sort((a, b) => TARGETS.findIndex((t) => t.key === a.server) - TARGETS.findIndex((t) => t.key === b.server));
      return {
        columns: ['key', 'server', 'texts/request', 'concurrency', 'requests/s', 'texts/s', 'p50 ms', 'p99 ms', 'failed'],
        rows,
        notes: targetNotes(rows),
        extra: { settings: { seconds, warmupSeconds, dataDir, model: 'textcnn E128 windows 3,4,5 F128, initial weights', servers: TARGETS.map((t) => ({ key: t.key, what: t.what })) } },
      };
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  },
};

/** The issue's targets, read off the table. */
function targetNotes(rows: Record<string, Cell>[]): string[] {
  const at = (key: string): Record<string, Cell> | undefined => rows.find((r) => r.key === key);
  const rps = (key: string): number => Number(at(key)?.['requests/s'] ?? NaN);
  const serve = rps('serve.1text.c256');
  const bare = rps('bare.1text.c256');
  const onnx = rps('onnx.1text.c256');
  const p99 = Number(at('serve.1text.c256')?.['p99 ms'] ?? NaN);
  const best32 = Math.max(...CONCURRENCY.map((c) => Number(at(`serve.32text.c${c}`)?.['texts/s'] ?? 0)));
  const unbatched = rps('serve-unbatched.1text.c256');
  const fmt = (x: number): string => (Number.isFinite(x) ? x.toFixed(2) : 'n/a');
  return [
    `1 text, c=256: serve ${serve} req/s = ${fmt(serve / bare)} x the bare route (target >= 0.70), p99 ${p99} ms (target <= 20)`,
    `1 text, c=256: serve = ${fmt(serve / onnx)} x onnxruntime-node per request (target >= 5), ${fmt(serve / unbatched)} x serve without micro-batching`,
    `32 texts: serve best ${best32} texts/s (target >= 50,000)`,
    'load generator (autocannon) and server share the machine; the machine was shared with other jobs',
  ];
}

/** A TextCNN model folder of the predict suite's size, initial weights, vocab from train.tsv. */
async function buildModel(trainFile: string, dir: string): Promise<string> {
  const { VocabBuilder } = await import('../lib/vocab-builder');
  const { NativeStudent } = await import('../lib/student');
  const { saveModelFolder } = await import('../lib/model-folder');
  const lines = fs.readFileSync(trainFile, 'utf8').split('\n').filter((l) => l.includes('\t'));
  const labels = [...new Set(lines.map((l) => l.slice(l.lastIndexOf('\t') + 1)))].sort();
  const builder = new VocabBuilder({ lowercase: true });
  for (const l of lines) builder.addText(l.slice(0, l.lastIndexOf('\t')));
  const { tokens } = builder.build({ minFreq: 2 });
  const student = NativeStudent.create({ kind: 'textcnn', vocabSize: tokens.length, numClasses: labels.length, embeddingDim: 128, windows: [3, 4, 5], filters: 128, dropout: 0.5, seed: 7 });
  try {
    return saveModelFolder(dir, { student, vocabTokens: tokens, labels, maxLength: MAX_LENGTH, lowercase: true, addSpecialTokens: false, training: { purpose: 'bench/serve.ts speed model (initial weights)' } });
  } finally {
    student.dispose();
  }
}

function readTexts(file: string): string[] {
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.includes('\t'))
    .map((l) => l.slice(0, l.lastIndexOf('\t')));
}

/** `count` JSON bodies of `n` texts each, taken in order from the texts. */
function bodies(texts: string[], n: number, count: number): string[] {
  const out: string[] = [];
  for (let b = 0; b < count; b++) out.push(JSON.stringify({ texts: Array.from({ length: n }, (_, i) => texts[(b * n + i) % texts.length]) }));
  return out;
}

function startTarget(target: Target, modelDir: string): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, ['--require', 'tsx/cjs', ...target.args(modelDir)], { cwd: repoRoot, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  return new Promise((resolve, reject) => {
    child.stderr!.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      const m = /serving.* on (http:\/\/[^\s]+)/.exec(stderr);
      if (m) resolve({ child, url: m[1] });
    });
    child.on('exit', (code) => reject(new Error(`bench serve: ${target.key} exited ${code} before listening:\n${stderr}`)));
  });
}

async function stopTarget(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}
