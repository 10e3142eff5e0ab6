/**
 * The whole predict path on both backends: Classifier over the native addon and over
 * onnxruntime-web (the ONNX export + the TypeScript tokenizer) give the same argmax and
 * probabilities within 1e-4 on the same texts; MODEL_DISTILL_BACKEND forces one; the registry
 * reports every failure in one error; without the addon, Classifier.load falls back to wasm.
 */
import { strict as assert } from 'assert';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import { BackendRegistry, BackendUnavailableError, NoBackendError } from '../lib/backends/registry';
import { Classifier } from '../lib/classifier';
import { readModelFolder } from '../lib/model-folder';
import { edgeTexts, makeOnnxTestModels } from './helpers/onnx-models';
import { tinyTexts } from './helpers/tiny-task';

const repoRoot = path.resolve(__dirname, '..');

function withEnv<T>(name: string, value: string | undefined, fn: () => Promise<T>): Promise<T> {
  const old = process.env[name];
  if (value === undefined) delete process.env[name];
  else process.env[name] = value;
  return fn().finally(() => {
    if (old === undefined) delete process.env[name];
    else process.env[name] = old;
  });
}

describe('WASM backend (onnxruntime-web)', () => {
  let tmp: string;
  let dirs: Record<string, string>;
  const texts = [...edgeTexts(), ...tinyTexts(300, 21).texts];

  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'md-wasm-backend-'));
    dirs = makeOnnxTestModels(tmp);
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  for (const name of ['textcnn', 'gru', 'bigru', 'textcnn-nospecials']) {
    it(`${name}: same argmax and probabilities within 1e-4 as native, through Classifier.predict`, async () => {
      const native = await Classifier.load(dirs[name], { backend: 'native' });
      const wasm = await Classifier.load(dirs[name], { backend: 'wasm' });
      try {
        assert.equal(native.backend, 'native');
        assert.equal(wasm.backend, 'wasm');
        const a = await native.predict(texts);
        const b = await wasm.predict(texts);
        assert.equal(b.length, texts.length);
        let worst = 0;
        for (let i = 0; i < texts.length; i++) {
          assert.equal(b[i].label, a[i].label, `text ${i} ${JSON.stringify(texts[i])}`);
          for (let c = 0; c < 3; c++) worst = Math.max(worst, Math.abs(a[i].probabilities[c] - b[i].probabilities[c]));
        }
        assert.ok(worst <= 1e-4, `probabilities differ by ${worst}`);
        // order is kept when texts of different lengths are mixed and chunked
        const reversed = await wasm.predictProbabilities(texts.slice().reverse());
        const n = texts.length;
        for (let i = 0; i < n; i++) for (let c = 0; c < 3; c++) assert.equal(reversed[(n - 1 - i) * 3 + c], b[i].probabilities[c]);
        assert.deepEqual(await wasm.predict([]), []);
      } finally {
        native.close();
        wasm.close();
      }
    });
  }

  it('MODEL_DISTILL_BACKEND=wasm forces wasm, =native forces native, an unknown value is an error naming it', async () => {
    await withEnv('MODEL_DISTILL_BACKEND', 'wasm', async () => {
      const clf = await Classifier.load(dirs.gru);
      assert.equal(clf.backend, 'wasm');
      const [p] = await clf.predict(['good']);
      assert.equal(p.probabilities.length, 3);
      clf.close();
      // the option wins over the variable
      const forced = await Classifier.load(dirs.gru, { backend: 'native' });
      assert.equal(forced.backend, 'native');
      forced.close();
    });
    await withEnv('MODEL_DISTILL_BACKEND', 'native', async () => {
      const clf = await Classifier.load(dirs.gru);
      assert.equal(clf.backend, 'native');
      clf.close();
    });
    await withEnv('MODEL_DISTILL_BACKEND', undefined, async () => {
      const clf = await Classifier.load(dirs.gru);
      assert.equal(clf.backend, 'native', 'native has the higher priority');
      clf.close();
    });
    await withEnv('MODEL_DISTILL_BACKEND', 'cuda', async () => {
      await assert.rejects(Classifier.load(dirs.gru), /Expected 'native' or 'wasm' for MODEL_DISTILL_BACKEND but received "cuda"/);
    });
  });

  it('predictSync on wasm says to use predict(); a closed wasm classifier says it is closed', async () => {
    const clf = await Classifier.load(dirs.textcnn, { backend: 'wasm' });
    assert.throws(() => clf.predictSync(['good']), /'wasm' backend .* asynchronously only: use predict\(\)/);
    const pending = clf.predict(['good', 'bad']); // in flight when close() comes: still finishes
    clf.close();
    assert.equal((await pending).length, 2);
    await assert.rejects(clf.predict(['good']), /Classifier is closed/);
  });

  it('a registry where every backend fails gives one error listing every failure, by priority', async () => {
    const registry = new BackendRegistry();
    registry.register('low', 1, () => {
      throw new BackendUnavailableError('low failed: no device');
    });
    registry.register('high', 50, async () => {
      throw new BackendUnavailableError('high failed:\nsecond line');
    });
    const folder = readModelFolder(dirs.textcnn);
    await assert.rejects(registry.resolve({ folder, threads: 0 }), (err: unknown) => {
      assert.ok(err instanceof NoBackendError);
      assert.deepEqual(err.failures.map((f) => f.name), ['high', 'low']);
      assert.match(err.message, /^no classifier backend could load .*textcnn:\n  - high: high failed:\n    second line\n  - low: low failed: no device$/);
      return true;
    });
    await assert.rejects(registry.resolve({ folder, threads: 0 }, 'low'), /only 'low' was tried: it was forced\):\n  - low: low failed/);
    await assert.rejects(registry.resolve({ folder, threads: 0 }, 'gpu'), /Expected one of 'high', 'low' for the backend but received "gpu"/);
  });

  it('Classifier.load with weights that fit the model is an error naming the file from each backend, never a fallback', async () => {
    const broken = path.join(tmp, 'broken');
    fs.cpSync(dirs.textcnn, broken, { recursive: true, dereference: true });
    fs.copyFileSync(path.join(dirs.gru, 'weights.safetensors'), path.join(broken, 'weights.safetensors'));
    await assert.rejects(Classifier.load(broken), (err: unknown) => {
      assert.ok(!(err instanceof NoBackendError), String(err));
      assert.match((err as Error).message, /weights\.safetensors: missing tensor\(s\) conv2\.weight/);
      return true;
    });
    await assert.rejects(Classifier.load(broken, { backend: 'wasm' }), /missing tensor "conv2\.weight"/);
  });

  it('falls back to wasm where the addon does not load (child process without the addon)', function () {
    this.timeout(120_000);
    // A preload hides every model_distill.node, as on a machine where the addon was never built.
    const preload = path.join(tmp, 'hide-addon.js');
    fs.writeFileSync(
      preload,
      "const fs = require('fs'); const exists = fs.existsSync;\n" + "fs.existsSync = (p) => (String(p).endsWith('model_distill.node') ? false : exists(p));\n",
    );
    const script = path.join(tmp, 'predict-child.ts');
    fs.writeFileSync(
      script,
      `import { Classifier } from ${JSON.stringify(path.join(repoRoot, 'lib', 'classifier'))};\n` +
        `Classifier.load(${JSON.stringify(dirs.bigru)}).then(async (clf) => {\n` +
        `  const out = await clf.predictProbabilities(${JSON.stringify(texts.slice(0, 20))});\n` +
        `  process.stdout.write(JSON.stringify({ backend: clf.backend, probabilities: Array.from(out) }));\n` +
        `  clf.close();\n});\n`,
    );
    const r = spawnSync(process.execPath, ['--require', preload, '--require', 'tsx/cjs', script], {
      cwd: repoRoot,
      encoding: 'utf8',
      env: { ...process.env, MODEL_DISTILL_BACKEND: '', MODEL_DISTILL_ADDON: '' },
      timeout: 120_000,
    });
    assert.equal(r.status, 0, r.stderr);
    const child = JSON.parse(r.stdout) as { backend: string; probabilities: number[] };
    assert.equal(child.backend, 'wasm');
    return Classifier.load(dirs.bigru, { backend: 'native' }).then(async (native) => {
      const expected = await native.predictProbabilities(texts.slice(0, 20));
      native.close();
      child.probabilities.forEach((p, i) => assert.ok(Math.abs(p - expected[i]) <= 1e-4));
    });
  });
});
