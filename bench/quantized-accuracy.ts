/**
 * Quantized students against their float32 originals, on trained models:
 *
 *   npx tsx bench/quantized-accuracy.ts RUN_DIR EVAL.tsv [SPEED.tsv] [rounds=5]
 *
 * RUN_DIR holds trained model folders textcnn/ and/or gru/ (a `model-distill train` run); the
 * int8 and bf16 copies are written beside them (textcnn-int8/, ...) when missing. For each
 * model and precision it prints: accuracy on EVAL.tsv, agreement with float32, the largest
 * probability difference from float32, the weights file size, the resident memory of the loaded
 * model (a process of its own, bench/rss-probe.ts), and batch-256 reviews/s (sync
 * predictProbabilitiesSync, 2 threads, all texts of EVAL + SPEED, median of interleaved rounds,
 * with process CPU seconds beside it). Then the ONNX export of each int8 folder (dequantized,
 * onnxruntime-node) against the native int8 model: the largest probability difference.
 */
import * as fs from 'fs';
import * as path from 'path';

import type { Classifier } from '../lib/classifier';
import { measureLoadedRss } from './rss-probe';

const THREADS = 2;
const BATCH = 256;

function tsv(file: string): { texts: string[]; labels: string[] } {
  const texts: string[] = [];
  const labels: string[] = [];
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    if (line.length === 0) continue;
    const tab = line.lastIndexOf('\t');
    texts.push(line.slice(0, tab));
    labels.push(line.slice(tab + 1));
  }
  return { texts, labels };
}

function argmax(p: Float32Array, row: number, C: number): number {
  let best = 0;
  for (let c = 1; c < C; c++) if (p[row * C + c] > p[row * C + best]) best = c;
  return best;
}

async function main(): Promise<void> {
  const [runDir, evalFile, speedFile, roundsArg] = process.argv.slice(2);
  if (!runDir || !evalFile) throw new Error('usage: npx tsx bench/quantized-accuracy.ts RUN_DIR EVAL.tsv [SPEED.tsv] [rounds]');
  const rounds = Number(roundsArg ?? 5);
  const { Classifier } = await import('../lib/classifier');
  const { quantizeModelFolder } = await import('../lib/quantize');
  const { exportOnnxBytes } = await import('../lib/onnx/export-student');
  const { Tokenizer } = await import('../lib/tokenizer');
  const ort = await import('onnxruntime-node');
  const evalSet = tsv(evalFile);
  const speedTexts = [...evalSet.texts, ...(speedFile ? tsv(speedFile).texts : [])];
  const rows: string[] = [];
  const out = (line: string) => {
    rows.push(line);
    process.stdout.write(line + '\n');
  };
  out(`run ${runDir}; eval ${evalFile} (${evalSet.texts.length} rows); speed texts ${speedTexts.length}; batch ${BATCH}, ${THREADS} threads, median of ${rounds} rounds`);
  out('model    precision  accuracy  agree  max|dp|   weights MB  RSS MB  reviews/s  CPU s/pass');
  for (const kind of ['textcnn', 'gru']) {
    if (!fs.existsSync(path.join(runDir, kind))) {
      out(`${kind}: no ${kind}/ folder in ${runDir}, skipped`);
      continue;
    }
    const dirs: Record<string, string> = { float32: path.join(runDir, kind) };
    for (const dtype of ['int8', 'bf16'] as const) {
      const dir = path.join(runDir, `${kind}-${dtype}`);
      if (!fs.existsSync(dir)) quantizeModelFolder(dirs.float32, dir, { dtype });
      dirs[dtype] = dir;
    }
    const classifiers = new Map<string, Classifier>();
    for (const [name, dir] of Object.entries(dirs)) classifiers.set(name, await Classifier.load(dir, { threads: THREADS }));
    const labels = classifiers.get('float32')!.labels;
    const C = labels.length;
    const probs = new Map<string, Float32Array>();
    for (const [name, clf] of classifiers) probs.set(name, clf.predictProbabilitiesSync(evalSet.texts));
    // speed: interleaved rounds after a warm-up
    const chunks: string[][] = [];
    for (let i = 0; i < speedTexts.length; i += BATCH) chunks.push(speedTexts.slice(i, i + BATCH));
    const wall = new Map<string, number[]>();
    const cpu = new Map<string, number[]>();
    for (let r = 0; r <= rounds; r++) {
      for (const [name, clf] of classifiers) {
        const c0 = process.cpuUsage();
        const t0 = process.hrtime.bigint();
        for (const b of chunks) clf.predictProbabilitiesSync(b);
        const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
        const c = process.cpuUsage(c0);
        if (r === 0) continue; // warm-up
        (wall.get(name) ?? wall.set(name, []).get(name)!).push(seconds);
        (cpu.get(name) ?? cpu.set(name, []).get(name)!).push((c.user + c.system) / 1e6);
      }
    }
    const median = (xs: number[]) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)];
    const base = probs.get('float32')!;
    for (const [name, p] of probs) {
      let correct = 0;
      let agree = 0;
      let maxDiff = 0;
      for (let i = 0; i < evalSet.texts.length; i++) {
        const a = argmax(p, i, C);
        if (labels[a] === evalSet.labels[i]) correct++;
        if (a === argmax(base, i, C)) agree++;
      }
      for (let i = 0; i < p.length; i++) maxDiff = Math.max(maxDiff, Math.abs(p[i] - base[i]));
      const weightsMB = fs.statSync(path.join(dirs[name], 'weights.safetensors')).size / 1e6;
      const rss = measureLoadedRss(dirs[name]);
      out(
        `${kind.padEnd(8)} ${name.padEnd(10)} ${(correct / evalSet.texts.length).toFixed(4).padStart(8)}  ${agree.toString().padStart(5)}  ${maxDiff.toExponential(2).padStart(8)}` +
          `  ${weightsMB.toFixed(2).padStart(10)}  ${rss.loadedMB.toFixed(1).padStart(6)}  ${Math.round(speedTexts.length / median(wall.get(name)!)).toString().padStart(9)}  ${median(cpu.get(name)!).toFixed(3).padStart(10)}`,
      );
    }
    // ONNX export of the int8 folder (dequantized weights) vs the native int8 model
    const folder = classifiers.get('int8')!.folder;
    const tokenizer = Tokenizer.fromFile(folder.vocabPath, { lowercase: folder.config.lowercase });
    const { maxLength, addSpecialTokens } = folder.config;
    const enc = tokenizer.encodeBatch(evalSet.texts, { maxLength, addSpecialTokens });
    const ids = new BigInt64Array(enc.ids.length);
    for (let i = 0; i < evalSet.texts.length; i++) {
      if (enc.lengths[i] === 0) enc.ids[i * maxLength] = tokenizer.unkId;
      for (let t = 0; t < maxLength; t++) ids[i * maxLength + t] = BigInt(enc.ids[i * maxLength + t]);
    }
    const session = await ort.InferenceSession.create(exportOnnxBytes(dirs.int8));
    const result = await session.run({ input_ids: new ort.Tensor('int64', ids, [evalSet.texts.length, maxLength]) }, ['probabilities']);
    const onnxProbs = result.probabilities.data as Float32Array;
    const native = probs.get('int8')!;
    let maxDiff = 0;
    let agree = 0;
    for (let i = 0; i < onnxProbs.length; i++) maxDiff = Math.max(maxDiff, Math.abs(onnxProbs[i] - native[i]));
    for (let i = 0; i < evalSet.texts.length; i++) if (argmax(onnxProbs, i, C) === argmax(native, i, C)) agree++;
    out(`${kind} int8 ONNX export (dequantized, onnxruntime-node) vs native int8: max |dp| ${maxDiff.toExponential(2)}, argmax agree ${agree}/${evalSet.texts.length}`);
    await session.release();
    for (const clf of classifiers.values()) clf.close();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(String((err as Error).stack ?? err) + '\n');
  process.exitCode = 1;
});
