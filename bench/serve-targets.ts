/**
 * The comparison servers of the serve suite (bench/serve.ts), each run as its own process:
 *   node --require tsx/cjs bench/serve-targets.ts bare PORT [_ _ WORKERS]
 *       fastify, the same POST /v1/predict route (default JSON body parsing) answering a
 *       constant: the HTTP ceiling of this framework on this machine; with WORKERS > 1, that
 *       many processes share the port (node:cluster), the ceiling for `serve --workers N`;
 *   node --require tsx/cjs bench/serve-targets.ts onnx PORT MODEL_DIR THREADS
 *       what a user would build instead: fastify + onnxruntime-node on the model's ONNX export
 *       (`model-distill export`), one session.run per request (tokenised with the model's own
 *       tokenizer, padded to the request's longest text), replies with labels and probabilities.
 * Each prints "serving <what> on http://HOST:PORT" on stderr once listening, as `serve` does.
 */
import * as cluster from 'cluster';
import Fastify from 'fastify';

import { readModelFolder } from '../lib/model-folder';
import { exportOnnxBytes } from '../lib/onnx/export-student';
import { Tokenizer } from '../lib/tokenizer';

async function main(argv: string[]): Promise<void> {
  const [mode, portArg, modelDir, threadsArg, workersArg] = argv;
  const workers = Number(workersArg ?? 1);
  if (workers > 1 && cluster.default.isPrimary) return startCluster(mode, portArg, workers);
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
  const port = typeof address === 'object' && address ? address.port : Number(portArg);
  if (cluster.default.isWorker) {
    process.send!({ port });
    process.once('disconnect', () => void app.close().then(() => process.exit(0)));
    return;
  }
  process.stderr.write(`serving ${mode} on http://127.0.0.1:${port}\n`);
  const stop = (): void => void app.close().then(() => process.exit(0));
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

/**
 * `workers` processes sharing one port, as `serve --workers` does (node:cluster: the primary
 * holds the listening socket, so every worker listens on the same PORT, 0 included); the
 * primary only stops them on SIGTERM.
 */
async function startCluster(mode: string, portArg: string, workers: number): Promise<void> {
  const c = cluster.default;
  const ports = await Promise.all(
    Array.from(
      { length: workers },
      () =>
        new Promise<number>((resolve, reject) => {
          const worker = c.fork();
          worker.once('message', (m: { port: number }) => resolve(m.port));
          worker.once('exit', (code) => reject(new Error(`bench/serve-targets.ts: worker exited ${code} before listening`)));
        }),
    ),
  );
  process.stderr.write(`serving ${mode} (${workers} processes) on http://127.0.0.1:${ports[0]}\n`);
  let exited = 0;
  c.on('exit', () => {
    if (++exited === workers) process.exit(0);
  });
  const stop = (): void => {
    for (const worker of Object.values(c.workers ?? {})) worker?.disconnect();
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

main(process.argv.slice(2)).catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
