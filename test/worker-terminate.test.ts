/**
 * A Node server must survive terminating a worker_thread at any moment, including while the worker
 * is inside an addon call. Before the fix, worker.terminate() during load / encode /
 * encodeBatchAsync / predict / predictSync aborted the whole process in 9 of 10 tries
 * ("terminate called after throwing an instance of 'Napi::Error'", SIGABRT): node-addon-api
 * turned the failed N-API calls of a terminating environment into C++ exceptions that nothing
 * could catch. Each call kind runs in its own child process (test/helpers/terminate-torture.ts),
 * so an abort fails this test instead of killing mocha.
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { saveModelFolder } from '../lib/model-folder';
import { NativeStudent } from '../lib/student';
import { TINY_LABELS, TINY_MAX_LENGTH, TINY_VOCAB } from './helpers/tiny-task';

const TERMINATIONS_PER_KIND = 100;
const KINDS = ['load', 'encode', 'encodeBatch', 'encodeBatchAsync', 'predict', 'predictSync'];
const DRIVER = path.join(__dirname, 'helpers', 'terminate-torture.ts');

describe('worker.terminate() during addon calls', function () {
  this.timeout(240_000);
  let tmp: string;
  let modelDir: string;

  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'md-terminate-'));
    const student = NativeStudent.create({
      kind: 'textcnn', vocabSize: TINY_VOCAB.length, numClasses: TINY_LABELS.length, embeddingDim: 16, windows: [2, 3], filters: 16, dropout: 0, seed: 3,
    });
    modelDir = saveModelFolder(path.join(tmp, 'model'), { student, vocabTokens: TINY_VOCAB, labels: TINY_LABELS, maxLength: TINY_MAX_LENGTH, lowercase: true });
    student.dispose();
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  KINDS.forEach((kind, index) => {
    it(`the process survives ${TERMINATIONS_PER_KIND} workers terminated at random moments of ${kind}`, () => {
      const r = spawnSync(
        process.execPath,
        ['--require', 'tsx/cjs', DRIVER, kind, String(TERMINATIONS_PER_KIND), modelDir, String(101 + index)],
        { encoding: 'utf8', timeout: 200_000 },
      );
      assert.equal(r.signal, null, `the process was killed by ${r.signal}:\n${r.stderr.slice(-2000)}`);
      assert.equal(r.status, 0, `exit status ${r.status}:\n${r.stderr.slice(-2000)}`);
      const summary = JSON.parse(r.stdout.trim()) as { kind: string; terminated: number };
      assert.deepEqual(summary, { kind, terminated: TERMINATIONS_PER_KIND, maxDelayMs: 12 });
    });
  });
});
