/**
 * An experiment = data + model + training, as one typed object, so a row of
 * the tutorials' table, an ablation cell and a notebook run are the same thing.
 */
import type { DatasetSource } from '../data/source';
import type { ModelConfig } from '../model/config';
import type { EvaluateResult, TrainConfig, TrainingHistory } from '../train/types';

/** What a tutorial reported for an experiment (accuracies as fractions 0-1). */
export interface ReferenceResult {
  /** Seed file the numbers come from, e.g. '001_c7b75ae818378f8e.txt'. */
  source: string;
  testAcc: number;
  trainAcc?: number;
  valAcc?: number;
  valLoss?: number;
  /** Anything a reader should know about how the number was produced. */
  note?: string;
}

/** An experiment: data, model and training as one typed object, so a row of the tutorials' table, an ablation cell and a notebook run are the same thing. */
export interface ExperimentConfig {
  /** Short id, e.g. 'S1-base'. */
  id: string;
  /** One line a learner can read. */
  description: string;
  /** A registered data set ('mnist', 'fashion-mnist') or a folder of images ({ folder: 'my-digits' }). */
  dataset: DatasetSource;
  /** Start from the weights of this trained run folder (fine-tuning; `train --init-from`) instead of fresh ones. */
  initFrom?: string;
  /** Class names in label order, recorded for folder data sets (predict names them). */
  classNames?: string[];
  /** Divide pixels by 255 (false = the "no /255" ablation). */
  scaleInputs: boolean;
  /** The network: an MlpConfig, or a CnnConfig (`architecture: 'cnn'`). */
  model: ModelConfig;
  train: TrainConfig;
  /**
   * Keep the weights of the epoch with the lowest val_loss and test those
   * (Keras ModelCheckpoint(save_best_only=True) then load_weights).
   */
  restoreBestWeights: boolean;
  /** Use the test set as validation data (tutorial 004 does), instead of validationSplit. */
  validateOnTest: boolean;
  /** Use only the first N training / test examples (quick mode, tests); undefined = all. */
  trainLimit?: number;
  testLimit?: number;
  reference?: ReferenceResult;
}

/** One finished run: everything a report or a chart needs, JSON-serialisable. */
export interface RunResult {
  /** Experiment id. */
  id: string;
  /** Seed used for this repeat (overrides model.seed and train.seed). */
  seed: number;
  config: ExperimentConfig;
  history: TrainingHistory;
  /** Test metrics of the weights that were kept (best epoch when restoreBestWeights). */
  test: EvaluateResult;
  /** Training accuracy of the last epoch (as Keras prints it, with dropout active). */
  finalTrainAcc: number;
  /** 0-based epoch with the lowest val_loss, or null without validation. */
  bestEpoch: number | null;
  bestValLoss: number | null;
  bestValAcc: number | null;
  /** finalTrainAcc - test.acc: the overfitting gap. */
  overfitGap: number;
  /** Median seconds per epoch (first epoch excluded when there are more than one). */
  epochSeconds: number;
  totalSeconds: number;
  /** The tfjs backend that ran it. */
  backend: string;
  /** Run folder with config, history, checkpoints, metrics; null when not saved. */
  runDir: string | null;
  /** ISO time the run finished. */
  finishedAt: string;
}
