/**
 * Figures and the renderers that need no browser: SVG, HTML, terminal,
 * notebook output, the CLI's show/plot, and the live plot without a display.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, promises as fs } from 'node:fs';
import * as path from 'node:path';
import ndarray from 'ndarray';
import { XMLParser } from 'fast-xml-parser';
import {
  tf,
  initBackend,
  loadData,
  ConfigError,
  pixelGrid,
  gallery,
  trainingCurves,
  confusionMatrixFigure,
  ablationChart,
  firstLayerWeights,
  modelTable,
  renderSvg,
  renderHtml,
  renderTerminal,
  show,
  PLOTLY_MIME,
  type MimeBundle,
  createLivePlot,
  saveFigure,
  type TrainingHistory,
} from '../src';
import { detectDisplay, offlineIndexHtml } from '../src/viz/live';
import { notebookHtml } from '../src/viz/notebook';
import { formatOf } from '../src/viz/save';
import { visibleLength } from '../src/viz/terminal';
import { buildProgram } from '../src/cli/main';
import { REAL_DATA_DIR, tempDir } from './helpers/fixtures';

const real = { skip: REAL_DATA_DIR ? false : 'MNIST_LAB_DATA is not set (npm test sets it to ../shared/datasets when present)' };
const ROW_5 = '0 0 0 0 0 0 0 0 0 0 0 0 3 18 18 18 126 136 175 26 166 255 247 127 0 0 0 0';

/** Every element of a parsed XML tree, depth first. */
type XmlNode = Record<string, unknown>;
function parseSvg(svg: string): XmlNode[] {
  const parser = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '@', preserveOrder: true, parseTagValue: false });
  const tree = parser.parse(svg) as XmlNode[];
  const out: XmlNode[] = [];
  const walk = (nodes: XmlNode[]) => {
    for (const node of nodes) {
      out.push(node);
      for (const [key, value] of Object.entries(node)) if (key !== ':@' && Array.isArray(value)) walk(value as XmlNode[]);
    }
  };
  walk(tree);
  return out;
}
const attrs = (node: XmlNode) => (node[':@'] ?? {}) as Record<string, string>;
const textOf = (node: XmlNode) => ((node.text as XmlNode[] | undefined) ?? []).map((child) => String(child['#text'] ?? '')).join('');

/** Values written in the cells of one row of a pixel grid SVG, in column order. */
function gridRow(svg: string, row: number): string {
  return parseSvg(svg)
    .filter((node) => 'text' in node && attrs(node)['@data-row'] === String(row))
    .sort((a, b) => Number(attrs(a)['@data-column']) - Number(attrs(b)['@data-column']))
    .map(textOf)
    .join(' ');
}

const HISTORY: TrainingHistory = {
  epoch: [0, 1, 2, 3],
  history: { loss: [0.5, 0.3, 0.2, 0.15], acc: [0.85, 0.9, 0.93, 0.95], val_loss: [0.4, 0.3, 0.28, 0.31], val_acc: [0.88, 0.91, 0.92, 0.92], seconds: [1, 1, 1, 1] },
};

describe('pixel grid of real MNIST', real, () => {
  test('SVG parses and holds row 5 of training image 0, text colour switched at max/2.5', async () => {
    const [[trainImages]] = await loadData('mnist', { dataDir: REAL_DATA_DIR });
    const figure = pixelGrid(trainImages, { index: 0 });
    const svg = renderSvg(figure);
    assert.equal(gridRow(svg, 5), ROW_5);
    assert.equal(figure.textThreshold, 255 / 2.5);
    const cells = parseSvg(svg).filter((node) => 'text' in node && attrs(node)['@data-row'] === '5');
    const fillOf = (column: number) => attrs(cells.find((node) => attrs(node)['@data-column'] === String(column)) as XmlNode)['@fill'];
    assert.equal(fillOf(21), '#000000', '255 is above the threshold: black text on white');
    assert.equal(fillOf(12), '#ffffff', '3 is below the threshold: white text on black');
  });

  test('HTML page embeds the same grid; scaled values have two decimals', async () => {
    const [[trainImages]] = await loadData('mnist', { dataDir: REAL_DATA_DIR });
    const html = renderHtml(pixelGrid(trainImages, { index: 0 }));
    assert.match(html, /^<!DOCTYPE html>/);
    assert.doesNotMatch(html, /<script/, 'a static figure needs no script');
    const svg = /<svg[\s\S]*<\/svg>/.exec(html)?.[0] ?? '';
    assert.equal(gridRow(svg, 5), ROW_5);
    const scaled = renderSvg(pixelGrid(trainImages, { index: 0, scaled: true }));
    assert.equal(gridRow(scaled, 5).split(' ').slice(12, 24).join(' '), '0.01 0.07 0.07 0.07 0.49 0.53 0.69 0.10 0.65 1.00 0.97 0.50');
  });

  test('terminal: half-blocks and numbers fit 80 columns; numbers show row 5', async () => {
    const [[trainImages]] = await loadData('mnist', { dataDir: REAL_DATA_DIR });
    const figure = pixelGrid(trainImages, { index: 0 });
    for (const color of [true, false]) {
      for (const numbers of [true, false]) {
        const lines = renderTerminal(figure, { color, numbers, maxWidth: 80 }).split('\n');
        assert.ok(Math.max(...lines.map(visibleLength)) <= 80, `color=${color} numbers=${numbers} is too wide`);
        if (!numbers && color) assert.equal(lines.length, 1 + 14, 'two pixel rows per line');
      }
    }
    const plain = renderTerminal(figure, { color: false, numbers: true, maxWidth: 80 }).split('\n');
    const row5 = plain.find((line) => / 3 +18 +18 +18 +126/.test(line));
    assert.ok(row5, 'row 5 is printed');
    assert.match(row5, /3\s+18\s+18\s+18\s+126\s+136\s+175\s+26\s+166\s+255\s+247\s+127/);
    const narrow = renderTerminal(figure, { color: false, numbers: true, maxWidth: 40 }).split('\n');
    assert.ok(Math.max(...narrow.map(visibleLength)) <= 40, 'a narrow terminal splits the digit into blocks');
  });

  test('gallery of the first 20 test digits with predictions marks the mistakes', async () => {
    const [, [testImages, testLabels]] = await loadData('mnist', { dataDir: REAL_DATA_DIR });
    const predictions = Array.from(testLabels.data.subarray(0, 20));
    predictions[3] = 6;
    predictions[8] = 6;
    const figure = gallery(testImages, testLabels, { predictions });
    assert.equal(figure.tiles.length, 20);
    assert.deepEqual(figure.tiles.map((tile) => tile.caption.split(': ')[1]).join(' '), '7 2 1 0 4 1 4 9 5 9 0 6 9 0 1 5 9 7 3 4');
    assert.match(figure.subtitle, /2 of 20 wrong/);
    const nodes = parseSvg(renderSvg(figure));
    const wrong = nodes.filter((node) => attrs(node)['@data-mark'] === 'wrong');
    assert.equal(wrong.length, 2);
    const images = nodes.filter((node) => 'image' in node);
    assert.equal(images.length, 20);
    assert.match(attrs(images[0])['@href'], /^data:image\/png;base64,/);
  });
});

describe('figures from synthetic data', () => {
  test('training curves: train vs validation, gap shaded, best val_loss epoch marked (1-based)', () => {
    const figure = trainingCurves(HISTORY);
    assert.deepEqual(figure.panels.map((panel) => panel.title), ['loss', 'accuracy']);
    const loss = figure.panels[0];
    assert.deepEqual(loss.series.map((series) => series.name), ['train loss', 'val_loss']);
    assert.deepEqual(loss.series[0].x, [1, 2, 3, 4]);
    assert.equal(loss.markers[0].x, 3);
    assert.equal(loss.markers[0].y, 0.28);
    assert.deepEqual(loss.gaps[0].upper, [0.5, 0.3, 0.28, 0.31]);
    const svg = renderSvg(figure);
    const lines = parseSvg(svg).filter((node) => 'polyline' in node);
    assert.equal(lines.length, 4);
    assert.equal(parseSvg(svg).filter((node) => attrs(node)['@data-marker']).length, 2);
    const twoRuns = trainingCurves([{ name: 'a', history: HISTORY }, { name: 'b', history: HISTORY }]);
    assert.equal(twoRuns.panels[0].series.length, 4);
    assert.notEqual(twoRuns.panels[0].series[0].color, twoRuns.panels[0].series[2].color, 'one colour per run');
    assert.throws(() => trainingCurves([{ name: 'broken', history: { epoch: [], history: {} } as unknown as TrainingHistory }]), /broken.*no loss array/);
  });

  test('confusion matrix: counts in cells, per-class accuracy, rejects non-square input', () => {
    const matrix = [
      [8, 2, 0],
      [1, 9, 0],
      [0, 5, 5],
    ];
    const figure = confusionMatrixFigure(matrix, ['a', 'b', 'c']);
    assert.deepEqual(figure.rowSummary?.values, [0.8, 0.9, 0.5]);
    assert.match(figure.title, /73\.33%/);
    const nodes = parseSvg(renderSvg(figure));
    const cell = nodes.find((node) => attrs(node)['@data-row'] === '2' && attrs(node)['@data-column'] === '1');
    assert.equal(textOf(cell as XmlNode), '5');
    assert.equal(textOf(nodes.find((node) => attrs(node)['@data-summary-row'] === '2') as XmlNode), '50.0%');
    assert.throws(() => confusionMatrixFigure([[1, 2]]), (error: Error) => error instanceof ConfigError && /must be square/.test(error.message));
  });

  test('ablation chart: mean, std and reference per configuration', () => {
    const figure = ablationChart([
      { name: 'S1-base', mean: 0.979, std: 0.002, count: 3, reference: 0.9802 },
      { name: 'S1-sgd', mean: 0.93, std: 0.004, count: 3, reference: 0.9349 },
    ]);
    assert.ok(figure.yRange[0] < 0.93 && figure.yRange[0] > 0.8, `axis starts near the data, got ${figure.yRange[0]}`);
    const nodes = parseSvg(renderSvg(figure));
    assert.deepEqual(nodes.filter((node) => attrs(node)['@data-bar']).map((node) => attrs(node)['@data-bar']), ['S1-base', 'S1-sgd']);
    assert.deepEqual(nodes.filter((node) => attrs(node)['@data-reference']).map((node) => Number(attrs(node)['@data-reference'])), [0.9802, 0.9349]);
  });

  test('first-layer weights and model table from a real tfjs model, no leaked tensors', async () => {
    await initBackend({ quiet: true });
    const before = tf.memory().numTensors;
    const model = tf.sequential({
      layers: [tf.layers.flatten({ inputShape: [28, 28] }), tf.layers.dense({ units: 512, activation: 'relu' }), tf.layers.dense({ units: 10, activation: 'softmax' })],
    });
    const table = modelTable(model);
    assert.equal(table.footer[0], 'Total params: 407,050', 'tutorial 000 network');
    assert.deepEqual(table.rows.map((row) => row[1]), ['(None, 784)', '(None, 512)', '(None, 10)']);
    const kernel = model.layers[1].getWeights()[0];
    const figure = firstLayerWeights(kernel, { units: 6, scaling: 'raw' });
    assert.equal(figure.tiles.length, 6);
    assert.equal(figure.tiles[2].pixels[3][4], kernel.arraySync() instanceof Array ? (kernel.arraySync() as number[][])[3 * 28 + 4][2] : NaN);
    assert.equal(figure.minValue, -figure.maxValue, 'zero is white: the scale is symmetric');
    assert.throws(() => firstLayerWeights([[1, 2]]), /expected the first Dense kernel/);
    model.dispose();
    assert.equal(tf.memory().numTensors, before);
  });

  test('chart HTML embeds plotly.js from node_modules, no CDN, SVG fallback inside', () => {
    const html = renderHtml(trainingCurves(HISTORY));
    assert.match(html, /plotly\.js (\(cartesian[^)]*\) )?v\d/);
    // (The bundle itself mentions CDN URLs for optional extras; what matters is that nothing is loaded by src.)
    assert.ok(!/<script[^>]+src=/i.test(html), 'no external script');
    assert.ok(!/<link[^>]+href=/i.test(html), 'no external stylesheet');
    assert.match(html, /<div class="mnist-lab-figure" data-figure="lineChart" id="[^"]+"><svg/);
    const staticHtml = renderHtml(trainingCurves(HISTORY), { interactive: false });
    assert.ok(staticHtml.length < 100_000 && !/<script/.test(staticHtml));
  });

  test('notebook: charts as the plotly MIME type (drawn from data, so they survive a reload) with a static SVG beside it', () => {
    const sent: MimeBundle[] = [];
    const display = { bundle: (data: MimeBundle) => sent.push(data) };
    show(trainingCurves(HISTORY), { display });
    show(trainingCurves(HISTORY), { display });
    show(pixelGrid([[0, 255], [255, 0]]), { display });
    show(trainingCurves(HISTORY), { display, interactive: false });
    assert.equal(sent.length, 4);
    for (const chart of sent.slice(0, 2)) {
      const spec = chart[PLOTLY_MIME] as { data: Array<{ y: number[] }>; layout: Record<string, unknown> };
      assert.ok(Array.isArray(spec.data) && spec.data.length >= 4, 'train and validation loss and accuracy traces');
      assert.deepEqual(spec.data.find((trace) => trace.y.length === 4)?.y.length, 4);
      assert.match(String(chart['text/html']), /^<div class="mnist-lab-figure" data-figure="lineChart"><svg/);
      assert.doesNotMatch(String(chart['text/html']), /<script/, 'no script: nothing that depends on an earlier output');
    }
    assert.equal(sent[2][PLOTLY_MIME], undefined, 'a pixel grid is SVG only');
    assert.equal(sent[3][PLOTLY_MIME], undefined, 'interactive: false is SVG only');
    assert.doesNotMatch(notebookHtml(pixelGrid([[0, 255], [255, 0]])), /<script/);
  });

  test('saveFigure picks the format from the extension and refuses unknown ones', async () => {
    const dir = tempDir();
    const file = await saveFigure(trainingCurves(HISTORY), path.join(dir, 'curves.svg'));
    assert.match(await fs.readFile(file, 'utf8'), /^<svg[^>]+data-figure="lineChart"/);
    assert.throws(() => formatOf('curves.gif'), /cannot tell the figure format.*\.html, \.svg, \.png/);
  });
});

describe('live plot and nodeplotlib page', () => {
  test('display detection: CI, SSH and missing DISPLAY mean no browser', () => {
    assert.equal(detectDisplay({ CI: 'true', DISPLAY: ':0' }, 'linux').available, false);
    assert.match(detectDisplay({}, 'linux').reason, /DISPLAY/);
    assert.equal(detectDisplay({ SSH_CONNECTION: '1 2 3 4' }, 'darwin').available, false);
    assert.equal(detectDisplay({ MNIST_LAB_PLOT: 'file', DISPLAY: ':0' }, 'linux').available, false);
  });

  test("nodeplotlib's page is rewritten to load plotly.js locally", async () => {
    const original = await fs.readFile(require.resolve('nodeplotlib/src/lib/server/web/index.html'), 'utf8');
    assert.match(original, /cdn\.plot\.ly/, 'the shipped page uses the CDN (nodeplotlib issue #55)');
    const offline = offlineIndexHtml(original);
    assert.doesNotMatch(offline, /https?:\/\//);
    assert.match(offline, /<script type="text\/javascript" src="plotly\.min\.js"><\/script>/);
  });

  test('without a display: says so, never starts a server, writes the chart file at close', async () => {
    const saved = { DISPLAY: process.env.DISPLAY, WAYLAND_DISPLAY: process.env.WAYLAND_DISPLAY, MNIST_LAB_PLOT: process.env.MNIST_LAB_PLOT };
    delete process.env.DISPLAY;
    delete process.env.WAYLAND_DISPLAY;
    delete process.env.MNIST_LAB_PLOT;
    try {
      const messages: string[] = [];
      const outFile = path.join(tempDir(), 'live.html');
      const live = await createLivePlot({ outFile, log: (line) => messages.push(line) });
      assert.equal(live.mode, 'file');
      assert.match(messages[0], /no live chart.*live\.html/);
      HISTORY.epoch.forEach((epoch) =>
        live.onEpoch(epoch, { loss: HISTORY.history.loss[epoch], accuracy: HISTORY.history.acc[epoch], val_loss: HISTORY.history.val_loss?.[epoch], val_accuracy: HISTORY.history.val_acc?.[epoch] }),
      );
      const result = await live.close();
      assert.equal(result.file, outFile);
      assert.equal(result.url, null);
      assert.deepEqual(result.history.history.val_acc, HISTORY.history.val_acc);
      const html = await fs.readFile(outFile, 'utf8');
      assert.match(html, /plotly\.js (\(cartesian[^)]*\) )?v\d/);
      assert.match(html, /best val_loss \(epoch 3\)/);
    } finally {
      for (const [key, value] of Object.entries(saved)) if (value !== undefined) process.env[key] = value;
    }
  });
});

describe('command line', () => {
  async function run(args: string[]): Promise<string> {
    const printed: string[] = [];
    const original = console.log;
    console.log = (...parts: unknown[]) => void printed.push(parts.join(' '));
    try {
      await buildProgram().exitOverride().parseAsync(['node', 'mnist-lab', ...args]);
    } finally {
      console.log = original;
    }
    return printed.join('\n');
  }

  test('show mnist --index 0 --numbers fits 80 columns and prints row 5', real, async () => {
    const output = await run(['show', 'mnist', '--index', '0', '--numbers', '--no-color', '--width', '80', '--data-dir', REAL_DATA_DIR as string]);
    assert.match(output, /mnist train\[0\]: label 5/);
    assert.ok(Math.max(...output.split('\n').map(visibleLength)) <= 80);
    assert.match(output, /3\s+18\s+18\s+18\s+126\s+136\s+175\s+26\s+166\s+255\s+247\s+127/);
    await assert.rejects(run(['show', 'mnist', '--index', '70000', '--data-dir', REAL_DATA_DIR as string]), /--index: 70000 is not an image of the train split/);
  });

  test('plot <runDir...> --out file.svg draws every run', async () => {
    const root = tempDir();
    for (const name of ['run-a', 'run-b']) {
      await fs.mkdir(path.join(root, name));
      await fs.writeFile(path.join(root, name, 'history.json'), JSON.stringify(HISTORY));
    }
    await fs.writeFile(path.join(root, 'run-b', 'config.json'), JSON.stringify({ id: 'S1-h128', model: { seed: 7 }, train: { seed: 7 } }));
    const out = path.join(root, 'curves.svg');
    const printed = await run(['plot', path.join(root, 'run-a'), path.join(root, 'run-b'), '--out', out]);
    assert.equal(printed.trim(), out);
    const names = parseSvg(await fs.readFile(out, 'utf8')).map((node) => attrs(node)['@data-series']).filter(Boolean);
    assert.ok(names.includes('run-a train loss') && names.includes('S1-h128 seed 7 val_acc'), names.join(', '));
    await assert.rejects(run(['plot', path.join(root, 'missing')]), /missing does not exist/);
    assert.equal(existsSync(path.join(root, 'training-curves.html')), false);
  });
});

test('imageRows accepts ndarray stacks, single images and flattened vectors', () => {
  const stack = ndarray(new Uint8Array(2 * 4), [2, 2, 2]);
  stack.set(1, 1, 0, 200);
  assert.deepEqual(pixelGrid(stack, { index: 1 }).values, [[0, 0], [200, 0]]);
  assert.deepEqual(pixelGrid(ndarray(new Float32Array([0, 0.5, 1, 0]), [4])).values, [[0, 0.5], [1, 0]]);
  assert.throws(() => pixelGrid(stack, { index: 2 }), /image 2 does not exist in a stack of 2/);
});
