/**
 * Starting and stopping one server process: load every model, listen, and the lifecycle:
 *  - drain(): readiness turns 503 at once, the listener stops accepting, requests in flight get
 *    their replies (none fail), then the models are closed; past drainTimeoutMs the remaining
 *    connections are cut so the process can exit;
 *  - reloadAll(): every model reloaded from its folder (model-slot.ts), one report per model;
 *  - installSignals(): SIGTERM / SIGINT drain then exit, SIGHUP reloads.
 * In a cluster worker (cluster.ts) the same server runs; reload and metrics then go through the
 * primary so that they cover every worker.
 */
import * as fs from 'fs';
import * as path from 'path';
import type { FastifyInstance } from 'fastify';

import { Admission } from './admission';
import { buildApp } from './app';
import type { ServerContext } from './context';
import { ServerMetrics } from './metrics';
import { ModelSlot, type ReloadReport } from './model-slot';
import type { ServeOptions } from './options';

export interface RunningServer {
  app: FastifyInstance;
  ctx: ServerContext;
  /** http://host:port (the port actually bound: 0 picks a free one). */
  url: string;
  port: number;
  drain(): Promise<void>;
  reloadAll(): Promise<ReloadReport[]>;
}

export interface StartHooks {
  /** Replace the local reload (cluster workers ask the primary, which reloads every worker). */
  reloadAll?: () => Promise<ReloadReport[]>;
  metricsText?: () => Promise<{ contentType: string; text: string }>;
}

export async function startServer(options: ServeOptions, hooks: StartHooks = {}): Promise<RunningServer> {
  const metrics = new ServerMetrics();
  const slots = new Map<string, ModelSlot>();
  for (const { name, dir } of options.models) {
    const batching = options.batching ? { ...options.batching, onBatch: (n: number) => metrics.batchTexts.observe({ model: name }, n) } : undefined;
    // callerStacks off: an error becomes an HTTP reply, where the stack of the predict call is of
    // no use, and capturing it was a tenth of the event loop's time per single-text request.
    slots.set(name, new ModelSlot(name, dir, { threads: options.threads, batching, callerStacks: false }, metrics));
  }
  try {
    for (const slot of slots.values()) await slot.load();
  } catch (err) {
    for (const slot of slots.values()) slot.close();
    throw err;
  }
  const localReload = async (): Promise<ReloadReport[]> => Promise.all([...slots.values()].map((s) => s.reload()));
  const ctx: ServerContext = {
    options,
    slots,
    metrics,
    admission: new Admission(options.limits.maxQueueTexts, metrics),
    state: { draining: false },
    reloadAll: hooks.reloadAll ?? localReload,
    metricsText: hooks.metricsText ?? (async () => ({ contentType: metrics.registry.contentType, text: await metrics.registry.metrics() })),
  };
  const app = buildApp(ctx, packageVersion());
  try {
    await app.listen({ host: options.host, port: options.port });
  } catch (err) {
    for (const slot of slots.values()) slot.close();
    throw err;
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;

  let draining: Promise<void> | undefined;
  const drain = (): Promise<void> => {
    draining ??= (async () => {
      ctx.state.draining = true;
      const cut = setTimeout(() => app.server.closeAllConnections(), options.drainTimeoutMs);
      cut.unref();
      try {
        await app.close();
      } finally {
        clearTimeout(cut);
        for (const slot of slots.values()) slot.close();
      }
    })();
    return draining;
  };
  return { app, ctx, url: `http://${host}:${port}`, port, drain, reloadAll: localReload };
}

/** SIGTERM / SIGINT: drain, then exit 0; SIGHUP (unless reloadOnSighup is false): reload, the report to the log. */
export function installSignals(server: RunningServer, log: (line: string) => void, { reloadOnSighup = true } = {}): void {
  const stop = (signal: string): void => {
    log(`${signal}: draining (finishing requests in flight, refusing new ones)`);
    server.drain().then(
      () => {
        log('drained; exiting');
        process.exit(0);
      },
      (err: unknown) => {
        log(`drain failed: ${err instanceof Error ? err.message : String(err)}`);
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
  if (!reloadOnSighup) return;
  process.on('SIGHUP', () => {
    server.ctx.reloadAll().then((reports) => {
      for (const r of reports) log(reloadLine(r));
    }, (err: unknown) => log(`reload failed: ${err instanceof Error ? err.message : String(err)}`));
  });
}

export function reloadLine(r: ReloadReport): string {
  return r.ok ? `reloaded ${r.model}: version ${r.previousVersion} -> ${r.version}` : `reload of ${r.model} FAILED, still serving version ${r.version}: ${r.error}`;
}

/** This package's version, from the package.json above this file (lib/serve/ or dist/lib/serve/). */
function packageVersion(): string {
  for (const rel of ['../../package.json', '../../../package.json']) {
    const file = path.join(__dirname, rel);
    if (fs.existsSync(file)) return (JSON.parse(fs.readFileSync(file, 'utf8')) as { version: string }).version;
  }
  return 'unknown';
}
