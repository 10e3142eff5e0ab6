/**
 * The 'wasm' classifier backend: onnxruntime-web (WebAssembly, no native code of ours) running
 * the student's ONNX export, with the TypeScript WordPiece tokenizer (lib/wordpiece.ts, ids
 * identical to the native one). It is the fallback where the addon does not load, and what
 * MODEL_DISTILL_BACKEND=wasm forces.
 *
 * At load the model folder is exported to ONNX in memory (lib/onnx/export-student.ts reads
 * weights.safetensors in TypeScript), so the session always runs exactly the folder's weights;
 * nothing is written next to the model.
 *
 * Per call: tokenise (same maxLength/truncation/specials as native; an empty row without
 * specials becomes one [UNK], as native does), sort rows by length and run chunks of up to
 * CHUNK_ROWS rows, each padded only to its longest row (padding never changes a result: the
 * graph masks it), then put the rows back in input order.
 *
 * onnxruntime-web runs asynchronously only, so probabilitiesSync throws (use predict()).
 * onnxruntime-web is loaded lazily: the package's entry point does not pay for it.
 */
import * as path from 'path';

import type * as OrtWeb from 'onnxruntime-web';

import { exportOnnxBytes } from '../onnx/export-student';
import { Tokenizer } from '../tokenizer';
import { BackendUnavailableError, type BackendInitContext, type ClassifierBackend } from './registry';

/** Rows per session.run: big enough to amortise the call, small enough to bound the ids tensor. */
const CHUNK_ROWS = 256;

let ortModule: typeof OrtWeb | undefined;

/** onnxruntime-web, loaded once. Node picks its "node" build, which finds its .wasm files beside it. */
function loadOrtWeb(): typeof OrtWeb {
  if (!ortModule) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    ortModule = require('onnxruntime-web') as typeof OrtWeb;
  }
  return ortModule;
}

export async function createWasmBackend({ folder, threads }: BackendInitContext): Promise<ClassifierBackend> {
  let ort: typeof OrtWeb;
  try {
    ort = loadOrtWeb();
  } catch (err) {
    throw new BackendUnavailableError(`onnxruntime-web could not be loaded (${(err as Error).message}); install it with 'npm install onnxruntime-web'`);
  }
  // numThreads is global to onnxruntime-web and read when its WebAssembly module starts (the
  // first session); later values are ignored, so the first Classifier decides.
  if (threads > 0 && ort.env.wasm.numThreads === undefined) ort.env.wasm.numThreads = threads;
  const tokenizer = Tokenizer.fromFile(folder.vocabPath, { lowercase: folder.config.lowercase, backend: 'typescript' });
  const model = exportOnnxBytes(path.dirname(folder.configPath)); // the generation already resolved: the same files as the tokenizer's
  const session = await ort.InferenceSession.create(model, { executionProviders: ['wasm'], graphOptimizationLevel: 'all' });
  return new WasmClassifierBackend(ort, session, tokenizer, folder.config.maxLength, folder.config.addSpecialTokens, folder.spec.numClasses);
}

class WasmClassifierBackend implements ClassifierBackend {
  readonly name = 'wasm' as const;
  private session: OrtWeb.InferenceSession | undefined;
  private running = 0;
  private closeRequested = false;

  constructor(
    private readonly ort: typeof OrtWeb,
    session: OrtWeb.InferenceSession,
    private readonly tokenizer: Tokenizer,
    private readonly maxLength: number,
    private readonly addSpecialTokens: boolean,
    private readonly numClasses: number,
  ) {
    this.session = session;
  }

  probabilitiesSync(): Float32Array {
    throw new Error("the 'wasm' backend (onnxruntime-web) runs asynchronously only: use predict() / predictProbabilities() instead of the Sync methods");
  }

  async probabilities(texts: string[]): Promise<Float32Array> {
    const session = this.session;
    if (!session) throw new Error('Classifier is closed');
    const C = this.numClasses;
    const out = new Float32Array(texts.length * C);
    if (texts.length === 0) return out;
    const { ids, lengths, maxLength } = this.tokenizer.encodeBatch(texts, { maxLength: this.maxLength, addSpecialTokens: this.addSpecialTokens });
    for (let i = 0; i < texts.length; i++) {
      if (lengths[i] === 0) {
        ids[i * maxLength] = this.tokenizer.unkId; // as the native classifier: a model needs one token
        lengths[i] = 1;
      }
    }
    const order = Array.from({ length: texts.length }, (_, i) => i).sort((a, b) => lengths[a] - lengths[b] || a - b);
    this.running++;
    try {
      for (let from = 0; from < order.length; from += CHUNK_ROWS) {
        const rows = order.slice(from, from + CHUNK_ROWS);
        const T = lengths[rows[rows.length - 1]]; // sorted: the last row is the longest
        const chunk = new BigInt64Array(rows.length * T); // zeros = [PAD] (id 0) whatever the vocab's pad id
        rows.forEach((row, r) => {
          for (let t = 0; t < lengths[row]; t++) chunk[r * T + t] = BigInt(ids[row * maxLength + t]);
        });
        const result = await session.run({ input_ids: new this.ort.Tensor('int64', chunk, [rows.length, T]) }, ['probabilities']);
        const probabilities = result.probabilities.data as Float32Array;
        rows.forEach((row, r) => out.set(probabilities.subarray(r * C, (r + 1) * C), row * C));
      }
    } finally {
      this.running--;
      if (this.closeRequested && this.running === 0) void this.release(session);
    }
    return out;
  }

  /** Later calls throw; calls in flight finish first, then the session is released. */
  close(): void {
    const session = this.session;
    if (!session) return;
    this.session = undefined;
    this.closeRequested = true;
    if (this.running === 0) void this.release(session);
  }

  private async release(session: OrtWeb.InferenceSession): Promise<void> {
    try {
      await session.release();
    } catch {
      // nothing useful to do with a failed release at close time
    }
  }
}
