'use strict';
// `npm install` hook. A published package ships a prebuilt binary for linux-x64
// (npm 11 runs no dependency install script unless the user approves it, so the
// package must work without this script). When the script does run, it keeps a
// prebuilt binary that loads and builds from source only where none fits. In a
// git checkout it always builds from source, so developers test their own code.
const fs = require('fs');
const path = require('path');
const { root, prebuiltAddon } = require('./native-paths');
const { buildNative } = require('./build-native');

function prebuildLoads() {
  if (!fs.existsSync(prebuiltAddon)) return false;
  try {
    require(prebuiltAddon);
    return true;
  } catch (err) {
    console.warn(`model-distill: the prebuilt binary ${prebuiltAddon} does not load here (${err.message}); building from source.`);
    return false;
  }
}

const isCheckout = fs.existsSync(path.join(root, '.git'));
if (!isCheckout && process.env.MODEL_DISTILL_BUILD_FROM_SOURCE !== '1' && prebuildLoads()) {
  console.log(`model-distill: using the prebuilt binary ${path.relative(root, prebuiltAddon)}`);
} else {
  try {
    buildNative();
  } catch (err) {
    // Never fail the user's install: the WASM backend still works. Say so loudly.
    console.warn(String(err.message || err));
    if (isCheckout) process.exit(1);
  }
}
