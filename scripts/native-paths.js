'use strict';
// Where the addon binary lives: one place shared by the install script, the
// prebuild script and (mirrored in lib/binding.ts) the loader.
const path = require('path');

const root = path.resolve(__dirname, '..');
const addonFile = 'model_distill.node';
// MODEL_DISTILL_BUILD_DIR moves the cmake-js build folder (default build/), so a
// test or a second checkout can build without touching a shared build/ folder.
const buildDir = process.env.MODEL_DISTILL_BUILD_DIR ? path.resolve(process.env.MODEL_DISTILL_BUILD_DIR) : path.join(root, 'build');

module.exports = {
  root,
  addonFile,
  buildDir,
  builtAddon: path.join(buildDir, 'Release', addonFile),
  prebuildDir: path.join(root, 'prebuilds', `${process.platform}-${process.arch}`),
  prebuiltAddon: path.join(root, 'prebuilds', `${process.platform}-${process.arch}`, addonFile),
};
