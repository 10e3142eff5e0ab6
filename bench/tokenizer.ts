/**
 * Tokenizer throughput, side by side: model-distill's native WordPiece (batch on
 * the addon's worker threads, and one text at a time), its TypeScript
 * tokenizer, Hugging Face `tokenizers` (Rust, encodeBatch) and transformers.js'
 * BertTokenizer, all on the same vocabulary (bert-base-chinese) and the same
 * texts (shop10 train + unlabeled reviews), truncating to 128 tokens.
 *
 * Two native batch rows: new result arrays per call (the default), and the `out` option's
 * arrays reused by every call, which saves the page faults of fresh memory.
 *
 * The ceiling row is a one-thread JS UTF-8 encode of the same texts (Buffer.from):
 * merely converting the strings, no tokenizing. The profile rows run the stages of
 * encodeBatch alone, each including the ones above it (offsets in JS, copy each text
 * out of JS, walk the code points, classify and fold them); encodeBatch itself adds
 * the lookup and the output, and overlaps the copy with the rest. One more profile row
 * is the output alone: new result arrays of the batch's size, filled. "before:" rows
 * are former paths kept in the addon for this comparison: every text copied before
 * the tokenizing starts, the texts joined into one JS string first (and that join's
 * stages), and the older UTF-8 path (a UTF-8 copy of every text, then the UTF-8
 * tokenizer).
 *
 * Throughput is sentences/s and MB/s of UTF-8 input; "CPU s" is the process CPU
 * time of one pass (all threads), steadier than wall time on a shared machine.
 * Each peer does one warm-up pass, then BENCH_REPS (default 5) interleaved rounds;
 * the table shows medians. `--quick`: only the native, ceiling and profile rows.
 */
import * as fs from 'fs';
import * as path from 'path';

import type { TokenizerProfileStage } from '../lib/binding';
import { median, timePeers, type Cell, type Peer, type Suite, type SuiteResult } from './harness';
import { writeHfTokenizerDir } from './hf-tokenizer-files';
import { parseSuiteFlags } from './suite-flags';

const repoRoot = path.resolve(__dirname, '..');
const sharedDir = path.resolve(repoRoot, '..', 'shared');
const dataDir = path.join(sharedDir, 'data', 'shop10');
const vocabPath = path.join(sharedDir, 'vocab', 'bert-base-chinese-vocab.txt');

const MAX_LENGTH = 128;
/** Texts per batch call, the same for every batching peer. */
const CHUNK = 4096;
/** Texts whose ids every peer must agree on before its speed means anything. */
const AGREEMENT_SAMPLE = 2000;

function loadTexts(): { texts: string[]; sources: string[] } | string {
  const train = path.join(dataDir, 'train.tsv');
  const unlabeled = path.join(dataDir, 'unlabeled.txt');
  const missing = [train, unlabeled, vocabPath].filter((p) => !fs.existsSync(p));
  if (missing.length > 0) return `data not found at ${missing.join(', ')} (the tokenizer suite needs ../shared beside the repository)`;
  const lines = (file: string) => fs.readFileSync(file, 'utf8').split('\n').filter((l) => l.length > 0);
  const texts = [...lines(train).map((l) => l.split('\t')[0]), ...lines(unlabeled)];
  return { texts, sources: [path.relative(repoRoot, train), path.relative(repoRoot, unlabeled)] };
}

function chunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** ids of one text truncated the way BERT truncates (keep [CLS] ... [SEP]). */
function truncated(ids: ArrayLike<number>): number[] {
  const all = Array.from(ids, Number);
  return all.length <= MAX_LENGTH ? all : [...all.slice(0, MAX_LENGTH - 1), all[all.length - 1]];
}

const NATIVE_BATCH = 'native encodeBatch (2 threads)';
const NATIVE_BATCH_OUT = 'native encodeBatch into reused arrays (out option)';
const NOT_OVERLAPPED = 'before: copy every text, then tokenize (no overlap)';
const CEILING = 'JS Buffer.from UTF-8 encode, 1 thread (ceiling)';
const FORMER_BATCH = 'before: whole encodeBatch, texts joined in JS';

async function run(args: string[] = []): Promise<SuiteResult> {
  const quick = parseSuiteFlags(args, 'tokenizer').quick;
  const loaded = loadTexts();
  if (typeof loaded === 'string') return { skipped: loaded, columns: [], rows: [] };
  const { texts, sources } = loaded;
  const batches = chunks(texts, CHUNK);
  const totalBytes = texts.reduce((sum, t) => sum + Buffer.byteLength(t, 'utf8'), 0);
  const log = (line: string) => process.stderr.write(line + '\n');
  log(`${texts.length.toLocaleString('en-US')} texts, ${(totalBytes / 1e6).toFixed(2)} MB UTF-8, from ${sources.join(' + ')}`);

  const { Tokenizer } = await import('../lib/tokenizer');
  const { WordPieceTokenizer } = await import('../lib/wordpiece');
  const { readVocabFile } = await import('../lib/vocab');
  const hfTokenizers = await import('tokenizers');
  const transformers = await import('@huggingface/transformers');

  const native = Tokenizer.fromFile(vocabPath, { backend: 'native' });
  const typescript = WordPieceTokenizer.fromFile(vocabPath);
  const vocab = readVocabFile(vocabPath);

  // `tokenizers` (Rust) from the tokenizer.json a BertWordPieceTokenizer would save.
  const hfDir = writeHfTokenizerDir(vocab, 'bert-base-chinese-local');
  const rust = hfTokenizers.Tokenizer.fromFile(path.join(hfDir, 'bert-base-chinese-local', 'tokenizer.json'));
  rust.setTruncation(MAX_LENGTH);
  rust.setPadding({ maxLength: MAX_LENGTH, padId: vocab.indexOf('[PAD]'), padToken: '[PAD]' });

  // transformers.js: local files only; never the network.
  transformers.env.allowRemoteModels = false;
  transformers.env.allowLocalModels = true;
  transformers.env.localModelPath = hfDir;
  const js = await transformers.AutoTokenizer.from_pretrained('bert-base-chinese-local');

  // Every peer must produce the same ids, or the comparison compares different work.
  const sample = texts.slice(0, AGREEMENT_SAMPLE);
  // The reference is `tokenizers`, the oracle of the parity tests.
  const rustSample = await rust.encodeBatch(sample);
  const reference = rustSample.map((e) => e.getIds().filter((_, k) => e.getAttentionMask()[k] === 1));
  const agreement: Record<string, number> = {};
  const agree = (name: string, rows: number[][]) => {
    agreement[name] = rows.filter((r, i) => r.join(' ') === reference[i].join(' ')).length;
  };
  const nb = native.encodeBatch(sample, { maxLength: MAX_LENGTH });
  agree('native encodeBatch (2 threads)', sample.map((_, i) => Array.from(nb.ids.subarray(i * nb.maxLength, i * nb.maxLength + nb.lengths[i]))));
  const nba = await native.encodeBatchAsync(sample, { maxLength: MAX_LENGTH });
  agree('native encodeBatchAsync', sample.map((_, i) => Array.from(nba.ids.subarray(i * nba.maxLength, i * nba.maxLength + nba.lengths[i]))));
  agree('native encode, one by one', sample.map((t) => truncated(native.encode(t))));
  agree('TypeScript encode, one by one', sample.map((t) => truncated(typescript.encode(t))));
  agreement['tokenizers encodeBatch'] = sample.length; // the reference itself
  agree('transformers.js BertTokenizer', sample.map((t) => truncated(js.encode(t))));

  // A trivial character-to-id loop: not a tokenizer, a ceiling for "JS touching every character".
  const charIds = new Map<string, number>(vocab.map((t, i) => [t, i]));
  const unk = charIds.get('[UNK]')!;

  let sink = 0; // consumed results, so no engine can drop the work
  // The raw addon tokenizer, for the profile stages (lib/tokenizer.ts does not expose them).
  const { loadAddon } = await import('../lib/binding');
  const { joinTexts, textOffsets } = await import('../lib/joined-texts');
  const raw = new (loadAddon().WordPieceTokenizer)(vocab, true);
  const offsetsOf = batches.map((b) => textOffsets(b, 0, b.length));
  // The out option's arrays, sized for the largest batch and reused by every call.
  const reused = { ids: new Int32Array(CHUNK * MAX_LENGTH), lengths: new Int32Array(CHUNK) };
  const stage = (name: string, which: TokenizerProfileStage): Peer => ({
    name,
    run: () => {
      batches.forEach((b, i) => (sink += raw.profileStage(b, 0, offsetsOf[i], MAX_LENGTH, true, which)));
    },
  });
  const joinedStage = (name: string, which: TokenizerProfileStage): Peer => ({
    name,
    run: () => {
      for (const b of batches) sink += raw.profileStage(...joinTexts(b, 0, b.length), MAX_LENGTH, true, which);
    },
  });
  const nativePeers: Peer[] = [
    {
      name: NATIVE_BATCH,
      run: () => {
        for (const b of batches) sink += native.encodeBatch(b, { maxLength: MAX_LENGTH }).lengths[0];
      },
    },
    {
      name: NATIVE_BATCH_OUT,
      run: () => {
        for (const b of batches) sink += native.encodeBatch(b, { maxLength: MAX_LENGTH, out: reused }).lengths[0];
      },
    },
    {
      name: CEILING,
      run: () => {
        for (const t of texts) sink += Buffer.from(t, 'utf8').length;
      },
    },
    stage(NOT_OVERLAPPED, 'copy_then_encode'),
    {
      name: FORMER_BATCH,
      run: () => {
        for (const b of batches) sink += raw.encodeBatchJoined(...joinTexts(b, 0, b.length), MAX_LENGTH, true).lengths[0];
      },
    },
    {
      name: 'profile: offsets in JS',
      run: () => {
        for (const b of batches) sink += textOffsets(b, 0, b.length).length;
      },
    },
    stage('profile: + copy each text out of JS (UTF-16)', 'copy'),
    stage('profile: + decode code points', 'decode'),
    stage('profile: + normalise (class, fold)', 'normalize'),
    {
      name: 'profile, alone: new result arrays (zeroed, then filled)',
      run: () => {
        for (const b of batches) {
          const ids = new Int32Array(b.length * MAX_LENGTH).fill(1);
          sink += ids.length + new Int32Array(b.length).fill(1).length;
        }
      },
    },
    {
      name: 'before: join + offsets in JS',
      run: () => {
        for (const b of batches) sink += joinTexts(b, 0, b.length)[1].length;
      },
    },
    joinedStage('before: + copy the joined string out of JS', 'copy'),
    stage('before: UTF-16 -> UTF-8 copy per text', 'to_utf8'),
    stage('before: whole UTF-8 path (UTF-8 copy, then tokenize)', 'via_utf8'),
  ];
  const otherPeers: Peer[] = [
    {
      name: 'native encodeBatchAsync',
      run: async () => {
        for (const b of batches) sink += (await native.encodeBatchAsync(b, { maxLength: MAX_LENGTH })).lengths[0];
      },
    },
    {
      name: 'native encode, one by one',
      run: () => {
        for (const t of texts) sink += native.encode(t).length;
      },
    },
    {
      name: 'TypeScript encode, one by one',
      run: () => {
        for (const t of texts) sink += typescript.encode(t).length;
      },
    },
    {
      name: 'tokenizers encodeBatch',
      run: async () => {
        for (const b of batches) sink += (await rust.encodeBatch(b)).length;
      },
    },
    {
      name: 'transformers.js BertTokenizer',
      run: () => {
        for (const b of batches) {
          const out = js(b, { padding: 'max_length', truncation: true, max_length: MAX_LENGTH });
          sink += out.input_ids.dims[0];
        }
      },
    },
    {
      name: 'JS char->id Map loop (reference)',
      run: () => {
        for (const t of texts) {
          const ids = new Int32Array(t.length);
          for (let i = 0; i < t.length; i++) ids[i] = charIds.get(t[i]) ?? unk;
          sink += ids.length;
        }
      },
    },
  ];
  // Every peer's process CPU time per pass (the pool's threads included), beside the wall time.
  const cpuTimes = new Map<string, number[]>();
  const peers: Peer[] = [...nativePeers, ...(quick ? [] : otherPeers)].map((peer) => ({
    name: peer.name,
    run: async () => {
      const c0 = process.cpuUsage();
      await peer.run();
      const c = process.cpuUsage(c0);
      const list = cpuTimes.get(peer.name) ?? [];
      list.push((c.user + c.system) / 1e6);
      cpuTimes.set(peer.name, list);
    },
  }));

  const repetitions = Math.max(1, Number(process.env.BENCH_REPS ?? 5));
  // settle: the async peer would otherwise pay for the finalizers of the tokenizers/transformers.js
  // peers' garbage (see timePeers).
  const times = await timePeers(peers, repetitions, log, true);
  if (sink === 0) throw new Error('benchmark produced nothing');

  const rows: Record<string, Cell>[] = peers.map((peer) => {
    const t = median(times.get(peer.name)!);
    return {
      peer: peer.name,
      'median s': t,
      'CPU s': median(cpuTimes.get(peer.name)!.slice(1)), // the warm-up pass left out
      'sentences/s': texts.length / t,
      'MB/s': totalBytes / 1e6 / t,
      'ids agree': peer.name in agreement ? `${agreement[peer.name]}/${sample.length}` : 'n/a',
    };
  });
  const speed = (name: string) => (rows.find((r) => r.peer === name)?.['sentences/s'] as number | undefined) ?? NaN;
  const cpu = (name: string) => (rows.find((r) => r.peer === name)?.['CPU s'] as number | undefined) ?? NaN;
  const ratios = {
    nativeBatchOverUtf8Encode: speed(NATIVE_BATCH) / speed(CEILING),
    nativeBatchOutOverUtf8Encode: speed(NATIVE_BATCH_OUT) / speed(CEILING),
    nativeBatchOutCpuOverUtf8EncodeCpu: cpu(NATIVE_BATCH_OUT) / cpu(CEILING),
    nativeBatchOverNotOverlapped: speed(NATIVE_BATCH) / speed(NOT_OVERLAPPED),
    nativeBatchCpuOverUtf8EncodeCpu: cpu(NATIVE_BATCH) / cpu(CEILING),
    nativeBatchOverJoinedPath: speed(NATIVE_BATCH) / speed(FORMER_BATCH),
    nativeBatchCpuOverJoinedPathCpu: cpu(NATIVE_BATCH) / cpu(FORMER_BATCH),
    nativeBatchOverUtf8Path: speed(NATIVE_BATCH) / speed('before: whole UTF-8 path (UTF-8 copy, then tokenize)'),
    nativeBatchOverTokenizers: speed(NATIVE_BATCH) / speed('tokenizers encodeBatch'),
    nativeBatchOverTransformersJs: speed(NATIVE_BATCH) / speed('transformers.js BertTokenizer'),
    nativeOneByOneOverTokenizers: speed('native encode, one by one') / speed('tokenizers encodeBatch'),
    typescriptOverTokenizers: speed('TypeScript encode, one by one') / speed('tokenizers encodeBatch'),
  };
  fs.rmSync(hfDir, { recursive: true, force: true });
  return {
    columns: ['peer', 'median s', 'CPU s', 'sentences/s', 'MB/s', 'ids agree'],
    rows,
    // --quick leaves the other peers out: their ratios (NaN) are left out too.
    notes: [
      `native encodeBatch / JS Buffer.from UTF-8 encode = ${ratios.nativeBatchOverUtf8Encode.toFixed(2)}x wall (target >= 1.0x); CPU time ${ratios.nativeBatchCpuOverUtf8EncodeCpu.toFixed(2)}x the encode's`,
      `native encodeBatch, out option / JS Buffer.from UTF-8 encode = ${ratios.nativeBatchOutOverUtf8Encode.toFixed(2)}x wall; CPU time ${ratios.nativeBatchOutCpuOverUtf8EncodeCpu.toFixed(2)}x the encode's`,
      `native encodeBatch / before (copy every text, then tokenize) = ${ratios.nativeBatchOverNotOverlapped.toFixed(2)}x wall`,
      `native encodeBatch / before (texts joined in JS) = ${ratios.nativeBatchOverJoinedPath.toFixed(2)}x wall, CPU time ${ratios.nativeBatchCpuOverJoinedPathCpu.toFixed(2)}x`,
      `native encodeBatch / older UTF-8 path (UTF-8 copy per text) = ${ratios.nativeBatchOverUtf8Path.toFixed(2)}x`,
      'profile rows are cumulative (each includes the stages above it; "alone" rows excepted); encodeBatch adds lookup + output to the last one and overlaps the copy with the rest',
      `native encodeBatch / tokenizers encodeBatch = ${ratios.nativeBatchOverTokenizers.toFixed(1)}x (target >= 20x)`,
      `native encodeBatch / transformers.js BertTokenizer = ${ratios.nativeBatchOverTransformersJs.toFixed(1)}x`,
      `native one-by-one / tokenizers encodeBatch = ${ratios.nativeOneByOneOverTokenizers.toFixed(1)}x; TypeScript / tokenizers encodeBatch = ${ratios.typescriptOverTokenizers.toFixed(1)}x`,
      `${texts.length} texts, ${(totalBytes / 1e6).toFixed(2)} MB; batches of ${CHUNK}; max length ${MAX_LENGTH} (batch peers pad to it); median of ${repetitions} interleaved rounds after one warm-up, each pass from a collected heap; tokenizers timed up to encodeBatch's resolve (ids left in Rust).`,
    ].filter((note) => !note.includes('NaNx')),
    extra: {
      settings: { maxLength: MAX_LENGTH, chunk: CHUNK, repetitions, texts: texts.length, bytes: totalBytes, sources, vocab: path.relative(repoRoot, vocabPath) },
      agreement: { sample: sample.length, ...agreement },
      ratios,
      rawSeconds: Object.fromEntries(times),
    },
  };
}

export const suite: Suite = {
  name: 'tokenizer',
  description: 'WordPiece throughput: native (batch, one by one), TypeScript, tokenizers, transformers.js',
  run: (args) => run(args),
};
