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

/** Parent pid and command name of a process, from /proc (null off Linux or once it is gone). */
function procInfo(pid) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const open = stat.indexOf('(');
    const close = stat.lastIndexOf(')');
    return { comm: stat.slice(open + 1, close), ppid: Number(stat.slice(close + 2).split(' ')[1]) };
  } catch {
    return null;
  }
}

// `npx mnist-lab …` (npm exec) runs us as: npm exec (node) -> sh -c 'mnist-lab …' -> this
// process. The pid a user sees is npm's; `kill -9` on it never reaches us and would leave
// this training running as an orphan. So, only when started by npm exec, watch the chain
// and stop (through the SIGTERM handler: message, lock released) when it breaks. Runs
// started any other way (a shell, nohup, a job script) are left alone.
function watchNpmExec() {
  const parent = process.ppid;
  const parentInfo = procInfo(parent);
  if (parentInfo === null) return;
  const shell = /^(sh|dash|bash|zsh)$/.test(parentInfo.comm);
  const launcher = shell ? parentInfo.ppid : parent;
  const launcherInfo = procInfo(launcher);
  if (launcherInfo === null || !/^(npm|npx|node)/.test(launcherInfo.comm)) return;
  const timer = setInterval(() => {
    const gone = process.ppid !== parent || (shell && procInfo(parent)?.ppid !== launcher);
    if (!gone) return;
    clearInterval(timer);
    process.stderr.write(`\nmnist-lab: the npm exec process that started this one (pid ${launcher}) has gone; stopping.\n`);
    process.kill(process.pid, 'SIGTERM');
  }, 500);
  timer.unref();
}
if (process.env.npm_command === 'exec') watchNpmExec();

require(entry).main(process.argv).catch((error) => {
  console.error(require(path.join(__dirname, '..', 'dist', 'cli', 'errors.js')).formatError(error));
  process.exit(1);
});
