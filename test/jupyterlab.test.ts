/**
 * The notebooks as a learner steps through them: JupyterLab (started here,
 * from .venv) in headless Chromium through playwright-core, quick mode.
 * What is checked is what a person sees while waiting, after reloading and
 * when something goes wrong: a grid cell's progress table fills in while it
 * runs, the kernel status reads Busy while (queued) cells run, a chart drawn
 * after a page reload is interactive, and an interrupted or killed training
 * ends with an error in its own cell.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { PROJECT_ROOT } from '../src';
import { REAL_DATA_DIR } from './helpers/fixtures';
import { jupyterLabSkipReason, openNotebook, startJupyterLab, writeNotebook, type JupyterLab } from './helpers/jupyterlab';

const skip = jupyterLabSkipReason() || (REAL_DATA_DIR ? false : 'MNIST_LAB_DATA is not set');

/** The code cells of a course notebook, as strings. */
function codeCells(name: string): string[] {
  const notebook = JSON.parse(readFileSync(path.join(PROJECT_ROOT, 'notebooks', `${name}.ipynb`), 'utf8')) as { cells: Array<{ cell_type: string; source: string[] | string }> };
  return notebook.cells.filter((cell) => cell.cell_type === 'code').map((cell) => (Array.isArray(cell.source) ? cell.source.join('') : cell.source));
}

describe('stepping through notebooks in JupyterLab (quick mode)', { skip }, () => {
  let lab: JupyterLab;
  before(async () => {
    lab = await startJupyterLab({ env: { MNIST_LAB_QUICK: '1', MNIST_LAB_QUIET: '1' } });
  });
  after(async () => {
    await lab?.stop();
  });

  test('notebook 05: the grid cell shows a progress table that fills in while it runs, and the status reads Busy', async () => {
    const cells = codeCells('05-ablations');
    const gridCell = cells.findIndex((source) => source.includes('lab.runAblation('));
    assert.ok(gridCell > 0, 'notebook 05 has a runAblation cell');
    const file = writeNotebook(lab.rootDir, '05-ablations.ipynb', cells.slice(0, gridCell + 1));
    const notebook = await openNotebook(lab, file);
    for (let index = 0; index < gridCell; index++) await notebook.runCell(index);
    await notebook.startCell(gridCell);
    // Snapshots of the table while the cell is still running ([*]).
    const snapshots: string[] = [];
    const statuses = new Set<string>();
    while ((await notebook.prompt(gridCell)).includes('*') || snapshots.length === 0) {
      const headline = await notebook.page.locator('.mnist-lab-grid-progress p').first().textContent().catch(() => null);
      // The status is read first and kept only if the cell is still running afterwards: the kernel's
      // idle message may reach the page just before the cell's prompt changes.
      const status = await notebook.kernelStatus();
      if ((await notebook.prompt(gridCell)).includes('*')) {
        statuses.add(status);
        if (headline && snapshots.at(-1) !== headline) snapshots.push(headline);
      }
      await notebook.page.waitForTimeout(300);
    }
    await notebook.waitForCell(gridCell);
    const finalTable = await notebook.outputText(gridCell);
    assert.ok(snapshots.length >= 3, `the table changed only ${snapshots.length} times while the cell ran: ${snapshots.join(' | ')}`);
    assert.match(snapshots[0], /9 runs: 0 done/);
    assert.ok(snapshots.some((line) => /[1-8] done/.test(line)), `a snapshot with some runs done: ${snapshots.join(' | ')}`);
    assert.match(finalTable, /9 runs: 9 done, 0 running, 0 to do/);
    assert.match(finalTable, /S1-h2048\s+\d+\s+done\s+2\/2\s+\S+\s+\d+\.\d\d%/, 'each finished run shows its epochs, time and test accuracy');
    assert.deepEqual([...statuses], ['busy'], 'JupyterLab showed the kernel as busy the whole time the cell ran');
    await notebook.page.close();
  });

  test('queued cells: the status stays Busy until the last one is done (tslab alone says Idle after the first)', async () => {
    const file = writeNotebook(lab.rootDir, 'queued.ipynb', ['import * as lab from "mnist-lab";', 'await new Promise((resolve) => setTimeout(resolve, 500));', 'await new Promise((resolve) => setTimeout(resolve, 6000));']);
    const notebook = await openNotebook(lab, file);
    await notebook.runCell(0);
    await notebook.startCell(1);
    await notebook.startCell(2);
    await notebook.waitForCell(1);
    const whileSecondRuns: string[] = [];
    for (;;) {
      const status = await notebook.kernelStatus();
      if (!(await notebook.prompt(2)).includes('*')) break; // ended meanwhile: this reading may be after the end
      whileSecondRuns.push(status);
      await notebook.page.waitForTimeout(250);
    }
    assert.ok(whileSecondRuns.length >= 4, `sampled the status ${whileSecondRuns.length} times`);
    assert.ok(whileSecondRuns.every((status) => status === 'busy'), `status while the queued cell ran: ${whileSecondRuns.join(', ')}`);
    await notebook.page.close();
  });

  test('a chart shown after a page reload is interactive (plotly MIME type, rendered by the .venv extension)', async () => {
    const history = '{ epoch: [0, 1, 2], history: { loss: [0.9, 0.5, 0.3], acc: [0.7, 0.85, 0.9], val_loss: [0.8, 0.6, 0.5], val_acc: [0.75, 0.8, 0.86], seconds: [1, 1, 1] } }';
    const file = writeNotebook(lab.rootDir, 'charts.ipynb', ['import * as lab from "mnist-lab";', `lab.show(lab.trainingCurves(${history}));`]);
    const notebook = await openNotebook(lab, file);
    await notebook.runCell(0);
    await notebook.runCell(1);
    const chart = `#${await notebook.page.evaluate(() => (window as unknown as { jupyterapp: { shell: { currentWidget: { id: string } } } }).jupyterapp.shell.currentWidget.id)} .jp-Cell >> nth=1`;
    await notebook.page.locator(chart).locator('.js-plotly-plot .main-svg').first().waitFor({ timeout: 120_000 });
    await notebook.reload();
    await notebook.runCell(1);
    const after = notebook.page.locator('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Cell').nth(1);
    await after.locator('.js-plotly-plot .main-svg').first().waitFor({ timeout: 120_000 });
    assert.ok((await after.locator('.modebar').count()) > 0, 'plotly drew an interactive chart (its mode bar is there)');
    assert.ok((await after.locator('.js-plotly-plot .scatterlayer .trace').count()) >= 4, 'the loss and accuracy traces are drawn');
    await notebook.page.close();
  });

  test('an interrupted training ends with a clear error in its own cell and stops', async () => {
    const file = writeNotebook(lab.rootDir, 'interrupt.ipynb', [
      'import * as fs from "fs";\nimport * as os from "os";\nimport * as path from "path";\nimport * as lab from "mnist-lab";',
      'const runDir = fs.mkdtempSync(path.join(os.tmpdir(), "mnist-lab-interrupt-"));',
      'const base = lab.forNotebook(lab.PRESETS["S1-base"]);\nconst run = await lab.runExperiment({ ...base, train: { ...base.train, epochs: 200 } }, { runDir: runDir });',
      'console.log("next cell");',
    ]);
    const notebook = await openNotebook(lab, file);
    await notebook.runCell(0);
    await notebook.runCell(1);
    await notebook.startCell(2);
    await notebook.page.waitForFunction(() => /Epoch 2\/200/.test(document.body.innerText), undefined, { timeout: 300_000 });
    await notebook.interruptKernel();
    await notebook.waitForCell(2, 60_000);
    // The browser may still be drawing the last display updates the kernel sent before it stopped:
    // read the cell until two reads agree, then count from there.
    let output = await notebook.outputText(2);
    for (let previous = ''; output !== previous; ) {
      previous = output;
      await notebook.page.waitForTimeout(1000);
      output = await notebook.outputText(2);
    }
    assert.match(output, /TrainingInterruptedError: training interrupted in epoch \d+\/200 at batch \d+\/\d+/);
    assert.match(output, /run the cell again to resume/);
    const lastEpoch = (text: string): number => Math.max(0, ...[...text.matchAll(/Epoch (\d+)\/200/g)].map((match) => Number(match[1])));
    const epochsShown = lastEpoch(output);
    assert.match(await notebook.runCell(3), /^next cell\s*$/, 'no progress from the stopped training leaks into the next cell');
    await notebook.page.waitForTimeout(2000);
    assert.equal(lastEpoch(await notebook.outputText(2)), epochsShown, 'training stopped: no new epochs after the interrupt');
    await notebook.page.close();
  });

  test('a training killed inside a cell (as the out-of-memory killer does) ends with an error in that cell, and the kernel comes back', async () => {
    const file = writeNotebook(lab.rootDir, 'killed.ipynb', [
      'console.log(process.pid);',
      'import * as fs from "fs";\nimport * as os from "os";\nimport * as path from "path";\nimport * as lab from "mnist-lab";\nconst runDir = fs.mkdtempSync(path.join(os.tmpdir(), "mnist-lab-killed-"));\nconst base = lab.forNotebook(lab.PRESETS["S1-base"]);\nconst run = await lab.runExperiment({ ...base, train: { ...base.train, epochs: 200 } }, { runDir: runDir });',
      'console.log("after the restart");',
    ]);
    const notebook = await openNotebook(lab, file);
    const pid = Number((await notebook.runCell(0)).trim());
    assert.ok(Number.isInteger(pid) && pid > 0, `the kernel printed its pid: ${pid}`);
    await notebook.startCell(1);
    await notebook.page.waitForFunction(() => /Epoch 2\/200/.test(document.body.innerText), undefined, { timeout: 300_000 });
    process.kill(pid, 'SIGKILL');
    await notebook.page.waitForFunction(() => /KernelDied/.test(document.body.innerText), undefined, { timeout: 60_000 }).catch(async (error: Error) => {
      assert.fail(`${error.message}\ncell: ${await notebook.outputText(1)}\nlog: ${lab.log().slice(-3000)}`);
    });
    const output = await notebook.outputText(1);
    assert.match(output, /KernelDied: the kernel process was killed by SIGKILL while this cell ran\. Most often the system ran out of memory/);
    assert.match(output, /running its cell again resumes from there/);
    assert.doesNotMatch(await notebook.prompt(1), /\*/, 'the cell no longer shows [*]');
    // JupyterLab restarts the kernel and says so in a dialog; once it is back, cells run again.
    await notebook.page.locator('.jp-Dialog button.jp-mod-accept').click({ timeout: 60_000 }).catch(() => undefined);
    const deadline = Date.now() + 120_000;
    while ((await notebook.kernelStatus()) !== 'idle' && Date.now() < deadline) await notebook.page.waitForTimeout(500);
    assert.match(await notebook.runCell(2), /^after the restart\s*$/);
    await notebook.page.close();
  });
});
