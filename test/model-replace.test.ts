/**
 * Replacing a model folder is atomic for concurrent readers (lib/model-generations.ts). Before:
 * a kill between the two renames of a retrain left no model folder, and a load during a retrain
 * could pair a new config.json with old weights (38 of 633 loads failed).
 */
import { strict as assert } from 'node:assert';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { Classifier } from '../lib/classifier';
import { readModelFolder, saveModelFolder } from '../lib/model-folder';
import { NativeStudent } from '../lib/student';
import { REPO_ROOT } from './helpers/cli';
import { TINY_LABELS, TINY_MAX_LENGTH, TINY_VOCAB } from './helpers/tiny-task';

const SAVE_LOOP = path.join(__dirname, 'helpers', 'save-loop.ts');

function save(dir: string, seed: number): void {
  const student = NativeStudent.create({ kind: 'gru', vocabSize: TINY_VOCAB.length, numClasses: 3, embeddingDim: 4, hidden: 4, bidirectional: false, dropout: 0, seed });
  try {
    saveModelFolder(dir, { student, vocabTokens: TINY_VOCAB, labels: TINY_LABELS, maxLength: TINY_MAX_LENGTH, lowercase: true });
  } finally {
    student.dispose();
  }
}

describe('atomic model replacement', function () {
  this.timeout(180_000);
  let tmp: string;
  beforeEach(() => (tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'md-replace-'))));
  afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('keeps the new and the previous generation only; the four names point at the current one', async () => {
    const dir = path.join(tmp, 'gru');
    for (let seed = 1; seed <= 4; seed++) save(dir, seed);
    const entries = fs.readdirSync(dir).sort();
    assert.equal(entries.filter((e) => e.startsWith('.gen-')).length, 2, entries.join(' '));
    assert.deepEqual(entries.filter((e) => !e.startsWith('.gen-')), ['.current', 'class_id.txt', 'config.json', 'vocab.txt', 'weights.safetensors']);
    for (const file of ['config.json', 'weights.safetensors', 'vocab.txt', 'class_id.txt']) assert.equal(fs.readlinkSync(path.join(dir, file)), path.join('.current', file));
    assert.deepEqual(fs.readdirSync(tmp), ['gru']);
    const folder = readModelFolder(dir);
    assert.equal(path.dirname(folder.weightsPath), path.join(dir, fs.readlinkSync(path.join(dir, '.current'))));
    (await Classifier.load(dir)).close();
  });

  it('converts a folder of plain files (an older version) and removes old .tmp-/.old- leftovers', async () => {
    const dir = path.join(tmp, 'gru');
    save(path.join(tmp, 'source'), 1);
    fs.cpSync(path.join(tmp, 'source'), dir, { recursive: true, dereference: true });
    fs.rmSync(path.join(tmp, 'source'), { recursive: true });
    for (const name of ['.current', ...fs.readdirSync(dir).filter((e) => e.startsWith('.gen-'))]) fs.rmSync(path.join(dir, name), { recursive: true });
    fs.mkdirSync(path.join(tmp, '.gru.tmp-123-abc'));
    fs.mkdirSync(path.join(tmp, '.gru.old-123-abc'));
    assert.ok(fs.lstatSync(path.join(dir, 'config.json')).isFile());
    (await Classifier.load(dir)).close(); // plain files still load
    save(dir, 2);
    assert.ok(fs.lstatSync(path.join(dir, 'config.json')).isSymbolicLink());
    assert.deepEqual(fs.readdirSync(tmp), ['gru']);
    (await Classifier.load(dir)).close();
  });

  it('loads during 150 replacements by another process always pair the files of one generation', async () => {
    const dir = path.join(tmp, 'textcnn');
    const writer = spawn(process.execPath, ['--require', 'tsx/cjs', SAVE_LOOP, dir, '150'], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    writer.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    await new Promise<void>((resolve) => writer.stdout.once('data', () => resolve()));
    let done = false;
    const exited = new Promise<number | null>((resolve) => writer.on('exit', (code) => ((done = true), resolve(code))));
    let loads = 0;
    const failures: string[] = [];
    while (!done) {
      try {
        const clf = await Classifier.load(dir, { backend: 'native' });
        assert.equal((await clf.predictProbabilities(['good movie'])).length, 3);
        clf.close();
      } catch (err) {
        failures.push((err as Error).message);
      }
      loads++;
    }
    assert.equal(await exited, 0, stderr);
    assert.deepEqual(failures.slice(0, 3), [], `${failures.length} of ${loads} loads failed`);
    assert.ok(loads >= 10, `only ${loads} loads ran during the replacements`);
  });

  it('a kill at any moment of a save leaves a loadable model, and the next save cleans up', async () => {
    const dir = path.join(tmp, 'textcnn');
    spawnSync(process.execPath, ['--require', 'tsx/cjs', SAVE_LOOP, dir, '1'], { cwd: REPO_ROOT });
    for (let kill = 0; kill < 12; kill++) {
      const writer = spawn(process.execPath, ['--require', 'tsx/cjs', SAVE_LOOP, dir, '0'], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'ignore'] });
      await new Promise<void>((resolve) => writer.stdout.once('data', () => resolve()));
      await new Promise((resolve) => setTimeout(resolve, 5 + kill * 7));
      writer.kill('SIGKILL');
      await new Promise((resolve) => writer.on('exit', resolve));
      (await Classifier.load(dir, { backend: 'native' })).close();
    }
    save(dir, 9);
    assert.equal(fs.readdirSync(dir).filter((e) => e.startsWith('.gen-')).length, 2);
    assert.deepEqual(fs.readdirSync(dir).filter((e) => e.startsWith('.link-')), []);
  });
});
