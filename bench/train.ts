/**
 * Training speed of the native students beside the PyTorch reference
 * (../shared/reference/torch_baseline.py), same config, same machine, one run:
 * shopsenti, char-level vocab from train + pool (characters seen twice), max
 * length 128, batch 64, 2 threads, one epoch; TextCNN E=128, windows 3/4/5 x 128,
 * dropout 0.5, Adam lr 1e-3; GRU E=128 H=128, dropout 0.5, Adam lr 2e-3.
 * Both engines see the same token ids (bench/reference-data.ts encodes exactly
 * as the reference does).
 *
 * What is timed, honestly:
 *   - The reference prints `train_examples_per_s` = examples seen / wall time of
 *     fit(), and fit() evaluates on eval.tsv after every epoch: its figure
 *     INCLUDES that evaluation. It is reported as printed.
 *   - The native figure it is compared with is measured the same way: training
 *     rows / wall time of NativeStudent.train() including its evaluation of
 *     eval.tsv after the epoch. The native training-only rate (the core's own
 *     timer, evaluation excluded) is shown beside it, not used in the ratio.
 * Runs are interleaved (native TextCNN, PyTorch TextCNN, native GRU, PyTorch
 * GRU, repeated), so load from other processes hits both engines; medians.
 *
 *   npm run bench -- train                  full run (3 rounds)
 *   npm run bench -- train --quick          2,000 train rows, 1 round
 *   npm run bench -- train --smoke --data=DIR   tiny data, no PyTorch (the smoke test)
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import type { StudentSpec, StudentTrainOptions } from '../lib/student';
import { median, type Cell, type Suite, type SuiteResult } from './harness';
import { readReferenceData, REFERENCE_MAX_LENGTH, type ReferenceData } from './reference-data';
import { parseSuiteFlags } from './suite-flags';
import { python, referenceScript, referenceUnavailable, runReference, type ReferenceRun } from './torch-reference';

const repoRoot = path.resolve(__dirname, '..');
const sharedDir = path.resolve(repoRoot, '..', 'shared');
const defaultDataDir = path.join(sharedDir, 'data', 'shopsenti');

const THREADS = 2;
const BATCH = 64;
const SEED = 1;
const QUICK_TRAIN_ROWS = 2000;
const QUICK_EVAL_ROWS = 300;
const QUICK_POOL_LINES = 5000;

type Kind = 'textcnn' | 'gru';
const KINDS: Kind[] = ['textcnn', 'gru'];
/** The reference's `--what` name and learning rate per student. */
const REFERENCE: Record<Kind, { what: string; learningRate: number }> = {
  textcnn: { what: 'cnn', learningRate: 1e-3 },
  gru: { what: 'gru', learningRate: 2e-3 },
};

function spec(kind: Kind, data: ReferenceData): StudentSpec {
  const common = { vocabSize: data.vocabSize, numClasses: data.labels.length, embeddingDim: 128, dropout: 0.5, seed: SEED };
  return kind === 'textcnn'
    ? { kind, ...common, windows: [3, 4, 5], filters: 128 }
    : { kind, ...common, hidden: 128, bidirectional: false };
}

function trainOptions(kind: Kind): StudentTrainOptions {
  // The reference: plain Adam, constant rate, no clipping, no weight decay.
  return {
    epochs: 1, batchSize: BATCH, learningRate: REFERENCE[kind].learningRate, optimizer: 'adam', weightDecay: 0,
    warmup: 0, lrDecay: 'none', clipNorm: 0, threads: THREADS, seed: SEED, keepBest: true,
  };
}

interface NativeRun {
  /** Training rows / wall time of train() including the epoch's evaluation (the reference's way). */
  examplesPerSecond: number;
  /** The core's own training-only rate (evaluation excluded). */
  trainOnlyExamplesPerSecond: number;
  evalAccuracy: number | null;
  wallSeconds: number;
}

async function runNative(kind: Kind, data: ReferenceData): Promise<NativeRun> {
  const { NativeStudent } = await import('../lib/student');
  const student = NativeStudent.create(spec(kind, data));
  try {
    const t0 = process.hrtime.bigint();
    const report = await student.train(data.train, data.eval, trainOptions(kind));
    const wallSeconds = Number(process.hrtime.bigint() - t0) / 1e9;
    const rows = data.train.lengths.length;
    return {
      examplesPerSecond: rows / wallSeconds,
      trainOnlyExamplesPerSecond: report.epochs[0].examplesPerSecond,
      evalAccuracy: report.epochs[0].evalAccuracy ?? null,
      wallSeconds,
    };
  } finally {
    student.dispose();
  }
}

/** One reference process: `torch_baseline.py --what cnn|gru --epochs 1 --threads 2`; its JSON line read back. */
function runTorch(kind: Kind, dataDir: string): Promise<ReferenceRun> {
  const args = [referenceScript, '--data', dataDir, '--what', REFERENCE[kind].what, '--epochs', '1', '--threads', String(THREADS)];
  const want = kind === 'textcnn' ? 'textcnn' : 'gru';
  return runReference(args, (model) => model === want, `'${want}'`);
}

/** --quick: the first rows of each file, in a temp folder both engines read (never inside the repo). */
function quickCopy(dataDir: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'model-distill-bench-train-'));
  const head = (name: string, n: number) => {
    const src = path.join(dataDir, name);
    if (!fs.existsSync(src)) return;
    const lines = fs.readFileSync(src, 'utf8').split('\n').filter((l) => l.length > 0).slice(0, n);
    fs.writeFileSync(path.join(dir, name), lines.join('\n') + '\n');
  };
  head('train.tsv', QUICK_TRAIN_ROWS);
  head('eval.tsv', QUICK_EVAL_ROWS);
  head('unlabeled.txt', QUICK_POOL_LINES);
  return dir;
}

function loadAverages(): string {
  return os.loadavg().map((x) => x.toFixed(2)).join(', ');
}

async function run(args: string[] = []): Promise<SuiteResult> {
  const flags = parseSuiteFlags(args, 'train');
  const sourceDir = flags.data ?? defaultDataDir;
  const missing = ['train.tsv', 'eval.tsv'].map((f) => path.join(sourceDir, f)).filter((p) => !fs.existsSync(p));
  if (missing.length > 0) return { skipped: `data not found at ${missing.join(', ')}`, columns: [], rows: [] };

  const log = (line: string) => process.stderr.write(line + '\n');
  const dataDir = flags.quick ? quickCopy(sourceDir) : sourceDir;
  try {
    const data = readReferenceData(dataDir);
    const rounds = flags.rounds ?? (flags.quick || flags.smoke ? 1 : 3);
    const noTorch = referenceUnavailable(flags);
    log(`data ${dataDir}: ${data.counts.train} train, ${data.counts.eval} eval, ${data.counts.unlabeled} unlabeled lines; ` +
      `char vocab ${data.vocabSize}, mean train length ${data.meanTrainLength.toFixed(1)} (max ${REFERENCE_MAX_LENGTH}); ${rounds} round(s)` +
      (noTorch ? `; PyTorch ${noTorch}` : ''));
    const loadBefore = loadAverages();

    const native = new Map<Kind, NativeRun[]>(KINDS.map((k) => [k, []]));
    const torch = new Map<Kind, ReferenceRun[]>(KINDS.map((k) => [k, []]));
    const torchErrors: string[] = [];
    for (let round = 1; round <= rounds; round++) {
      for (const kind of KINDS) {
        const n = await runNative(kind, data);
        native.get(kind)!.push(n);
        log(`  round ${round}/${rounds} native ${kind}: ${Math.round(n.examplesPerSecond)} examples/s incl. eval ` +
          `(${Math.round(n.trainOnlyExamplesPerSecond)} training only), eval acc ${n.evalAccuracy?.toFixed(4)}, ${n.wallSeconds.toFixed(1)} s`);
        if (noTorch) continue;
        try {
          const t = await runTorch(kind, dataDir);
          torch.get(kind)!.push(t);
          log(`  round ${round}/${rounds} PyTorch ${kind}: ${t.examplesPerSecond} examples/s (as printed), eval acc ${t.evalAccuracy}, process ${t.processSeconds.toFixed(1)} s`);
        } catch (err) {
          torchErrors.push((err as Error).message);
          log(`  round ${round}/${rounds} PyTorch ${kind}: FAILED: ${(err as Error).message}`);
        }
      }
    }

    const columns = ['model', 'engine', 'examples/s', 'training-only examples/s', 'vs PyTorch', 'eval acc (1 epoch)', 'runs'];
    const rows: Record<string, Cell>[] = [];
    const ratios: Record<string, number | null> = {};
    for (const kind of KINDS) {
      const n = native.get(kind)!;
      const t = torch.get(kind)!;
      const nativeRate = median(n.map((r) => r.examplesPerSecond));
      const torchRate = t.length > 0 ? median(t.map((r) => r.examplesPerSecond)) : null;
      ratios[kind] = torchRate ? nativeRate / torchRate : null;
      rows.push({
        key: `${kind}.native`,
        model: kind,
        engine: 'model-distill native',
        'examples/s': nativeRate,
        'training-only examples/s': median(n.map((r) => r.trainOnlyExamplesPerSecond)),
        'vs PyTorch': ratios[kind] === null ? null : `${ratios[kind]!.toFixed(2)}x`,
        'eval acc (1 epoch)': n[n.length - 1].evalAccuracy,
        runs: String(n.length),
      });
      rows.push({
        key: `${kind}.pytorch`,
        model: kind,
        engine: 'PyTorch reference',
        'examples/s': torchRate,
        'training-only examples/s': null,
        'vs PyTorch': torchRate === null ? null : '1.00x',
        'eval acc (1 epoch)': t.length > 0 ? t[t.length - 1].evalAccuracy : null,
        runs: String(t.length),
      });
    }

    const notes = [
      `Config: ${path.relative(repoRoot, dataDir) || dataDir}${flags.quick ? ` (--quick: first ${QUICK_TRAIN_ROWS} train / ${QUICK_EVAL_ROWS} eval / ${QUICK_POOL_LINES} pool lines of ${sourceDir})` : ''}, ` +
        `${data.counts.train} train rows, char vocab ${data.vocabSize} (train + pool, min count 2, encoded as the reference does), max length ${REFERENCE_MAX_LENGTH}, batch ${BATCH}, ${THREADS} threads, 1 epoch; ` +
        'TextCNN E=128 windows 3/4/5 x 128 dropout 0.5 Adam 1e-3; GRU E=128 H=128 dropout 0.5 Adam 2e-3.',
      "examples/s = training rows / wall time of the epoch INCLUDING the evaluation of eval.tsv after it: that is how the reference's " +
        "train_examples_per_s is computed (seen / (time.time() - t0) around fit(), which evaluates after every epoch), reported as printed; " +
        'the native figure is measured the same way, and the ratio compares these two. training-only examples/s (native) excludes the evaluation.',
      `Rounds interleave native and PyTorch runs; medians of ${rounds}. Load average (1, 5, 15 min) before: ${loadBefore}; after: ${loadAverages()} ` +
        `on ${os.cpus().length} cores shared with other processes.`,
    ];
    const busiest = Math.max(Number(loadBefore.split(',')[0]), os.loadavg()[0]);
    if (!noTorch && busiest > os.cpus().length) {
      notes.push(`The cores were oversubscribed (1-min load up to ${busiest.toFixed(1)} on ${os.cpus().length} cores). Each engine copes with that ` +
        "differently (PyTorch's OpenMP workers wait on each other at every operator when one is descheduled), so the ratio can be far from a quiet " +
        "machine's; do not quote it without a run on a quiet machine beside it.");
    }
    if (noTorch) notes.push(`PyTorch reference: ${noTorch}.`);
    if (torchErrors.length > 0) notes.push(`PyTorch failures: ${torchErrors.join(' / ')}`);
    const target = 2;
    if (!noTorch && KINDS.every((k) => ratios[k] !== null)) {
      notes.push(`Target >= ${target}x PyTorch: ` + KINDS.map((k) => `${k} ${ratios[k]!.toFixed(2)}x ${ratios[k]! >= target ? 'met' : 'NOT met'}`).join(', ') + '.');
    }

    return {
      columns,
      rows,
      notes,
      extra: {
        settings: { dataDir, quick: flags.quick, smoke: flags.smoke, rounds, threads: THREADS, batchSize: BATCH, maxLength: REFERENCE_MAX_LENGTH,
          vocabSize: data.vocabSize, trainRows: data.counts.train, evalRows: data.counts.eval, meanTrainLength: data.meanTrainLength,
          reference: noTorch ? null : `${python} ${referenceScript} --epochs 1 --threads ${THREADS} --what cnn|gru` },
        ratios,
        loadAverage: { before: loadBefore, after: loadAverages() },
        runs: { native: Object.fromEntries(native), pytorch: Object.fromEntries(torch) },
      },
    };
  } finally {
    if (dataDir !== sourceDir) fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

export const suite: Suite = {
  name: 'train',
  description: 'training examples/s of the native TextCNN and GRU beside the PyTorch reference (same config, 1 epoch, 2 threads)',
  run,
};
