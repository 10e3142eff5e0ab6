/**
 * Scale-out on BullMQ/Redis (lib/queue/): what the queue costs beside doing
 * the same work in one process, measured side by side in one run:
 *
 *   predict   a TextCNN of the reference sizes (random weights: speed does not
 *             depend on them) over shopsenti's pool texts repeated to ~180,000
 *             lines: local (the CLI's loop, in process) vs the queue with 1
 *             worker (all cores) and 2 workers (1 thread each), texts/s;
 *   chunks    the same with 1 worker at several --chunk-lines, to choose the default;
 *   overhead  the queue's cost per chunk: 1-line chunks, 1 worker, seconds / chunk;
 *   pool      a small transformer teacher (random weights) scoring pool texts:
 *             local (the pipeline's 256-text calls) vs the queue with 1 and 2 workers.
 *
 * Workers are `model-distill worker` child processes on this machine, started
 * and warmed (model loaded) before timing; redis-server runs on a free port.
 * With 2 workers on the same cores the second worker adds no compute: those
 * rows measure coordination, not scaling (docs/scaling.md estimates N machines
 * from the per-chunk overhead).
 *
 *   npm run bench -- distributed            full run
 *   npm run bench -- distributed --quick    less data
 */
import { spawn, type ChildProcess } from 'child_process';
import { once } from 'events';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import { median, type Cell, type Suite, type SuiteResult } from './harness';
import { parseSuiteFlags } from './suite-flags';

const repoRoot = path.resolve(__dirname, '..');
const dataDir = path.resolve(repoRoot, '..', 'shared', 'data', 'shopsenti');
const fallbackPool = path.join(repoRoot, 'test', 'fixtures', 'tiny-reviews', 'unlabeled.txt');
const CLI = path.join(repoRoot, 'lib', 'cli.ts');
const BATCH = 1024;
const SEED = 7;

interface Workers {
  children: ChildProcess[];
  stop(): Promise<void>;
}

async function startWorkers(url: string, count: number, threads: number): Promise<Workers> {
  const children = Array.from({ length: count }, () =>
    spawn(process.execPath, ['--require', 'tsx/cjs', CLI, 'worker', '--queue', url, '--threads', String(threads)], { cwd: repoRoot, stdio: ['ignore', 'ignore', 'pipe'] }),
  );
  // Ready when each has said it is taking jobs.
  await Promise.all(
    children.map(
      (c) =>
        new Promise<void>((resolve, reject) => {
          let text = '';
          c.stderr?.on('data', (d: Buffer) => {
            text += d.toString();
            if (text.includes('taking jobs')) resolve();
          });
          c.once('exit', (code) => reject(new Error(`worker exited ${code}: ${text}`)));
        }),
    ),
  );
  return {
    children,
    async stop() {
      for (const c of children) {
        if (c.exitCode !== null) continue;
        c.kill('SIGTERM');
        await once(c, 'exit');
      }
    },
  };
}

export const suite: Suite = {
  name: 'distributed',
  description: 'queue (BullMQ/Redis) vs one process: predict and pool scoring texts/s, per-chunk overhead, chunk size',
  async run(args: string[] = []): Promise<SuiteResult> {
    const flags = parseSuiteFlags(args, 'distributed');
    const { haveRedisServer, startRedis, REDIS_MISSING } = await import('../test/helpers/redis-server');
    if (!haveRedisServer()) return { skipped: REDIS_MISSING, columns: [], rows: [] };
    const { NativeStudent } = await import('../lib/student');
    const { saveModelFolder } = await import('../lib/model-folder');
    const { Classifier } = await import('../lib/classifier');
    const { VocabBuilder } = await import('../lib/vocab-builder');
    const { readLineBatches } = await import('../lib/line-batches');
    const { makeFormatter } = await import('../lib/predict-format');
    const { parseQueueUrl } = await import('../lib/queue/connection');
    const { predictOnQueue } = await import('../lib/queue/batch-predict');
    const { splitIntoLineChunks, readChunkLines } = await import('../lib/queue/chunks');
    const { runInOrder } = await import('../lib/queue/ordered-results');
    const { loadTeacherRecipe } = await import('../lib/queue/teacher-loader');
    const { poolChunkTexts } = await import('../lib/queue/pool-texts');
    const { fileSha256 } = await import('../lib/util/files');
    const { POOL_CHUNK_LINES } = await import('../lib/queue/pool-scoring');
    type TeacherRecipe = import('../lib/queue/teacher-recipe').TeacherRecipe;
    type ScorePoolJob = import('../lib/queue/jobs').ScorePoolJob;
    type ScorePoolResult = import('../lib/queue/jobs').ScorePoolResult;

    const log = (line: string) => process.stderr.write(`${line}\n`);
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'model-distill-bench-distributed-'));
    const redis = await startRedis();
    const queue = parseQueueUrl(redis.url, 'bench');
    const rows: Record<string, Cell>[] = [];
    const notes: string[] = [];
    const extra: Record<string, unknown> = {};
    let workers: Workers | null = null;
    try {
      // ---- data and models (random weights) ----
      const poolFile = fs.existsSync(path.join(dataDir, 'unlabeled.txt')) ? path.join(dataDir, 'unlabeled.txt') : fallbackPool;
      const poolText = fs.readFileSync(poolFile);
      const predictLines = flags.smoke ? 5_000 : flags.quick ? 60_000 : 180_000;
      const input = path.join(tmp, 'input.txt');
      const poolLines = poolText.toString('utf8').split('\n').filter((l) => l.trim() !== '');
      const reps = Math.ceil(predictLines / poolLines.length);
      fs.writeFileSync(input, Array.from({ length: reps }, () => poolLines.join('\n') + '\n').join('').split('\n').slice(0, predictLines).join('\n') + '\n');
      const builder = new VocabBuilder({ lowercase: true });
      for (const l of poolLines) builder.addText(l);
      const { tokens } = builder.build({ minFreq: 2 });
      const labels = ['neg', 'pos'];
      const studentDir = path.join(tmp, 'textcnn');
      const student = NativeStudent.create({ kind: 'textcnn', vocabSize: tokens.length, numClasses: 2, embeddingDim: 128, dropout: 0.5, seed: SEED, windows: [3, 4, 5], filters: 128 });
      saveModelFolder(studentDir, { student, vocabTokens: tokens, labels, maxLength: 128, lowercase: true, addSpecialTokens: false });
      student.dispose();
      const teacherDir = path.join(tmp, 'teacher');
      const teacherMaxLength = 64;
      const teacher = NativeStudent.create({
        kind: 'transformer', vocabSize: tokens.length, numClasses: 2, hidden: 128, layers: 2, heads: 4, intermediate: 512, maxPositions: teacherMaxLength, dropout: 0.1, pooler: true, seed: SEED,
      });
      saveModelFolder(teacherDir, { student: teacher, vocabTokens: tokens, labels, maxLength: teacherMaxLength, lowercase: true, addSpecialTokens: true });
      teacher.dispose();

      // ---- predict: local, in process, as the CLI does it ----
      const classifier = await Classifier.load(studentDir, { threads: 0 });
      const formatLine = makeFormatter(labels, 'tsv', undefined);
      const localPredict = async () => {
        const out = fs.openSync(path.join(tmp, 'local.txt'), 'w');
        for await (const lines of readLineBatches(fs.createReadStream(input, { highWaterMark: 1 << 20 }), BATCH)) {
          const probs = await classifier.predictProbabilities(lines);
          let text = '';
          for (let i = 0; i < lines.length; i++) text += formatLine(probs, i) + '\n';
          fs.writeSync(out, text);
        }
        fs.closeSync(out);
      };
      const queuePredict = async (file: string, output: string, chunkLines: number, batchSize = BATCH) =>
        predictOnQueue({ queue, modelDir: studentDir, input: file, output, format: 'tsv', topK: undefined, batchSize, chunkLines, progress: false, log: () => undefined });
      const timeIt = async (f: () => Promise<unknown>, rounds: number): Promise<number> => {
        const times: number[] = [];
        for (let r = 0; r < rounds; r++) {
          const t0 = process.hrtime.bigint();
          await f();
          times.push(Number(process.hrtime.bigint() - t0) / 1e9);
        }
        return median(times);
      };
      const rounds = flags.rounds ?? (flags.quick || flags.smoke ? 1 : 3);
      await localPredict(); // warm-up
      const defaultChunk = 16_384;
      let tLocal = 0;
      for (const [count, threads] of [[1, 0], [2, 1]] as const) {
        workers = await startWorkers(redis.url, count, threads);
        await queuePredict(input, path.join(tmp, 'warm.txt'), 2048); // every worker loads the model
        // Local and queue in alternation, so both see the same background load; medians.
        const localTimes: number[] = [];
        const queueTimes: number[] = [];
        for (let r = 0; r < rounds; r++) {
          localTimes.push(await timeIt(localPredict, 1));
          queueTimes.push(await timeIt(() => queuePredict(input, path.join(tmp, 'queue.txt'), defaultChunk), 1));
        }
        const t = median(queueTimes);
        if (count === 1) {
          tLocal = median(localTimes);
          rows.push({ workload: 'predict', setup: 'local (1 process, all cores)', 'chunk lines': null, texts: predictLines, seconds: tLocal, 'texts/s': predictLines / tLocal, 'vs local': 1 });
          log(`predict local: ${(predictLines / tLocal).toFixed(0)} texts/s`);
        } else {
          notes.push(`local predict measured again beside the 2-worker rounds: ${(predictLines / median(localTimes)).toFixed(0)} texts/s`);
        }
        if (!fs.readFileSync(path.join(tmp, 'queue.txt')).equals(fs.readFileSync(path.join(tmp, 'local.txt')))) throw new Error('queue output differs from local');
        rows.push({
          workload: 'predict', setup: `queue, ${count} worker${count > 1 ? 's' : ''} (${threads === 0 ? 'all cores' : `${threads} thread each`})`,
          'chunk lines': defaultChunk, texts: predictLines, seconds: t, 'texts/s': predictLines / t, 'vs local': tLocal / t,
        });
        log(`predict queue ${count} worker(s): ${(predictLines / t).toFixed(0)} texts/s`);
        if (count === 1) {
          // Chunk size sweep, then the per-chunk overhead from 1-line chunks.
          for (const chunk of flags.smoke ? [1024] : [1024, 4096, 65_536]) {
            const tc = await timeIt(() => queuePredict(input, path.join(tmp, 'queue.txt'), chunk), rounds);
            rows.push({ workload: 'predict', setup: 'queue, 1 worker (all cores)', 'chunk lines': chunk, texts: predictLines, seconds: tc, 'texts/s': predictLines / tc, 'vs local': tLocal / tc });
          }
          const n = flags.smoke ? 50 : 400;
          const tiny = path.join(tmp, 'tiny.txt');
          fs.writeFileSync(tiny, poolLines.slice(0, n).join('\n') + '\n');
          const to = await timeIt(() => queuePredict(tiny, path.join(tmp, 'tiny-out.txt'), 1, 1), 1);
          rows.push({ workload: 'overhead', setup: 'queue, 1 worker, 1-line chunks', 'chunk lines': 1, texts: n, seconds: to, 'texts/s': n / to, 'vs local': null });
          notes.push(`per-chunk overhead (enqueue, take, lock, return, read back in order, remove; 1 worker, 1-line chunks): ${((to / n) * 1000).toFixed(1)} ms`);
          extra.overheadMsPerChunk = (to / n) * 1000;
        }
        await workers.stop();
        workers = null;
      }

      // ---- pool scoring: local (pipeline's 256-text calls) vs the queue ----
      const poolCount = flags.smoke ? 512 : flags.quick ? 4096 : 8192;
      const poolInput = path.join(tmp, 'pool.txt');
      fs.writeFileSync(poolInput, poolLines.slice(0, poolCount).join('\n') + '\n');
      const recipe: TeacherRecipe = {
        teacherSha256: fileSha256(path.join(teacherDir, 'weights.safetensors')),
        numClasses: 2,
        average: false,
        members: [{ kind: 'transformer-folder', name: 'transformer', dir: teacherDir, weightsSha256: fileSha256(path.join(teacherDir, 'weights.safetensors')), maxLength: teacherMaxLength }],
      };
      const loaded = await loadTeacherRecipe(recipe, 0);
      const texts = poolLines.slice(0, poolCount);
      const localPool = async () => {
        for (let s = 0; s < texts.length; s += 256) await loaded.logits(texts.slice(s, s + 256));
      };
      await loaded.logits(texts.slice(0, 64));
      let tPoolLocal = 0;
      const poolChunkLines = Math.min(POOL_CHUNK_LINES, Math.ceil(poolCount / 4));
      let poolRun = 0;
      const queuePool = async () => {
        const run = `bench-pool-${process.pid}-${poolRun++}`;
        const jobs: ScorePoolJob[] = splitIntoLineChunks(poolInput, poolChunkLines).map((chunk) => ({ kind: 'score-pool', run, chunk, teacher: recipe, maxTexts: null }));
        await runInOrder<ScorePoolJob, ScorePoolResult>({
          queue, run, jobs, log: () => undefined,
          progress: { label: 'pool', unit: 'lines', stream: false, total: 0, units: (j) => j.chunk.lines },
          async onResult(job, result) {
            const { lines, replacedSequences } = await readChunkLines(job.chunk);
            const want = poolChunkTexts(job.chunk, lines, replacedSequences, null).length;
            if (result.texts !== want) throw new Error(`chunk ${job.chunk.index}: ${result.texts} texts, expected ${want}`);
          },
        });
      };
      for (const [count, threads] of [[1, 0], [2, 1]] as const) {
        workers = await startWorkers(redis.url, count, threads);
        await queuePool(); // warm-up: the workers load the teacher
        const tl = await timeIt(localPool, 1); // beside the queue run: the same background load
        const t = await timeIt(queuePool, 1);
        if (count === 1) {
          tPoolLocal = tl;
          rows.push({ workload: 'pool scoring', setup: 'local (1 process, all cores)', 'chunk lines': null, texts: poolCount, seconds: tl, 'texts/s': poolCount / tl, 'vs local': 1 });
          log(`pool local: ${(poolCount / tl).toFixed(0)} texts/s`);
        } else {
          notes.push(`local pool scoring measured again beside the 2-worker run: ${(poolCount / tl).toFixed(0)} texts/s`);
        }
        rows.push({
          workload: 'pool scoring', setup: `queue, ${count} worker${count > 1 ? 's' : ''} (${threads === 0 ? 'all cores' : `${threads} thread each`})`,
          'chunk lines': poolChunkLines, texts: poolCount, seconds: t, 'texts/s': poolCount / t, 'vs local': tPoolLocal / t,
        });
        log(`pool queue ${count} worker(s): ${(poolCount / t).toFixed(0)} texts/s`);
        await workers.stop();
        workers = null;
      }
      await loaded.close();
      classifier.close();
      notes.push(
        `machine shared with other jobs; ${os.cpus().length} cores. Workers run on the same machine, so 2 workers share the cores of 1: ` +
          'those rows show the cost of coordination, not the gain of a second machine.',
      );
      notes.push(`teacher: transformer 2 layers x hidden 128, max length ${teacherMaxLength}, random weights; student: TextCNN 128-dim, windows 3,4,5 x 128 filters, max length 128.`);
      return { columns: ['workload', 'setup', 'chunk lines', 'texts', 'seconds', 'texts/s', 'vs local'], rows, notes, extra };
    } finally {
      await workers?.stop();
      await redis.stop();
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  },
};
