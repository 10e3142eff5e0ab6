import { strict as assert } from 'assert';
import { spawnSync } from 'child_process';
import * as path from 'path';

import { nativeInfo } from '../lib';
import { AddonLoadError, loadAddonFrom } from '../lib/binding';

describe('native addon loading', () => {
  it('loads the addon and reports a known SIMD level', () => {
    const info = nativeInfo();
    assert.match(info.coreVersion, /^\d+\.\d+\.\d+$/);
    assert.ok(['avx512', 'avx2', 'scalar'].includes(info.simdLevel), info.simdLevel);
  });

  it('MODEL_DISTILL_SIMD=scalar caps the SIMD level', () => {
    const script = `console.log(require(${JSON.stringify(path.join(__dirname, '..', 'lib'))}).nativeInfo().simdLevel)`;
    const out = spawnSync(process.execPath, ['--require', 'tsx/cjs', '-e', script], {
      env: { ...process.env, MODEL_DISTILL_SIMD: 'scalar' },
      encoding: 'utf8',
    });
    assert.equal(out.status, 0, out.stderr);
    assert.equal(out.stdout.trim(), 'scalar');
  });

  it('a missing binary gives one error listing every path tried and how to fix it', () => {
    const missing = path.join(__dirname, 'fixtures', 'no-such-dir', 'model_distill.node');
    const broken = path.join(__dirname, 'fixtures', 'not-an-addon.node');
    assert.throws(
      () => loadAddonFrom([missing, broken]),
      (err: unknown) => {
        assert.ok(err instanceof AddonLoadError);
        assert.equal(err.attempts.length, 2);
        assert.match(err.message, /no-such-dir.*file not found/);
        assert.match(err.message, /not-an-addon\.node: /);
        assert.match(err.message, /npm rebuild model-distill/);
        assert.match(err.message, /MODEL_DISTILL_BACKEND=wasm/);
        return true;
      }
    );
  });
});
