'use strict';
// Shared by scripts/sanitize.js and scripts/fuzz.js: configures and builds build/sanitize with
// clang, AddressSanitizer + UBSan and libFuzzer instrumentation (CMakeLists.txt,
// MODEL_DISTILL_SANITIZE / MODEL_DISTILL_FUZZ): the core, its C++ tests and the fuzz harnesses.
// Returns null (and says why) when clang cannot build them here, so callers can skip clearly.
const { spawnSync } = require('child_process');
const os = require('os');
const path = require('path');
const { root } = require('./native-paths');

const buildDir = path.join(root, 'build', 'sanitize');
const FUZZERS = ['fuzz_json', 'fuzz_tokenizer', 'fuzz_vocab', 'fuzz_safetensors'];

function has(cmd) {
  return spawnSync(cmd, ['--version'], { stdio: 'ignore' }).status === 0;
}

function run(cmd, args, options = {}) {
  const result = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', ...options });
  if (result.error) throw result.error;
  return result.status ?? 1;
}

// The C++ tests `npm test` runs sanitized: every one that reads input (tokenizer, JSON,
// safetensors) or owns memory across threads, each a few seconds under ASan on 2 cores. The
// numeric-kernel tests (gemm, gru, transformer, mlm and the scalar re-runs) take minutes under
// ASan; `npm run test:sanitize -- --all` runs them too.
const QUICK_TESTS = ['test_version', 'test_thread_pool', 'test_tokenizer', 'test_textcnn', 'test_losses', 'test_optimizer',
  'test_metrics', 'test_trainer', 'test_json', 'test_safetensors'];

/**
 * Builds build/sanitize (the quick tests and the fuzzers, or with `all` every target); returns its
 * path, or null when clang is missing.
 */
function buildSanitized(all = false) {
  if (!has('clang++') || !has('clang')) {
    console.log('SKIPPED: clang++ not found; the ASan+UBSan build and the fuzz harnesses need clang ' +
      '(Debian/Ubuntu: apt-get install clang libclang-rt-14-dev)');
    return null;
  }
  const jobs = String(Math.max(1, os.availableParallelism?.() ?? os.cpus().length));
  const configure = run('cmake', ['-S', root, '-B', buildDir, '-DCMAKE_BUILD_TYPE=Sanitize', '-DCMAKE_CXX_COMPILER=clang++',
    '-DCMAKE_C_COMPILER=clang', '-DMODEL_DISTILL_TESTS=ON', '-DMODEL_DISTILL_SANITIZE=ON', '-DMODEL_DISTILL_FUZZ=ON']);
  if (configure !== 0) process.exit(configure);
  const targets = all ? [] : ['--target', ...QUICK_TESTS, ...FUZZERS];
  const build = run('cmake', ['--build', buildDir, '--parallel', jobs, ...targets]);
  if (build !== 0) process.exit(build);
  return buildDir;
}

module.exports = { buildSanitized, buildDir, FUZZERS, QUICK_TESTS, has, run };
