/**
 * The lab's layering, checked by `npm test` (scripts/check-imports.mjs):
 * each folder of src/ may import from its own layer and the layers below
 * it, never from a layer above. Lowest first:
 *
 *   util, errors, backend        plumbing every layer may use
 *   data                         loading and preparing data sets
 *   model                        configs, createMlp, optimizers, summary
 *   train                        fit, the steps, evaluate (Keras's fit/evaluate)
 *   viz                          figures and their renderers (plain data in, no run types)
 *   runs                         the run-folder format: config, history, checkpoints, metrics
 *   evaluate, predict, params,   what a learner does with a trained model or a run
 *   pad                          the drawing pad (predict, live in the browser)
 *   experiments                  presets, runExperiment, grids, ablations, reports
 *   notebook, info               the notebooks' switches, the lab's self-description
 *   cli                          the `mnist-lab` command
 *   index                        the public entry
 */
const LAYERS = [
  ['util', 'errors', 'backend'],
  ['data'],
  ['model'],
  ['train'],
  ['viz'],
  ['runs'],
  ['evaluate', 'predict', 'params', 'pad'],
  ['experiments'],
  ['notebook', 'info'],
  ['cli'],
  ['index'],
];

/** `src/<name>/...` or `src/<name>.ts` */
const pathOf = (names) => `^src/(${names.join('|')})(/|\\.ts$)`;

const forbidden = LAYERS.slice(0, -1).map((layer, index) => {
  const above = LAYERS.slice(index + 1).flat();
  return {
    name: `${layer.join('-')}-imports-downward`,
    comment: `${layer.join(', ')} may not import from a layer above it (${above.join(', ')}); see .dependency-cruiser.cjs for the order.`,
    severity: 'error',
    from: { path: pathOf(layer) },
    to: { path: pathOf(above) },
  };
});

forbidden.push({
  name: 'no-circular',
  comment: 'Modules may not import each other in a circle.',
  severity: 'error',
  from: { path: '^src/' },
  to: { circular: true },
});

module.exports = {
  forbidden,
  options: {
    doNotFollow: { path: 'node_modules' },
    includeOnly: '^src/',
    tsConfig: { fileName: 'tsconfig.json' },
    tsPreCompilationDeps: true,
  },
};
