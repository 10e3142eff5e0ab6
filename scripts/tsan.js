'use strict';
// `npm run test:tsan`: the thread-pool and tokenizer C++ tests built with ThreadSanitizer (clang,
// CMakeLists.txt MODEL_DISTILL_TSAN) and run by ctest; any data race fails the run. Opt-in, not
// part of `npm test`: TSan needs a kernel whose address-space layout it accepts, which a CI
// machine may not give. Skips with a message where clang is missing.
const os = require('os');
const path = require('path');
const { root } = require('./native-paths');
const { has, run } = require('./sanitize-build');

const buildDir = path.join(root, 'build', 'tsan');

if (!has('clang++')) {
  console.log('SKIPPED: clang++ not found; the ThreadSanitizer build needs clang (Debian/Ubuntu: apt-get install clang)');
  process.exit(0);
}
const jobs = String(Math.max(1, os.availableParallelism?.() ?? os.cpus().length));
const steps = [
  ['cmake', ['-S', root, '-B', buildDir, '-DCMAKE_BUILD_TYPE=Debug', '-DCMAKE_CXX_COMPILER=clang++', '-DCMAKE_C_COMPILER=clang',
    '-DMODEL_DISTILL_TSAN=ON']],
  ['cmake', ['--build', buildDir, '--parallel', jobs, '--target', 'test_thread_pool_tsan', 'test_tokenizer_tsan']],
  ['ctest', ['--test-dir', buildDir, '--output-on-failure', '-R', '_tsan$']],
];
const env = { ...process.env, TSAN_OPTIONS: 'halt_on_error=1' };
for (const [cmd, args] of steps) {
  const status = run(cmd, args, { env });
  if (status !== 0) process.exit(status);
}
