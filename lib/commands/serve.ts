/**
 * `model-distill serve config.ini [uniqid] [--model textcnn|gru] [--port N] [--host H]`, or
 * `serve --model-dir DIR...`: an HTTP server for trained students (lib/serve/), with JSON and
 * KServe v2 endpoints, Prometheus metrics, health and readiness, limits, micro-batching, drain
 * on SIGTERM, reload on SIGHUP or POST /admin/reload, and --workers N processes.
 */
import { flagBoolean, flagNumber, flagString, flagStrings, UsageError, type CommandSpec, type ParsedArgs } from './args';
import type { ServedModel } from '../serve/options';

export const serveCommand: CommandSpec = {
  name: 'serve',
  summary: 'serve trained students over HTTP (JSON, KServe v2, metrics, reload)',
  usage: 'serve config.ini [uniqid] [--model textcnn|gru] [options]  |  serve --model-dir [NAME=]DIR... [options]',
  details: `
Serves <model.dir>/<uniqid>/<model>/ of a run (uniqid absent: "default"; --model absent:
the first of [model] students) under the model's kind as name, or each --model-dir
folder under its folder name (or NAME= before it).

Endpoints:
  POST /v1/predict                 {"texts": ["...", ...], "topK": 2, "model": NAME}
  POST /v2/models/NAME/infer       Open Inference Protocol (KServe v2), one BYTES input
  GET  /v2, /v2/health/{live,ready}, /v2/models/NAME[/ready]
  GET  /healthz  /readyz  /metrics
  POST /admin/reload               reload every model from its folder (also: SIGHUP)
A reload that fails keeps the old model. SIGTERM finishes requests in flight, then exits.
See docs/serving.md.

Example:
  model-distill serve examples/config.ini --model textcnn --port 8080
  curl -s localhost:8080/v1/predict -H 'content-type: application/json' -d '{"texts":["很好"]}'`,
  flags: [
    { name: 'model', type: 'string', valueName: 'KIND', description: 'which student of the run: textcnn or gru', defaultText: 'first of [model] students' },
    { name: 'model-dir', type: 'strings', valueName: '[NAME=]DIR', description: 'serve these model folders instead of a run' },
    { name: 'host', type: 'string', valueName: 'HOST', description: 'address to listen on', defaultText: '127.0.0.1' },
    { name: 'port', type: 'non-negative-int', valueName: 'N', description: 'port (0 = any free one)', defaultText: '8080' },
    { name: 'workers', type: 'positive-int', valueName: 'N', description: 'server processes sharing the port (node:cluster)', defaultText: '1' },
    { name: 'threads', type: 'non-negative-int', valueName: 'N', description: 'native threads per prediction, 0 = all cores', defaultText: '0 (1 with --workers > 1)' },
    { name: 'max-batch', type: 'positive-int', valueName: 'N', description: 'most texts per micro-batch', defaultText: '64' },
    { name: 'max-in-flight', type: 'positive-int', valueName: 'N', description: 'micro-batches running at once', defaultText: 'the number of cores' },
    { name: 'max-delay-us', type: 'non-negative-int', valueName: 'US', description: 'longest wait for a micro-batch to fill', defaultText: '0 (end of the event-loop turn)' },
    { name: 'no-batching', type: 'boolean', description: 'one native call per request (no micro-batching)' },
    { name: 'max-body-bytes', type: 'positive-int', valueName: 'N', description: 'largest request body (413 above)', defaultText: '1048576' },
    { name: 'max-texts', type: 'positive-int', valueName: 'N', description: 'most texts per request (413 above)', defaultText: '1024' },
    { name: 'max-text-length', type: 'positive-int', valueName: 'N', description: 'longest text in UTF-16 units (413 above)', defaultText: '10000' },
    { name: 'max-queue-texts', type: 'positive-int', valueName: 'N', description: 'texts in flight before 503 + Retry-After', defaultText: '16384' },
    { name: 'timeout-ms', type: 'non-negative-int', valueName: 'MS', description: 'prediction timeout (503), 0 = none', defaultText: '10000' },
    { name: 'drain-timeout-ms', type: 'non-negative-int', valueName: 'MS', description: 'longest drain after SIGTERM', defaultText: '30000' },
    { name: 'log-requests', type: 'boolean', description: 'log every request (JSON lines on stdout)' },
  ],
  positionals: { min: 0, max: 2, names: 'config.ini [uniqid]' },
  run: runServe,
};

async function runServe(args: ParsedArgs): Promise<number> {
  const cluster = require('cluster') as import('cluster').Cluster;
  const { serveOptions } = require('../serve/options') as typeof import('../serve/options');
  const log = (line: string): void => {
    process.stderr.write(`model-distill serve${cluster.isWorker ? ` [worker ${cluster.worker?.id}]` : ''}: ${line}\n`);
  };
  const workers = flagNumber(args, 'workers') ?? 1;
  const models = servedModels(args);
  const limit = (flag: string): number | undefined => flagNumber(args, flag);
  const options = serveOptions(models, {
    host: flagString(args, 'host') ?? '127.0.0.1',
    port: flagNumber(args, 'port') ?? 8080,
    // Several workers share the cores: one native thread each keeps them from oversubscribing.
    threads: flagNumber(args, 'threads') ?? (workers > 1 ? 1 : 0),
    batching: flagBoolean(args, 'no-batching') ? null : { maxBatch: limit('max-batch'), maxDelayMicros: limit('max-delay-us'), maxInFlight: limit('max-in-flight') },
    drainTimeoutMs: limit('drain-timeout-ms'),
    logRequests: flagBoolean(args, 'log-requests'),
    limits: {
      maxBodyBytes: limit('max-body-bytes'),
      maxTexts: limit('max-texts'),
      maxTextLength: limit('max-text-length'),
      maxQueueTexts: limit('max-queue-texts'),
      requestTimeoutMs: limit('timeout-ms'),
    },
  });
  const { installSignals, startServer } = require('../serve/server') as typeof import('../serve/server');
  if (workers > 1 && cluster.isPrimary) {
    const { runPrimary } = require('../serve/cluster') as typeof import('../serve/cluster');
    return runPrimary(workers, log);
  }
  if (cluster.isWorker) {
    const { runWorker } = require('../serve/cluster') as typeof import('../serve/cluster');
    try {
      await runWorker(options, log);
    } catch (err) {
      // The IPC channel would keep a failed worker alive: report and leave (the primary stops).
      log(`could not start: ${err instanceof Error ? err.message : String(err)}`);
      process.exit(1);
    }
  } else {
    const server = await startServer(options);
    installSignals(server, log);
    const names = models.map((m) => `${m.name} (${server.ctx.slots.get(m.name)?.current.version})`).join(', ');
    log(`serving ${names} on ${server.url} (pid ${process.pid})`);
  }
  // The server keeps the process alive; the signal handlers end it.
  await new Promise<never>(() => undefined);
  return 0;
}

/** The models to serve: --model-dir folders, or the run's student named by the positionals and --model. */
function servedModels(args: ParsedArgs): ServedModel[] {
  const path = require('path') as typeof import('path');
  const dirs = flagStrings(args, 'model-dir');
  if (dirs.length > 0) {
    if (args.positionals.length > 0 || flagString(args, 'model') !== undefined) {
      throw new UsageError('give either config.ini [uniqid] [--model KIND] or --model-dir, not both');
    }
    const models = dirs.map((spec) => {
      const eq = spec.indexOf('=');
      const dir = eq > 0 ? spec.slice(eq + 1) : spec;
      const name = eq > 0 ? spec.slice(0, eq) : path.basename(path.resolve(dir));
      if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name)) throw new UsageError(`Expected a model name of letters, digits, '.', '_' or '-' for --model-dir but received ${JSON.stringify(name)} (use NAME=DIR)`);
      return { name, dir: path.resolve(dir) };
    });
    const seen = new Set<string>();
    for (const m of models) {
      if (seen.has(m.name)) throw new UsageError(`two --model-dir folders are named ${JSON.stringify(m.name)}; name them with NAME=DIR`);
      seen.add(m.name);
    }
    return models;
  }
  if (args.positionals.length === 0) throw new UsageError("'serve' needs config.ini [uniqid] or --model-dir DIR (see model-distill serve --help)");
  const [configPath, uniqidArg] = args.positionals;
  const { loadConfig } = require('../config') as typeof import('../config');
  const { findRun, modelFolder } = require('../pipeline/run-folder') as typeof import('../pipeline/run-folder');
  // Serving needs only [model]: the data files may live elsewhere.
  const config = loadConfig(configPath, { checkPaths: false });
  const run = findRun(config, uniqidArg);
  const { kind, dir } = modelFolder(config, run, flagString(args, 'model'), uniqidArg);
  return [{ name: kind, dir }];
}
