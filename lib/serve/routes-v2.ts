/**
 * The Open Inference Protocol (KServe v2 / Triton HTTP), JSON form, so existing clients work:
 *   GET  /v2                                 server metadata
 *   GET  /v2/health/live, /v2/health/ready
 *   GET  /v2/models/{name}[/versions/{v}]    model metadata (inputs, outputs)
 *   GET  /v2/models/{name}[/versions/{v}]/ready
 *   POST /v2/models/{name}[/versions/{v}]/infer
 * The model takes one BYTES input of shape [N] or [N, 1] (the texts, as UTF-8 JSON strings)
 * and gives "probabilities" FP32 [N, C] (class order in the metadata's "labels"), "label" BYTES
 * [N] and "score" FP32 [N]; a request's "outputs" may ask for a subset. Errors are
 * {"error": "..."} as the protocol says. The binary tensor extension is not supported (a 400
 * says so). {version} may be the served version or "1"; another gives 404.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';

import { checkTextLimits, findModel, predictTexts, type ServerContext } from './context';
import { badRequest, HttpError } from './errors';
import type { ModelSlot } from './model-slot';
import { inferBodySchema, modelParamsSchema, type InferBody } from './schemas';

const OUTPUTS = ['probabilities', 'label', 'score'] as const;
type OutputName = (typeof OUTPUTS)[number];

export function registerV2Routes(app: FastifyInstance, ctx: ServerContext, serverVersion: string): void {
  app.get('/v2', async () => ({ name: 'model-distill', version: serverVersion, extensions: [] }));
  app.get('/v2/health/live', async () => ({ live: true }));
  app.get('/v2/health/ready', async (_request, reply) => {
    const ready = isReady(ctx);
    return reply.code(ready ? 200 : 503).send({ ready });
  });

  for (const prefix of ['/v2/models/:name', '/v2/models/:name/versions/:version']) {
    app.get(prefix, { schema: { params: modelParamsSchema } }, async (request) => metadata(slotOf(ctx, request)));
    app.get(`${prefix}/ready`, { schema: { params: modelParamsSchema } }, async (request, reply) => {
      const slot = slotOf(ctx, request);
      const ready = slot.ready && !ctx.state.draining;
      return reply.code(ready ? 200 : 503).send({ name: slot.name, ready });
    });
    app.post(`${prefix}/infer`, { schema: { params: modelParamsSchema, body: inferBodySchema } }, async (request, reply) => {
      if (request.headers['inference-header-content-length'] !== undefined) {
        throw badRequest('the binary tensor extension (Inference-Header-Content-Length) is not supported; send the texts as JSON strings in "data"');
      }
      const slot = slotOf(ctx, request);
      const body = request.body as InferBody;
      const texts = inputTexts(body);
      checkTextLimits(ctx, texts, 'inputs[0].data');
      const wanted = requestedOutputs(body);
      const { probabilities, labels, version } = await predictTexts(ctx, slot, texts);
      reply.type('application/json; charset=utf-8');
      return inferReply(slot.name, version, body.id, labels, probabilities, texts.length, wanted);
    });
  }
}

export function isReady(ctx: ServerContext): boolean {
  return !ctx.state.draining && [...ctx.slots.values()].every((s) => s.ready);
}

function slotOf(ctx: ServerContext, request: FastifyRequest): ModelSlot {
  const { name, version } = request.params as { name: string; version?: string };
  const slot = findModel(ctx, name);
  if (version !== undefined && version !== '1' && (!slot.ready || version !== slot.current.version)) {
    throw new HttpError(404, 'VERSION_NOT_FOUND', `model ${name} has no version ${JSON.stringify(version)}; it serves ${slot.ready ? slot.current.version : 'none yet'}`);
  }
  return slot;
}

function metadata(slot: ModelSlot): Record<string, unknown> {
  const { classifier, version } = slot.current;
  return {
    name: slot.name,
    versions: [version],
    platform: `model-distill_${classifier.kind}`,
    inputs: [{ name: 'text', datatype: 'BYTES', shape: [-1] }],
    outputs: [
      { name: 'probabilities', datatype: 'FP32', shape: [-1, classifier.labels.length] },
      { name: 'label', datatype: 'BYTES', shape: [-1] },
      { name: 'score', datatype: 'FP32', shape: [-1] },
    ],
    parameters: { labels: classifier.labels, max_length: classifier.maxLength },
  };
}

/** The texts of the single BYTES input: data flat ([N]) or one text per row ([N, 1]), matching shape. */
function inputTexts(body: InferBody): string[] {
  const input = body.inputs[0];
  if (input.datatype !== 'BYTES') throw badRequest(`Expected datatype "BYTES" for inputs[0] (${input.name}) but received ${JSON.stringify(input.datatype)}`);
  const { shape } = input;
  if (!(shape.length === 1 || (shape.length === 2 && shape[1] === 1))) {
    throw badRequest(`Expected shape [N] or [N, 1] for inputs[0] (${input.name}) but received ${JSON.stringify(shape)}`);
  }
  const texts: string[] = [];
  input.data.forEach((item, i) => {
    if (typeof item === 'string') texts.push(item);
    else if (Array.isArray(item) && item.length === 1 && typeof item[0] === 'string') texts.push(item[0]);
    else throw badRequest(`Expected a string for inputs[0].data[${i}] but received ${item === null ? 'null' : Array.isArray(item) ? 'an array' : typeof item}`);
  });
  if (texts.length !== shape[0]) throw badRequest(`inputs[0] has shape ${JSON.stringify(shape)} but ${texts.length} texts in data`);
  return texts;
}

function requestedOutputs(body: InferBody): Set<OutputName> {
  if (body.outputs === undefined) return new Set(OUTPUTS);
  const wanted = new Set<OutputName>();
  body.outputs.forEach((o, i) => {
    if (!(OUTPUTS as readonly string[]).includes(o.name)) {
      throw badRequest(`Expected one of ${OUTPUTS.join(', ')} for outputs[${i}].name but received ${JSON.stringify(o.name)}`);
    }
    wanted.add(o.name as OutputName);
  });
  return wanted;
}

function inferReply(model: string, version: string, id: string | undefined, labels: readonly string[], probabilities: Float32Array, n: number, wanted: Set<OutputName>): string {
  const C = labels.length;
  const best = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let b = 0;
    for (let c = 1; c < C; c++) if (probabilities[i * C + c] > probabilities[i * C + b]) b = c;
    best[i] = b;
  }
  const outputs: string[] = [];
  if (wanted.has('probabilities')) outputs.push(`{"name":"probabilities","datatype":"FP32","shape":[${n},${C}],"data":[${probabilities.join(',')}]}`);
  if (wanted.has('label')) outputs.push(`{"name":"label","datatype":"BYTES","shape":[${n}],"data":[${Array.from(best, (b) => JSON.stringify(labels[b])).join(',')}]}`);
  if (wanted.has('score')) outputs.push(`{"name":"score","datatype":"FP32","shape":[${n}],"data":[${Array.from(best, (b, i) => probabilities[i * C + b]).join(',')}]}`);
  const idPart = id === undefined ? '' : `"id":${JSON.stringify(id)},`;
  return `{"model_name":${JSON.stringify(model)},"model_version":"${version}",${idPart}"outputs":[${outputs.join(',')}]}`;
}
