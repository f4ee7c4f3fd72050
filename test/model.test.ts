import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import {
  tf,
  initBackend,
  createMlp,
  summary,
  summarizeModel,
  validateMlpConfig,
  validateModelConfig,
  DEFAULT_CNN,
  createOptimizer,
  KerasRMSprop,
  KerasAdam,
  DEFAULT_MLP,
  OPTIMIZER_DEFAULTS,
  PRESETS,
  PRESET_IDS,
  getPreset,
  ConfigError,
  runExperiment,
  type ExperimentConfig,
  type MlpConfig,
} from '../src';
import { validateExperiment } from '../src/runs/validate';

const dispose = (model: tf.LayersModel): void => {
  model.optimizer?.dispose();
  model.dispose();
};

describe('createMlp and summary', () => {
  const cases: [string, Partial<MlpConfig>, string][] = [
    ['784-512-10 (S0)', {}, '407,050'],
    ['S1 base', { hiddenUnits: [512, 512], dropoutRate: 0.2 }, '669,706'],
    ['784-128-10 (S4)', { hiddenUnits: [128] }, '101,770'],
  ];
  for (const [title, change, total] of cases) {
    test(`total params of ${title} is ${total}`, async () => {
      await initBackend();
      const model = createMlp({ ...DEFAULT_MLP, ...change });
      const text = summary(model);
      assert.match(text, new RegExp(`Total params: ${total}\\n`));
      assert.match(text, /^Layer \(type\)\s+Output Shape\s+Param #$/m);
      assert.match(text, /^flatten \(Flatten\)\s+\(None, 784\)\s+0$/m);
      dispose(model);
    });
  }

  test('layers are Flatten, Dense, Dropout per hidden layer, Dense softmax; kernels Glorot, biases zero', async () => {
    await initBackend();
    const model = createMlp({ ...DEFAULT_MLP, hiddenUnits: [64, 32], dropoutRate: 0.5 });
    const info = summarizeModel(model);
    assert.deepEqual(
      info.rows.map((row) => row.layer),
      ['flatten (Flatten)', 'dense (Dense)', 'dropout (Dropout)', 'dense_1 (Dense)', 'dropout_1 (Dropout)', 'dense_2 (Dense)'],
    );
    assert.deepEqual(info.rows.map((row) => row.outputShape), ['(None, 784)', '(None, 64)', '(None, 64)', '(None, 32)', '(None, 32)', '(None, 10)']);
    const [kernel, bias] = model.layers[1].getWeights();
    const limit = Math.sqrt(6 / (784 + 64));
    const values = kernel.dataSync();
    assert.ok(values.every((value) => Math.abs(value) <= limit));
    assert.ok(Math.max(...values) > limit * 0.9, 'uniform over the whole Glorot range');
    assert.ok(bias.dataSync().every((value) => value === 0));
    assert.equal((model.layers[5].getConfig() as { activation: string }).activation, 'softmax');
    dispose(model);
  });

  test('no Dropout layers when dropoutRate is 0', async () => {
    await initBackend();
    const model = createMlp({ ...DEFAULT_MLP, hiddenUnits: [16, 16] });
    assert.equal(model.layers.filter((layer) => layer.getClassName() === 'Dropout').length, 0);
    dispose(model);
  });

  test('same seed, same initial weights; another seed, other weights; layers do not share a stream', async () => {
    await initBackend();
    const weights = (seed: number) => {
      const model = createMlp({ ...DEFAULT_MLP, hiddenUnits: [32, 32], seed });
      const values = model.getWeights().map((weight) => Array.from(weight.dataSync()));
      dispose(model);
      return values;
    };
    const a = weights(7);
    assert.deepEqual(weights(7), a);
    assert.notDeepEqual(weights(8)[0], a[0]);
    // Same stream in both layers would make every ratio the ratio of the two Glorot limits.
    const ratios = a[2].slice(0, 8).map((value, index) => (value / a[0][index]).toFixed(6));
    assert.ok(new Set(ratios).size > 1, 'second kernel must not repeat the first kernel\'s random stream');
  });
});

describe('validateMlpConfig', () => {
  const bad: [string, Partial<MlpConfig> | Record<string, unknown>, RegExp][] = [
    ['activation', { activation: 'relux' }, /^activation: unknown value "relux" \(allowed: relu, linear, sigmoid, tanh\)/],
    ['optimizer', { optimizer: 'adamw' }, /^optimizer: .*allowed: rmsprop, adam, sgd/],
    ['loss', { loss: 'mse' }, /^loss: .*allowed: categorical_crossentropy, sparse_categorical_crossentropy/],
    ['dropoutRate', { dropoutRate: 1 }, /^dropoutRate: must be a number in \[0, 1\)/],
    ['hiddenUnits entry', { hiddenUnits: [512, 0] }, /^hiddenUnits\[1\]: must be a positive integer/],
    ['hiddenUnits type', { hiddenUnits: 512 }, /^hiddenUnits: must be a list/],
    ['numClasses', { numClasses: 1 }, /^numClasses: must be an integer >= 2/],
    ['optimizer option name', { optimizerOptions: { lr: 0.1 } }, /^optimizerOptions\.lr: is not an optimizer option \(allowed: learningRate, rho/],
    ['optimizer option range', { optimizerOptions: { rho: 1.5 } }, /^optimizerOptions\.rho: is out of range/],
    ['seed', { seed: -1 }, /^seed: must be a non-negative integer/],
  ];
  for (const [title, change, message] of bad) {
    test(`rejects a bad ${title}`, () => {
      assert.throws(() => validateMlpConfig({ ...DEFAULT_MLP, ...change } as MlpConfig), (error: unknown) => error instanceof ConfigError && message.test(error.message));
    });
  }

  test('an experiment is checked as a whole at the boundary, with the path of the bad field', async () => {
    const preset = getPreset('S1-base');
    for (const id of PRESET_IDS) assert.equal(validateExperiment(getPreset(id)).id, id);
    const cases: [ExperimentConfig, RegExp][] = [
      [{ ...preset, model: { ...preset.model, dropoutRate: 2 } }, /^model\.dropoutRate: must be a number in \[0, 1\), got 2/],
      [{ ...preset, train: { ...preset.train, batchSize: 0 } }, /^train\.batchSize: must be a positive integer, got 0/],
      [{ ...preset, trainlimit: 10 } as ExperimentConfig, /^trainlimit: is not an ExperimentConfig field \(allowed: id, description, .*trainLimit/],
      [{ ...preset, model: { ...preset.model, optimizerOptions: { lr: 0.1 } } } as unknown as ExperimentConfig, /^model\.optimizerOptions\.lr: is not an optimizer option/],
    ];
    for (const [experiment, message] of cases) {
      const named = (error: unknown) => error instanceof ConfigError && message.test(error.message);
      assert.throws(() => validateExperiment(experiment), named);
      await assert.rejects(runExperiment(experiment, { verbose: 0 }), named, 'runExperiment refuses it before loading any data');
    }
  });

  test('accepts every preset and createMlp refuses bad configs before touching tfjs', () => {
    for (const id of PRESET_IDS) assert.equal(validateModelConfig(PRESETS[id].model), PRESETS[id].model);
    assert.throws(() => createMlp({ ...DEFAULT_MLP, activation: 'gelu' as 'relu' }), /activation/);
  });
});

describe('optimizers follow Keras 3 update rules', () => {
  test('Keras defaults', () => {
    assert.equal(OPTIMIZER_DEFAULTS.rmsprop.learningRate, 0.001);
    assert.equal(OPTIMIZER_DEFAULTS.rmsprop.rho, 0.9);
    assert.equal(OPTIMIZER_DEFAULTS.adam.learningRate, 0.001);
    assert.equal(OPTIMIZER_DEFAULTS.sgd.learningRate, 0.01);
    assert.equal(OPTIMIZER_DEFAULTS.sgd.momentum, 0);
    assert.equal(OPTIMIZER_DEFAULTS.adam.epsilon, 1e-7);
  });

  /** Two steps on w = [1, -2] with gradients g1, g2; returns w. */
  function twoSteps(optimizer: tf.Optimizer): number[] {
    const variable = tf.variable(tf.tensor1d([1, -2]), true, `w_${Math.random().toString(36).slice(2)}`);
    for (const gradient of [[0.5, -0.25], [0.1, 0.3]]) {
      const tensor = tf.tensor1d(gradient);
      optimizer.applyGradients([{ name: variable.name, tensor }]);
      tensor.dispose();
    }
    const result = Array.from(variable.dataSync());
    variable.dispose();
    optimizer.dispose();
    return result;
  }

  test('RMSprop: v = rho v + (1-rho) g^2 from zero; w -= lr g / sqrt(v + eps)', async () => {
    await initBackend();
    const expected = [1, -2].map((start, index) => {
      let w = start;
      let v = 0;
      for (const g of [[0.5, -0.25][index], [0.1, 0.3][index]]) {
        v = 0.9 * v + 0.1 * g * g;
        w -= (0.001 * g) / Math.sqrt(v + 1e-7);
      }
      return w;
    });
    twoSteps(createOptimizer('rmsprop')).forEach((value, index) => assert.ok(Math.abs(value - expected[index]) < 1e-6, `${value} vs ${expected[index]}`));
  });

  test('Adam: epsilon on sqrt of the raw second moment (Keras), not the bias-corrected one (tfjs)', async () => {
    await initBackend();
    // A large epsilon makes the two placements differ visibly.
    const epsilon = 0.1;
    const keras = [1, -2].map((start, index) => {
      let w = start;
      let m = 0;
      let v = 0;
      [[0.5, -0.25][index], [0.1, 0.3][index]].forEach((g, step) => {
        const t = step + 1;
        m += (g - m) * 0.1;
        v += (g * g - v) * 0.001;
        const alpha = (0.001 * Math.sqrt(1 - 0.999 ** t)) / (1 - 0.9 ** t);
        w -= (m * alpha) / (Math.sqrt(v) + epsilon);
      });
      return w;
    });
    const ours = twoSteps(createOptimizer('adam', { epsilon }));
    ours.forEach((value, index) => assert.ok(Math.abs(value - keras[index]) < 1e-6, `${value} vs ${keras[index]}`));
    const tfjs = twoSteps(tf.train.adam(0.001, 0.9, 0.999, epsilon));
    assert.ok(Math.abs(tfjs[0] - keras[0]) > 1e-5, 'tfjs Adam differs, which is why we have our own');
  });

  test('state is saved in tfjs layout and tfjs classes can take it', async () => {
    await initBackend();
    const rmsprop = createOptimizer('rmsprop');
    assert.ok(rmsprop instanceof KerasRMSprop);
    assert.equal(rmsprop.getClassName(), 'RMSProp');
    const variable = tf.variable(tf.tensor1d([1, 2]), true, `v_${Math.random().toString(36).slice(2)}`);
    const gradient = tf.tensor1d([0.5, 0.5]);
    rmsprop.applyGradients([{ name: variable.name, tensor: gradient }]);
    const weights = await rmsprop.getWeights();
    assert.deepEqual(weights.map((weight) => weight.name), ['iter', `${variable.name}/rms`, `${variable.name}/momentum`]);
    const tfjs = tf.train.rmsprop(0.001);
    await tfjs.setWeights(weights);
    assert.equal(tfjs.iterations, 1);
    const adam = createOptimizer('adam');
    assert.ok(adam instanceof KerasAdam);
    assert.deepEqual(adam.getConfig(), { learningRate: 0.001, beta1: 0.9, beta2: 0.999, epsilon: 1e-7 });
    tf.dispose([variable, gradient]);
    for (const optimizer of [rmsprop, tfjs, adam]) optimizer.dispose();
  });
});

describe('presets', () => {
  test('every row of the reference table, with its numbers', () => {
    assert.deepEqual([...PRESET_IDS], ['S0', 'S1-base', 'S1-h2048', 'S1-h128', 'S1-nodrop', 'S1-norelu', 'S1-noscale', 'S1-sgd', 'S1-b512', 'S1-b32', 'S2', 'S3', 'S4', 'convnet']);
    for (const id of PRESET_IDS) assert.ok(PRESETS[id].reference?.testAcc, `${id} has a reference test accuracy`);
    const base = getPreset('S1-base');
    assert.deepEqual((base.model as MlpConfig).hiddenUnits, [512, 512]);
    assert.equal(base.train.epochs, 10);
    assert.equal(base.train.batchSize, 128);
    assert.equal(base.train.validationSplit, 0.2);
    assert.equal(base.restoreBestWeights, true);
    assert.equal(getPreset('S1-noscale').scaleInputs, false);
    assert.equal(getPreset('S1-sgd').model.optimizer, 'sgd');
    assert.equal(getPreset('S1-b32').train.batchSize, 32);
    assert.equal(getPreset('S3').dataset, 'fashion-mnist');
    assert.equal(getPreset('S4').validateOnTest, true);
    assert.equal(getPreset('S2').model.loss, 'sparse_categorical_crossentropy');
    // keras.io's Simple MNIST convnet: adam, batch 128, 15 epochs, validation split 0.1, the last weights tested.
    const convnet = getPreset('convnet');
    assert.deepEqual(convnet.model, DEFAULT_CNN);
    assert.deepEqual([convnet.train.epochs, convnet.train.batchSize, convnet.train.validationSplit, convnet.restoreBestWeights], [15, 128, 0.1, false]);
    assert.equal(convnet.reference?.testAcc, 0.99);
  });

  test('getPreset returns a copy and names the valid ids on a typo', () => {
    const copy = getPreset('S1-base');
    (copy.model as MlpConfig).hiddenUnits.push(1);
    assert.deepEqual((PRESETS["S1-base"].model as MlpConfig).hiddenUnits, [512, 512]);
    assert.throws(() => getPreset('S1-bse'), /^ConfigError: preset: unknown preset 'S1-bse' \(allowed: S0, S1-base, .*S4, convnet\)$/);
  });
});
