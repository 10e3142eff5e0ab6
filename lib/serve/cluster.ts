/**
 * `serve --workers N`: N processes (node:cluster) share the listening socket, so HTTP parsing,
 * JSON and the event loop use every core; each worker loads its own copy of the models.
 *
 * The primary serves no HTTP. It forks the workers, restarts one that dies (unless shutting
 * down), forwards SIGTERM / SIGINT (each worker drains, then the primary exits) and SIGHUP
 * (each worker reloads). A request to /admin/reload or /metrics reaches ONE worker, so that
 * worker asks the primary (IPC), which reloads every worker / gathers every worker's metrics
 * (prom-client's AggregatorRegistry) and answers.
 */
import cluster, { type Worker } from 'cluster';
import { AggregatorRegistry } from 'prom-client';

import type { ReloadReport } from './model-slot';
import type { ServeOptions } from './options';
import { installSignals, reloadLine, startServer, type RunningServer } from './server';

/** Messages between primary and workers, told apart from prom-client's by `md`. */
type Message =
  | { md: 'ask'; id: number; what: 'reload' | 'metrics' }
  | { md: 'answer'; id: number; reports?: ReloadReport[]; metrics?: { contentType: string; text: string }; error?: string }
  | { md: 'reload-local'; id: number }
  | { md: 'reloaded-local'; id: number; reports: ReloadReport[] }
  | { md: 'listening'; url: string };

function isMessage(value: unknown): value is Message {
  return typeof value === 'object' && value !== null && typeof (value as { md?: unknown }).md === 'string';
}

/**
 * The primary: forks `workers` servers and runs until a signal stops them (resolves 0), or until
 * a worker dies before it ever listened (a model that does not load: resolves 1, no restart loop).
 */
export function runPrimary(workers: number, log: (line: string) => void): Promise<number> {
  const aggregator = new AggregatorRegistry();
  let shuttingDown = false;
  let nextId = 0;
  const pendingReloads = new Map<number, { left: number; reports: ReloadReport[]; done: (r: ReloadReport[]) => void }>();
  let listening = 0;
  const listened = new Set<number>();
  let failed: ((code: number) => void) | undefined;

  const reloadEveryWorker = (): Promise<ReloadReport[]> =>
    new Promise((resolve) => {
      const live = Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined && w.isConnected());
      if (live.length === 0) return resolve([]);
      const id = nextId++;
      pendingReloads.set(id, { left: live.length, reports: [], done: resolve });
      for (const w of live) w.send({ md: 'reload-local', id } satisfies Message);
    });

  const fork = (): void => {
    const worker = cluster.fork();
    worker.on('message', (message: unknown) => {
      if (!isMessage(message)) return;
      if (message.md === 'listening') listened.add(worker.id);
      if (message.md === 'listening' && ++listening === workers) log(`serving on ${message.url} with ${workers} workers (primary pid ${process.pid})`);
      if (message.md === 'reloaded-local') {
        const pending = pendingReloads.get(message.id);
        if (!pending) return;
        // One report per model per worker, marked with the worker's id.
        pending.reports.push(...message.reports.map((r) => ({ ...r, model: `${r.model}@worker${worker.id}` })));
        if (--pending.left === 0) {
          pendingReloads.delete(message.id);
          pending.done(pending.reports);
        }
      }
      if (message.md === 'ask') {
        const reply = (answer: Omit<Extract<Message, { md: 'answer' }>, 'md' | 'id'>): void => {
          if (worker.isConnected()) worker.send({ md: 'answer', id: message.id, ...answer } satisfies Message);
        };
        if (message.what === 'reload') reloadEveryWorker().then((reports) => reply({ reports }));
        else aggregator.clusterMetrics().then((text) => reply({ metrics: { contentType: aggregator.contentType, text } }), (err: Error) => reply({ error: err.message }));
      }
    });
  };

  cluster.on('exit', (worker, code, signal) => {
    if (shuttingDown) return;
    if (!listened.has(worker.id)) {
      log(`worker ${worker.id} exited (${signal ?? `code ${code}`}) before it served; stopping`);
      failed?.(1);
      return;
    }
    log(`worker ${worker.id} (pid ${worker.process.pid}) exited (${signal ?? `code ${code}`}); starting another`);
    setTimeout(fork, 1000);
  });

  for (let i = 0; i < workers; i++) fork();

  return new Promise((resolve) => {
    const stopAll = (code: number): void => {
      if (shuttingDown) return;
      shuttingDown = true;
      const live = Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined && w.process.exitCode === null && w.process.signalCode === null);
      let left = live.length;
      if (left === 0) resolve(code);
      for (const w of live) {
        w.once('exit', () => {
          if (--left === 0) {
            if (code === 0) log('all workers drained; exiting');
            resolve(code);
          }
        });
        w.process.kill('SIGTERM');
      }
    };
    failed = stopAll;
    const stop = (signal: NodeJS.Signals): void => {
      if (!shuttingDown) log(`${signal}: draining ${workers} workers`);
      stopAll(0);
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
    process.on('SIGHUP', () => {
      reloadEveryWorker().then((reports) => reports.forEach((r) => log(reloadLine(r))));
    });
  });
}

/** A worker: the usual server, with reload and metrics going through the primary. */
export async function runWorker(options: ServeOptions, log: (line: string) => void): Promise<RunningServer> {
  let nextId = 0;
  const waiting = new Map<number, (answer: Extract<Message, { md: 'answer' }>) => void>();
  const ask = (what: 'reload' | 'metrics'): Promise<Extract<Message, { md: 'answer' }>> =>
    new Promise((resolve) => {
      const id = nextId++;
      waiting.set(id, resolve);
      process.send?.({ md: 'ask', id, what } satisfies Message);
    });

  const server = await startServer(options, {
    reloadAll: async () => (await ask('reload')).reports ?? [],
    metricsText: async () => {
      const answer = await ask('metrics');
      if (answer.error !== undefined || !answer.metrics) throw new Error(`metrics from the workers: ${answer.error ?? 'no answer'}`);
      return answer.metrics;
    },
  });
  // prom-client answers the primary's metrics requests with these registries.
  new AggregatorRegistry();
  AggregatorRegistry.setRegistries([server.ctx.metrics.registry]);

  process.on('message', (message: unknown) => {
    if (!isMessage(message)) return;
    if (message.md === 'answer') {
      waiting.get(message.id)?.(message);
      waiting.delete(message.id);
    }
    if (message.md === 'reload-local') {
      server.reloadAll().then((reports) => process.send?.({ md: 'reloaded-local', id: message.id, reports } satisfies Message));
    }
  });
  // SIGTERM from the primary drains this worker; SIGHUP is the primary's to forward.
  installSignals(server, log, { reloadOnSighup: false });
  process.send?.({ md: 'listening', url: server.url } satisfies Message);
  return server;
}
