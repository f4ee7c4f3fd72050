/**
 * Text made from facts (issue 13): what the notebooks print and the charts
 * say is built from the configuration and the data at hand, not from a
 * preset's prose or a fixed template.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import {
  PRESETS,
  GridProgressTable,
  ablationChart,
  describeExperiment,
  expandGrid,
  gridPreset,
  makeTable,
  notebookGridProgress,
  pixelHistogram,
  toPlotly,
  formatProgress,
  type RunResult,
  type RunnerProgress,
} from '../src';
import ndarray from 'ndarray';

describe('text made from facts', () => {
  test('describeExperiment follows an edit of the config (not the preset description)', () => {
    const edited = { ...PRESETS.S0, id: 'S0-validated', train: { ...PRESETS.S0.train, epochs: 10, validationSplit: 0.2 }, trainLimit: 2000 };
    const text = describeExperiment(edited);
    assert.match(text, /^S0-validated: 784-512-10 relu network, no dropout; rmsprop lr 0.001, batch 128/);
    assert.match(text, /10 epochs, the last 20% of the training data for validation/);
    assert.match(text, /2,000 training \/ all test examples of mnist/);
    assert.doesNotMatch(text, /100 epochs|without validation/);
    assert.match(describeExperiment(PRESETS.S0), /100 epochs, no validation/);
  });

  test('pixel histogram hover: shares of pixels with pixel counts, no "± 0.00%" and no "runs"', () => {
    const figure = pixelHistogram(ndarray(new Uint8Array([0, 0, 0, 255, 128, 64]), [1, 2, 3]), { bins: 4 });
    const trace = toPlotly(figure).data[0] as { hovertemplate: string; error_y: { visible: boolean } };
    assert.match(trace.hovertemplate, /%\{customdata:,\} pixels/);
    assert.doesNotMatch(trace.hovertemplate, /±|runs/);
    assert.equal(trace.error_y.visible, false);
  });

  test('ablation chart: accuracy axis from 0 when the bars are far apart, otherwise cut and labelled as cut', () => {
    const quick = ablationChart([{ name: 'sgd', mean: 0.2585, std: 0, count: 1, reference: 0.97 }, { name: 'base', mean: 0.9, std: 0, count: 1, reference: null }]);
    assert.equal(quick.yRange[0], 0);
    assert.equal(quick.yLabel, 'test accuracy');
    assert.equal(quick.valueLabel, 'test accuracy (one run each)', 'no "mean ± std" for single runs');
    const full = ablationChart([{ name: 'h128', mean: 0.978, std: 0.002, count: 3, reference: 0.9785 }, { name: 'base', mean: 0.9805, std: 0.0014, count: 3, reference: 0.9802 }]);
    assert.ok(full.yRange[0] > 0.9);
    assert.match(full.yLabel, /axis cut: starts at 9\d%, not 0/);
    const hover = (toPlotly(full).data[0] as { hovertemplate: string }).hovertemplate;
    assert.match(hover, /± .*runs\)/);
  });

  test('tables leave out columns nobody has a value for (a single run has no spread)', () => {
    const table = makeTable('one-run', [{ configuration: 'S1-base', runs: 1, 'test acc %': 98.1, 'std %': null, 'seed 001 %': null }]);
    assert.deepEqual(table.columns, ['configuration', 'runs', 'test acc %']);
    assert.deepEqual(makeTable('explicit', [{ a: 1, b: null }], ['a', 'b']).columns, ['a', 'b'], 'explicit columns are kept');
  });

  test('the grid progress table fills in run by run: to do, running with epochs, done with test accuracy', () => {
    const runs = expandGrid({ ...gridPreset('seed001', { seeds: 1, epochs: 2, limit: 100 }), experiments: ['S1-base', 'S1-h128'] });
    const frames: string[] = [];
    const live = notebookGridProgress(runs, [], { html: (html) => frames.push(html) });
    assert.ok(live);
    const base = { total: runs.length, skipped: 0, completed: 0, failed: 0, running: 0, workers: 0, elapsedSeconds: 1, etaSeconds: 30 } satisfies Omit<RunnerProgress, 'event'>;
    const first = { label: runs[0].label, seed: runs[0].seed, key: runs[0].key };
    live.listener({ ...base, event: 'start' });
    live.listener({ ...base, event: 'run', run: first, running: 1, epochs: { done: 0, of: 2 } });
    live.listener({ ...base, event: 'epoch', run: first, running: 1, epochs: { done: 1, of: 2 } });
    const result = { test: { loss: 0.3, acc: 0.9123 }, totalSeconds: 12, history: { epoch: [0, 1], history: { loss: [1, 0.5], acc: [0.7, 0.9], seconds: [6, 6] } } } as unknown as RunResult;
    live.listener({ ...base, event: 'done', run: first, completed: 1, result });
    live.close();
    assert.match(frames[0], /2 runs: 0 done, 0 running, 2 to do/);
    assert.ok(frames.some((frame) => /1 running/.test(frame) && /data-state="running".*<td>1\/2<\/td>/.test(frame)), 'a frame shows the running run at epoch 1/2');
    assert.match(frames.at(-1) ?? '', /2 runs: 1 done, 0 running, 1 to do/);
    assert.match(frames.at(-1) ?? '', /91\.23%/);
    const table = new GridProgressTable(runs, []);
    assert.equal(table.rows.every((row) => row.state === 'to do'), true);
    assert.match(formatProgress({ ...base, event: 'epoch', run: first, epochs: { done: 1, of: 2 } }), /epoch 1\/2 done/);
  });
});
