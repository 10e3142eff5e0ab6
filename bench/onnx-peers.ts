/**
 * onnxruntime peers for the predict suite (bench/predict.ts): the SAME model folders exported
 * to ONNX (lib/onnx/export-student.ts) and run by
 *   - onnxruntime-node (CPU execution provider, intra-op threads = `threads`, inter-op 1), and
 *   - onnxruntime-web (WebAssembly, numThreads = `threads`), in this Node process.
 * Input is ids, as a user of those runtimes would hand them over: every text is tokenised
 * BEFORE timing (by the model's own tokenizer, same maxLength/specials as the Classifier) and
 * each batch is prepared once (int64 ids padded with 0 to the batch's longest row) on its first
 * call, which is the suites' warm-up pass; timed calls pay for the Tensor wrapper and run() only.
 */
import * as path from 'path';

import type { InferenceSession as NodeSession } from 'onnxruntime-node';

import { readModelFolder } from '../lib/model-folder';
import { exportOnnxBytes } from '../lib/onnx/export-student';
import { Tokenizer } from '../lib/tokenizer';
import type { PredictPeer } from './predict-peer';

type Kind = PredictPeer['model'];

interface Prepared {
  ids: BigInt64Array;
  rows: number;
  width: number;
}

export interface OnnxPeers {
  peers: PredictPeer[];
  close(): Promise<void>;
}

/** Peers `<kind>.onnxruntime-node.async` and `<kind>.onnxruntime-web.async` for each model folder `<dir>/<kind>`. */
export async function measureOnnxPeers(modelsDir: string, kinds: Kind[], texts: string[], threads: number): Promise<OnnxPeers> {
  const ortNode = await import('onnxruntime-node');
  const ortWeb = await import('onnxruntime-web');
  ortWeb.env.wasm.numThreads = threads;
  const peers: PredictPeer[] = [];
  const sessions: { release(): Promise<void> }[] = [];
  for (const kind of kinds) {
    const dir = path.join(modelsDir, kind);
    const folder = readModelFolder(dir);
    const tokenizer = Tokenizer.fromFile(folder.vocabPath, { lowercase: folder.config.lowercase });
    const { maxLength, addSpecialTokens } = folder.config;
    // every text's ids, computed before any timing
    const enc = tokenizer.encodeBatch(texts, { maxLength, addSpecialTokens });
    const idsOf = new Map<string, Int32Array>();
    texts.forEach((t, i) => {
      const L = Math.max(1, enc.lengths[i]);
      const row = enc.ids.slice(i * maxLength, i * maxLength + L);
      if (enc.lengths[i] === 0) row[0] = tokenizer.unkId; // as the Classifier: an empty text is one [UNK]
      idsOf.set(t, row);
    });
    const single = new Map<string, Prepared>();
    const batchCache = new WeakMap<string[], Prepared>();
    const prepare = (batch: string[]): Prepared => {
      const rows = batch.map((t) => {
        const r = idsOf.get(t);
        if (!r) throw new Error(`bench onnx peer: text was not tokenised in advance: ${JSON.stringify(t.slice(0, 40))}`);
        return r;
      });
      const width = Math.max(1, ...rows.map((r) => r.length));
      const ids = new BigInt64Array(rows.length * width);
      rows.forEach((r, i) => r.forEach((v, t) => (ids[i * width + t] = BigInt(v))));
      return { ids, rows: rows.length, width };
    };
    const preparedOne = (text: string) => {
      let p = single.get(text);
      if (!p) single.set(text, (p = prepare([text])));
      return p;
    };
    const preparedBatch = (batch: string[]) => {
      let p = batchCache.get(batch);
      if (!p) batchCache.set(batch, (p = prepare(batch)));
      return p;
    };
    for (const text of texts) preparedOne(text);

    const bytes = exportOnnxBytes(dir);
    const nodeSession: NodeSession = await ortNode.InferenceSession.create(bytes, {
      executionProviders: ['cpu'],
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
    });
    const webSession = await ortWeb.InferenceSession.create(bytes, { executionProviders: ['wasm'], graphOptimizationLevel: 'all' });
    sessions.push(nodeSession, webSession);
    const runNode = (p: Prepared) => nodeSession.run({ input_ids: new ortNode.Tensor('int64', p.ids, [p.rows, p.width]) }, ['probabilities']);
    const runWeb = (p: Prepared) => webSession.run({ input_ids: new ortWeb.Tensor('int64', p.ids, [p.rows, p.width]) }, ['probabilities']);
    peers.push({
      key: `${kind}.onnxruntime-node.async`, model: kind, engine: `onnxruntime-node ${threads} threads`, input: 'ids', call: 'async',
      predictOne: (text) => runNode(preparedOne(text)),
      predictBatch: (batch) => runNode(preparedBatch(batch)),
    });
    peers.push({
      key: `${kind}.onnxruntime-web.async`, model: kind, engine: `onnxruntime-web (wasm) ${threads} threads`, input: 'ids', call: 'async',
      predictOne: (text) => runWeb(preparedOne(text)),
      predictBatch: (batch) => runWeb(preparedBatch(batch)),
    });
  }
  return {
    peers,
    close: async () => {
      for (const s of sessions) await s.release().catch(() => undefined);
    },
  };
}
