/**
 * A model folder the loader rejects is an error naming the file from EVERY backend. The wasm
 * fallback is only for "the addon cannot load here": before the fix, a weights file the native
 * loader rejected (a tensor named twice, overlapping data_offsets) was silently served by the
 * wasm backend with different scores, and NaN/Inf weights loaded and served NaN scores.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { BackendRegistry, BackendUnavailableError, NoBackendError } from '../lib/backends/registry';
import { Classifier } from '../lib/classifier';
import { formatScore } from '../lib/predict-format';
import { readModelFolder, saveModelFolder } from '../lib/model-folder';
import { duplicateTopLevelKey } from '../lib/safetensors/json-duplicate-key';
import { NativeStudent } from '../lib/student';
import { duplicateTensorName, overlapOffsets, poisonWeight } from './helpers/corrupt-weights';
import { TINY_LABELS, TINY_MAX_LENGTH, TINY_VOCAB } from './helpers/tiny-task';

const BACKENDS = [undefined, 'native', 'wasm'] as const;

describe('a corrupt model folder is an error from every backend', function () {
  this.timeout(60_000);
  let tmp: string;
  let good: string;

  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'md-corrupt-'));
    const student = NativeStudent.create({
      kind: 'textcnn', vocabSize: TINY_VOCAB.length, numClasses: TINY_LABELS.length, embeddingDim: 8, windows: [2], filters: 4, dropout: 0, seed: 5,
    });
    good = saveModelFolder(path.join(tmp, 'good'), { student, vocabTokens: TINY_VOCAB, labels: TINY_LABELS, maxLength: TINY_MAX_LENGTH, lowercase: true });
    student.dispose();
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  function corrupt(name: string, damage: (weights: string) => void): string {
    const dir = path.join(tmp, name);
    fs.cpSync(good, dir, { recursive: true, dereference: true });
    damage(path.join(dir, 'weights.safetensors'));
    return dir;
  }

  async function rejectsEverywhere(dir: string, pattern: RegExp): Promise<void> {
    const weights = path.join(dir, 'weights.safetensors');
    for (const backend of BACKENDS) {
      await assert.rejects(Classifier.load(dir, backend ? { backend } : {}), (err: unknown) => {
        assert.ok(err instanceof Error && !(err instanceof NoBackendError), `backend ${backend ?? 'default'}: ${String(err)}`);
        assert.ok(err.message.includes(weights), `backend ${backend ?? 'default'} does not name the file: ${err.message}`);
        assert.match(err.message, pattern, `backend ${backend ?? 'default'}`);
        return true;
      });
    }
  }

  it('the good folder loads on both backends (the corruptions below are the only defect)', async () => {
    for (const backend of ['native', 'wasm'] as const) (await Classifier.load(good, { backend })).close();
  });

  it('rejects a tensor named twice in the header', async () => {
    let name = '';
    const dir = corrupt('duplicate', (file) => (name = duplicateTensorName(file)));
    await rejectsEverywhere(dir, new RegExp(`duplicate key "${name.replace('.', '\\.')}"|names tensor "${name.replace('.', '\\.')}" twice`));
  });

  it('rejects two tensors whose data_offsets overlap', async () => {
    let names: string[] = [];
    const dir = corrupt('overlap', (file) => (names = overlapOffsets(file)));
    await rejectsEverywhere(dir, new RegExp(`${names[0].replace('.', '\\.')}"? and "?${names[1].replace('.', '\\.')}"? overlap`));
  });

  for (const [what, value] of [['NaN', NaN], ['an infinite value', Infinity], ['an infinite value', -Infinity]] as const) {
    it(`rejects a weight that is ${String(value)}, naming the tensor`, async () => {
      const dir = corrupt(`poison-${String(value)}`, (file) => poisonWeight(file, 'conv2.weight', value, 3));
      await rejectsEverywhere(dir, new RegExp(`conv2\\.weight"? holds ${what} at index 3`));
    });
  }

  it('the registry passes on only a backend that cannot run here, and lists those failures together', async () => {
    const folder = readModelFolder(good);
    const registry = new BackendRegistry();
    let lowTried = false;
    registry.register('high', 50, () => {
      throw new Error('high: model file is bad');
    });
    registry.register('low', 1, () => {
      lowTried = true;
      throw new BackendUnavailableError('low: not on this platform');
    });
    await assert.rejects(registry.resolve({ folder, threads: 0 }), /^Error: high: model file is bad$/);
    assert.equal(lowTried, false, 'a bad model must not fall back to another backend');
    registry.register('high', 50, () => {
      throw new BackendUnavailableError('high: no addon');
    });
    await assert.rejects(registry.resolve({ folder, threads: 0 }), (err: unknown) => {
      assert.ok(err instanceof NoBackendError);
      assert.deepEqual(err.failures.map((f) => f.name), ['high', 'low']);
      return true;
    });
  });

  it('finds a duplicate top-level key the way the native JSON reader does', () => {
    assert.equal(duplicateTopLevelKey('{"a":1,"b":{"a":2},"c":"a"}'), undefined);
    assert.equal(duplicateTopLevelKey('{"a":1,"b":[{"x":1},{"x":2}], "a" : 3}'), 'a');
    assert.equal(duplicateTopLevelKey('{"a\\"b":1,"a\\"b":2}'), 'a"b');
    assert.equal(duplicateTopLevelKey('{"\\u0061":1,"a":2}'), 'a');
  });

  it('never prints NaN as a score: formatScore refuses a non-finite probability', () => {
    assert.equal(formatScore(0.1234567), '0.123457');
    assert.throws(() => formatScore(NaN), /finite probability but received NaN/);
    assert.throws(() => formatScore(Infinity), /finite probability but received Infinity/);
  });
});
