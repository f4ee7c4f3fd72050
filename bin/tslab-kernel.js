#!/usr/bin/env node
// The tslab kernel as the project registers it (`npm run setup`): tslab
// itself, with mnist-lab's fix that keeps JupyterLab's status bar at "Busy"
// while queued cells still run (see src/util/kernel-status.ts for why).
// Arguments are tslab's: `tslab-kernel.js kernel --config-path <file> [--js]`.
'use strict';
const path = require('node:path');

// tslab starts the copy installed next to the notebook when there is one
// (findLocalStartKernel); patch that same copy.
function tslabDir(from) {
  try {
    return path.dirname(require.resolve('tslab/package.json', { paths: [from] }));
  } catch {
    return undefined;
  }
}
const dir = tslabDir(process.cwd()) || tslabDir(__dirname);
if (!dir) {
  console.error('mnist-lab kernel: tslab is not installed; run `npm install` in the mnist-lab folder.');
  process.exit(1);
}
try {
  const { fixTslabKernelStatus } = require(path.join(__dirname, '..', 'dist', 'util', 'kernel-status.js'));
  if (!fixTslabKernelStatus(require(path.join(dir, 'dist', 'jupyter.js')))) console.error(`mnist-lab kernel: ${dir} is not a tslab this fix knows; the status bar may read Idle during queued cells.`);
} catch (error) {
  console.error(`mnist-lab kernel: status fix not applied (${error.message.split('\n')[0]}); run \`npm run build\`.`);
}
require(path.join(dir, 'dist', 'main.js')).main();
