#!/usr/bin/env node
// The tslab kernel as the project registers it (`npm run setup`).
// Arguments are tslab's: `tslab-kernel.js kernel --config-path <file> [--js]`.
//
// This process supervises: it starts itself again as a child that runs tslab,
// and if that child dies in the middle of a cell (out of memory, kill -9, a
// native crash), it answers the cell with an error saying so before JupyterLab
// restarts the kernel (src/util/kernel-supervisor.ts). The child runs tslab with
// mnist-lab's fixes: the status bar stays "Busy" while queued cells run, and
// messages to a slow front end are queued, never lost (src/util/kernel-status.ts).
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
const dist = path.join(__dirname, '..', 'dist', 'util');

let supervisor;
try {
  supervisor = require(path.join(dist, 'kernel-supervisor.js'));
} catch (error) {
  console.error(`mnist-lab kernel: running unsupervised (${error.message.split('\n')[0]}); run \`npm run build\`. A kernel that dies mid-cell will leave that cell without an error.`);
}
if (supervisor && process.env[supervisor.KERNEL_CHILD_ENV] !== '1') {
  supervisor.superviseKernel(__filename, process.argv.slice(2), dir);
  return;
}

// From here on: the supervised child (or, without the build, the kernel on its own).
let onExecute;
if (supervisor && process.send) {
  // The supervisor is gone (killed on its own): do not outlive it.
  process.on('disconnect', () => process.exit(1));
  onExecute = supervisor.reportExecuteRequests((event) => process.connected && process.send(event));
}
try {
  const { fixTslabKernelStatus } = require(path.join(dist, 'kernel-status.js'));
  if (!fixTslabKernelStatus(require(path.join(dir, 'dist', 'jupyter.js')), onExecute)) console.error(`mnist-lab kernel: ${dir} is not a tslab this fix knows; the status bar may read Idle during queued cells.`);
} catch (error) {
  console.error(`mnist-lab kernel: status fix not applied (${error.message.split('\n')[0]}); run \`npm run build\`.`);
}
require(path.join(dir, 'dist', 'main.js')).main();
