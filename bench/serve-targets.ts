/**
 * The comparison servers of the serve suite (bench/serve.ts), each run as its own process:
 *   node --require tsx/cjs bench/serve-targets.ts bare PORT
 *       fastify, the same POST /v1/predict route (default JSON body parsing) answering a
 *       constant: the HTTP ceiling of this framework on this machine;
 *   node --require tsx/cjs bench/serve-targets.ts onnx PORT MODEL_DIR THREADS
 *       what a user would build instead: fastify + onnxruntime-node on the model's ONNX export
 *       (`model-distill export`), one session.run per request (tokenised with the model's own
 *       tokenizer, padded to the request's longest text), replies with labels and probabilities.
 * Each prints "serving <what> on http://HOST:PORT" on stderr once listening, as `serve` does.
 */
import Fastify from 'fastify';

import { readModelFolder } from '../lib/model-folder';
import { exportOnnxBytes } from '../lib/onnx/export-student';
import { Tokenizer } from '../lib/tokenizer';

async function main(argv: string[]): Promise<void> {
  const [mode, portArg, modelDir, threadsArg] = argv;
  const app = Fastify({ logger: false });
  if (mode === 'bare') {
    const constant = '{"model":"bare","predictions":[{"label":"x","score":1}]}';
    app.post('/v1/predict', async (_request, reply) => reply.type('application/json').send(constant));
  } else if (mode === 'onnx') {
    const ort = await import('onnxruntime-node');
    const folder = readModelFolder(modelDir);
    const threads = Number(threadsArg);
    const session = await ort.InferenceSession.create(exportOnnxBytes(modelDir), { intraOpNumThreads: threads, interOpNumThreads: 1 });
    const tokenizer = Tokenizer.fromFile(folder.vocabPath, { lowercase: folder.config.lowercase });
    const { maxLength, addSpecialTokens, labels } = folder.config;
    const C = labels.length;
    app.post('/v1/predict', async (request) => {
      const { texts } = request.body as { texts: string[] };
      const enc = tokenizer.encodeBatch(texts, { maxLength, addSpecialTokens });
      const width = Math.max(1, ...Array.from(enc.lengths));
      const ids = new BigInt64Array(texts.length * width);
      for (let i = 0; i < texts.length; i++) {
        const L = enc.lengths[i];
        if (L === 0) ids[i * width] = BigInt(tokenizer.unkId); // as the Classifier: an empty text is one [UNK]
        for (let t = 0; t < L; t++) ids[i * width + t] = BigInt(enc.ids[i * maxLength + t]);
      }
      const out = await session.run({ input_ids: new ort.Tensor('int64', ids, [texts.length, width]) }, ['probabilities']);
      const p = out.probabilities.data as Float32Array;
      const predictions = texts.map((_, i) => {
        const row = Array.from(p.subarray(i * C, (i + 1) * C));
        const best = row.indexOf(Math.max(...row));
        return { label: labels[best], score: row[best], probabilities: row };
      });
      return { model: 'onnx', labels, predictions };
    });
  } else {
    throw new Error(`bench/serve-targets.ts: unknown mode ${JSON.stringify(mode)} (bare, onnx)`);
  }
  await app.listen({ host: '127.0.0.1', port: Number(portArg) });
  const address = app.server.address();
  process.stderr.write(`serving ${mode} on http://127.0.0.1:${typeof address === 'object' && address ? address.port : portArg}\n`);
  const stop = (): void => void app.close().then(() => process.exit(0));
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

main(process.argv.slice(2)).catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
