/**
 * Serving speed, strings in -> probabilities out, through the public
 * Classifier (tokenisation, the student's fast path and the softmax all
 * counted), for a TextCNN and a GRU of the reference sizes on shop10 texts:
 *   - batch-1 latency: single-text calls, p50 and p99 per call, both with the
 *     sync API (predictProbabilitiesSync) and the async one (predictProbabilities,
 *     which hops to a libuv worker and back: the price of a free event loop);
 *   - batch-256 throughput: all shop10 train + eval texts in calls of 256
 *     texts, reviews/s; also all of them in one call.
 *
 * The models are trained here for 1 epoch (speed does not depend on accuracy)
 * with the pipeline's settings (BERT-style lower-cased tokens, vocab of pieces
 * seen twice in train + pool, max length 128, no [CLS]/[SEP]), saved as model
 * folders and cached in the OS temp folder; a cache that fails to load is
 * rebuilt.
 *
 * Rows are peers keyed `<model>.<engine>.<call>`: native (strings in), native-int8 (the same
 * models quantized by lib/quantize.ts, strings in) and, on the float weights exported to ONNX,
 * onnxruntime-node and onnxruntime-web (ids in; bench/onnx-peers.ts). Native rows also show the
 * weights file and the resident memory of the loaded model, measured in a process of its own
 * (bench/rss-probe.ts: after Classifier.load and a first prediction, which builds the tables).
 *
 *   npm run bench -- predict                 full run (3 rounds, 2,000 batch-1 calls per peer)
 *   npm run bench -- predict --quick         1 round, 500 calls
 *   npm run bench -- predict --smoke --data=DIR   tiny data (the smoke test)
 */
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import type { Classifier } from '../lib/classifier';
import type { StudentSpec } from '../lib/student';
import { median, timePeers, type Cell, type Suite, type SuiteResult } from './harness';
import { measureOnnxPeers, type OnnxPeers } from './onnx-peers';
import type { PredictPeer } from './predict-peer';
import { measureLoadedRss } from './rss-probe';
import { parseSuiteFlags, quantileSorted } from './suite-flags';

const repoRoot = path.resolve(__dirname, '..');
const defaultDataDir = path.resolve(repoRoot, '..', 'shared', 'data', 'shop10');

const THREADS = 2;
const MAX_LENGTH = 128;
const BATCH = 256;
const TRAIN_EPOCHS = 1;
const SEED = 7;
const THROUGHPUT_TARGET = 50_000;

type Kind = 'textcnn' | 'gru';
const KINDS: Kind[] = ['textcnn', 'gru'];

// ---- data and models -------------------------------------------------------------------------

function tsvTexts(file: string): { texts: string[]; labels: string[] } {
  const texts: string[] = [];
  const labels: string[] = [];
  fs.readFileSync(file, 'utf8').split('\n').forEach((line, i) => {
    if (line.length === 0) return;
    const tab = line.lastIndexOf('\t');
    if (tab < 0) throw new Error(`${file}:${i + 1}: no tab (expected text<TAB>label)`);
    texts.push(line.slice(0, tab));
    labels.push(line.slice(tab + 1));
  });
  return { texts, labels };
}

function specFor(kind: Kind, vocabSize: number, numClasses: number): StudentSpec {
  const common = { vocabSize, numClasses, embeddingDim: 128, dropout: 0.5, seed: SEED };
  return kind === 'textcnn'
    ? { kind, ...common, windows: [3, 4, 5], filters: 128 }
    : { kind, ...common, hidden: 128, bidirectional: false };
}

/** Identifies the inputs of a cached model: the data files (size, mtime), the sizes, the format version. */
function cacheKey(dataDir: string, formatVersion: number): string {
  const files = ['train.tsv', 'eval.tsv', 'unlabeled.txt'].map((f) => {
    const p = path.join(dataDir, f);
    if (!fs.existsSync(p)) return [f, null];
    const s = fs.statSync(p);
    return [f, s.size, s.mtimeMs];
  });
  const what = JSON.stringify({ dataDir, files, formatVersion, epochs: TRAIN_EPOCHS, seed: SEED, maxLength: MAX_LENGTH, specs: KINDS.map((k) => specFor(k, 0, 0)) });
  return createHash('sha256').update(what).digest('hex').slice(0, 16);
}

/** Trains both students for TRAIN_EPOCHS on dataDir and saves them as model folders under dir. */
async function trainModels(dataDir: string, dir: string, log: (line: string) => void): Promise<void> {
  const { VocabBuilder } = await import('../lib/vocab-builder');
  const { Tokenizer } = await import('../lib/tokenizer');
  const { NativeStudent } = await import('../lib/student');
  const { saveModelFolder } = await import('../lib/model-folder');

  const train = tsvTexts(path.join(dataDir, 'train.tsv'));
  const labels = [...new Set(train.labels)].sort();
  const builder = new VocabBuilder({ lowercase: true });
  for (const t of train.texts) builder.addText(t);
  const poolPath = path.join(dataDir, 'unlabeled.txt');
  if (fs.existsSync(poolPath)) for (const line of fs.readFileSync(poolPath, 'utf8').split('\n')) if (line.length > 0) builder.addText(line);
  const { tokens } = builder.build({ minFreq: 2 });
  const tokenizer = Tokenizer.fromTokens(tokens, { lowercase: true });
  const enc = await tokenizer.encodeBatchAsync(train.texts, { maxLength: MAX_LENGTH, addSpecialTokens: false });
  // A text with no token (only spaces...) becomes one [UNK], as in the pipeline.
  for (let r = 0; r < enc.lengths.length; r++) {
    if (enc.lengths[r] === 0) {
      enc.ids[r * enc.maxLength] = tokenizer.unkId;
      enc.lengths[r] = 1;
    }
  }
  const labelIds = new Int32Array(train.labels.map((l) => labels.indexOf(l)));
  for (const kind of KINDS) {
    const student = NativeStudent.create(specFor(kind, tokens.length, labels.length));
    const t0 = Date.now();
    await student.train({ ...enc, labels: labelIds }, null, {
      epochs: TRAIN_EPOCHS, batchSize: 64, learningRate: kind === 'textcnn' ? 1e-3 : 2e-3, optimizer: 'adam', weightDecay: 0,
      warmup: 0, lrDecay: 'none', clipNorm: 5, threads: THREADS, seed: SEED, keepBest: false,
    });
    saveModelFolder(path.join(dir, kind), {
      student, vocabTokens: tokens, labels, maxLength: MAX_LENGTH, lowercase: true, addSpecialTokens: false,
      training: { purpose: 'bench/predict.ts speed model', epochs: TRAIN_EPOCHS, dataDir },
    });
    student.dispose();
    log(`  trained ${kind} (${TRAIN_EPOCHS} epoch, ${train.texts.length} rows, vocab ${tokens.length}) in ${((Date.now() - t0) / 1000).toFixed(1)} s -> ${path.join(dir, kind)}`);
  }
}

/** The two classifiers: from the cache when it loads, otherwise trained now (and cached unless temporary). */
async function loadModels(dataDir: string, cache: boolean, log: (line: string) => void): Promise<{ classifiers: Map<Kind, Classifier>; dir: string; trained: boolean; cleanup(): void }> {
  const { Classifier } = await import('../lib/classifier');
  const { MODEL_FORMAT_VERSION } = await import('../lib/model-folder');
  const dir = cache
    ? path.join(os.tmpdir(), 'model-distill-bench-cache', `predict-${path.basename(dataDir)}-${cacheKey(dataDir, MODEL_FORMAT_VERSION)}`)
    : fs.mkdtempSync(path.join(os.tmpdir(), 'model-distill-bench-predict-'));
  const cleanup = () => { if (!cache) fs.rmSync(dir, { recursive: true, force: true }); };
  const loadAll = async () => {
    const classifiers = new Map<Kind, Classifier>();
    for (const kind of KINDS) classifiers.set(kind, await Classifier.load(path.join(dir, kind), { threads: THREADS }));
    return classifiers;
  };
  if (cache && fs.existsSync(dir)) {
    try {
      const classifiers = await loadAll();
      log(`models from the cache ${dir}`);
      return { classifiers, dir, trained: false, cleanup };
    } catch (err) {
      log(`cache ${dir} did not load (${(err as Error).message.split('\n')[0]}); training again`);
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
  fs.mkdirSync(dir, { recursive: true });
  await trainModels(dataDir, dir, log);
  return { classifiers: await loadAll(), dir, trained: true, cleanup };
}

function nativePeers(classifiers: Map<Kind, Classifier>, engine = 'native'): PredictPeer[] {
  const peers: PredictPeer[] = [];
  for (const kind of KINDS) {
    const clf = classifiers.get(kind)!;
    const name = engine === 'native' ? 'model-distill native' : `model-distill ${engine}`;
    peers.push({
      key: `${kind}.${engine}.sync`, model: kind, engine: name, dir: clf.folder.dir, input: 'strings', call: 'sync',
      predictOne: (text) => clf.predictProbabilitiesSync([text]),
      predictBatch: (texts) => clf.predictProbabilitiesSync(texts),
    });
    peers.push({
      key: `${kind}.${engine}.async`, model: kind, engine: name, dir: clf.folder.dir, input: 'strings', call: 'async',
      predictOne: (text) => clf.predictProbabilities([text]),
      predictBatch: (texts) => clf.predictProbabilities(texts),
    });
  }
  return peers;
}

/** int8 copies of the float models (lib/quantize.ts), written beside them once, loaded like them. */
async function loadInt8(models: { classifiers: Map<Kind, Classifier>; dir: string }): Promise<Map<Kind, Classifier>> {
  const { Classifier } = await import('../lib/classifier');
  const { quantizeModelFolder } = await import('../lib/quantize');
  const out = new Map<Kind, Classifier>();
  for (const kind of KINDS) {
    const dir = path.join(models.dir, `${kind}-int8`);
    quantizeModelFolder(path.join(models.dir, kind), dir, { dtype: 'int8' }); // cheap; rewritten so it matches the float model
    out.set(kind, await Classifier.load(dir, { threads: THREADS }));
  }
  return out;
}

// ---- measurement -----------------------------------------------------------------------------

/**
 * Per-call latencies (µs) of single-text calls. Rounds interleave the peers,
 * each doing calls/rounds calls per round over the texts in order.
 */
async function measureLatency(peers: PredictPeer[], texts: string[], calls: number, rounds: number, warmup: number): Promise<Map<string, number[]>> {
  const samples = new Map<string, number[]>(peers.map((p) => [p.key, []]));
  for (const peer of peers) for (let i = 0; i < warmup; i++) await peer.predictOne(texts[i % texts.length]);
  const perRound = Math.ceil(calls / rounds);
  let at = 0;
  for (let round = 0; round < rounds; round++) {
    const start = at;
    for (const peer of peers) {
      const out = samples.get(peer.key)!;
      for (let i = 0; i < perRound && out.length < calls; i++) {
        const text = texts[(start + i) % texts.length];
        const t0 = process.hrtime.bigint();
        await peer.predictOne(text);
        out.push(Number(process.hrtime.bigint() - t0) / 1e3);
      }
    }
    at += perRound;
  }
  return samples;
}

function batches(texts: string[], size: number): string[][] {
  const out: string[][] = [];
  for (let i = 0; i < texts.length; i += size) out.push(texts.slice(i, i + size));
  return out;
}

function loadAverages(): string {
  return os.loadavg().map((x) => x.toFixed(2)).join(', ');
}

async function run(args: string[] = []): Promise<SuiteResult> {
  const flags = parseSuiteFlags(args, 'predict');
  if (flags.noTorch) throw new Error('bench predict: --no-torch is a flag of the train suite');
  const dataDir = flags.data ?? defaultDataDir;
  const missing = ['train.tsv', 'eval.tsv'].map((f) => path.join(dataDir, f)).filter((p) => !fs.existsSync(p));
  if (missing.length > 0) return { skipped: `data not found at ${missing.join(', ')}`, columns: [], rows: [] };
  const log = (line: string) => process.stderr.write(line + '\n');

  const rounds = flags.rounds ?? (flags.quick || flags.smoke ? 1 : 3);
  const calls = flags.smoke ? 50 : flags.quick ? 500 : 2000;
  const warmup = flags.smoke ? 5 : 100;
  const texts = [...tsvTexts(path.join(dataDir, 'eval.tsv')).texts, ...tsvTexts(path.join(dataDir, 'train.tsv')).texts];
  const meanChars = texts.reduce((n, t) => n + t.length, 0) / Math.max(1, texts.length);
  log(`${texts.length} texts (eval + train of ${dataDir}), mean ${meanChars.toFixed(1)} UTF-16 units; ${rounds} round(s), ${calls} batch-1 calls per peer`);

  const models = await loadModels(dataDir, !flags.smoke, log);
  const loadBefore = loadAverages();
  let onnx: OnnxPeers | undefined;
  const int8 = await loadInt8(models);
  try {
    const peers = [...nativePeers(models.classifiers), ...nativePeers(int8, 'native-int8')];
    // Resident memory of each loaded model, one child process per folder (before any timing).
    const memory = new Map<string, { weightsMB: number; rssMB: number }>();
    for (const dir of new Set(peers.map((p) => p.dir!))) {
      memory.set(dir, { weightsMB: fs.statSync(path.join(dir, 'weights.safetensors')).size / 1e6, rssMB: measureLoadedRss(dir).loadedMB });
    }
    log('  memory after load measured');
    // onnxruntime-node / onnxruntime-web on the same weights (ONNX export), ids in (bench/onnx-peers.ts)
    onnx = await measureOnnxPeers(models.dir, KINDS, texts, THREADS);
    peers.push(...onnx.peers);
    const latency = await measureLatency(peers, texts, calls, rounds, warmup);
    log('  batch-1 latency measured');
    const chunked = batches(texts, BATCH);
    const batchTimes = await timePeers(
      peers.map((p) => ({
        name: p.key,
        run: p.call === 'sync'
          ? () => { for (const b of chunked) p.predictBatch(b); }
          : async () => { for (const b of chunked) await p.predictBatch(b); },
      })),
      rounds,
      log,
    );
    // one call with every text: native only (the ONNX graphs would hold [texts, filters, 128] floats per window)
    const oneCallTimes = await timePeers(peers.filter((p) => p.input === 'strings').map((p) => ({ name: p.key, run: () => p.predictBatch(texts) })), rounds);

    const columns = ['model', 'engine', 'input', 'call', 'batch-1 p50 µs', 'batch-1 p99 µs', `batch-${BATCH} reviews/s`, 'one-call reviews/s', 'weights MB', 'RSS after load MB'];
    const rows: Record<string, Cell>[] = peers.map((p) => {
      const lat = latency.get(p.key)!.slice().sort((a, b) => a - b);
      return {
        key: p.key,
        model: p.model,
        engine: p.engine,
        input: p.input,
        call: p.call,
        'batch-1 p50 µs': quantileSorted(lat, 0.5),
        'batch-1 p99 µs': quantileSorted(lat, 0.99),
        [`batch-${BATCH} reviews/s`]: texts.length / median(batchTimes.get(p.key)!),
        'one-call reviews/s': oneCallTimes.has(p.key) ? texts.length / median(oneCallTimes.get(p.key)!) : null,
        'weights MB': p.dir ? memory.get(p.dir)!.weightsMB : null,
        'RSS after load MB': p.dir ? memory.get(p.dir)!.rssMB : null,
      };
    });
    const bestOf = (model: Kind, input: string, engine?: RegExp) =>
      Math.max(...rows.filter((r) => r.model === model && r.input === input && (!engine || engine.test(String(r.engine)))).map((r) => r[`batch-${BATCH} reviews/s`] as number));
    const best = (model: Kind) => bestOf(model, 'strings', /native$/);
    const int8Ratio = (model: Kind) => bestOf(model, 'strings', /native-int8$/) / best(model);
    const memoryRatio = (model: Kind, column: string) => {
      const of = (engine: string) => rows.find((r) => r.key === `${model}.${engine}.sync`)![column] as number;
      return of('native') / of('native-int8');
    };
    const ortRatio = (model: Kind) => best(model) / bestOf(model, 'ids', /onnxruntime-node/);
    const notes = [
      `${texts.length} texts (eval + train of ${path.relative(repoRoot, dataDir) || dataDir}), strings in -> probabilities out through Classifier ` +
        `(tokenisation, fast-path forward and softmax counted), threads ${THREADS}, max length ${MAX_LENGTH}; TextCNN E=128 windows 3/4/5 x 128, GRU E=128 H=128.`,
      `batch-1: ${calls} single-text calls per peer (texts in order, after ${warmup} warm-up calls), p50/p99 of the per-call wall time; ` +
        'sync = predictProbabilitiesSync, async = await predictProbabilities (adds a libuv worker hop and a promise).',
      `batch-${BATCH}: all texts in consecutive calls of ${BATCH}; one-call: all texts in one call. Medians of ${rounds} interleaved passes after a warm-up pass.`,
      `Models: ${models.trained ? 'trained now' : 'cached'} (${TRAIN_EPOCHS} epoch, accuracy not the point) in ${models.dir}.`,
      `Load average (1, 5, 15 min) before: ${loadBefore}; after: ${loadAverages()} on ${os.cpus().length} cores shared with other processes.`,
      `Target TextCNN >= ${THROUGHPUT_TARGET.toLocaleString('en-US')} reviews/s at batch ${BATCH}: best ${Math.round(best('textcnn')).toLocaleString('en-US')} ` +
        `(${best('textcnn') >= THROUGHPUT_TARGET ? 'met' : 'NOT met'}); GRU best ${Math.round(best('gru')).toLocaleString('en-US')}.`,
      `onnxruntime rows: the same weights exported to ONNX, ids in (tokenised before timing; each batch padded to its longest row, prepared in the warm-up pass), ` +
        `onnxruntime-node CPU ${THREADS} intra-op threads, onnxruntime-web ${THREADS} wasm threads; no one-call row (memory).`,
      `Native (strings in) / onnxruntime-node (ids in) at batch ${BATCH}: TextCNN ${ortRatio('textcnn').toFixed(1)}x (target >= 5x), GRU ${ortRatio('gru').toFixed(1)}x (target >= 2x).`,
      `int8 / float32 native at batch ${BATCH}: TextCNN ${int8Ratio('textcnn').toFixed(2)}x, GRU ${int8Ratio('gru').toFixed(2)}x (target >= 1.5x); ` +
        `float32 / int8 weights file: TextCNN ${memoryRatio('textcnn', 'weights MB').toFixed(1)}x, GRU ${memoryRatio('gru', 'weights MB').toFixed(1)}x; ` +
        `RSS after load: TextCNN ${memoryRatio('textcnn', 'RSS after load MB').toFixed(1)}x, GRU ${memoryRatio('gru', 'RSS after load MB').toFixed(1)}x (target >= 3x).`,
      'RSS after load: resident memory added by Classifier.load + one prediction, in a process of its own (bench/rss-probe.ts); it includes the tokenizer (~2.6 MB here).',
    ];
    return {
      columns,
      rows,
      notes,
      extra: {
        settings: { dataDir, quick: flags.quick, smoke: flags.smoke, rounds, calls, warmup, threads: THREADS, batchSize: BATCH, maxLength: MAX_LENGTH, texts: texts.length, meanChars },
        rowKey: '<model>.<engine>.<call>; engine native = model-distill addon with strings in; onnxruntime-node / onnxruntime-web = the ONNX export, ids in',
        ratioNativeToOnnxruntimeNode: { textcnn: ortRatio('textcnn'), gru: ortRatio('gru') },
        ratioInt8ToFloat32: { textcnn: int8Ratio('textcnn'), gru: int8Ratio('gru') },
        loadAverage: { before: loadBefore, after: loadAverages() },
      },
    };
  } finally {
    await onnx?.close();
    for (const clf of [...models.classifiers.values(), ...int8.values()]) clf.close();
    models.cleanup();
  }
}

export const suite: Suite = {
  name: 'predict',
  description: 'strings in -> probabilities out through Classifier: batch-1 latency and batch-256 throughput, TextCNN and GRU (2 threads)',
  run,
};
