/**
 * Probe: can tfjs-node run TensorFlow's fused `ResourceApplyRMSProp` kernel
 * (one multi-threaded pass over weights, mean squares and gradients) through
 * its raw-op binding, with resource variables made by `VarHandleOp`?
 */
import { initBackend, tf } from '../../src';

interface RawBackend {
  binding: { TF_ATTR_STRING: number; TF_ATTR_TYPE: number; TF_ATTR_SHAPE: number; TF_ATTR_BOOL: number; TF_FLOAT: number };
  executeSingleOutput(name: string, attrs: { name: string; type: number; value: unknown }[], inputs: tf.Tensor[]): tf.Tensor;
  executeMultipleOutputs(name: string, attrs: { name: string; type: number; value: unknown }[], inputs: tf.Tensor[], count: number): tf.Tensor[];
}

async function main(): Promise<void> {
  await initBackend({ quiet: true });
  const raw = tf.backend() as unknown as RawBackend;
  const b = raw.binding;
  let counter = 0;
  const handle = (shape: number[]) =>
    raw.executeSingleOutput(
      'VarHandleOp',
      [
        { name: 'container', type: b.TF_ATTR_STRING, value: '' },
        { name: 'shared_name', type: b.TF_ATTR_STRING, value: `probe_${counter++}` },
        { name: 'dtype', type: b.TF_ATTR_TYPE, value: b.TF_FLOAT },
        { name: 'shape', type: b.TF_ATTR_SHAPE, value: shape },
      ],
      [],
    );
  const dtypeAttr = [{ name: 'dtype', type: b.TF_ATTR_TYPE, value: b.TF_FLOAT }];
  const assign = (resource: tf.Tensor, value: tf.Tensor) => raw.executeMultipleOutputs('AssignVariableOp', dtypeAttr, [resource, value], 0);
  const read = (resource: tf.Tensor) => raw.executeSingleOutput('ReadVariableOp', dtypeAttr, [resource]);

  const shape = [784, 512];
  const weights = tf.randomUniform(shape);
  const gradient = tf.randomUniform(shape, -1e-2, 1e-2);
  const w = handle(shape);
  const ms = handle(shape);
  const mom = handle(shape);
  console.log('handle dtype', w.dtype, w.shape);
  assign(w, weights);
  assign(ms, tf.zeros(shape));
  assign(mom, tf.zeros(shape));
  const [lr, rho, momentum, epsilon] = [0.001, 0.9, 0, 1e-7].map((value) => tf.scalar(value));
  const applyAttrs = [
    { name: 'T', type: b.TF_ATTR_TYPE, value: b.TF_FLOAT },
    { name: 'use_locking', type: b.TF_ATTR_BOOL, value: false },
  ];
  const apply = () => raw.executeMultipleOutputs('ResourceApplyRMSProp', applyAttrs, [w, ms, mom, lr, rho, momentum, epsilon, gradient], 0);
  apply();
  // Reference: Keras / tfjs math on plain tensors.
  const expectedMs = tf.mul(tf.square(gradient), 0.1);
  const expected = tf.sub(weights, tf.div(tf.mul(gradient, 0.001), tf.sqrt(tf.add(expectedMs, 1e-7))));
  const got = read(w);
  console.log('max |diff| after one step', tf.max(tf.abs(tf.sub(got, expected))).dataSync()[0]);
  got.dispose();
  for (let i = 0; i < 20; i++) apply();
  const repeats = 300;
  let started = performance.now();
  for (let i = 0; i < repeats; i++) apply();
  console.log(`ResourceApplyRMSProp 784x512: ${(((performance.now() - started) * 1000) / repeats).toFixed(1)} us`);
  const variable = tf.variable(weights.clone());
  const meanSquare = tf.variable(tf.zeros(shape));
  const constants = [0.9, 0.1, 0.001, 1e-7].map((value) => tf.scalar(value));
  const opsStep = () =>
    tf.tidy(() => {
      const next = tf.add(tf.mul(meanSquare, constants[0]), tf.mul(tf.square(gradient), constants[1]));
      meanSquare.assign(next);
      variable.assign(tf.sub(variable, tf.div(tf.mul(gradient, constants[2]), tf.sqrt(tf.add(next, constants[3])))));
    });
  for (let i = 0; i < 20; i++) opsStep();
  started = performance.now();
  for (let i = 0; i < repeats; i++) opsStep();
  console.log(`KerasRMSprop-style ops 784x512: ${(((performance.now() - started) * 1000) / repeats).toFixed(1)} us`);
  started = performance.now();
  for (let i = 0; i < repeats; i++) read(w).dispose();
  console.log(`ReadVariableOp 784x512: ${(((performance.now() - started) * 1000) / repeats).toFixed(1)} us`);
  for (const resource of [w, ms, mom]) raw.executeMultipleOutputs('DestroyResourceOp', [{ name: 'ignore_lookup_error', type: b.TF_ATTR_BOOL, value: true }], [resource], 0);
  console.log('destroyed; live tensors', tf.memory().numTensors);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
