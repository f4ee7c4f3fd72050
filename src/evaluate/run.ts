/**
 * Evaluate a saved run: load its checkpoint and the test set it was trained
 * for (same data set, same input scaling, same test subset), then collect
 * every number `mnist-lab evaluate` prints.
 */
import { initBackend } from '../backend';
import type { LoadDataOptions } from '../data/load';
import { describeSource, loadSourceData, type ImageFolderSource } from '../data/source';
import { allImages, loadImageFolder } from '../data/image-folder';
import { subset, scaleImages } from '../data/preprocess';
import { disposeWithOptimizer, loadCheckpoint, readRun, type CheckpointKind } from '../runs/folder';
import { DEFAULT_EVALUATE, evaluate } from '../train/evaluation';
import type { EvaluateResult } from '../train/types';
import { argmax, confusionMatrix, formatConfusionMatrix, mostConfidentMistakes, perClassAccuracy, predict, type Mistake } from './metrics';
import { overfittingReport, type OverfittingReport } from './overfitting';
import { percent } from '../util/format';

export interface EvaluateRunOptions {
  /** Which checkpoint to test; default: 'best' when the run has one, else 'last'. */
  which?: CheckpointKind;
  /** Where the data sets are (default: env MNIST_LAB_DATA, then the usual search). */
  dataDir?: string;
  /** How many of the most confident mistakes to list. */
  mistakes?: number;
  /** Examples per forward pass (default: evaluate's, so the numbers are those of the run's metrics.json). */
  batchSize?: number;
  /** Evaluate on every test example even when the run used only the first `testLimit`. */
  fullTestSet?: boolean;
  /** Test on every image of this folder instead ("how well does my MNIST model read my handwriting?"); see loadImageFolder. */
  dataFolder?: ImageFolderSource;
}

export const DEFAULT_EVALUATE_RUN_OPTIONS = {
  mistakes: 5,
  batchSize: DEFAULT_EVALUATE.batchSize,
};

/** Everything `mnist-lab evaluate` reports about one run (JSON-serialisable). */
export interface RunEvaluation {
  runDir: string;
  /** The checkpoint that was tested. */
  which: CheckpointKind;
  dataset: string;
  classNames: readonly string[];
  /** Test examples used. */
  testCount: number;
  test: EvaluateResult;
  /** Accuracy within each true class (NaN, printed as null in JSON, for a class absent from the test subset). */
  perClassAccuracy: number[];
  /** Rows = true class, columns = predicted class. */
  confusionMatrix: number[][];
  mostConfidentMistakes: Mistake[];
  /** Null when the run folder has no history yet. */
  overfitting: OverfittingReport | null;
}

/** Load a run's checkpoint and test set and compute the test numbers, confusion matrix, mistakes and overfitting report. */
export async function evaluateRun(runDir: string, options: EvaluateRunOptions = {}): Promise<RunEvaluation> {
  await initBackend();
  const run = await readRun(runDir);
  const which = options.which ?? (run.checkpoints.includes('best') ? 'best' : 'last');
  const dataOptions: LoadDataOptions = options.dataDir !== undefined ? { dataDir: options.dataDir } : {};
  let classNames: readonly string[];
  let images;
  let labels;
  let datasetName: string;
  if (options.dataFolder !== undefined) {
    const folder = await loadImageFolder(options.dataFolder.folder, { mode: options.dataFolder.mode, skipBad: options.dataFolder.skipBad, classNames: run.config.classNames });
    ({ images, labels } = allImages(folder));
    classNames = folder.classNames;
    datasetName = `folder ${folder.source.path} (all ${labels.shape[0]} images)`;
  } else {
    const dataset = await loadSourceData(run.config.dataset, dataOptions);
    const testLimit = options.fullTestSet ? undefined : run.config.testLimit;
    [images, labels] = testLimit === undefined ? [dataset.test.images, dataset.test.labels] : subset(dataset.test.images, dataset.test.labels, testLimit);
    classNames = run.config.classNames ?? dataset.classNames;
    datasetName = describeSource(run.config.dataset);
  }
  // The same input scaling the model was trained with: raw 0-255 pixels for the "no /255" ablation.
  const inputs = scaleImages(images, run.config.scaleInputs ? 255 : 1);
  const model = await loadCheckpoint(runDir, which);
  try {
    const batchSize = options.batchSize ?? DEFAULT_EVALUATE_RUN_OPTIONS.batchSize;
    const test = evaluate(model, inputs, labels, { batchSize });
    const probabilities = predict(model, inputs, { batchSize });
    const numClasses = classNames.length;
    const matrix = confusionMatrix(labels.data.subarray(labels.offset, labels.offset + labels.shape[0]), argmax(probabilities, numClasses), numClasses);
    return {
      runDir: run.runDir,
      which,
      dataset: datasetName,
      classNames,
      testCount: labels.shape[0],
      test,
      perClassAccuracy: perClassAccuracy(matrix),
      confusionMatrix: matrix,
      mostConfidentMistakes: mostConfidentMistakes(probabilities, labels, options.mistakes ?? DEFAULT_EVALUATE_RUN_OPTIONS.mistakes, numClasses),
      overfitting: run.history !== null && run.history.history.acc.length > 0 ? overfittingReport(run.history, test) : null,
    };
  } finally {
    disposeWithOptimizer(model);
  }
}

/** The evaluation as text for the terminal. */
export function formatRunEvaluation(evaluation: RunEvaluation): string {
  const names = evaluation.classNames;
  const digitNames = names.every((name, c) => name === String(c));
  const label = (c: number) => (digitNames ? String(c) : `${c} (${names[c]})`);
  const lines = [
    `Run ${evaluation.runDir} (${evaluation.which} checkpoint), ${evaluation.dataset} test set, ${evaluation.testCount} examples`,
    `test loss ${evaluation.test.loss.toFixed(4)}  test acc ${evaluation.test.acc.toFixed(4)}`,
    '',
    'Per-class accuracy:',
    ...evaluation.perClassAccuracy.map((accuracy, c) => `  ${label(c).padEnd(digitNames ? 2 : 16)} ${percent(accuracy)}`),
    '',
    'Confusion matrix (rows = true class, columns = predicted class):',
    formatConfusionMatrix(evaluation.confusionMatrix),
    '',
    `Most confident mistakes (test index: true -> predicted, confidence):`,
    ...(evaluation.mostConfidentMistakes.length === 0
      ? ['  none']
      : evaluation.mostConfidentMistakes.map(
          (mistake) => `  #${mistake.index}: ${label(mistake.trueLabel)} -> ${label(mistake.predictedLabel)}, ${percent(mistake.confidence)} (true class ${percent(mistake.trueLabelProbability)})`,
        )),
    '',
    evaluation.overfitting === null ? 'Overfitting report: the run has no training history yet.' : `Overfitting report: ${evaluation.overfitting.verdict}`,
  ];
  return lines.join('\n');
}
