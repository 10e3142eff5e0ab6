/**
 * The published package works for a user whose npm runs no install scripts
 * (npm 11 blocks dependency install scripts unless approved): `npm pack` builds
 * the addon and ships it under prebuilds/<platform>-<arch>/, and a scratch
 * project that installs the tarball with --ignore-scripts can require it, import
 * it from ESM, type-check against it and run its bin.
 *
 * Slow (it builds the addon and compiles the TypeScript, incrementally when a
 * build/ folder exists). MODEL_DISTILL_SKIP_PACK_TEST=1 skips it. No network:
 * the scratch project gets a package-lock.json naming the tarball and, for its
 * dependencies, the exact entries of this repository's lock (scratchLockfile), and
 * `npm ci --offline` installs them from the tarballs `npm ci` left in the npm cache.
 * (A plain `npm install <tarball> --offline` needs the registry's package metadata,
 * which `npm ci` never caches, so it could not run offline.) When a dependency is
 * not in the cache the test skips and says so.
 */
import { strict as assert } from 'assert';
import { spawnSync, type SpawnSyncReturns } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const repoRoot = path.resolve(__dirname, '..');
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const platformDir = `${process.platform}-${process.arch}`;

function run(cmd: string, args: string[], options: { cwd: string; input?: string; env?: NodeJS.ProcessEnv; timeout?: number }): SpawnSyncReturns<string> {
  // The user's environment, not ours: an addon override would bypass the package's own binary.
  const env: NodeJS.ProcessEnv = { ...process.env, npm_config_audit: 'false', npm_config_fund: 'false', npm_config_update_notifier: 'false', ...options.env };
  delete env.MODEL_DISTILL_ADDON;
  const result = spawnSync(cmd, args, {
    cwd: options.cwd,
    input: options.input,
    encoding: 'utf8',
    env,
    timeout: options.timeout ?? 120_000,
    maxBuffer: 64 * 1024 * 1024,
  });
  if (result.error) throw result.error;
  return result;
}

/**
 * package-lock.json for a project that depends on `tarball` (a path relative to the
 * project): the package's entry, and every non-dev entry of this repository's lock (the
 * package's dependencies, with the versions, tarball URLs and integrity hashes that
 * `npm ci` fetched, nested as they are here).
 */
function scratchLockfile(tarball: string): object {
  const lock = JSON.parse(fs.readFileSync(path.join(repoRoot, 'package-lock.json'), 'utf8')) as { packages: Record<string, Record<string, unknown>> };
  const self = lock.packages[''];
  const packages: Record<string, unknown> = {
    '': { name: 'user-project', version: '1.0.0', dependencies: { 'model-distill': `file:${tarball}` } },
    'node_modules/model-distill': {
      version: self.version,
      resolved: `file:${tarball}`,
      hasInstallScript: true,
      license: self.license,
      dependencies: self.dependencies,
      bin: self.bin,
      engines: self.engines,
      peerDependencies: self.peerDependencies,
      peerDependenciesMeta: self.peerDependenciesMeta,
    },
  };
  for (const [key, entry] of Object.entries(lock.packages)) {
    if (key !== '' && entry.dev !== true) packages[key] = entry;
  }
  return { name: 'user-project', version: '1.0.0', lockfileVersion: 3, requires: true, packages };
}

function describeFailure(what: string, r: SpawnSyncReturns<string>): string {
  return `${what} exited ${r.status}\n--- stdout\n${r.stdout.slice(-4000)}\n--- stderr\n${r.stderr.slice(-4000)}`;
}

describe('the packed package, installed without install scripts', function () {
  let tmp = '';
  let project = '';
  let installed = '';

  before(function () {
    if (process.env.MODEL_DISTILL_SKIP_PACK_TEST === '1') {
      console.log('      (skipped: MODEL_DISTILL_SKIP_PACK_TEST=1)');
      this.skip();
    }
    this.timeout(300_000);
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'model-distill-pack-'));

    // `npm pack` runs prepack: scripts/prebuild.js (addon -> prebuilds/) and tsc.
    const packed = run(npm, ['pack', '--pack-destination', tmp, '--json'], { cwd: repoRoot, timeout: 240_000 });
    assert.equal(packed.status, 0, describeFailure('npm pack', packed));
    const tarballs = fs.readdirSync(tmp).filter((f) => f.endsWith('.tgz'));
    assert.equal(tarballs.length, 1, `expected one tarball in ${tmp}, found ${tarballs.join(', ')}`);
    const tarball = path.join(tmp, tarballs[0]);

    project = path.join(tmp, 'user-project');
    fs.mkdirSync(project);
    const dependency = path.relative(project, tarball);
    fs.writeFileSync(
      path.join(project, 'package.json'),
      JSON.stringify({ name: 'user-project', version: '1.0.0', private: true, dependencies: { 'model-distill': `file:${dependency}` } }),
    );
    fs.writeFileSync(path.join(project, 'package-lock.json'), JSON.stringify(scratchLockfile(dependency), null, 2));
    const install = run(npm, ['ci', '--offline', '--ignore-scripts'], { cwd: project });
    if (install.status !== 0 && /ENOTCACHED|offline/i.test(install.stderr)) {
      console.log(`      (skipped: a dependency of model-distill is not in the npm cache and tests never use the network; run \`npm ci\` first)\n${install.stderr.slice(-600)}`);
      this.skip();
    }
    assert.equal(install.status, 0, describeFailure('npm ci --offline --ignore-scripts (the tarball and the lock\'s dependencies)', install));
    installed = path.join(project, 'node_modules', 'model-distill');
  });

  after(() => {
    if (tmp && process.env.MODEL_DISTILL_KEEP_PACK_TEST !== '1') fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('ships the prebuilt binary, the compiled JS and the type declarations, and no build folder', () => {
    assert.ok(fs.existsSync(path.join(installed, 'prebuilds', platformDir, 'model_distill.node')), `no prebuilds/${platformDir}/model_distill.node`);
    assert.ok(!fs.existsSync(path.join(installed, 'build')), 'an install without scripts cannot have built anything');
    const pkg = JSON.parse(fs.readFileSync(path.join(installed, 'package.json'), 'utf8'));
    for (const file of [pkg.main, pkg.types, pkg.bin['model-distill']]) {
      assert.ok(fs.existsSync(path.join(installed, file)), `package.json names ${file}, which is not in the package`);
    }
    assert.ok(!fs.existsSync(path.join(installed, 'test')), 'tests are not published');
  });

  it("require('model-distill') loads the addon from prebuilds/", () => {
    const script = `
      const m = require('model-distill');
      const info = m.nativeInfo();
      const addons = Object.keys(require.cache).filter((k) => k.endsWith('.node'));
      console.log(JSON.stringify({ info, addons, keys: Object.keys(m).sort() }));`;
    const r = run(process.execPath, ['-e', script], { cwd: project });
    assert.equal(r.status, 0, describeFailure('node -e require(...)', r));
    const { info, addons, keys } = JSON.parse(r.stdout);
    assert.ok(['avx512', 'avx2', 'scalar'].includes(info.simdLevel), `simdLevel ${info.simdLevel}`);
    assert.deepEqual(addons, [fs.realpathSync(path.join(installed, 'prebuilds', platformDir, 'model_distill.node'))]);
    assert.ok(keys.includes('nativeInfo'), keys.join(', '));
  });

  it("import('model-distill') from an .mjs file gives the same named exports", () => {
    fs.writeFileSync(
      path.join(project, 'check.mjs'),
      `import * as esm from 'model-distill';
       import { nativeInfo } from 'model-distill';
       import { createRequire } from 'module';
       const cjs = createRequire(import.meta.url)('model-distill');
       console.log(JSON.stringify({
         esm: Object.keys(esm).filter((k) => k !== 'default' && k !== '__esModule').sort(),
         cjs: Object.keys(cjs).filter((k) => k !== '__esModule').sort(),
         simd: nativeInfo().simdLevel,
       }));`
    );
    const r = run(process.execPath, ['check.mjs'], { cwd: project });
    assert.equal(r.status, 0, describeFailure('node check.mjs', r));
    const { esm, cjs, simd } = JSON.parse(r.stdout);
    assert.deepEqual(esm, cjs);
    assert.ok(simd.length > 0);
  });

  it('ships type declarations that a TypeScript user compiles against (and that catch a type error)', () => {
    const tsc = path.join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc');
    const typeRoots = path.join(repoRoot, 'node_modules', '@types');
    fs.writeFileSync(path.join(project, 'good.ts'), `import { nativeInfo } from 'model-distill';\nconst level: string = nativeInfo().simdLevel;\nconsole.log(level);\n`);
    fs.writeFileSync(path.join(project, 'bad.ts'), `import { nativeInfo } from 'model-distill';\nconst level: number = nativeInfo().simdLevel;\nconsole.log(level);\n`);
    // One compiler run for both files (tsc start-up is the slow part): good.ts must be clean, bad.ts must fail.
    const flags = ['--noEmit', '--strict', '--skipLibCheck', '--module', 'commonjs', '--moduleResolution', 'node', '--target', 'es2022', '--typeRoots', typeRoots, '--types', 'node'];
    const r = run(process.execPath, [tsc, ...flags, 'good.ts', 'bad.ts'], { cwd: project });
    const errors = r.stdout.split('\n').filter((line) => /error TS/.test(line));
    assert.deepEqual(errors.filter((e) => !e.startsWith('bad.ts')), [], `good.ts must compile:\n${r.stdout}`);
    assert.equal(errors.length, 1, `bad.ts must give exactly one type error (the declarations would be \`any\` otherwise):\n${r.stdout}`);
    assert.match(errors[0], /^bad\.ts\(2,7\): error TS2322/);
  });

  it('the model-distill bin runs', () => {
    const bin = path.join(project, 'node_modules', '.bin', 'model-distill');
    const help = run(bin, ['tokenize', '--help'], { cwd: project });
    assert.equal(help.status, 0, describeFailure('model-distill tokenize --help', help));
    assert.match(help.stdout, /Usage: model-distill tokenize --vocab FILE/);

    // And does real work through the prebuilt addon.
    const vocab = path.join(__dirname, 'fixtures', 'tiny-vocab.txt');
    const r = run(bin, ['tokenize', '--vocab', vocab, '--tokens'], { cwd: project, input: '你好，世界 hello\n' });
    assert.equal(r.status, 0, describeFailure('model-distill tokenize', r));
    assert.equal(r.stdout, '[CLS] 你 好 ， 世 界 hello [SEP]\n');
  });
});
