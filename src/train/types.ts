/**
 * Shapes shared by training, evaluation, visualisation and the experiment
 * runner. Metric names follow Keras's `history.history` keys.
 */

/** Per-epoch numbers, Keras `history.history` style: one array entry per epoch. */
export interface HistoryRecord {
  loss: number[];
  acc: number[];
  /** Present when training had validation data. */
  val_loss?: number[];
  val_acc?: number[];
  /** Wall-clock seconds of each epoch (training + validation). */
  seconds: number[];
}

/** What `fit` returns: Keras's `History` (epoch numbers are 0-based, as in Keras). */
export interface TrainingHistory {
  epoch: number[];
  history: HistoryRecord;
}

import type { AugmentConfig } from './augment';

export interface TrainConfig {
  /** Passes over the training data. */
  epochs: number;
  /** Examples per gradient step (Keras default 32). */
  batchSize: number;
  /** Shuffle the training examples before each epoch. */
  shuffle: boolean;
  /**
   * Fraction of the training arrays held out for validation, Keras
   * semantics: the LAST fraction, taken before shuffling. 0 = none.
   */
  validationSplit: number;
  /** Seed for dropout masks and shuffling (initialisers use the model's seed). */
  seed: number;
  /** 0 = silent, 1 = progress bar, 2 = one line per epoch (Keras `verbose`). */
  verbose: 0 | 1 | 2;
  /**
   * Random rotations, shifts and zooms of every training batch (Keras
   * ImageDataGenerator's ranges; see src/train/augment.ts). Absent or all
   * zeros = no augmentation.
   */
  augment?: AugmentConfig;
}

export const DEFAULT_TRAIN: TrainConfig = {
  epochs: 10,
  batchSize: 32,
  shuffle: true,
  validationSplit: 0,
  seed: 42,
  verbose: 1,
};

/** What `evaluate` returns, Keras's `[loss, accuracy]`: test numbers of a trained model. */
export interface EvaluateResult {
  /** Mean categorical cross-entropy over all examples (from logits, as Keras computes it). */
  loss: number;
  /** Fraction of examples whose highest-scoring class is the label. */
  acc: number;
}
