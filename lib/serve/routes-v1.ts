/**
 * POST /v1/predict  {"texts": [...], "topK": 2, "model": "textcnn"}
 *   -> {"model": "textcnn", "version": "3f2a...", "labels": [...],
 *       "predictions": [{"label": "pos", "score": 0.93, "probabilities": [...], "top": [...]}]}
 * probabilities are in `labels` order; top (only with topK) is best first. Numbers are the
 * model's float32 values written exactly (Math.fround(parsed) gives back the same bits).
 *
 * The reply is written by hand rather than by a generic serializer: it is the hot path of every
 * request, and its shape is fixed.
 */
import type { FastifyInstance } from 'fastify';

import { checkTextLimits, findModel, predictTexts, type ServerContext } from './context';
import { badRequest } from './errors';
import { predictBodySchema, type PredictBody } from './schemas';

export function registerV1Routes(app: FastifyInstance, ctx: ServerContext): void {
  app.post('/v1/predict', { schema: { body: predictBodySchema } }, async (request, reply) => {
    const body = request.body as PredictBody;
    const slot = findModel(ctx, body.model);
    checkTextLimits(ctx, body.texts, 'texts');
    const classes = slot.current.classifier.labels.length;
    if (body.topK !== undefined && body.topK > classes) {
      throw badRequest(`Expected at most ${classes} (the model's classes) for topK but received ${body.topK}`);
    }
    const { probabilities, labels, version } = await predictTexts(ctx, slot, body.texts);
    reply.type('application/json; charset=utf-8');
    return predictReply(slot.name, version, labels, probabilities, body.texts.length, body.topK);
  });
}

/** The reply's JSON text. */
export function predictReply(model: string, version: string, labels: readonly string[], probabilities: Float32Array, n: number, topK: number | undefined): string {
  const C = labels.length;
  const jsonLabels = labels.map((l) => JSON.stringify(l));
  let out = `{"model":${JSON.stringify(model)},"version":"${version}","labels":[${jsonLabels.join(',')}],"predictions":[`;
  for (let i = 0; i < n; i++) {
    const base = i * C;
    let best = 0;
    for (let c = 1; c < C; c++) if (probabilities[base + c] > probabilities[base + best]) best = c;
    if (i > 0) out += ',';
    out += `{"label":${jsonLabels[best]},"score":${probabilities[base + best]},"probabilities":[`;
    for (let c = 0; c < C; c++) out += (c > 0 ? ',' : '') + probabilities[base + c];
    out += ']';
    if (topK !== undefined) {
      // Stable: ties keep class order, as Classifier.predict's top.
      const order = Array.from({ length: C }, (_, c) => c).sort((a, b) => probabilities[base + b] - probabilities[base + a] || a - b);
      out += ',"top":[' + order.slice(0, topK).map((c) => `{"label":${jsonLabels[c]},"score":${probabilities[base + c]}}`).join(',') + ']';
    }
    out += '}';
  }
  return out + ']}';
}
