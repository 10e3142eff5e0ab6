/**
 * The server's Prometheus metrics (prom-client), in a registry of its own so that several
 * servers in one process (tests) do not collide:
 *   model_distill_requests_total{route,status}          requests answered
 *   model_distill_request_duration_seconds{route}       latency histogram (receipt to reply)
 *   model_distill_batch_texts{model}                    texts per native call (micro-batches)
 *   model_distill_queue_texts                           texts admitted and not yet answered
 *   model_distill_model_info{model,version,kind}        1 for the version being served
 *   model_distill_reloads_total{model,result}           reloads, ok or failed
 * plus Node's default process metrics (CPU, memory, event-loop lag).
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

export class ServerMetrics {
  readonly registry = new Registry();
  readonly requests: Counter<'route' | 'status'>;
  readonly duration: Histogram<'route'>;
  readonly batchTexts: Histogram<'model'>;
  readonly queueTexts: Gauge;
  readonly modelInfo: Gauge<'model' | 'version' | 'kind'>;
  readonly reloads: Counter<'model' | 'result'>;

  constructor() {
    const registers = [this.registry];
    this.requests = new Counter({ name: 'model_distill_requests_total', help: 'HTTP requests answered, by route and status', labelNames: ['route', 'status'], registers });
    this.duration = new Histogram({
      name: 'model_distill_request_duration_seconds',
      help: 'Time from receiving a request to sending its reply',
      labelNames: ['route'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
      registers,
    });
    this.batchTexts = new Histogram({
      name: 'model_distill_batch_texts',
      help: 'Texts per native call (micro-batch size)',
      labelNames: ['model'],
      buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024],
      registers,
    });
    this.queueTexts = new Gauge({ name: 'model_distill_queue_texts', help: 'Texts admitted and not yet answered', registers });
    this.modelInfo = new Gauge({ name: 'model_distill_model_info', help: 'The model version being served (value 1)', labelNames: ['model', 'version', 'kind'], registers });
    this.reloads = new Counter({ name: 'model_distill_reloads_total', help: 'Model reloads, by result', labelNames: ['model', 'result'], registers });
    collectDefaultMetrics({ register: this.registry });
  }
}
