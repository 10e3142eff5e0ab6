/**
 * `model-distill worker --queue redis://HOST:PORT`: a long-running process that
 * predicts and scores chunks for `predict --queue` and `train` with
 * [distill] queue, on any machine that sees the same files (lib/queue/worker.ts).
 * SIGTERM or Ctrl-C: the chunks in progress go back to the queue at once, and
 * the process exits 0.
 */
import { flagNumber, flagString, type CommandSpec, type ParsedArgs } from './args';

export const workerCommand: CommandSpec = {
  name: 'worker',
  summary: 'predict / score chunks from a BullMQ queue on Redis (scale-out; see docs/scaling.md)',
  usage: 'worker --queue redis://HOST:PORT [--concurrency N] [--threads N]',
  details: `
Takes jobs from the queue "model-distill" at the Redis URL: chunks of
\`predict --queue\` input files and of pool files when \`train\` runs with
[distill] queue. The model folders, teacher files and input files a job names
must be at the same path on this machine (shared storage); a worker whose copy
of a model differs from the coordinator's refuses the job. Models are loaded on
first use and kept. A worker killed outright has its chunk retried elsewhere
after --lock-seconds; SIGTERM or Ctrl-C returns the chunk at once and exits.
Logs go to stderr.

Example:
  redis-server --port 6379 &
  model-distill worker --queue redis://127.0.0.1:6379 --concurrency 2`,
  flags: [
    { name: 'queue', type: 'string', valueName: 'URL', description: 'the Redis holding the queue: redis://HOST:PORT[/DB]', required: true },
    { name: 'concurrency', type: 'positive-int', valueName: 'N', description: 'chunks worked on at once', defaultText: '1' },
    { name: 'threads', type: 'non-negative-int', valueName: 'N', description: 'compute threads per chunk, 0 = all cores', defaultText: '0' },
    { name: 'lock-seconds', type: 'positive-int', valueName: 'S', description: 'a dead worker\'s chunk is retried after about S seconds', defaultText: '30' },
  ],
  run: runWorker,
};

async function runWorker(args: ParsedArgs): Promise<number> {
  const { parseQueueUrl } = require('../queue/connection') as typeof import('../queue/connection');
  const queue = parseQueueUrl(flagString(args, 'queue') as string, '--queue');
  const { QueueWorker } = require('../queue/worker') as typeof import('../queue/worker');
  const log = (line: string) => process.stderr.write(`model-distill ${new Date().toISOString()} ${line}\n`);
  const worker = new QueueWorker({
    queue,
    concurrency: flagNumber(args, 'concurrency') ?? 1,
    threads: flagNumber(args, 'threads') ?? 0,
    lockMs: (flagNumber(args, 'lock-seconds') ?? 30) * 1000,
    log,
  });
  // Listen before starting: the worker can take a chunk before start() resolves, and a
  // SIGTERM in that gap would otherwise kill the process instead of handing the chunk back.
  const stopSignal = new Promise<string>((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
  });
  await worker.start();
  const signal = await stopSignal;
  log(`worker: ${signal}: returning chunks in progress to the queue and stopping`);
  await worker.stop();
  log('worker: stopped');
  return 0;
}
