/**
 * Reproduction attempt for issue 13's "the 100-epoch cell of notebook 04 hung
 * with no error": run notebook 04's cells in full mode in JupyterLab (headless
 * Chromium, test/helpers/jupyterlab.ts) while other processes keep both cores
 * busy, several times, and report for every trial whether the cell ended, how
 * long it took, what JupyterLab showed and whether the kernel declared
 * `overfitRun`.
 *
 *   MNIST_LAB_DATA=../shared/datasets node --import tsx bench/notebook-04-under-load.ts [trials] [hogs]
 *
 * Full mode, so it takes minutes per trial; not a test.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { PROJECT_ROOT } from '../src';
import { openNotebook, startJupyterLab, writeNotebook } from '../test/helpers/jupyterlab';

const trials = Number(process.argv[2] ?? 3);
const hogs = Number(process.argv[3] ?? 2);
const CELL_LIMIT_MS = 30 * 60_000;

const notebook = JSON.parse(readFileSync(path.join(PROJECT_ROOT, 'notebooks', '04-training-and-overfitting.ipynb'), 'utf8')) as { cells: Array<{ cell_type: string; source: string[] | string }> };
const code = notebook.cells.filter((cell) => cell.cell_type === 'code').map((cell) => (Array.isArray(cell.source) ? cell.source.join('') : cell.source));
const longCell = code.findIndex((source) => source.includes('const overfitRun = await lab.runExperiment('));
// Imports, settings, run folders, then the 100-epoch experiment and its cell (skipping the other trainings),
// then a probe that asks the kernel whether the cell declared overfitRun.
const cells = [code[0], code[1], code[2], code[longCell - 1].split('\n')[0], code[longCell], 'console.log("overfitRun declared:", typeof overfitRun !== "undefined");'];

function startHogs(): ChildProcess[] {
  return Array.from({ length: hogs }, () => spawn(process.execPath, ['-e', 'for (;;) Math.sqrt(Math.random());'], { stdio: 'ignore' }));
}

(async () => {
  const lab = await startJupyterLab({ env: { MNIST_LAB_QUICK: '', MNIST_LAB_QUIET: '1' } });
  const load = startHogs();
  try {
    for (let trial = 1; trial <= trials; trial++) {
      const file = writeNotebook(lab.rootDir, `04-under-load-${trial}.ipynb`, cells);
      const page = await openNotebook(lab, file);
      for (let index = 0; index < 4; index++) await page.runCell(index, { timeoutMs: 600_000 });
      const started = Date.now();
      await page.startCell(4);
      let outcome = 'ended';
      try {
        await page.waitForCell(4, CELL_LIMIT_MS);
      } catch {
        outcome = `still [*] after ${CELL_LIMIT_MS / 60_000} min`;
      }
      const seconds = ((Date.now() - started) / 1000).toFixed(0);
      const output = await page.outputText(4);
      if (process.env.DEBUG) console.log(output.slice(0, 2000));
      const lastEpoch = [...output.matchAll(/Epoch (\d+)\/(\d+)/g)].at(-1)?.[0] ?? 'no epoch line';
      const probe = outcome === 'ended' ? await page.runCell(5, { timeoutMs: 120_000 }) : '(not asked: the cell did not end)';
      console.log(`trial ${trial}/${trials}: ${outcome} in ${seconds} s, last progress "${lastEpoch}", error shown: ${/Error|^\d+:\d+ - /m.test(output)}, ${probe.trim()}`);
      await page.page.context().close();
    }
  } finally {
    for (const hog of load) hog.kill('SIGKILL');
    await lab.stop();
  }
})();
