/**
 * The graph training step (src/train/graph-step.ts) and the binding under
 * it (native/tf_graph.cc, src/train/graph.ts): the same training as tfjs
 * autodiff + the Keras optimizers, dropout masks that depend only on
 * (seed, epoch, mask, step), and clear errors. Under CI=true the binding
 * must be built; elsewhere these tests skip without it.
 */
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { tf, createMlp, evaluate, fit, DEFAULT_MLP, ConfigError, type MlpConfig } from '../src';
import { sessionThreadPools } from '../src/backend';
import { fusedOps, GraphBuilder, GraphSession, GRAPH_PIECES, graphAttr, graphBinding } from '../src/train/graph';
import { createGraphTrainer, GRAPH_STEPS_PER_RUN, graphPieces, graphStepsPerRun, selectTrainStep } from '../src/train/graph-step';
import { deriveSeed, SeededRandom } from '../src/util/random';
import { assertSameTraining, disposeModel, graphMask, needFusedOps, needGraph, STEP_ACTIVATIONS, STEP_OPTIMIZERS, referenceStep, planOf, syntheticBatch, TINY } from './helpers/reference-step';

describe('graph binding', () => {
  test('builds and runs a small graph: feeds, fetches, constants', async (t) => {
    if (!(await needGraph(t))) return;
    const module = graphBinding().module!;
    const g = new GraphBuilder(module);
    const a = g.placeholder('float32', [-1, 2]);
    const b = g.out('Const', [], { dtype: graphAttr.type('float32'), value: { kind: 'tensor', value: { dtype: 'float32', shape: [2, 1], data: Float32Array.of(3, 4) } } });
    const product = g.matMul(a, b);
    const total = g.sum(product, [0, 1]);
    const session = new GraphSession(module, g);
    const [rows, sum] = session.run([[a, { dtype: 'float32', shape: [2, 2], data: Float32Array.of(1, 2, 5, 6) }]], [product, total]);
    assert.deepEqual(rows.shape, [2, 1]);
    assert.deepEqual([...rows.data], [11, 39]);
    assert.deepEqual(sum.shape, []);
    assert.equal(sum.data[0], 50);
    session.close();
    assert.throws(() => session.run([], [total]), /this session is closed/);
  });

  test('TensorFlow errors come back as exceptions that name the problem', async (t) => {
    if (!(await needGraph(t))) return;
    const module = graphBinding().module!;
    const g = new GraphBuilder(module);
    assert.throws(() => g.op('NoSuchOp', []), /NoSuchOp.*(not registered|Op type not registered)/i);
    const a = g.placeholder('float32', [-1, 2]);
    const product = g.matMul(a, a, false, true);
    const column = g.out('Const', [], { dtype: graphAttr.type('float32'), value: { kind: 'tensor', value: { dtype: 'float32', shape: [2, 1], data: Float32Array.of(1, 1) } } });
    const projected = g.matMul(a, column);
    const session = new GraphSession(module, g);
    assert.throws(() => session.run([], [product]), /TensorFlow session run failed: .*(placeholder|must feed)/i);
    assert.throws(() => session.run([[a, { dtype: 'float32', shape: [2, 2], data: Float32Array.of(1, 2, 3) }]], [product]), /12 bytes, its shape and dtype need 16/);
    assert.throws(() => session.run([[a, { dtype: 'float32', shape: [1, 3], data: Float32Array.of(1, 2, 3) }]], [projected]), /TensorFlow session run failed: .*Matrix size-incompatible/);
    session.close();
  });
});

describe('graph training step', () => {
  for (const [title, change] of STEP_OPTIMIZERS) {
    for (const activation of STEP_ACTIVATIONS) {
      test(`${title}, ${activation}, dropout: weights and optimizer state after 3 steps over 2 epochs match autodiff`, async (t) => {
        if (!(await needGraph(t))) return;
        const config: MlpConfig = { ...TINY, ...change, activation };
        const seed = 21;
        const count = 7;
        const tensorsBefore = tf.memory().numTensors;
        const { images, labels } = syntheticBatch(5, count, 16, 3);
        const fast = createMlp(config);
        const slow = createMlp(config);
        const trainer = createGraphTrainer(planOf(fast), fast.optimizer, { images, labels }, seed);
        try {
          const batches = [
            [Int32Array.of(3, 0, 6, 1, 5), Int32Array.of(2, 4)],
            [Int32Array.of(6, 5, 4, 3, 2)],
          ];
          for (const [epoch, rowsOfSteps] of batches.entries()) {
            await trainer.beginEpoch(epoch);
            for (const [step, rows] of rowsOfSteps.entries()) {
              const { lossSum, correct } = trainer.step(rows, step);
              assert.ok(Number.isFinite(lossSum) && lossSum > 0, 'summed loss is positive');
              assert.ok(Number.isInteger(correct) && correct >= 0 && correct <= rows.length);
              const indices = tf.tensor1d(rows, 'int32');
              const batchImages = tf.gather(images, indices);
              const batchLabels = tf.gather(labels, indices) as tf.Tensor2D;
              const masks = config.hiddenUnits.map((units, mask) => graphMask(config.dropoutRate, [deriveSeed(seed, 'dropout', epoch, mask), step], [rows.length, units]));
              referenceStep(slow, batchImages, batchLabels, masks);
              tf.dispose([indices, batchImages, batchLabels, ...masks]);
            }
            await trainer.endEpoch();
          }
        } finally {
          trainer.dispose();
        }
        await assertSameTraining(fast, slow, 3);
        disposeModel(fast);
        disposeModel(slow);
        tf.dispose([images, labels]);
        assert.equal(tf.memory().numTensors, tensorsBefore, 'every tensor was released');
      });
    }
  }

  test('several steps in one session call train exactly as one step per call (Adam, dropout, a short last call)', async (t) => {
    if (!(await needGraph(t))) return;
    const config: MlpConfig = { ...TINY, optimizer: 'adam', dropoutRate: 0.3 };
    const { images, labels } = syntheticBatch(9, 23, 16, 3);
    const batches = [Int32Array.of(3, 0, 6, 1, 5), Int32Array.of(2, 4, 22, 21, 7), Int32Array.of(8, 9, 10, 11, 12), Int32Array.of(13, 14, 15, 16, 17), Int32Array.of(18, 19, 20)];
    const train = async (stepsPerRun: number) => {
      const model = createMlp(config);
      const trainer = createGraphTrainer(planOf(model), model.optimizer, { images, labels }, 4, { stepsPerRun });
      const losses: number[] = [];
      try {
        for (const epoch of [0, 1]) {
          await trainer.beginEpoch(epoch);
          for (let first = 0; first < batches.length; first += stepsPerRun) {
            const group = batches.slice(first, first + stepsPerRun).map((indices, index) => ({ indices, step: first + index }));
            for (const result of trainer.run(group)) losses.push(result.lossSum);
          }
          await trainer.endEpoch();
        }
      } finally {
        trainer.dispose();
      }
      return { model, losses };
    };
    const single = await train(1);
    for (const stepsPerRun of [2, 8]) {
      const grouped = await train(stepsPerRun);
      assert.equal(grouped.losses.length, single.losses.length);
      grouped.losses.forEach((loss, index) => assert.ok(Math.abs(loss - single.losses[index]) < 1e-5, `${stepsPerRun} steps per call, step ${index}: loss ${loss} vs ${single.losses[index]}`));
      await assertSameTraining(grouped.model, single.model, 2 * batches.length);
      disposeModel(grouped.model);
    }
    disposeModel(single.model);
    tf.dispose([images, labels]);
  });

  test('a batch cut into pieces (one per core) trains as the whole batch does, sharded updates and empty pieces included', async (t) => {
    if (!(await needGraph(t))) return;
    // 256 x 256 = 65,536 weights: the first kernel gets one update op per piece (when our kernel is built).
    const config: MlpConfig = { ...TINY, inputShape: [16, 16], hiddenUnits: [256, 6], dropoutRate: 0.2 };
    const { images, labels } = syntheticBatch(12, 21, 256, 3);
    // A one-row batch leaves a piece empty.
    const batches = [Int32Array.of(3, 0, 6, 1, 5, 9, 11), Int32Array.of(2, 4, 20, 19, 7), Int32Array.of(8), Int32Array.of(10, 12, 13, 14, 15, 16, 17, 18)];
    const train = async (pieces: number) => {
      const model = createMlp(config);
      const trainer = createGraphTrainer(planOf(model), model.optimizer, { images, labels }, 3, { pieces, stepsPerRun: 2 });
      const losses: number[] = [];
      let updates = 0;
      try {
        for (const epoch of [0, 1]) {
          await trainer.beginEpoch(epoch);
          for (let first = 0; first < batches.length; first += 2) {
            const group = batches.slice(first, first + 2).map((indices, index) => ({ indices, step: first + index }));
            for (const result of trainer.run(group)) losses.push(result.lossSum);
          }
          await trainer.endEpoch();
        }
        await trainer.beginEpoch(2);
        updates = trainer.traceStep(batches[0], 0).filter((timing) => /= MnistLabApplyRMSProp\(/.test(timing.label)).length;
      } finally {
        trainer.dispose();
      }
      return { model, losses, updates };
    };
    const whole = await train(1);
    for (const pieces of [2, 3]) {
      const cut = await train(pieces);
      cut.losses.forEach((loss, index) => assert.ok(Math.abs(loss - whole.losses[index]) < 1e-4 * Math.max(1, Math.abs(loss)), `${pieces} pieces, step ${index}: loss ${loss} vs ${whole.losses[index]}`));
      await assertSameTraining(cut.model, whole.model, 2 * batches.length);
      if (fusedOps().available) assert.equal(cut.updates, 6 - 1 + pieces, `${pieces} pieces: one update per weight, the 256x256 kernel's cut in ${pieces}`);
      disposeModel(cut.model);
    }
    if (fusedOps().available) assert.equal(whole.updates, 6);
    disposeModel(whole.model);
    tf.dispose([images, labels]);
  });

  test('by default a Dense stack trains in one piece per core, on a session whose ops get one thread each', async (t) => {
    if (!(await needGraph(t))) return;
    // The lab loaded tfjs-node itself, after setting the variable that gives each session its own pool.
    assert.equal(process.env.TF_OVERRIDE_GLOBAL_THREADPOOL, '1');
    assert.ok(sessionThreadPools(), 'sessions own their thread pools');
    assert.match(selectTrainStep(null).reason, new RegExp(GRAPH_PIECES > 1 ? `Dense batches in ${GRAPH_PIECES} pieces, one thread per op` : 'whole batches'));
    const { images, labels } = syntheticBatch(3, 8, 16, 3);
    const model = createMlp({ ...TINY, optimizer: 'rmsprop' });
    const trainer = createGraphTrainer(planOf(model), model.optimizer, { images, labels }, 1);
    try {
      await trainer.beginEpoch(0);
      const products = trainer.traceStep(Int32Array.of(0, 1, 2, 3), 0).filter((timing) => /MatMul\(/.test(timing.label));
      // Per piece: three forward products, three weight gradients, two input gradients.
      assert.equal(products.length, 8 * GRAPH_PIECES, products.map((timing) => timing.label).join('\n'));
      await trainer.endEpoch();
    } finally {
      trainer.dispose();
      disposeModel(model);
      tf.dispose([images, labels]);
    }
  });

  test('a bad MNIST_LAB_GRAPH_PIECES is refused with what it should be', () => {
    process.env.MNIST_LAB_GRAPH_PIECES = '0';
    try {
      assert.throws(() => graphPieces(), (error: unknown) => error instanceof ConfigError && /MNIST_LAB_GRAPH_PIECES: is '0'.*whole number from 1 to 64/.test(error.message));
    } finally {
      delete process.env.MNIST_LAB_GRAPH_PIECES;
    }
    assert.equal(graphPieces(), GRAPH_PIECES);
  });

  test('a bad MNIST_LAB_STEPS_PER_RUN is refused with what it should be', () => {
    process.env.MNIST_LAB_STEPS_PER_RUN = 'lots';
    try {
      assert.throws(() => graphStepsPerRun(), (error: unknown) => error instanceof ConfigError && /MNIST_LAB_STEPS_PER_RUN: is 'lots'.*whole number of steps from 1 to 1000/.test(error.message));
    } finally {
      delete process.env.MNIST_LAB_STEPS_PER_RUN;
    }
    assert.equal(graphStepsPerRun(), GRAPH_STEPS_PER_RUN);
  });

  /**
   * var, ms and mom after one RMSprop step per entry of `steps` (each the
   * gradient as a list of partial sums), by `op` cut into `shards` ops;
   * TensorFlow's kernel gets the first partial of each step.
   */
  const rmspropSteps = (op: 'ResourceApplyRMSProp' | 'MnistLabApplyRMSProp', start: Float32Array[], steps: Float32Array[][], momentum: number, shards = 1): Float32Array[] => {
    const module = graphBinding().module!;
    const size = start[0].length;
    const g = new GraphBuilder(module);
    const handles = [0, 1, 2].map((slot) => g.variable([size], `fused_rmsprop_test_${op}_${momentum}_${steps[0].length}_${shards}_${slot}_${process.pid}`));
    const assigns = handles.map((handle) => g.assigner(handle, [size]));
    const inputs = steps[0].map(() => g.placeholder('float32', [size]));
    const scalars = [g.constant(0.01), g.constant(0.9), g.constant(momentum), g.constant(1e-7)];
    const base = { T: graphAttr.type('float32'), use_locking: graphAttr.bool(false) };
    const updates =
      op === 'ResourceApplyRMSProp'
        ? [g.op(op, [...handles, ...scalars, inputs[0]], base)]
        : Array.from({ length: shards }, (_, shard) => g.op(op, [...handles, ...scalars, inputs], { ...base, N: graphAttr.int(inputs.length), shard: graphAttr.int(shard), shards: graphAttr.int(shards) }));
    const reads = handles.map((handle) => g.read(handle));
    const session = new GraphSession(module, g, { intraOpThreads: 1 });
    try {
      session.run(assigns.map((assign, slot) => [assign.value, { dtype: 'float32', shape: [size], data: start[slot] }]), [], assigns.map((assign) => assign.op));
      for (const partials of steps) session.run(inputs.map((input, index) => [input, { dtype: 'float32', shape: [size], data: partials[index] }]), [], updates);
      return session.run([], reads).map((tensor) => tensor.data as Float32Array);
    } finally {
      session.close();
    }
  };
  /** var, ms (in [0, 1)) and mom of `size` elements, and `count` gradients of that size. */
  const rmspropState = (seed: number, size: number, count: number) => {
    const random = new SeededRandom(seed);
    const start = [0, 1, 2].map((slot) => Float32Array.from({ length: size }, () => (slot === 1 ? random.next() : random.next() - 0.5)));
    const gradients = Array.from({ length: count }, () => Float32Array.from({ length: size }, () => (random.next() - 0.5) * 0.1));
    return { start, gradients };
  };

  test("our one-pass RMSprop kernel (native/fused_ops.cc) updates as TensorFlow's ResourceApplyRMSProp does, with and without momentum", async (t) => {
    if (!(await needFusedOps(t))) return;
    // Not a multiple of the vector width, so the loop's tail runs too.
    const { start, gradients } = rmspropState(17, 1003, 3);
    const steps = gradients.map((gradient) => [gradient]);
    for (const momentum of [0, 0.9]) {
      const theirs = rmspropSteps('ResourceApplyRMSProp', start, steps, momentum);
      const ours = rmspropSteps('MnistLabApplyRMSProp', start, steps, momentum);
      // With momentum 0 TensorFlow stores the last increment in `mom`, which Keras never uses (its slot stays zero); ours leaves it alone.
      const compared = momentum === 0 ? ['var', 'ms'] : ['var', 'ms', 'mom'];
      compared.forEach((name, slot) => {
        const worst = Math.max(...ours[slot].map((value, index) => Math.abs(value - theirs[slot][index]) / Math.max(1e-6, Math.abs(theirs[slot][index]))));
        assert.ok(worst <= 1e-6, `momentum ${momentum}, ${name}: relative difference up to ${worst}`);
      });
      if (momentum === 0) assert.deepEqual(ours[2], start[2], 'momentum 0: mom is not touched');
      assert.ok(theirs[0].some((value, index) => value !== start[0][index]), 'the weights moved');
    }
  });

  test('our RMSprop kernel adds partial gradients in order and, cut into shards, updates as one op on their sum', async (t) => {
    if (!(await needFusedOps(t))) return;
    const { start, gradients: partials } = rmspropState(29, 1003, 3);
    // Added in float32, in order, as the kernel adds them; two steps.
    const sum = partials[0].map((value, index) => Math.fround(Math.fround(value + partials[1][index]) + partials[2][index]));
    const theirs = rmspropSteps('ResourceApplyRMSProp', start, [[sum], [sum]], 0);
    for (const shards of [1, 2, 3]) {
      const ours = rmspropSteps('MnistLabApplyRMSProp', start, [partials, partials], 0, shards);
      ['var', 'ms'].forEach((name, slot) => assert.deepEqual(ours[slot], theirs[slot], `${shards} shard(s): ${name} as TensorFlow's update with the summed gradient`));
    }
  });

  test('a sharded update refuses to write a weight another op still reads, and says so', async (t) => {
    if (!(await needFusedOps(t))) return;
    const module = graphBinding().module!;
    const g = new GraphBuilder(module);
    const handles = [0, 1, 2].map((slot) => g.variable([4], `fused_shards_busy_${slot}_${process.pid}`));
    const assigns = handles.map((handle) => g.assigner(handle, [4]));
    // The read's value is fetched, so its buffer is still held while the update runs after it.
    const read = g.read(handles[0]);
    const gradient = g.constant(1);
    const scalars = [g.constant(0.01), g.constant(0.9), g.constant(0), g.constant(1e-7)];
    const update = g.op('MnistLabApplyRMSProp', [...handles, ...scalars, [g.out('Fill', [g.intVector([4]), gradient], { T: graphAttr.type('float32'), index_type: graphAttr.type('int32') })]], { T: graphAttr.type('float32'), N: graphAttr.int(1), shard: graphAttr.int(0), shards: graphAttr.int(2) }, [read[0]]);
    const session = new GraphSession(module, g);
    try {
      session.run(assigns.map((assign) => [assign.value, { dtype: 'float32', shape: [4], data: new Float32Array(4) }]), [], assigns.map((assign) => assign.op));
      assert.throws(() => session.run([], [read], [update]), /shard 0 of 2 found the variable still read by another op; run the shards after every read of the weight/);
    } finally {
      session.close();
    }
  });

  test('our row assignment fills a data variable a chunk at a time and refuses rows that do not fit', async (t) => {
    if (!(await needFusedOps(t))) return;
    const module = graphBinding().module!;
    const g = new GraphBuilder(module);
    const handle = g.variable([5, 3], `assign_rows_test_${process.pid}`);
    // A fed fill value: a constant one would be folded into a Const whose buffer the variable then shares.
    const fill = g.placeholder('float32', []);
    const init = g.op('AssignVariableOp', [handle, g.out('Fill', [g.intVector([5, 3]), fill], { T: graphAttr.type('float32'), index_type: graphAttr.type('int32') })], { dtype: graphAttr.type('float32') });
    const first = g.placeholder('int32', []);
    const value = g.placeholder('float32', [-1, 3]);
    const assign = g.op('MnistLabAssignRows', [handle, first, value]);
    const read = g.read(handle);
    const session = new GraphSession(module, g);
    const rows = (start: number, values: number[]): [typeof first, { dtype: 'int32' | 'float32'; shape: number[]; data: Int32Array | Float32Array }][] => [
      [first, { dtype: 'int32', shape: [], data: Int32Array.of(start) }],
      [value, { dtype: 'float32', shape: [values.length / 3, 3], data: Float32Array.from(values) }],
    ];
    try {
      session.run([[fill, { dtype: 'float32', shape: [], data: Float32Array.of(-1) }]], [], [init]);
      session.run(rows(1, [1, 2, 3, 4, 5, 6]), [], [assign]);
      session.run(rows(4, [7, 8, 9]), [], [assign]);
      assert.deepEqual([...session.run([], [read])[0].data], [-1, -1, -1, 1, 2, 3, 4, 5, 6, -1, -1, -1, 7, 8, 9]);
      assert.throws(() => session.run(rows(4, [1, 2, 3, 4, 5, 6]), [], [assign]), /MnistLabAssignRows: rows 4 \+ \[2,3\] do not fit the variable \[5,3\]/);
    } finally {
      session.close();
    }
  });

  test("the graph step runs our RMSprop kernel where it is built, not TensorFlow's", async (t) => {
    if (!(await needFusedOps(t))) return;
    const { images, labels } = syntheticBatch(3, 8, 16, 3);
    const model = createMlp({ ...TINY, optimizer: 'rmsprop' });
    const trainer = createGraphTrainer(planOf(model), model.optimizer, { images, labels }, 1);
    try {
      await trainer.beginEpoch(0);
      const kernels = trainer.traceStep(Int32Array.of(0, 1, 2, 3), 0).map((timing) => timing.label.split(' = ')[1]?.split('(')[0] ?? '');
      assert.equal(kernels.filter((kernel) => kernel === 'MnistLabApplyRMSProp').length, 6, `one update per weight: ${kernels.join(', ')}`);
      assert.ok(!kernels.includes('ResourceApplyRMSProp'), `no TensorFlow update: ${kernels.join(', ')}`);
      await trainer.endEpoch();
    } finally {
      trainer.dispose();
      disposeModel(model);
      tf.dispose([images, labels]);
    }
  });

  test("our dropout-mask kernel (native/fused_ops.cc) draws TensorFlow's five-op mask bit for bit, whole or in pieces", async (t) => {
    if (!(await needFusedOps(t))) return;
    // Odd sizes (a unit count not a multiple of 4, an odd number of int64 draws, so pieces start inside a Philox counter),
    // big and negative seeds, rates with and without an exact threshold, empty pieces.
    const cases: [number, [number, number], [number, number], number[][]][] = [
      [0.2, [deriveSeed(1, 'dropout', 0, 0), 0], [128, 512], [[64, 64]]],
      [0.5, [-7, 12345], [3, 5], [[1, 2], [0, 3], [1, 1, 1]]],
      [0.3, [2147483647, -2147483648], [37, 130], [[18, 19], [5, 0, 32]]],
      [0.25, [42, 7], [1, 1], [[0, 1]]],
      [0.2, [5, 6], [0, 16], [[0, 0]]],
      [0.2, [8, 9], [21, 10], [[10, 11], [7, 7, 7]]],
    ];
    for (const [rate, seed, shape, cuts] of cases) {
      const theirs = graphMask(rate, seed, shape, false);
      for (const pieces of [undefined, ...cuts]) {
        const ours = graphMask(rate, seed, shape, true, pieces);
        assert.deepEqual([...ours.dataSync()], [...theirs.dataSync()], `rate ${rate}, seed ${seed.join(',')}, shape ${shape.join('x')}, pieces ${pieces?.join('+') ?? 'none'}`);
        ours.dispose();
      }
      theirs.dispose();
    }
  });

  test('the mask kernel without AVX-512 (its generic loops) draws the same masks', async (t) => {
    if (!(await needFusedOps(t))) return;
    // The choice is made once per process, so a child process draws with MNIST_LAB_NO_AVX512 set.
    const script = [
      "const { graphMask } = require('./test/helpers/reference-step');",
      "const { initBackend } = require('./src');",
      'initBackend({ quiet: true }).then(() => {',
      '  for (const [seed, shape, pieces] of [[[2147483647, -2147483648], [37, 130], [5, 0, 32]], [[8, 9], [64, 512], [32, 32]]]) {',
      '    const theirs = graphMask(0.3, seed, shape, false).dataSync();',
      '    const ours = graphMask(0.3, seed, shape, true, pieces).dataSync();',
      "    if (!ours.every((value, index) => value === theirs[index])) throw new Error('masks differ for shape ' + shape.join('x'));",
      '  }',
      "  console.log('same masks');",
      '});',
    ].join('\n');
    const child = spawnSync(process.execPath, ['--import', 'tsx', '-e', script], { cwd: path.resolve(__dirname, '..'), env: { ...process.env, MNIST_LAB_NO_AVX512: '1' }, encoding: 'utf8' });
    assert.equal(child.status, 0, child.stderr);
    assert.match(child.stdout, /same masks/);
  });

  test('dropout masks keep about 1 - rate of the units and differ between steps', async (t) => {
    if (!(await needGraph(t))) return;
    const rate = 0.2;
    const first = graphMask(rate, [deriveSeed(1, 'dropout', 0, 0), 0], [128, 512]);
    const second = graphMask(rate, [deriveSeed(1, 'dropout', 0, 0), 1], [128, 512]);
    const kept = tf.tidy(() => tf.mean(tf.cast(tf.greater(first, 0), 'float32')).dataSync()[0]);
    assert.ok(Math.abs(kept - (1 - rate)) < 0.01, `kept fraction ${kept}`);
    const same = tf.tidy(() => tf.mean(tf.cast(tf.equal(first, second), 'float32')).dataSync()[0]);
    assert.ok(same < 0.8, `masks of consecutive steps agree on ${same} of the units`);
    tf.dispose([first, second]);
  });
});

describe('fit with the graph step', () => {
  const data = () => {
    const count = 400;
    const random = new SeededRandom(5);
    const images = tf.tensor3d(Float32Array.from({ length: count * 784 }, () => random.next()), [count, 28, 28]);
    const labels = tf.tensor1d(Int32Array.from({ length: count }, (_, index) => (index * 7) % 10), 'int32');
    return { images, labels };
  };
  const history = async (engine: string, images: tf.Tensor, labels: tf.Tensor, change: Partial<MlpConfig>, seed: number, shuffle = true): Promise<number[]> => {
    process.env.MNIST_LAB_TRAIN_STEP = engine;
    try {
      const model = createMlp({ ...DEFAULT_MLP, hiddenUnits: [24, 16], seed: 9, ...change });
      const result = await fit(model, images, labels, { epochs: 3, batchSize: 64, validationSplit: 0.25, verbose: 0, seed, shuffle });
      disposeModel(model);
      return [...result.history.loss, ...(result.history.val_loss ?? [])];
    } finally {
      delete process.env.MNIST_LAB_TRAIN_STEP;
    }
  };

  test('without dropout, the graph, fused and generic steps give the same history', async (t) => {
    if (!(await needGraph(t))) return;
    const { images, labels } = data();
    for (const optimizer of ['rmsprop', 'adam'] as const) {
      const graph = await history('graph', images, labels, { dropoutRate: 0, optimizer }, 4);
      const fused = await history('fused', images, labels, { dropoutRate: 0, optimizer }, 4);
      const generic = await history('generic', images, labels, { dropoutRate: 0, optimizer }, 4);
      assert.equal(graph.length, 6);
      graph.forEach((value, index) => {
        assert.ok(Math.abs(value - fused[index]) < 1e-4, `${optimizer} entry ${index}: graph ${value} vs fused ${fused[index]}`);
        assert.ok(Math.abs(value - generic[index]) < 1e-4, `${optimizer} entry ${index}: graph ${value} vs generic ${generic[index]}`);
      });
    }
    tf.dispose([images, labels]);
  });

  test("the graph validates on its own copy of the split (evaluate()'s numbers), and fit keeps no copy of the data beside it", async (t) => {
    if (!(await needGraph(t))) return;
    const { images, labels } = data();
    const model = createMlp({ ...DEFAULT_MLP, hiddenUnits: [24, 16], seed: 9 });
    const logged: { valLoss: number; valAcc: number; evaluated: { loss: number; acc: number }; bytes: number }[] = [];
    const bytesBefore = tf.memory().numBytes;
    await fit(model, images, labels, {
      epochs: 3,
      batchSize: 64,
      validationSplit: 0.25,
      verbose: 0,
      seed: 2,
      callbacks: {
        onEpochEnd: async (_epoch, logs) => {
          const bytes = tf.memory().numBytes - bytesBefore;
          // The tail fit validates on (Keras's split), evaluated eagerly with the weights the epoch left.
          const [tailImages, tailLabels] = [tf.slice(images, 300, 100), tf.slice(labels, 300, 100)];
          logged.push({ valLoss: logs.val_loss ?? NaN, valAcc: logs.val_acc ?? NaN, evaluated: evaluate(model, tailImages, tailLabels), bytes });
          tf.dispose([tailImages, tailLabels]);
        },
      },
    });
    assert.equal(logged.length, 3);
    for (const { valLoss, valAcc, evaluated, bytes } of logged) {
      assert.ok(Math.abs(valLoss - evaluated.loss) <= 1e-6 * Math.max(1, evaluated.loss), `val_loss ${valLoss} vs evaluate() ${evaluated.loss}`);
      assert.equal(valAcc, evaluated.acc);
      // The model and its optimizer state are ~0.1 MB; a copy of the split (slices, one-hot labels) would be 1.3 MB more.
      assert.ok(bytes < 400_000, `${bytes} bytes of tensors beside the caller's data during training`);
    }
    assert.ok(logged[0].valLoss !== logged[2].valLoss, 'validation follows the weights');
    disposeModel(model);
    tf.dispose([images, labels]);
  });

  test('a softmax regression (no hidden layer) without shuffling trains the same in the graph and generic steps', async (t) => {
    if (!(await needGraph(t))) return;
    const { images, labels } = data();
    const graph = await history('graph', images, labels, { hiddenUnits: [], dropoutRate: 0, optimizer: 'sgd', optimizerOptions: { learningRate: 0.1, momentum: 0.9 } }, 4, false);
    const generic = await history('generic', images, labels, { hiddenUnits: [], dropoutRate: 0, optimizer: 'sgd', optimizerOptions: { learningRate: 0.1, momentum: 0.9 } }, 4, false);
    assert.equal(graph.length, 6);
    graph.forEach((value, index) => assert.ok(Math.abs(value - generic[index]) < 1e-4, `entry ${index}: graph ${value} vs generic ${generic[index]}`));
    tf.dispose([images, labels]);
  });

  test('with dropout, the same seed repeats a run exactly and another seed does not', async (t) => {
    if (!(await needGraph(t))) return;
    const { images, labels } = data();
    const first = await history('graph', images, labels, { dropoutRate: 0.3 }, 4);
    const again = await history('graph', images, labels, { dropoutRate: 0.3 }, 4);
    const other = await history('graph', images, labels, { dropoutRate: 0.3 }, 5);
    assert.deepEqual(again, first);
    assert.notDeepEqual(other, first);
    tf.dispose([images, labels]);
  });

  test('MNIST_LAB_TRAIN_STEP is validated and a forced engine is used', async (t) => {
    if (!(await needGraph(t))) return;
    const optimizer = createMlp(TINY).optimizer;
    const chosen = (value: string | undefined) => {
      if (value === undefined) delete process.env.MNIST_LAB_TRAIN_STEP;
      else process.env.MNIST_LAB_TRAIN_STEP = value;
      try {
        return selectTrainStep(optimizer).name;
      } finally {
        delete process.env.MNIST_LAB_TRAIN_STEP;
      }
    };
    assert.equal(chosen(undefined), 'graph');
    assert.equal(chosen('auto'), 'graph');
    assert.equal(chosen('fused'), 'fused');
    assert.equal(chosen('generic'), 'generic');
    assert.throws(() => chosen('fast'), (error: unknown) => error instanceof ConfigError && /MNIST_LAB_TRAIN_STEP: is 'fast'.*graph, fused, generic/.test(error.message));
    // tfjs's own optimizers have no fused kernel here: the graph step says so instead of training differently.
    process.env.MNIST_LAB_TRAIN_STEP = 'graph';
    try {
      assert.throws(() => selectTrainStep(tf.train.adagrad(0.1)), /is graph, but .*no fused TensorFlow kernel/);
    } finally {
      delete process.env.MNIST_LAB_TRAIN_STEP;
    }
  });
});
