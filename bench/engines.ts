/**
 * The project's training path as the benchmark calls it: `createModel` +
 * `fit` + `evaluateModel`, exactly what the notebooks and the CLI run. Kept
 * apart from the worker so it is the one place that follows src/train's API.
 */
import { tf } from '../src';
import { createModel } from '../src/model/factory';
import { fit } from '../src/train/fit';
import { evaluate } from '../src/train/evaluation';
import { selectTrainStep } from '../src/train/graph-step';
import { cpuSeconds, type EngineArgs, type EngineRun } from './worker';

export async function runProjectEngine({ network, data, epochs, seed }: EngineArgs): Promise<EngineRun> {
  const model = createModel({ ...network.model, seed });
  const step = selectTrainStep(model.optimizer);
  const tensorsAtEpochEnd: number[] = [];
  const cpuAtEpochEnd: number[] = [];
  // Images as the model takes them: [28, 28] for the MLPs (Flatten first, as the seeds' Keras models), [28, 28, 1] for the convnet.
  const imageShape = [-1, ...network.model.inputShape];
  const images = tf.reshape(data.allImages, imageShape);
  const history = await fit(model, images, data.allLabels, {
    epochs,
    batchSize: network.batchSize,
    validationSplit: network.validationSplit,
    augment: network.augment,
    shuffle: true,
    seed,
    verbose: 0,
    callbacks: {
      onEpochEnd: () => {
        tensorsAtEpochEnd.push(tf.memory().numTensors);
        cpuAtEpochEnd.push(cpuSeconds());
      },
    },
  });
  images.dispose();
  const testImages = tf.reshape(data.testImages, imageShape);
  const test = evaluate(model, testImages, data.testLabels);
  testImages.dispose();
  model.dispose();
  const record = history.history;
  return {
    epochSeconds: record.seconds,
    finalTrainAcc: record.acc[record.acc.length - 1],
    finalValAcc: record.val_acc !== undefined ? record.val_acc[record.val_acc.length - 1] : null,
    testAcc: test.acc,
    testLoss: test.loss,
    tensorsAtEpochEnd,
    cpuAtEpochEnd,
    note: `src/train fit (custom loop, ${step.name} step: ${step.reason}); epoch seconds from history.seconds (training + validation)`,
  };
}
