'use strict';
// Builds the C++ unit tests of native/core (plain CMake, no Node headers) and
// runs them with ctest. Used by `npm test`.
const { spawnSync } = require('child_process');
const os = require('os');
const path = require('path');
const { root } = require('./native-paths');

const buildDir = path.join(root, 'build', 'ctest');
const jobs = String(Math.max(1, os.availableParallelism?.() ?? os.cpus().length));

function run(cmd, args) {
  const result = spawnSync(cmd, args, { cwd: root, stdio: 'inherit' });
  if (result.error) throw result.error;
  if (result.status !== 0) process.exit(result.status ?? 1);
}

run('cmake', ['-S', root, '-B', buildDir, '-DMODEL_DISTILL_TESTS=ON', '-DCMAKE_BUILD_TYPE=Release']);
run('cmake', ['--build', buildDir, '--parallel', jobs]);
run('ctest', ['--test-dir', buildDir, '--output-on-failure', '--parallel', jobs]);
