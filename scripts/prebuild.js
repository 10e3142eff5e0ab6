'use strict';
// `npm pack` hook: builds the addon and puts it where the loader of an installed
// package looks first when no build/ folder exists (prebuilds/<platform>-<arch>/).
const fs = require('fs');
const { builtAddon, prebuildDir, prebuiltAddon } = require('./native-paths');
const { buildNative } = require('./build-native');

buildNative();
fs.mkdirSync(prebuildDir, { recursive: true });
fs.copyFileSync(builtAddon, prebuiltAddon);
console.log(`model-distill: prebuilt binary written to ${prebuiltAddon}`);
