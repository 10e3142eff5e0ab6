/**
 * The native transformer teacher beside its peers, same machine, one run (issue #4):
 *
 *   (a) forward (inference) tokens/s of the native teacher vs onnxruntime-node on the ONNX export
 *       of the SAME weights (lib/onnx/export-teacher.ts), 2 threads each, on the texts of
 *       ../shared/data/shopsenti/eval.tsv, with the max abs difference of their logits;
 *   (b) training examples/s (and tokens/s) of the native teacher vs the PyTorch reference
 *       (../shared/reference/torch_baseline.py --what tf --epochs 1), same data, batch 32;
 *   (c) sgemm GFLOP/s at the teacher's matrix shapes vs the machine's measured FMA peak.
 *
 * Model: the reference's transformer, 4 layers, hidden 256, 4 heads, FFN 1024, GELU, post-LN, max
 * length 128, no pooler (the reference classifies the raw [CLS] state), dropout 0.1, seeded
 * initialisation (speed does not depend on the weights). Texts are encoded EXACTLY as the
 * reference does ([CLS] + one id per character, char vocabulary of train + pool; see
 * bench/reference-data.ts), so every engine sees the same ids.
 *
 * Batching, the same for both forward peers: rows stably sorted by length (what the core's
 * predict_logits does), cut into batches of 32 in that order. onnxruntime gets each batch padded
 * to its longest row with attention_mask 0 on the padding (it computes the padded positions; the
 * core packs the real tokens and never computes padding). tokens/s counts REAL tokens for both.
 * Native runs the batches over its 2-thread pool (one batch per thread at a time); onnxruntime runs
 * them one after the other with 2 intra-op threads. Peers interleave, medians of the rounds.
 *
 * Training, timed as the reference times itself: train_examples_per_s = examples / wall time of
 * fit(), which INCLUDES the evaluation after the epoch; the native figure is measured the same way
 * (rows / wall time of train() with its evaluation). Both: Adam lr 3e-4, batch 32, 1 epoch, no
 * weight decay / warmup / decay / clipping, 2 threads. By default on the first 320 train rows and
 * 100 eval rows (a temp folder both engines read; the full pool stays, so the vocabulary is the
 * full data's): the reference trains this transformer at a few examples/s here (Debian's
 * python3-torch does its matrix products in the generic reference BLAS, libblas3), so a full epoch
 * of 11,190 rows would take it about an hour. Its rate is read unrounded (see UNROUNDED_RUNNER).
 *
 *   npm run bench -- teacher                  default run (forward: all 1,000 eval texts, 3 rounds; training 1 round)
 *   npm run bench -- teacher --quick          fewer texts and rows, 1 round
 *   npm run bench -- teacher --no-torch       leave out the PyTorch reference
 *   npm run bench -- teacher --smoke --data=DIR   tiny run, no PyTorch
 */
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import type { EvalRows, StudentTrainOptions, TransformerSpec } from '../lib/student';
import { median, timePeers, type Cell, type Suite, type SuiteResult } from './harness';
import { readReferenceData, REFERENCE_MAX_LENGTH, type ReferenceData } from './reference-data';
import { parseSuiteFlags, type SuiteFlags } from './suite-flags';
import { python, referenceScript, referenceUnavailable, runReference } from './torch-reference';

const repoRoot = path.resolve(__dirname, '..');
const sharedDir = path.resolve(repoRoot, '..', 'shared');
const defaultDataDir = path.join(sharedDir, 'data', 'shopsenti');

const THREADS = 2;
const BATCH = 32;
const SEED = 1;
const LEARNING_RATE = 3e-4;
const SIZES = { layers: 4, hidden: 256, heads: 4, intermediate: 1024 };

interface Sizes {
  forwardTexts: number;
  trainRows: number;
  evalRows: number;
  /** Forward rounds (peers interleaved). */
  rounds: number;
  /** Training rounds (native, then PyTorch); --rounds sets both. */
  trainRounds: number;
  gemmSeconds: number;
}
function sizes(flags: SuiteFlags): Sizes {
  if (flags.smoke) return { forwardTexts: 64, trainRows: 64, evalRows: 32, rounds: 1, trainRounds: 1, gemmSeconds: 0.05 };
  if (flags.quick) return { forwardTexts: 256, trainRows: 96, evalRows: 50, rounds: flags.rounds ?? 1, trainRounds: flags.rounds ?? 1, gemmSeconds: 0.3 };
  return { forwardTexts: 1000, trainRows: 320, evalRows: 100, rounds: flags.rounds ?? 3, trainRounds: flags.rounds ?? 1, gemmSeconds: 0.6 };
}

function teacherSpec(vocabSize: number, numClasses: number): TransformerSpec {
  return {
    kind: 'transformer', vocabSize, numClasses, ...SIZES, maxPositions: REFERENCE_MAX_LENGTH, dropout: 0.1, pooler: false, seed: SEED,
  };
}

function trainOptions(): StudentTrainOptions {
  // The reference's fit(): plain Adam, constant rate, no clipping, no weight decay.
  return {
    epochs: 1, batchSize: BATCH, learningRate: LEARNING_RATE, optimizer: 'adam', weightDecay: 0,
    warmup: 0, lrDecay: 'none', clipNorm: 0, threads: THREADS, seed: SEED, keepBest: true,
  };
}

/** Multiply-adds x 2 of one forward pass (matrix products only), as Transformer::forward_flops counts them. */
function forwardFlops(lengths: Int32Array, numClasses: number): number {
  const { layers, hidden: H, intermediate: I } = SIZES;
  let flops = 0;
  for (const L of lengths) flops += layers * 2 * (4 * L * H * H + 2 * L * H * I + 2 * L * L * H) + 2 * H * numClasses;
  return flops;
}

function firstRows(rows: EvalRows, n: number): EvalRows {
  n = Math.min(n, rows.lengths.length);
  return { ids: rows.ids.slice(0, n * rows.maxLength), lengths: rows.lengths.slice(0, n), maxLength: rows.maxLength, labels: rows.labels.slice(0, n) };
}

// ---- (a) forward ----------------------------------------------------------------------------------

interface OrtBatch {
  rows: number[];
  width: number;
  ids: BigInt64Array;
  mask: BigInt64Array;
}

/** The batches both peers use: stable sort by length, chunks of BATCH, padded to the chunk's longest. */
function ortBatches(rows: EvalRows): OrtBatch[] {
  const n = rows.lengths.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => rows.lengths[a] - rows.lengths[b] || a - b);
  const out: OrtBatch[] = [];
  for (let start = 0; start < n; start += BATCH) {
    const chunk = order.slice(start, start + BATCH);
    const width = Math.max(...chunk.map((r) => rows.lengths[r]));
    const ids = new BigInt64Array(chunk.length * width);
    const mask = new BigInt64Array(chunk.length * width);
    chunk.forEach((r, i) => {
      for (let t = 0; t < rows.lengths[r]; t++) {
        ids[i * width + t] = BigInt(rows.ids[r * rows.maxLength + t]);
        mask[i * width + t] = 1n;
      }
    });
    out.push({ rows: chunk, width, ids, mask });
  }
  return out;
}

interface ForwardResult {
  rows: Record<string, Cell>[];
  notes: string[];
  extra: Record<string, unknown>;
}

async function measureForward(data: ReferenceData & { evalFile: string }, texts: number, rounds: number, log: (l: string) => void): Promise<ForwardResult> {
  const { NativeStudent } = await import('../lib/student');
  const { exportTeacherOnnxBytes } = await import('../lib/onnx/export-teacher');
  const ort = await import('onnxruntime-node');
  const C = data.labels.length;
  const rows = firstRows(data.eval, texts);
  const n = rows.lengths.length;
  let realTokens = 0;
  for (const L of rows.lengths) realTokens += L;
  const batches = ortBatches(rows);
  const paddedTokens = batches.reduce((s, b) => s + b.rows.length * b.width, 0);

  const student = NativeStudent.create(teacherSpec(data.vocabSize, C));
  const session = await ort.InferenceSession.create(exportTeacherOnnxBytes(student, { tokenTypeIds: false }), {
    executionProviders: ['cpu'], intraOpNumThreads: THREADS, interOpNumThreads: 1, executionMode: 'sequential', graphOptimizationLevel: 'all',
  });
  try {
    let nativeLogits: Float32Array = new Float32Array(0);
    const ortLogits = new Float32Array(n * C);
    const runOrt = async () => {
      for (const b of batches) {
        const out = await session.run({
          input_ids: new ort.Tensor('int64', b.ids, [b.rows.length, b.width]),
          attention_mask: new ort.Tensor('int64', b.mask, [b.rows.length, b.width]),
        });
        const logits = out.logits.data as Float32Array;
        b.rows.forEach((r, i) => ortLogits.set(logits.subarray(i * C, (i + 1) * C), r * C));
      }
    };
    const peers = [
      { name: 'native', run: async () => { nativeLogits = await student.predictLogits(rows, { threads: THREADS, batchSize: BATCH }); } },
      { name: 'onnxruntime-node', run: runOrt },
    ];
    const times = await timePeers(peers, rounds, log, true);

    let maxDiff = 0;
    let maxAbs = 0;
    for (let i = 0; i < n * C; i++) {
      maxDiff = Math.max(maxDiff, Math.abs(nativeLogits[i] - ortLogits[i]));
      maxAbs = Math.max(maxAbs, Math.abs(ortLogits[i]));
    }
    const flops = forwardFlops(rows.lengths, C);
    const nativeS = median(times.get('native')!);
    const ortS = median(times.get('onnxruntime-node')!);
    const ratio = ortS / nativeS;
    const row = (name: string, engine: string, s: number, vs: string): Record<string, Cell> => ({
      key: `forward.${name}`, what: 'forward (inference)', engine, 'tokens/s': realTokens / s, 'texts/s': n / s,
      'GFLOP/s': flops / s / 1e9, ratio: vs, runs: String(times.get(name)!.length),
    });
    return {
      rows: [
        row('native', `model-distill native, ${THREADS} threads`, nativeS, `${ratio.toFixed(2)}x ort`),
        row('onnxruntime-node', `onnxruntime-node ${THREADS} intra-op threads`, ortS, '1.00x'),
      ],
      notes: [
        `Forward: ${n} texts of ${path.basename(data.evalFile)} (${realTokens} real tokens, mean ${(realTokens / n).toFixed(1)}; onnxruntime computes ` +
          `${paddedTokens} with the padding of its batches: ${(100 * (paddedTokens / realTokens - 1)).toFixed(1)}% more), batches of ${BATCH} ` +
          `sorted by length, the same for both. Logits agree: max |native - onnxruntime| = ${maxDiff.toExponential(2)} (largest |logit| ${maxAbs.toFixed(3)}). ` +
          `GFLOP/s = the forward's matrix-product FLOPs over real tokens / time. Target >= 1.0x onnxruntime-node: ${ratio >= 1 ? 'met' : 'NOT met'} (${ratio.toFixed(2)}x).`,
      ],
      extra: { forward: { texts: n, realTokens, paddedTokens, maxAbsLogitDiff: maxDiff, maxAbsLogit: maxAbs, seconds: Object.fromEntries(times), ratio } },
    };
  } finally {
    await session.release().catch(() => undefined);
    student.dispose();
  }
}

// ---- (b) training -----------------------------------------------------------------------------------

interface TrainRun {
  examplesPerSecond: number;
  evalAccuracy: number | null;
  seconds: number;
}

async function runNativeTrain(data: ReferenceData): Promise<TrainRun & { trainOnly: number }> {
  const { NativeStudent } = await import('../lib/student');
  const student = NativeStudent.create(teacherSpec(data.vocabSize, data.labels.length));
  try {
    const t0 = process.hrtime.bigint();
    const report = await student.train(data.train, data.eval, trainOptions());
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    return {
      examplesPerSecond: data.train.lengths.length / seconds, trainOnly: report.epochs[0].examplesPerSecond,
      evalAccuracy: report.epochs[0].evalAccuracy ?? null, seconds,
    };
  } finally {
    student.dispose();
  }
}

/**
 * The reference prints round(train_examples_per_s): a whole number, and a transformer epoch on
 * 2 cores runs at a few examples/s, so the rounding alone would move the ratio by tens of percent.
 * The script therefore runs unchanged under runpy with a script-global round() that returns
 * float(x) for one argument (round(x, 4) of the accuracies is untouched).
 */
const UNROUNDED_RUNNER =
  'import os, runpy, sys\n' +
  'sys.argv = sys.argv[1:]\n' +
  // as `python3 script.py` would have it: the script's folder first on the path, not the cwd
  'sys.path[0] = os.path.dirname(os.path.abspath(sys.argv[0]))\n' +
  // a module global `round` shadows the builtin in the script only (numpy, datetime keep theirs)
  "runpy.run_path(sys.argv[0], init_globals={'round': lambda x, *n: round(x, *n) if n else float(x)}, run_name='__main__')\n";

async function runTorchTrain(dataDir: string): Promise<TrainRun> {
  const args = ['-c', UNROUNDED_RUNNER, referenceScript, '--data', dataDir, '--what', 'tf', '--epochs', '1', '--threads', String(THREADS)];
  const r = await runReference(args, (model) => model.startsWith('transformer'), 'transformer');
  return { examplesPerSecond: r.examplesPerSecond, evalAccuracy: r.evalAccuracy, seconds: r.processSeconds };
}

/** Why the reference cannot run here, or null when it can (checks that /usr/bin/python3 has torch). */
async function torchUnavailable(flags: SuiteFlags): Promise<string | null> {
  const why = referenceUnavailable(flags);
  if (why !== null) return why;
  const ok = await new Promise<boolean>((resolve) => {
    const child = spawn(python, ['-c', 'import torch'], { stdio: 'ignore' });
    child.on('error', () => resolve(false));
    child.on('close', (code) => resolve(code === 0));
  });
  return ok ? null : `${python} cannot import torch (apt-get install python3-torch, or set MODEL_DISTILL_PYTHON)`;
}

/** The first rows of train/eval in a temp folder both engines read; the pool is linked whole (same vocabulary). */
function subsetCopy(dataDir: string, trainRows: number, evalRows: number): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'model-distill-bench-teacher-'));
  const head = (name: string, n: number) => {
    const lines = fs.readFileSync(path.join(dataDir, name), 'utf8').split('\n').filter((l) => l.length > 0).slice(0, n);
    fs.writeFileSync(path.join(dir, name), lines.join('\n') + '\n');
  };
  head('train.tsv', trainRows);
  head('eval.tsv', evalRows);
  const pool = path.join(dataDir, 'unlabeled.txt');
  if (fs.existsSync(pool)) fs.symlinkSync(pool, path.join(dir, 'unlabeled.txt'));
  return dir;
}

// ---- (c) GEMM -------------------------------------------------------------------------------------------

interface GemmShape {
  what: string;
  ta: boolean;
  tb: boolean;
  M: number;
  N: number;
  K: number;
}
/**
 * The shapes of one shard at the data's mean length T: a batch of 32 split over 2 threads is 16
 * rows, 16 T packed tokens per thread (training); attention is per row and head, T x T.
 */
function gemmShapes(T: number): GemmShape[] {
  const { hidden: H, intermediate: I, heads } = SIZES;
  const D = H / heads;
  const SHARD_TOKENS = (BATCH / THREADS) * T;
  return [
    { what: 'Q/K/V/output projection x W^T', ta: false, tb: true, M: SHARD_TOKENS, N: H, K: H },
    { what: 'FFN up x W1^T', ta: false, tb: true, M: SHARD_TOKENS, N: I, K: H },
    { what: 'FFN down g W2^T', ta: false, tb: true, M: SHARD_TOKENS, N: H, K: I },
    { what: 'attention scores Q K^T (one head)', ta: false, tb: true, M: T, N: T, K: D },
    { what: 'attention context P V (one head)', ta: false, tb: false, M: T, N: D, K: T },
    { what: 'backward dW1 = dU^T h', ta: true, tb: false, M: I, N: H, K: SHARD_TOKENS },
    { what: 'backward dX = dU W1', ta: false, tb: false, M: SHARD_TOKENS, N: H, K: I },
  ];
}

async function measureGemm(seconds: number, T: number): Promise<ForwardResult> {
  const { loadAddon } = await import('../lib/binding');
  const addon = loadAddon();
  // The peak is probed between the shapes too and the best probe kept: on a shared core a single
  // probe that lands in a busy moment would make every GEMM look faster than the peak.
  let peak = addon.fmaPeakGflops(seconds);
  const results: Record<string, number> = {};
  const shapes = gemmShapes(T);
  for (const s of shapes) {
    results[s.what] = addon.benchGemm(s.ta, s.tb, s.M, s.N, s.K, seconds);
    peak = Math.max(peak, addon.fmaPeakGflops(seconds / 2));
  }
  const rows: Record<string, Cell>[] = [];
  for (const s of shapes) {
    const g = results[s.what];
    rows.push({
      key: `gemm.${s.what}`, what: `sgemm ${s.what} [${s.M} x ${s.N} x ${s.K}]`, engine: `1 thread, ${addon.simdLevel()}`,
      'GFLOP/s': g, ratio: `${((100 * g) / peak).toFixed(0)}% of peak`,
    });
  }
  rows.push({ key: 'gemm.peak', what: 'FMA peak (register-only loop)', engine: `1 thread, ${addon.simdLevel()}`, 'GFLOP/s': peak, ratio: '100%' });
  return {
    rows,
    notes: [`GEMM: shapes of one thread's shard at the mean eval length T = ${T} (16 rows x T tokens); one thread, best of 3 spans of ~${(seconds / 3).toFixed(2)} s per shape; peak = the best of 8 probes (before and between the shapes) of independent register FMAs at the same SIMD level (a shared core gives less than its nominal rate; read the percentages).`],
    extra: { gemm: { peakGflops: peak, meanLength: T, shapes, gflops: results } },
  };
}

// ---- the suite ----------------------------------------------------------------------------------------

function loadAverages(): string {
  return os.loadavg().map((x) => x.toFixed(2)).join(', ');
}

async function run(args: string[] = []): Promise<SuiteResult> {
  const flags = parseSuiteFlags(args, 'teacher');
  const sourceDir = flags.data ?? defaultDataDir;
  const missing = ['train.tsv', 'eval.tsv'].map((f) => path.join(sourceDir, f)).filter((p) => !fs.existsSync(p));
  if (missing.length > 0) return { skipped: `data not found at ${missing.join(', ')}`, columns: [], rows: [] };
  const size = sizes(flags);
  const log = (line: string) => process.stderr.write(line + '\n');
  const loadBefore = loadAverages();

  // (a) forward on the eval texts of the real data folder
  const full = { ...readReferenceData(sourceDir, { cls: true }), evalFile: path.join(sourceDir, 'eval.tsv') };
  log(`forward: ${Math.min(size.forwardTexts, full.eval.lengths.length)} eval texts, char vocab ${full.vocabSize}, ${size.rounds} round(s)`);
  const forward = await measureForward(full, size.forwardTexts, size.rounds, log);

  // (b) training on a subset both engines read
  const noTorch = await torchUnavailable(flags);
  const dataDir = subsetCopy(sourceDir, size.trainRows, size.evalRows);
  const trainRows: Record<string, Cell>[] = [];
  const trainNotes: string[] = [];
  let trainExtra: Record<string, unknown>;
  try {
    const data = readReferenceData(dataDir, { cls: true });
    let tokens = 0;
    for (const L of data.train.lengths) tokens += L;
    const meanLength = tokens / Math.max(1, data.train.lengths.length);
    log(`training: ${data.counts.train} train rows (mean ${meanLength.toFixed(1)} tokens), ${data.counts.eval} eval rows, ${size.trainRounds} round(s)` + (noTorch ? `; PyTorch ${noTorch}` : ''));
    const native: (TrainRun & { trainOnly: number })[] = [];
    const torch: TrainRun[] = [];
    const torchErrors: string[] = [];
    for (let round = 1; round <= size.trainRounds; round++) {
      const n = await runNativeTrain(data);
      native.push(n);
      log(`  round ${round} native: ${n.examplesPerSecond.toFixed(1)} examples/s incl. eval (${n.trainOnly.toFixed(1)} training only), ${n.seconds.toFixed(1)} s`);
      if (noTorch) continue;
      try {
        const t = await runTorchTrain(dataDir);
        torch.push(t);
        log(`  round ${round} PyTorch: ${t.examplesPerSecond} examples/s (as printed), process ${t.seconds.toFixed(1)} s`);
      } catch (err) {
        torchErrors.push((err as Error).message);
        log(`  round ${round} PyTorch: FAILED: ${(err as Error).message}`);
      }
    }
    const nativeRate = median(native.map((r) => r.examplesPerSecond));
    const torchRate = torch.length > 0 ? median(torch.map((r) => r.examplesPerSecond)) : null;
    const ratio = torchRate ? nativeRate / torchRate : null;
    trainRows.push({
      key: 'train.native', what: 'training (1 epoch, incl. eval)', engine: `model-distill native, ${THREADS} threads`,
      'tokens/s': nativeRate * meanLength, 'texts/s': nativeRate, ratio: ratio === null ? null : `${ratio.toFixed(2)}x PyTorch`, runs: String(native.length),
    });
    trainRows.push({
      key: 'train.pytorch', what: 'training (1 epoch, incl. eval)', engine: `PyTorch reference, ${THREADS} threads`,
      'tokens/s': torchRate === null ? null : torchRate * meanLength, 'texts/s': torchRate, ratio: torchRate === null ? null : '1.00x', runs: String(torch.length),
    });
    trainNotes.push(
      `Training: ${data.counts.train} train rows (first of ${path.join(path.relative(repoRoot, sourceDir) || sourceDir, 'train.tsv')}), mean ${meanLength.toFixed(1)} tokens, ` +
        `evaluation of ${data.counts.eval} eval rows after the epoch included in the time (as the reference's train_examples_per_s); Adam ${LEARNING_RATE}, batch ${BATCH}, ` +
        `${THREADS} threads, dropout 0.1. texts/s = train rows / wall time; tokens/s = texts/s x mean real tokens per row. ` +
        `PyTorch's train_examples_per_s read unrounded (the script runs unchanged under runpy, its round(x) -> float(x)). ` +
        `Native training only (its own timer, no eval): ${median(native.map((r) => r.trainOnly)).toFixed(1)} examples/s.` +
        (ratio === null ? '' : ` Target >= 1.0x PyTorch: ${ratio >= 1 ? 'met' : 'NOT met'} (${ratio.toFixed(2)}x).`),
    );
    if (noTorch) trainNotes.push(`PyTorch reference: ${noTorch}.`);
    if (torchErrors.length > 0) trainNotes.push(`PyTorch failures: ${torchErrors.join(' / ')}`);
    trainExtra = { training: { trainRows: data.counts.train, evalRows: data.counts.eval, meanLength, native, pytorch: torch, ratio } };
  } finally {
    fs.rmSync(dataDir, { recursive: true, force: true });
  }

  // (c) GEMM at the teacher's shapes
  let evalTokens = 0;
  for (const L of full.eval.lengths) evalTokens += L;
  const gemm = await measureGemm(size.gemmSeconds, Math.max(1, Math.round(evalTokens / Math.max(1, full.eval.lengths.length))));

  const loadAfter = loadAverages();
  const notes = [
    `Model: ${SIZES.layers} layers, hidden ${SIZES.hidden}, ${SIZES.heads} heads, FFN ${SIZES.intermediate}, max length ${REFERENCE_MAX_LENGTH}, no pooler (the reference's TF), seeded init.`,
    ...forward.notes, ...trainNotes, ...gemm.notes,
    `Load average (1, 5, 15 min) before: ${loadBefore}; after: ${loadAfter} on ${os.cpus().length} cores shared with other processes: read the ratios, not the absolute figures.`,
  ];
  return {
    columns: ['what', 'engine', 'tokens/s', 'texts/s', 'GFLOP/s', 'ratio', 'runs'],
    rows: [...forward.rows, ...trainRows, ...gemm.rows],
    notes,
    extra: {
      settings: { sourceDir, quick: flags.quick, smoke: flags.smoke, ...size, threads: THREADS, batchSize: BATCH, ...SIZES, maxLength: REFERENCE_MAX_LENGTH },
      ...forward.extra, ...trainExtra, ...gemm.extra, loadAverage: { before: loadBefore, after: loadAfter },
    },
  };
}

export const suite: Suite = {
  name: 'teacher',
  description: 'native transformer teacher: forward tokens/s vs onnxruntime-node, training vs the PyTorch reference, GEMM GFLOP/s vs peak',
  run,
};
