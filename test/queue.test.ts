/**
 * Scale-out on BullMQ/Redis (lib/queue/), against a real redis-server started
 * by the test on a free port: `predict --queue` with worker processes gives
 * the same bytes as a local predict, also when a worker is killed with SIGKILL
 * in the middle of a chunk (BullMQ retries it) or stops on SIGTERM (it hands
 * its chunk back); a Redis restart mid-run ends in the right output or a
 * clear error, never a wrong or partial file; `train` with [distill] queue
 * caches the same pool logits as a local run and resumes without rescoring;
 * bad and unreachable queue URLs are errors naming the URL. Also the chunking
 * itself, against reading the whole file.
 */
import { strict as assert } from 'assert';
import { spawn, type ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import { Queue } from 'bullmq';

import { readLineBatches } from '../lib/line-batches';
import { readChunkLines, splitIntoLineChunks } from '../lib/queue/chunks';
import { parseQueueUrl } from '../lib/queue/connection';
import { QUEUE_NAME } from '../lib/queue/jobs';
import { workerName } from '../lib/queue/worker';
import { CLI, fails, ok, REPO_ROOT, runCli, TINY_REVIEWS } from './helpers/cli';
import { freePort, haveRedisServer, REDIS_MISSING, startRedis, type TestRedis } from './helpers/redis-server';
import { tinyConfigText, writeConfigIni } from './helpers/tiny-config';

let tmp = '';
before(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'model-distill-queue-'));
});
after(() => {
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

describe('queue chunks (line ranges of a file)', () => {
  async function wholeFileLines(file: string): Promise<string[]> {
    const lines: string[] = [];
    for await (const batch of readLineBatches(fs.createReadStream(file), 1000)) lines.push(...batch);
    return lines;
  }

  const cases: Record<string, Buffer> = {
    'no final newline': Buffer.from('a\nb\nc'),
    'CRLF and empty lines': Buffer.from('a\r\n\r\n\nb\r\nc\n'),
    'invalid UTF-8 across a chunk edge': Buffer.concat([Buffer.from('ok\n'), Buffer.from([0xe4, 0xbd]), Buffer.from('\n好\n\xff\n', 'latin1')]),
    'empty file': Buffer.alloc(0),
    'only newlines': Buffer.from('\n\n\n'),
  };
  for (const [name, bytes] of Object.entries(cases)) {
    it(`gives the lines of reading the whole file: ${name}`, async () => {
      const file = path.join(tmp, 'chunks.txt');
      fs.writeFileSync(file, bytes);
      const whole = await wholeFileLines(file);
      for (const size of [1, 2, 3, 100]) {
        const chunks = splitIntoLineChunks(file, size);
        const got: string[] = [];
        for (const c of chunks) {
          assert.ok(c.lines <= size && c.lines > 0, `chunk ${c.index} has ${c.lines} lines`);
          got.push(...(await readChunkLines(c)).lines);
        }
        assert.deepEqual(got, whole, `chunks of ${size} lines`);
        assert.equal(chunks.at(-1)?.endByte ?? 0, bytes.length);
      }
    });
  }

  it('refuses a chunk of a file that changed after it was split', async () => {
    const file = path.join(tmp, 'changing.txt');
    fs.writeFileSync(file, 'a\nb\n');
    const [chunk] = splitIntoLineChunks(file, 10);
    fs.appendFileSync(file, 'c\n');
    await assert.rejects(readChunkLines(chunk), /changing\.txt on this worker is not the file that was split/);
  });
});

describe('queue URLs', () => {
  it('parses redis://HOST:PORT/DB and names the source of a bad one', () => {
    assert.deepEqual(parseQueueUrl('redis://10.0.0.5:6380/2', '--queue'), { host: '10.0.0.5', port: 6380, db: 2, tls: false, display: 'redis://10.0.0.5:6380/2' });
    assert.throws(() => parseQueueUrl('http://x:1', '--queue'), /for --queue but received "http:\/\/x:1".*scheme/);
    assert.throws(() => parseQueueUrl('redis://h:1/x', '[distill] queue in a.ini'), /\[distill\] queue in a\.ini.*database number/);
    assert.throws(() => parseQueueUrl('localhost:6379', '--queue'), /Expected a Redis URL like redis:\/\/HOST:PORT for --queue/);
  });

  it('worker --queue with a malformed URL is a clear error', () => {
    fails(runCli(['worker', '--queue', 'redis//nohost']), 'worker', /Expected a Redis URL like redis:\/\/HOST:PORT for --queue but received "redis\/\/nohost"/);
  });

  it('worker --queue at an unreachable Redis is an error naming the URL', async () => {
    const port = await freePort();
    fails(runCli(['worker', '--queue', `redis://127.0.0.1:${port}`]), 'worker', new RegExp(`cannot reach the queue's Redis at redis://127\\.0\\.0\\.1:${port}`));
  });
});

describe('predict --queue and model-distill worker (real redis-server)', function () {
  this.timeout(120_000);
  let redis: TestRedis | null = null;
  let config = '';
  let input = '';
  let expected = '';
  const children: ChildProcess[] = [];
  // Flags shared by the local reference run and every queue run: same batches, same bytes.
  const FLAGS = ['--top-k', '2', '--batch-size', '512'];

  before(async function () {
    if (!haveRedisServer()) {
      console.log(`      skipped: ${REDIS_MISSING}`);
      this.skip();
    }
    config = writeConfigIni(path.join(tmp, 'predict'), tinyConfigText(TINY_REVIEWS, 'textcnn', ['[teacher]', 'kind = none'], { epochs: 1, gru: false }));
    ok(runCli(['train', config]), 'train');
    // ~48,000 lines: a few chunks per worker, each long enough to be killed in the middle of.
    const pool = fs.readFileSync(path.join(TINY_REVIEWS, 'unlabeled.txt'));
    input = path.join(tmp, 'input.txt');
    fs.writeFileSync(input, Buffer.concat([...Array.from({ length: 200 }, () => pool), Buffer.from('\n  \nlast line, no newline')]));
    expected = path.join(tmp, 'expected.txt');
    ok(runCli(['predict', config, ...FLAGS, '--input', input, '--output', expected]), 'local predict');
    assert.equal(fs.readFileSync(expected, 'utf8').split('\n').length - 1, 48_003);
  });

  afterEach(async () => {
    for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await redis?.stop();
    redis = null;
  });

  function startCli(args: string[], name: string): ChildProcess & { log: () => string; exited: Promise<number | null> } {
    const child = spawn(process.execPath, ['--require', 'tsx/cjs', CLI, ...args], { cwd: REPO_ROOT, env: { ...process.env, MODEL_DISTILL_DEBUG: '' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    child.stdout?.on('data', (d: Buffer) => (log += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (log += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    children.push(child);
    return Object.assign(child, { log: () => `${name}:\n${log}`, exited });
  }
  const startWorker = (url: string, name: string) => startCli(['worker', '--queue', url, '--threads', '1', '--lock-seconds', '2'], name);
  const startPredict = (url: string, output: string) => startCli(['predict', config, ...FLAGS, '--input', input, '--output', output, '--queue', url, '--chunk-lines', '8192'], 'predict');

  /** Waits until `worker` holds a job (is in the middle of a chunk); returns the chunk's job id. */
  async function activeJobOf(url: string, worker: ChildProcess): Promise<string> {
    const queue = new Queue(QUEUE_NAME, { connection: { ...parseQueueUrl(url, 'test'), maxRetriesPerRequest: null } });
    try {
      const deadline = Date.now() + 60_000;
      while (Date.now() < deadline) {
        const active = await queue.getActive();
        const mine = active.find((j) => j.processedBy === workerName(worker.pid));
        if (mine?.id !== undefined) return mine.id;
        await new Promise((r) => setTimeout(r, 5));
      }
      throw new Error('the worker never took a job');
    } finally {
      await queue.close();
    }
  }

  it('predict --queue at an unreachable Redis is an error naming the URL, and writes nothing', async () => {
    const port = await freePort();
    const output = path.join(tmp, 'unreachable.txt');
    fails(runCli(['predict', config, '--input', input, '--output', output, '--queue', `redis://127.0.0.1:${port}`]), 'predict', new RegExp(`cannot reach the queue's Redis at redis://127\\.0\\.0\\.1:${port}`));
    assert.ok(!fs.existsSync(output));
  });

  it('3 workers, one killed with SIGKILL mid-chunk: its chunk is retried and the output is byte-identical to a local predict', async () => {
    redis = await startRedis();
    const output = path.join(tmp, 'killed.txt');
    // The victim starts alone, so it is sure to be in the middle of a chunk when killed.
    const victim = startWorker(redis.url, 'victim');
    const predict = startPredict(redis.url, output);
    const killedJob = await activeJobOf(redis.url, victim);
    victim.kill('SIGKILL');
    const others = [startWorker(redis.url, 'worker 2'), startWorker(redis.url, 'worker 3')];
    assert.equal(await predict.exited, 0, predict.log());
    assert.ok(fs.readFileSync(output).equals(fs.readFileSync(expected)), 'queue output differs from the local predict');
    const chunk = killedJob.split('-').at(-1);
    const victimFinished = new RegExp(`predict chunk ${chunk} \\(.*done`).test(victim.log());
    const retried = others.some((w) => new RegExp(`predict chunk ${chunk} \\(.*done`).test(w.log()));
    assert.ok(retried || victimFinished, `chunk ${chunk} was never finished:\n${others.map((w) => w.log()).join('\n')}`);
    assert.ok(!victimFinished, 'the victim finished its chunk before the kill landed (a race the test could not avoid; rerun)');
    assert.deepEqual(fs.readdirSync(tmp).filter((f) => f.endsWith('.tmp')), [], 'no temp output left');
  });

  it('a worker stopped with SIGTERM hands its chunk back at once and exits 0', async () => {
    redis = await startRedis();
    const output = path.join(tmp, 'sigterm.txt');
    const first = startWorker(redis.url, 'first');
    const predict = startPredict(redis.url, output);
    await activeJobOf(redis.url, first);
    first.kill('SIGTERM');
    assert.equal(await first.exited, 0, first.log());
    assert.match(first.log(), /returned to the queue \(stopping\)|stopped/);
    startWorker(redis.url, 'second');
    assert.equal(await predict.exited, 0, predict.log());
    assert.ok(fs.readFileSync(output).equals(fs.readFileSync(expected)), 'queue output differs from the local predict');
  });

  for (const persistent of [true, false]) {
    it(`Redis restarted mid-run (${persistent ? 'append-only file' : 'no persistence'}): the right output or a clear error, never a wrong file`, async () => {
      redis = await startRedis({ persistent });
      const output = path.join(tmp, `restart-${persistent}.txt`);
      const workers = [startWorker(redis.url, 'worker 1'), startWorker(redis.url, 'worker 2')];
      const predict = startPredict(redis.url, output);
      await activeJobOf(redis.url, workers[0]);
      await redis.restart();
      const status = await predict.exited;
      if (status === 0) {
        assert.ok(fs.readFileSync(output).equals(fs.readFileSync(expected)), 'finished after the restart, but with another output');
      } else {
        assert.equal(status, 1, predict.log());
        assert.match(predict.log(), /model-distill: .*(gone from the queue|lost the queue's Redis)/);
        assert.ok(!fs.existsSync(output), 'a failed run left an output file');
      }
      if (persistent) assert.equal(status, 0, `with an append-only file the run should survive the restart:\n${predict.log()}`);
      // Only this run's temp files: a test before it that failed may have left its own.
      const mine = path.basename(output);
      assert.deepEqual(fs.readdirSync(tmp).filter((f) => f.startsWith(mine) && f.endsWith('.tmp')), [], 'no temp output left');
    });
  }
});

describe('train with [distill] queue (real redis-server)', function () {
  this.timeout(180_000);

  it('caches the same pool logits as a local run, and a rerun enqueues nothing', async function () {
    if (!haveRedisServer()) {
      console.log(`      skipped: ${REDIS_MISSING}`);
      this.skip();
    }
    const redis = await startRedis();
    const worker = spawn(process.execPath, ['--require', 'tsx/cjs', CLI, 'worker', '--queue', redis.url, '--threads', '1', '--lock-seconds', '2'], { cwd: REPO_ROOT, stdio: 'ignore' });
    try {
      const extra = (queue: string[]) => [
        '[teacher]', 'kind = native', 'layers = 1', 'hidden = 16', 'heads = 2', 'intermediate = 32', 'epochs = 1', 'batch_size = 16',
        '[distill]', 'epochs = 1', ...queue,
      ];
      const local = writeConfigIni(path.join(tmp, 'pool-local'), tinyConfigText(TINY_REVIEWS, 'textcnn', extra([]), { epochs: 1, gru: false }));
      const queued = writeConfigIni(path.join(tmp, 'pool-queue'), tinyConfigText(TINY_REVIEWS, 'textcnn', extra([`queue = ${redis.url}`]), { epochs: 1, gru: false }));
      const localRun = ok(runCli(['train', local]), 'local train').stdout.trim();
      const queueRun = ok(runCli(['train', queued]), 'queue train').stdout.trim();
      const poolLogits = (run: string) => fs.readFileSync(path.join(run, 'pool-logits.f32'));
      assert.ok(poolLogits(queueRun).length > 0);
      assert.ok(poolLogits(queueRun).equals(poolLogits(localRun)), 'the workers\' pool logits differ from a local run');
      const record = (run: string) => JSON.parse(fs.readFileSync(path.join(run, 'run.json'), 'utf8')) as { poolQueue?: { enqueued: number; scored: number } };
      assert.deepEqual(record(queueRun).poolQueue?.enqueued, 1);
      assert.equal(record(queueRun).poolQueue?.scored, 240);
      // Resumable: the cache already holds every pool text, so nothing goes to the queue.
      const again = ok(runCli(['train', queued]), 'queue train again').stdout.trim();
      assert.equal(record(again).poolQueue?.enqueued, 0);
      assert.ok(poolLogits(again).equals(poolLogits(localRun)));
      // [distill] unlabeled_limit: the workers score only the first texts, the same rows as the local run's first ones.
      const limited = writeConfigIni(
        path.join(tmp, 'pool-limit'),
        tinyConfigText(TINY_REVIEWS, 'textcnn', [...extra([`queue = ${redis.url}`]), 'unlabeled_limit = 100'], { epochs: 1, gru: false }),
      );
      const limitedRun = ok(runCli(['train', limited]), 'queue train with unlabeled_limit').stdout.trim();
      assert.equal(record(limitedRun).poolQueue?.scored, 100);
      assert.ok(poolLogits(limitedRun).equals(poolLogits(localRun).subarray(0, poolLogits(limitedRun).length)), 'limited pool logits are not the first rows');
      assert.equal(poolLogits(limitedRun).length, poolLogits(localRun).length * (100 / 240));
      // A bad --queue fails before anything is trained.
      fails(runCli(['train', local, '--queue', 'redis:/x']), 'train --queue', /for --queue but received "redis:\/x"/);
    } finally {
      worker.kill('SIGKILL');
      await redis.stop();
    }
  });
});
