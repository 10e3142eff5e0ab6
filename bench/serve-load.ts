/**
 * The serve suite's load generator (bench/serve.ts): autocannon in a process of its own, driven
 * over IPC. The suite forks it once and sends one message per cell; it answers with the
 * measurement.
 *
 * Why a process of its own: the load generator then has its own event loop (and its own share
 * of the CPU) rather than the bench process's, and the bench process is free to keep time and
 * print while a cell runs. The servers are separate processes anyway; on a 2-core machine every
 * one of them competes for the same two cores, which is why the suite reports ratios.
 */
import { fork, type ChildProcess } from 'child_process';
import * as fs from 'fs';

/** One cell: `connections` keep-alive connections sending `requests` in rotation for `seconds`, after `warmupSeconds`. */
export interface LoadSpec {
  url: string;
  connections: number;
  requests: { method: string; path: string; headers: Record<string, string>; body: string }[];
  warmupSeconds: number;
  seconds: number;
  /** autocannon's per-request timeout in seconds. */
  timeout: number;
  /** The server's process id: its CPU time (every thread, and its child processes) is read around the timed run. */
  serverPid: number;
}

export interface LoadResult {
  requestsPerSecond: number;
  p50: number;
  p99: number;
  /** Non-2xx replies, errors and timeouts together. */
  failed: number;
  /** CPU time per request answered in the timed run, in µs: the server's (NaN where /proc is missing) and the load generator's. */
  serverCpuMicros: number;
  clientCpuMicros: number;
}

/** autocannon's result, the fields read here. */
interface AutocannonResult {
  requests: { average: number; total: number };
  latency: { p50: number; p99: number };
  non2xx: number;
  errors: number;
  timeouts: number;
}
type Autocannon = (options: Record<string, unknown>) => Promise<AutocannonResult>;

type Reply = { id: number; result: LoadResult } | { id: number; error: string };

/** The parent's side: a forked load generator that runs one cell at a time. */
export class LoadGenerator {
  private readonly child: ChildProcess;
  private nextId = 0;
  private readonly waiting = new Map<number, { resolve(r: LoadResult): void; reject(e: Error): void }>();

  constructor() {
    this.child = fork(__filename, ['--load-generator'], { execArgv: ['--require', 'tsx/cjs'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.child.on('message', (reply: Reply) => {
      const w = this.waiting.get(reply.id);
      this.waiting.delete(reply.id);
      if ('error' in reply) w?.reject(new Error(`bench serve load generator: ${reply.error}`));
      else w?.resolve(reply.result);
    });
    this.child.on('exit', (code) => {
      for (const w of this.waiting.values()) w.reject(new Error(`bench serve load generator exited ${code}`));
      this.waiting.clear();
    });
  }

  run(spec: LoadSpec): Promise<LoadResult> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.child.send({ id, spec });
    });
  }

  async close(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.disconnect();
    await exited;
  }
}

/**
 * CPU seconds used so far by process `pid`, every thread and (recursively) its child processes
 * (a cluster's workers), from /proc; NaN where /proc is not available. CPU time, unlike
 * requests/s, hardly depends on what else the machine runs, so it is the steadier figure on a
 * shared machine.
 */
export function processTreeCpuSeconds(pid: number): number {
  const ticksPerSecond = 100; // USER_HZ, 100 on every Linux
  try {
    let seconds = 0;
    for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
      // Fields after "(comm) ": state is 0, so utime and stime (fields 14 and 15 of stat) are 11 and 12.
      const fields = fs.readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8').split(') ')[1].split(' ');
      seconds += (Number(fields[11]) + Number(fields[12])) / ticksPerSecond;
      for (const child of fs.readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').split(' ').filter(Boolean)) seconds += processTreeCpuSeconds(Number(child));
    }
    return seconds;
  } catch {
    return NaN;
  }
}

/** The child's side: answers each cell with autocannon's figures; exits when the parent disconnects. */
function serveCells(): void {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const autocannon = require('autocannon') as Autocannon;
  const ownCpuSeconds = (): number => {
    const { user, system } = process.cpuUsage();
    return (user + system) / 1e6;
  };
  process.on('message', (message: { id: number; spec: LoadSpec }) => {
    const { id, spec } = message;
    const options = { url: spec.url, connections: spec.connections, pipelining: 1, requests: spec.requests, timeout: spec.timeout };
    let server = 0;
    let client = 0;
    autocannon({ ...options, duration: spec.warmupSeconds })
      .then(() => {
        server = processTreeCpuSeconds(spec.serverPid);
        client = ownCpuSeconds();
        return autocannon({ ...options, duration: spec.seconds });
      })
      .then(
        (r) => {
          const perRequest = (seconds: number): number => (r.requests.total > 0 ? Math.round((seconds * 1e6) / r.requests.total) : NaN);
          const result: LoadResult = {
            requestsPerSecond: r.requests.average,
            p50: r.latency.p50,
            p99: r.latency.p99,
            failed: r.non2xx + r.errors + r.timeouts,
            serverCpuMicros: perRequest(processTreeCpuSeconds(spec.serverPid) - server),
            clientCpuMicros: perRequest(ownCpuSeconds() - client),
          };
          process.send!({ id, result } satisfies Reply);
        },
        (err: unknown) => process.send!({ id, error: err instanceof Error ? err.message : String(err) } satisfies Reply),
      );
  });
  process.on('disconnect', () => process.exit(0));
}

if (process.argv[2] === '--load-generator') serveCells();
