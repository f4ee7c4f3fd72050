/**
 * An experiment described from its actual configuration, so the text a
 * notebook prints follows every edit (a preset's `description` only says
 * what the preset was for).
 */
import { OPTIMIZER_DEFAULTS, isCnnConfig } from '../model/config';
import type { ExperimentConfig } from '../runs/types';

const count = (value: number) => value.toLocaleString('en-US');

/**
 * One line a learner can check against the code, e.g. `S0-validated: 784-512-512-10
 * relu network, dropout 0.2; rmsprop lr 0.001, batch 128, 10 epochs, last 20% of the
 * training data for validation; 2,000 training / 1,000 test examples of mnist`.
 */
export function describeExperiment(experiment: ExperimentConfig): string {
  const { model, train } = experiment;
  const inputs = model.inputShape.reduce((product, size) => product * size, 1);
  // A CNN reads as its blocks, e.g. `28x28x1 conv 32-64 (3x3, pool 2)-10`.
  const layers = isCnnConfig(model)
    ? `${model.inputShape.join('x')} conv ${model.filters.join('-')} (${model.kernelSize}x${model.kernelSize}${model.poolSize > 0 ? `, pool ${model.poolSize}` : ''})-${[...model.denseUnits, model.numClasses].join('-')}`
    : [inputs, ...model.hiddenUnits, model.numClasses].join('-');
  const dropout = model.dropoutRate > 0 ? `dropout ${model.dropoutRate}` : 'no dropout';
  const learningRate = model.optimizerOptions.learningRate ?? OPTIMIZER_DEFAULTS[model.optimizer].learningRate;
  const validation = experiment.validateOnTest
    ? 'the test set as validation data'
    : train.validationSplit > 0
      ? `the last ${Math.round(train.validationSplit * 100)}% of the training data for validation`
      : 'no validation';
  const best = experiment.restoreBestWeights ? ', keeps the epoch with the lowest val_loss' : '';
  const data =
    `${experiment.trainLimit === undefined ? 'all' : count(experiment.trainLimit)} training / ` +
    `${experiment.testLimit === undefined ? 'all' : count(experiment.testLimit)} test examples of ${experiment.dataset}` +
    (experiment.scaleInputs ? '' : ', pixels not scaled to [0, 1]');
  return (
    `${experiment.id}: ${layers} ${model.activation} network, ${dropout}; ` +
    `${model.optimizer} lr ${learningRate}, batch ${train.batchSize}, ${train.epochs} epoch${train.epochs === 1 ? '' : 's'}, ${validation}${best}; ${data}`
  );
}
