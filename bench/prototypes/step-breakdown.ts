/**
 * Where the time of one S1-base step of src/train/step.ts goes now: batch
 * gather, JS dropout masks (generation and upload), the step itself, and
 * the running-sum updates. Wall time and process CPU time per step.
 *
 *   MNIST_LAB_DATA=... MNIST_LAB_BACKEND=tensorflow node --import tsx bench/prototypes/step-breakdown.ts [steps]
 */
import { tf, createMlp, DEFAULT_MLP } from '../../src';
import { SeededRandom } from '../../src/train';
import { planForward } from '../../src/train/fit';
import { createTrainStep, type StepStage } from '../../src/train/step';
import { BENCH_NETWORKS, loadBenchData } from '../common';

/** The plan `fit` itself derives from a createMlp model. */
const stagesOf = (model: tf.LayersModel): StepStage[] => planForward(model).stages;

async function main(): Promise<void> {
  const steps = Number(process.argv[2] ?? 200);
  const network = BENCH_NETWORKS['S1-base'];
  const data = await loadBenchData(network);
  const model = createMlp({ ...DEFAULT_MLP, hiddenUnits: [512, 512], dropoutRate: 0.2 });
  const variables = model.trainableWeights.map((weight) => weight.read() as tf.Variable);
  const batchSize = network.batchSize;
  const order = tf.tensor1d(new SeededRandom(1).permutation(data.trainImages.shape[0]), 'int32');
  const random = new SeededRandom(2);
  const parts = { gather: 0, maskJs: 0, maskUpload: 0, step: 0, sums: 0 };
  const loss = tf.variable(tf.scalar(0), false);
  const trainStep = await createTrainStep(stagesOf(model), variables, model.optimizer);
  const cpuStart = process.cpuUsage();
  const wallStart = performance.now();
  for (let step = 0; step < steps; step++) {
    tf.tidy(() => {
      let mark = performance.now();
      const lap = (part: keyof typeof parts) => {
        const now = performance.now();
        parts[part] += now - mark;
        mark = now;
      };
      const indices = tf.slice(order, (step * batchSize) % 47000, batchSize);
      const images = tf.gather(data.trainImages, indices);
      const labels = tf.gather(data.trainLabels, indices) as tf.Tensor2D;
      lap('gather');
      const arrays = [512, 512].map((units) => random.dropoutMask(batchSize * units, 0.2));
      lap('maskJs');
      const masks = arrays.map((array) => tf.tensor2d(array, [batchSize, 512]));
      lap('maskUpload');
      const { lossSum } = trainStep.run(images, labels, masks);
      lap('step');
      loss.assign(tf.add(loss, lossSum));
      lap('sums');
    });
  }
  const wall = performance.now() - wallStart;
  const cpu = process.cpuUsage(cpuStart);
  await trainStep.finish();
  console.log(`per step: wall ${(wall / steps).toFixed(2)} ms, cpu ${((cpu.user + cpu.system) / 1000 / steps).toFixed(2)} ms`);
  for (const [part, total] of Object.entries(parts)) console.log(`  ${part.padEnd(11)} ${(total / steps).toFixed(3)} ms`);
  console.log(`mean loss ${(loss.dataSync()[0] / steps / batchSize).toFixed(4)}`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
