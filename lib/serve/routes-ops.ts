/**
 * The operator's endpoints:
 *   GET  /healthz        liveness: 200 while the process serves HTTP at all
 *   GET  /readyz         readiness: 200 when every model is loaded and the server is not
 *                        draining, else 503 (a load balancer stops sending traffic)
 *   GET  /metrics        Prometheus text (lib/serve/metrics.ts)
 *   POST /admin/reload   reload every model from its folder (same as SIGHUP); 200 when all
 *                        loaded, 500 when one failed (that model keeps its old version); the
 *                        body lists each model's result
 */
import type { FastifyInstance } from 'fastify';

import type { ServerContext } from './context';
import { isReady } from './routes-v2';

export function registerOpsRoutes(app: FastifyInstance, ctx: ServerContext): void {
  app.get('/healthz', async () => ({ status: 'ok' }));

  app.get('/readyz', async (_request, reply) => {
    const models = [...ctx.slots.values()].map((s) => ({
      name: s.name,
      ready: s.ready,
      version: s.ready ? s.current.version : null,
      createdAt: s.ready ? s.current.createdAt : null,
      ...(s.lastError ? { lastReloadError: s.lastError } : {}),
    }));
    const ready = isReady(ctx);
    return reply.code(ready ? 200 : 503).send({ ready, draining: ctx.state.draining, models });
  });

  app.get('/metrics', async (_request, reply) => {
    const { contentType, text } = await ctx.metricsText();
    return reply.type(contentType).send(text);
  });

  app.post('/admin/reload', async (_request, reply) => {
    const results = await ctx.reloadAll();
    const ok = results.every((r) => r.ok);
    return reply.code(ok ? 200 : 500).send({ ok, results });
  });
}
