'use strict';
// Where the addon binary lives: one place shared by the install script, the
// prebuild script and (mirrored in lib/binding.ts) the loader.
const path = require('path');

const root = path.resolve(__dirname, '..');
const addonFile = 'model_distill.node';

module.exports = {
  root,
  addonFile,
  builtAddon: path.join(root, 'build', 'Release', addonFile),
  prebuildDir: path.join(root, 'prebuilds', `${process.platform}-${process.arch}`),
  prebuiltAddon: path.join(root, 'prebuilds', `${process.platform}-${process.arch}`, addonFile),
};
