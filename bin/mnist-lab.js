#!/usr/bin/env node
// The `mnist-lab` command: the compiled package's public entry (dist/index.js,
// which refuses a build older than src/), then its command line.
'use strict';
const path = require('node:path');
const fs = require('node:fs');
const root = path.resolve(__dirname, '..');
const entry = path.join(root, 'dist', 'index.js');
if (!fs.existsSync(entry)) {
  console.error('mnist-lab: dist/ is missing. Run `npm run build` in ' + root + ' first.');
  process.exit(1);
}
let lab;
try {
  lab = require(entry);
} catch (error) {
  // A stale build names itself and says what to run; anything else keeps its stack.
  console.error(error && error.name === 'MnistLabError' ? 'mnist-lab: ' + error.message : error);
  process.exit(1);
}
lab.runCommandLine(process.argv).catch((error) => {
  console.error(lab.formatCommandError(error));
  process.exit(1);
});
