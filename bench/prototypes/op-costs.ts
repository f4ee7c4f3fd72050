/**
 * Where does a tfjs training step spend its time? Times single kinds of work
 * in isolation on the active backend: dispatch of a trivial op, the matrix
 * products of one S1-base step, one step of tf.train.rmsprop, a row gather,
 * a dataSync round trip, and tf.tidy's own overhead.
 *
 *   MNIST_LAB_BACKEND=tensorflow node --import tsx bench/prototypes/op-costs.ts
 */
import { initBackend, tf } from '../../src';

function timeIt(label: string, repeats: number, body: () => void): number {
  for (let i = 0; i < Math.min(20, repeats); i++) body();
  const started = performance.now();
  for (let i = 0; i < repeats; i++) body();
  const microseconds = ((performance.now() - started) * 1000) / repeats;
  console.log(`${label.padEnd(58)} ${microseconds.toFixed(1).padStart(9)} us`);
  return microseconds;
}

async function main(): Promise<void> {
  const backend = await initBackend({ quiet: true });
  console.log(`backend ${backend.name}`);
  const batch = 128;
  const scalar = tf.scalar(1);
  timeIt('add of two scalars (dispatch floor)', 5000, () => tf.add(scalar, scalar).dispose());
  timeIt('same inside tf.tidy', 5000, () => tf.tidy(() => tf.add(scalar, scalar)));
  timeIt('scalar dataSync round trip', 2000, () => {
    const sum = tf.add(scalar, scalar);
    sum.dataSync();
    sum.dispose();
  });

  const images = tf.randomUniform([48000, 784]);
  const indices = tf.tensor1d(Array.from({ length: batch }, (_, i) => i * 7), 'int32');
  timeIt('gather 128 rows of 48000x784', 500, () => tf.gather(images, indices).dispose());
  timeIt('slice 128 rows of 48000x784', 500, () => tf.slice(images, [1280, 0], [batch, 784]).dispose());

  const x = tf.randomUniform([batch, 784]);
  const w1 = tf.randomUniform([784, 512]);
  const w2 = tf.randomUniform([512, 512]);
  const b1 = tf.zeros([512]);
  const h = tf.randomUniform([batch, 512]);
  const flops = 2 * batch * 784 * 512;
  const t1 = timeIt('matMul 128x784 @ 784x512', 300, () => tf.matMul(x, w1).dispose());
  console.log(`  = ${(flops / t1 / 1000).toFixed(1)} GFLOP/s`);
  timeIt('fused matMul+bias+relu 128x784 @ 784x512', 300, () => tf.fused.matMul({ a: x, b: w1, bias: b1, activation: 'relu' }).dispose());
  timeIt('matMul transposeA 784x128 @ 128x512 (weight grad)', 300, () => tf.matMul(x, h, true, false).dispose());
  timeIt('matMul 128x512 @ 512x512', 300, () => tf.matMul(h, w2).dispose());

  const variables = [w1, w2, b1].map((value) => tf.variable(value.clone()));
  const grads = variables.map((variable) => tf.onesLike(variable).mul(1e-3));
  const optimizer = tf.train.rmsprop(0.001, 0.9, 0, 1e-7);
  const named = variables.map((variable, i) => ({ name: variable.name, tensor: grads[i] }));
  timeIt('tf.train.rmsprop applyGradients (3 variables)', 300, () => optimizer.applyGradients(named));
  timeIt('dropout 128x512', 1000, () => tf.tidy(() => tf.dropout(h, 0.2)));
  console.log(`live tensors ${tf.memory().numTensors}`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
