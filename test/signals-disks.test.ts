/**
 * Signals and disks (hardening issue, item 7): SIGTERM during train behaves like Ctrl-C (stop
 * after the batch, run.json not left "running", no temp files); a write error on stdout (ENOSPC
 * on a full disk) is one `model-distill: ...` line, no stack; a [model] dir on a pseudo
 * filesystem (/proc, where training hung forever) or a non-writable one is refused up front.
 */
import { strict as assert } from 'node:assert';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { saveModelFolder } from '../lib/model-folder';
import { checkWritableFolder } from '../lib/pipeline/writable-folder';
import { NativeStudent } from '../lib/student';
import { TINY_LABELS, TINY_MAX_LENGTH, TINY_VOCAB } from './helpers/tiny-task';
import { CLI, REPO_ROOT, TINY_REVIEWS } from './helpers/cli';
import { tinyConfigText, writeConfigIni } from './helpers/tiny-config';

/** Every path under `dir` whose name starts with '.' (the temp files and folders of atomic writes). */
function hiddenEntries(dir: string): string[] {
  return fs.readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((p) => path.basename(p).startsWith('.'));
}

describe('signals and disks', function () {
  this.timeout(120_000);
  let tmp: string;
  before(() => (tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'md-signals-'))));
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('SIGTERM during train stops after the batch like Ctrl-C: run.json is not "running", no temp files', async () => {
    // Enough epochs to last minutes, so the signal surely lands during training.
    const config = writeConfigIni(tmp, tinyConfigText(TINY_REVIEWS, 'textcnn', [], { epochs: 100_000 }));
    const child = spawn(process.execPath, ['--require', 'tsx/cjs', CLI, 'train', config], { cwd: REPO_ROOT, env: { ...process.env, MODEL_DISTILL_DEBUG: '' } });
    let stderr = '';
    let signalled = false;
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
      if (!signalled && /epoch 3\//.test(stderr)) {
        signalled = true;
        child.kill('SIGTERM');
      }
    });
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.on('exit', (c, s) => resolve([c, s])));
    assert.ok(signalled, `training never reached epoch 3:\n${stderr}`);
    assert.equal(signal, null, `killed by ${signal} instead of stopping after the batch:\n${stderr.slice(-1500)}`);
    assert.notEqual(code, 0, 'an interrupted run is not a success');
    assert.match(stderr, /model-distill: SIGTERM: stopping after the current batch \(SIGTERM again to quit at once\)/);
    const runDir = path.join(tmp, 'runs', 'default');
    const record = JSON.parse(fs.readFileSync(path.join(runDir, 'run.json'), 'utf8')) as { status: string };
    assert.notEqual(record.status, 'running');
    assert.deepEqual(hiddenEntries(path.join(tmp, 'runs')), []);
  });

  it('a write error on stdout (ENOSPC via /dev/full) is one line naming stdout, exit 1, no stack', function () {
    if (!fs.existsSync('/dev/full')) this.skip(); // Linux only
    const out = fs.openSync('/dev/full', 'w');
    try {
      const r = spawnSync(process.execPath, ['--require', 'tsx/cjs', CLI, 'tokenize', '--vocab', path.join(REPO_ROOT, 'test', 'fixtures', 'tiny-vocab.txt')], {
        cwd: REPO_ROOT,
        input: 'a few words to tokenise\n'.repeat(1000),
        stdio: ['pipe', out, 'pipe'],
        encoding: 'utf8',
        env: { ...process.env, MODEL_DISTILL_DEBUG: '' },
      });
      assert.equal(r.status, 1, r.stderr);
      assert.equal(r.stderr, 'model-distill: cannot write to stdout: ENOSPC: no space left on device, write\n');
    } finally {
      fs.closeSync(out);
    }
  });

  it('a full disk while saving a model folder is an error naming the file, and leaves no temp folder', () => {
    const student = NativeStudent.create({ kind: 'gru', vocabSize: TINY_VOCAB.length, numClasses: 3, embeddingDim: 4, hidden: 4, bidirectional: false, dropout: 0, seed: 1 });
    const target = path.join(tmp, 'full-disk', 'model');
    // The module object itself (an `import * as` namespace is read-only): lib/ sees the patch.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const fsModule = require('node:fs') as { writeFileSync: typeof fs.writeFileSync };
    const realWrite = fsModule.writeFileSync;
    // The disk "fills up" at the vocab file: the same error object the kernel's ENOSPC gives.
    fsModule.writeFileSync = ((file: fs.PathOrFileDescriptor, ...rest: unknown[]) => {
      if (String(file).endsWith('vocab.txt')) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', syscall: 'write' });
      return (realWrite as (...args: unknown[]) => void)(file, ...rest);
    }) as typeof fs.writeFileSync;
    try {
      assert.throws(
        () => saveModelFolder(target, { student, vocabTokens: TINY_VOCAB, labels: TINY_LABELS, maxLength: TINY_MAX_LENGTH, lowercase: true }),
        /^Error: cannot write .*full-disk\/model\/\.gen-[^/]+\/vocab\.txt: ENOSPC: no space left on device, write$/,
      );
    } finally {
      fsModule.writeFileSync = realWrite;
      student.dispose();
    }
    assert.deepEqual(fs.readdirSync(path.join(tmp, 'full-disk', 'model')), []); // the failed generation is gone
  });

  it('train refuses a [model] dir under /proc at once, naming the config key', function () {
    if (!fs.existsSync('/proc/self')) this.skip(); // no procfs here
    const config = writeConfigIni(path.join(tmp, 'proc'), tinyConfigText(TINY_REVIEWS, 'textcnn').replace('dir = runs', 'dir = /proc/model-distill-runs'));
    const r = spawnSync(process.execPath, ['--require', 'tsx/cjs', CLI, 'train', config], { cwd: REPO_ROOT, encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /config\.ini: \[model\] dir \/proc\/model-distill-runs \(its parent \/proc\) is on the proc pseudo filesystem/);
  });

  it('refuses a folder that is not writable (or a file) before anything is written', function () {
    const file = path.join(tmp, 'a-file');
    fs.writeFileSync(file, '');
    assert.throws(() => checkWritableFolder(path.join(file, 'runs'), 'config.ini: [model] dir'), /\[model\] dir .*a-file\/runs \(its parent .*a-file\) is not a folder/);
    const locked = path.join(tmp, 'locked');
    fs.mkdirSync(locked, { mode: 0o500 });
    if (process.getuid?.() === 0) {
      // root may write anywhere; the permission check is then a no-op, the rest still applies.
      checkWritableFolder(locked, 'config.ini: [model] dir');
      return;
    }
    assert.throws(() => checkWritableFolder(path.join(locked, 'runs'), 'config.ini: [model] dir'), /\(its parent .*locked\) is not writable/);
  });
});
