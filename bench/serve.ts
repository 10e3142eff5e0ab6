/**
 * Serving over HTTP under load: `model-distill serve` against what a user could run instead,
 * measured with autocannon (programmatic) in one run. Each server is its own process on
 * 127.0.0.1, and so is the load generator (bench/serve-load.ts); on a small machine they all
 * share the same cores, the bare route included: the ratios are the result to read.
 *   a. serve           model-distill serve, micro-batching on (the default)
 *   b. bare            fastify, the same route answering a constant: the HTTP ceiling
 *   c. onnx            fastify + onnxruntime-node on the model's ONNX export, one run() per request
 *                      (1 intra-op thread: on a small shared machine its spinning pool of 2 was far slower)
 *   d. serve-unbatched model-distill serve --no-batching: one native call per request
 * and, with --targets=, serve-w2 / bare-w2: the same with two processes sharing the port.
 * For each: requests/s, texts/s, p50 and p99 latency, and the CPU time per request of the server
 * (all its threads and processes) and of the load generator, at concurrency 1, 16 and 256 with
 * 1-text and 32-text requests (bodies rotate over real texts). All servers run throughout; each
 * cell measures them one after the other (1 s warm-up, then the timed run); with --rounds=N the
 * whole grid runs N times and the table shows each figure's median.
 *
 * The model is a TextCNN of the predict suite's size (embedding 128, windows 3/4/5, 128 filters,
 * max length 128) over a vocab built from the data's train.tsv, with its initial weights: speed
 * does not depend on training, so the suite spends no time on it.
 *
 *   npm run bench -- serve                 5 s per cell (about 3 minutes)
 *   npm run bench -- serve --rounds=3      the grid three times, medians (about 10 minutes)
 *   npm run bench -- serve --quick         2 s per cell
 *   npm run bench -- serve --smoke --data=DIR   0.5 s per cell, tiny data (the smoke test)
 *   --targets=serve,bare,...  --texts=1,32  --concurrency=1,16,256   a part of the grid
 */
import { spawn, type ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import { median, type Cell, type Suite, type SuiteResult } from './harness';
import { LoadGenerator } from './serve-load';
import { parseSuiteFlags } from './suite-flags';

const repoRoot = path.resolve(__dirname, '..');
const defaultDataDir = path.resolve(repoRoot, '..', 'shared', 'data', 'shop10');
const CONCURRENCY = [1, 16, 256];
const TEXTS_PER_REQUEST = [1, 32];
const MAX_LENGTH = 128;

interface Target {
  key: string;
  what: string;
  args: (modelDir: string) => string[];
}

const cli = path.join(repoRoot, 'lib', 'cli.ts');
const targetsFile = path.join(repoRoot, 'bench', 'serve-targets.ts');
const serveArgs = (dir: string, ...more: string[]): string[] => [cli, 'serve', '--model-dir', `bench=${dir}`, '--port', '0', '--max-texts', '64', ...more];

/** Rows (a)-(d) run by default; the -w2 rows (two processes sharing the port) with --targets=. */
const TARGETS: Target[] = [
  { key: 'serve', what: 'model-distill serve (micro-batching)', args: (dir) => serveArgs(dir) },
  { key: 'bare', what: 'bare fastify route (constant)', args: () => [targetsFile, 'bare', '0'] },
  { key: 'onnx', what: 'fastify + onnxruntime-node per request', args: (dir) => [targetsFile, 'onnx', '0', dir, '1'] },
  { key: 'serve-unbatched', what: 'model-distill serve --no-batching', args: (dir) => serveArgs(dir, '--no-batching') },
  { key: 'serve-w2', what: 'model-distill serve --workers 2', args: (dir) => serveArgs(dir, '--workers', '2') },
  { key: 'bare-w2', what: 'bare fastify route, 2 processes (node:cluster)', args: () => [targetsFile, 'bare', '0', '', '', '2'] },
];
const DEFAULT_TARGETS = ['serve', 'bare', 'onnx', 'serve-unbatched'];

/** The serve suite's own flags (the others go to parseSuiteFlags): which rows and cells to run. */
interface ServeFlags {
  targets: Target[];
  texts: number[];
  concurrency: number[];
  rest: string[];
}

function parseServeFlags(args: readonly string[]): ServeFlags {
  const flags: ServeFlags = { targets: TARGETS.filter((t) => DEFAULT_TARGETS.includes(t.key)), texts: TEXTS_PER_REQUEST, concurrency: CONCURRENCY, rest: [] };
  const numbers = (name: string, value: string): number[] =>
    value.split(',').map((v) => {
      const n = Number(v);
      if (!Number.isSafeInteger(n) || n < 1) throw new Error(`bench serve: expected positive integers for ${name} but received ${JSON.stringify(v)}`);
      return n;
    });
  for (const arg of args) {
    const eq = arg.indexOf('=');
    const name = eq < 0 ? arg : arg.slice(0, eq);
    const value = eq < 0 ? '' : arg.slice(eq + 1);
    if (name === '--targets') {
      flags.targets = value.split(',').map((key) => {
        const target = TARGETS.find((t) => t.key === key);
        if (!target) throw new Error(`bench serve: unknown target ${JSON.stringify(key)} in --targets (targets: ${TARGETS.map((t) => t.key).join(', ')})`);
        return target;
      });
    } else if (name === '--texts') flags.texts = numbers(name, value);
    else if (name === '--concurrency') flags.concurrency = numbers(name, value);
    else flags.rest.push(arg);
  }
  return flags;
}

export const suite: Suite = {
  name: 'serve',
  description: 'HTTP serving under load (autocannon): model-distill serve vs a bare route, onnxruntime-node per request, and serve without micro-batching',
  async run(args: string[] = []): Promise<SuiteResult> {
    const serveFlags = parseServeFlags(args);
    const flags = parseSuiteFlags(serveFlags.rest, 'serve');
    const dataDir = flags.data ?? defaultDataDir;
    const trainFile = path.join(dataDir, 'train.tsv');
    const evalFile = path.join(dataDir, 'eval.tsv');
    if (!fs.existsSync(trainFile) || !fs.existsSync(evalFile)) {
      return { skipped: `no ${trainFile} / ${evalFile} (the shared shop10 data, or --data=DIR with train.tsv and eval.tsv)`, columns: [], rows: [] };
    }
    const seconds = flags.smoke ? 0.5 : flags.quick ? 2 : 5;
    const warmupSeconds = flags.smoke ? 0.3 : 1;
    const rounds = flags.rounds ?? 1;
    const log = (line: string): void => void process.stderr.write(line + '\n');

    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'model-distill-bench-serve-'));
    const load = new LoadGenerator();
    try {
      const modelDir = await buildModel(trainFile, path.join(tmp, 'textcnn'));
      const texts = readTexts(evalFile);
      // Every server runs for the whole suite, and each cell measures them back to back (and
      // with --rounds, round after round), so they see nearly the same background load (this
      // machine is shared and noisy).
      const servers: { target: Target; child: ChildProcess; url: string }[] = [];
      const measured = new Map<string, { target: Target; n: number; connections: number; rps: number[]; p50: number[]; p99: number[]; serverCpu: number[]; clientCpu: number[]; failed: number }>();
      try {
        for (const target of serveFlags.targets) {
          servers.push({ target, ...(await startTarget(target, modelDir)) });
          log(`  ${target.key}: ${servers[servers.length - 1].url}`);
        }
        for (let round = 1; round <= rounds; round++) {
          for (const n of serveFlags.texts) {
            const requests = bodies(texts, n, 64).map((body) => ({ method: 'POST', path: '/v1/predict', headers: { 'content-type': 'application/json' }, body }));
            for (const connections of serveFlags.concurrency) {
              for (const { target, url, child } of servers) {
                const r = await load.run({ url, connections, requests, warmupSeconds, seconds, timeout: 10, serverPid: child.pid! });
                const key = `${target.key}.${n}text.c${connections}`;
                const m = measured.get(key) ?? { target, n, connections, rps: [], p50: [], p99: [], serverCpu: [], clientCpu: [], failed: 0 };
                m.rps.push(r.requestsPerSecond);
                m.p50.push(r.p50);
                m.p99.push(r.p99);
                m.serverCpu.push(r.serverCpuMicros);
                m.clientCpu.push(r.clientCpuMicros);
                m.failed += r.failed;
                measured.set(key, m);
                const round_ = rounds > 1 ? ` (round ${round}/${rounds})` : '';
                log(`    ${target.key}, ${n} text(s), c=${connections}${round_}: ${Math.round(r.requestsPerSecond)} req/s, p50 ${r.p50} ms, p99 ${r.p99} ms, CPU per request: server ${r.serverCpuMicros} µs, load generator ${r.clientCpuMicros} µs${r.failed ? `, ${r.failed} failed` : ''}`);
              }
            }
          }
        }
      } finally {
        for (const { child } of servers) await stopTarget(child);
      }
      const rows: Record<string, Cell>[] = [...measured].map(([key, m]) => ({
        key,
        server: m.target.key,
        'texts/request': m.n,
        concurrency: m.connections,
        'requests/s': Math.round(median(m.rps)),
        'texts/s': Math.round(median(m.rps) * m.n),
        'p50 ms': median(m.p50),
        'p99 ms': median(m.p99),
        'server cpu µs/req': median(m.serverCpu),
        'client cpu µs/req': median(m.clientCpu),
        failed: m.failed,
      }));
      // Rows grouped by server, as the table reads best.
      rows.sort((a, b) => TARGETS.findIndex((t) => t.key === a.server) - TARGETS.findIndex((t) => t.key === b.server));
      const perRound = Object.fromEntries([...measured].map(([key, m]) => [key, m.rps.map(Math.round)]));
      return {
        columns: ['key', 'server', 'texts/request', 'concurrency', 'requests/s', 'texts/s', 'p50 ms', 'p99 ms', 'server cpu µs/req', 'client cpu µs/req', 'failed'],
        rows,
        notes: [...targetNotes(rows, rounds), ...perRoundRatios(perRound)],
        extra: {
          settings: { seconds, warmupSeconds, rounds, dataDir, model: 'textcnn E128 windows 3,4,5 F128, initial weights', servers: serveFlags.targets.map((t) => ({ key: t.key, what: t.what })) },
          requestsPerSecondByRound: perRound,
        },
      };
    } finally {
      await load.close();
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  },
};

/** The ratios of the targets round by round, to show how much they move between rounds. */
function perRoundRatios(perRound: Record<string, number[]>): string[] {
  const ratios = (a: string, b: string): string | undefined =>
    perRound[a] && perRound[b] ? perRound[a].map((x, i) => (x / perRound[b][i]).toFixed(2)).join(', ') : undefined;
  const lines: string[] = [];
  const vsBare = ratios('serve.1text.c256', 'bare.1text.c256');
  const vsOnnx = ratios('serve.1text.c256', 'onnx.1text.c256');
  if (vsBare && perRound['serve.1text.c256'].length > 1) lines.push(`1 text, c=256, per round: serve / bare ${vsBare}`);
  if (vsOnnx && perRound['serve.1text.c256'].length > 1) lines.push(`1 text, c=256, per round: serve / onnxruntime-node ${vsOnnx}`);
  return lines;
}

/**
 * What the measured CPU per request allows: with server and load generator on this machine's
 * cores and nothing else running, at most cores / (server + client CPU per request) requests/s.
 */
function cpuBound(row: Record<string, Cell> | undefined, texts: number): string[] {
  if (!row) return [];
  const server = Number(row['server cpu µs/req']);
  const client = Number(row['client cpu µs/req']);
  if (!Number.isFinite(server + client) || server + client <= 0) return [];
  const cores = os.availableParallelism();
  const requests = (cores * 1e6) / (server + client);
  return [
    `32 texts, c=256: CPU per request: server ${server} µs + load generator ${client} µs; ${cores} otherwise idle cores would allow at most ${Math.round(requests)} req/s = ${Math.round(requests * texts)} texts/s`,
  ];
}

/** The issue's targets, read off the table (cells not measured read n/a). */
function targetNotes(rows: Record<string, Cell>[], rounds: number): string[] {
  const at = (key: string): Record<string, Cell> | undefined => rows.find((r) => r.key === key);
  const rps = (key: string): number => Number(at(key)?.['requests/s'] ?? NaN);
  const serve = rps('serve.1text.c256');
  const bare = rps('bare.1text.c256');
  const onnx = rps('onnx.1text.c256');
  const p99 = Number(at('serve.1text.c256')?.['p99 ms'] ?? NaN);
  const best32 = Math.max(...rows.filter((r) => r.server === 'serve' && r['texts/request'] === 32).map((r) => Number(r['texts/s'])));
  const unbatched = rps('serve-unbatched.1text.c256');
  const fmt = (x: number): string => (Number.isFinite(x) ? x.toFixed(2) : 'n/a');
  // Little's law: with every one of c connections always waiting on a request, the mean
  // latency is c / throughput, whatever the server does; p99 >= mean.
  const littleMs = (r: number): string => (Number.isFinite(r) && r > 0 ? `${((256 / r) * 1000).toFixed(0)} ms` : 'n/a');
  return [
    `1 text, c=256: serve ${serve} req/s = ${fmt(serve / bare)} x the bare route (target >= 0.70), p99 ${p99} ms (target <= 20)`,
    `1 text, c=256: Little's law: mean latency = 256 connections / throughput = ${littleMs(serve)} for serve, ${littleMs(bare)} for the bare route; p99 <= 20 ms needs >= ${256 / 0.02} req/s`,
    `1 text, c=256: serve = ${fmt(serve / onnx)} x onnxruntime-node per request (target >= 5), ${fmt(serve / unbatched)} x serve without micro-batching`,
    `32 texts: serve best ${Number.isFinite(best32) ? best32 : 'n/a'} texts/s (target >= 50,000)`,
    ...cpuBound(at('serve.32text.c256'), 32),
    `${rounds > 1 ? `medians of ${rounds} rounds per cell; ` : ''}load generator (autocannon, its own process) and servers share the machine; the machine was shared with other jobs`,
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
