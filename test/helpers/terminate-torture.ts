/**
 * Child-process driver of test/worker-terminate.test.ts (run as
 * `node --require tsx/cjs terminate-torture.ts <kind> <count> <modelDir> <seed>`):
 * starts `count` worker_threads that each repeat one kind of addon call, and terminates each at a
 * random moment after its first call started. If the addon let a C++ exception escape while the
 * worker's environment is being torn down, this whole process aborts (SIGABRT), which the test
 * sees as a signal instead of exit status 0. It runs a few workers at a time to keep it short.
 *
 * Prints one JSON line: { kind, terminated, maxDelayMs }.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';

import { addonCandidates, loadAddon } from '../../lib/binding';
import { readModelFolder } from '../../lib/model-folder';
import { readVocabFile } from '../../lib/vocab';
import { rng } from './tiny-task';

const [kind, countText, modelDir, seedText] = process.argv.slice(2);
const count = Number(countText);
const random = rng(Number(seedText));
const WORKER = path.join(__dirname, 'terminate-worker.js');
loadAddon();
const folder = readModelFolder(modelDir);
const workerData = {
  kind,
  addonPath: addonCandidates().find((candidate) => fs.existsSync(candidate)),
  spec: folder.spec,
  weightsPath: folder.weightsPath,
  tokens: readVocabFile(folder.vocabPath),
  maxLength: folder.config.maxLength,
};
// Delays up to a few calls long: some land before the first native call returns, some between
// calls, most inside one (the calls take a few milliseconds each).
const MAX_DELAY_MS = 12;
const AT_ONCE = 3;

function once(): Promise<void> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(WORKER, { workerData, execArgv: [] });
    let stopping = false;
    worker.on('message', (message) => {
      if (message !== 'running' || stopping) return;
      stopping = true;
      setTimeout(() => void worker.terminate(), random() * MAX_DELAY_MS);
    });
    worker.on('error', (err) => reject(err));
    worker.on('exit', () => (stopping ? resolve() : reject(new Error(`a ${kind} worker exited before it was terminated`))));
  });
}

async function main(): Promise<void> {
  let terminated = 0;
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < count) {
      next++;
      await once();
      terminated++;
    }
  };
  await Promise.all(Array.from({ length: AT_ONCE }, lane));
  process.stdout.write(`${JSON.stringify({ kind, terminated, maxDelayMs: MAX_DELAY_MS })}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exitCode = 1;
});
