#!/usr/bin/env node
// The `mnist-lab` command: runs the compiled CLI (npm run build makes dist/).
'use strict';
const path = require('node:path');
const fs = require('node:fs');
const entry = path.join(__dirname, '..', 'dist', 'cli', 'main.js');
if (!fs.existsSync(entry)) {
  console.error('mnist-lab: dist/ is missing. Run `npm run build` in ' + path.resolve(__dirname, '..') + ' first.');
  process.exit(1);
}
require(entry).main(process.argv).catch((error) => {
  console.error(require(path.join(__dirname, '..', 'dist', 'cli', 'errors.js')).formatError(error));
  process.exit(1);
});
