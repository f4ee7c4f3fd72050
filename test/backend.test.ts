import { test } from 'node:test';
import assert from 'node:assert/strict';
import { initBackend, tf, labInfo } from '../src';

test('the backend is chosen once and is the native one under CI', async () => {
  const info = await initBackend({ quiet: true });
  assert.ok(['tensorflow', 'wasm', 'cpu'].includes(info.name));
  assert.equal(tf.getBackend(), info.name);
  if (process.env.CI === 'true') {
    assert.equal(info.name, 'tensorflow', `CI must run on the native backend, but got ${info.name}: ${info.reason}`);
  }
  // A real computation on it.
  const product = tf.tidy(() => tf.matMul(tf.tensor2d([[1, 2]]), tf.tensor2d([[3], [4]])).dataSync()[0]);
  assert.equal(product, 11);
});

test('labInfo reports backend, versions and data-set locations', async () => {
  const info = await labInfo({ dataDir: process.env.MNIST_LAB_DATA });
  assert.ok(info.versions['@tensorflow/tfjs']);
  assert.ok('mnist' in info.datasets && 'fashion-mnist' in info.datasets);
  if (process.env.MNIST_LAB_DATA) assert.equal(info.datasets.mnist?.kind, 'explicit');
  assert.ok(['graph', 'fused', 'generic'].includes(info.trainStep.name));
  if (process.env.CI === 'true') assert.equal(info.trainStep.name, 'graph', `CI must train with the graph step: ${info.trainStep.reason}`);
});
