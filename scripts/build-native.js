'use strict';
// Builds the addon from source with cmake-js (C++17 compiler + CMake, nothing else).
const { spawnSync } = require('child_process');
const { root, buildDir } = require('./native-paths');

function buildNative() {
  const cmakeJs = require.resolve('cmake-js/bin/cmake-js', { paths: [root] });
  const parallel = String(Math.max(1, require('os').availableParallelism?.() ?? require('os').cpus().length));
  const result = spawnSync(process.execPath, [cmakeJs, 'compile', '--out', buildDir, '--parallel', parallel], {
    cwd: root,
    stdio: 'inherit',
  });
  if (result.status !== 0) {
    throw new Error(
      `model-distill: building the native addon failed (cmake-js exit ${result.status}). ` +
        'It needs a C++17 compiler (g++ >= 9 or clang >= 10) and CMake >= 3.15 on PATH. ' +
        'Without them the package still works through the WASM backend (MODEL_DISTILL_BACKEND=wasm).'
    );
  }
}

module.exports = { buildNative };
if (require.main === module) buildNative();
