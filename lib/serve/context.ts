/**
 * What the routes share: the options, the served models, the metrics, the admission queue and
 * the server's state; and the one path every prediction takes (limits, admission, the model,
 * the timeout), so /v1 and /v2 enforce the same rules.
 */
import { Admission, withTimeout } from './admission';
import { HttpError, overLimit } from './errors';
import type { ServerMetrics } from './metrics';
import type { LoadedModel, ModelSlot, ReloadReport } from './model-slot';
import type { ServeOptions } from './options';

export interface ServerContext {
  options: ServeOptions;
  /** Served models by name, in the order given; the first is the default of /v1/predict. */
  slots: Map<string, ModelSlot>;
  metrics: ServerMetrics;
  admission: Admission;
  state: { draining: boolean };
  /** Reloads every model (in a cluster: every worker's); what /admin/reload and SIGHUP call. */
  reloadAll(): Promise<ReloadReport[]>;
  /** The Prometheus text (in a cluster: all workers together). */
  metricsText(): Promise<{ contentType: string; text: string }>;
}

/** The model `name` names (undefined: the first), or a 404 that lists the served ones. */
export function findModel(ctx: ServerContext, name: string | undefined): ModelSlot {
  const slot = name === undefined ? ctx.slots.values().next().value : ctx.slots.get(name);
  if (!slot) {
    throw new HttpError(404, 'MODEL_NOT_FOUND', `no model named ${JSON.stringify(name)}; this server has: ${[...ctx.slots.keys()].join(', ')}`);
  }
  return slot;
}

/** Checks maxTexts and maxTextLength; `where` names the field in messages (e.g. "texts"). */
export function checkTextLimits(ctx: ServerContext, texts: string[], where: string): void {
  const { maxTexts, maxTextLength } = ctx.options.limits;
  if (texts.length > maxTexts) {
    throw overLimit('TOO_MANY_TEXTS', `${where} has ${texts.length} texts; at most maxTexts (${maxTexts}) per request`, 'maxTexts', maxTexts);
  }
  for (let i = 0; i < texts.length; i++) {
    if (texts[i].length > maxTextLength) {
      throw overLimit('TEXT_TOO_LONG', `${where}[${i}] has ${texts[i].length} characters; at most maxTextLength (${maxTextLength})`, 'maxTextLength', maxTextLength);
    }
  }
}

/** Probabilities [texts.length, C] from the slot's current model, through admission and the timeout. */
export async function predictTexts(ctx: ServerContext, slot: ModelSlot, texts: string[]): Promise<{ probabilities: Float32Array; labels: readonly string[]; version: string }> {
  const n = texts.length;
  ctx.admission.admit(n);
  // Take the model and start the call in one synchronous step: a reload swapping models in
  // between cannot close the model under this request (see model-slot.ts).
  let model: LoadedModel;
  let work: Promise<Float32Array>;
  try {
    model = slot.current;
    work = model.classifier.predictProbabilities(texts);
  } catch (err) {
    ctx.admission.release(n);
    throw err;
  }
  // Released when the native call ends, not at a timeout: the queue bound counts real work.
  const settled = work.finally(() => ctx.admission.release(n));
  settled.catch(() => undefined); // its failure is reported through `work` below
  const probabilities = await withTimeout(work, ctx.options.limits.requestTimeoutMs);
  return { probabilities, labels: model.classifier.labels, version: model.version };
}
