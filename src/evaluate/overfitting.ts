/**
 * Is the model overfitting? The report reads the training history the way a
 * teacher would: where validation loss bottomed out, how far it climbed
 * after that, and how far training accuracy ran ahead of test accuracy,
 * then says it in one sentence.
 */
import type { EvaluateResult, TrainingHistory } from '../train/types';
import { percent } from '../util/format';

/** val_loss rising by at least this fraction of its lowest value is overfitting. */
export const VAL_LOSS_RISE_OVERFITTING = 0.1;
/** A smaller rise than this is noise between epochs, not a trend. */
export const VAL_LOSS_RISE_NOISE = 0.02;
/** Train accuracy this far above test accuracy is overfitting even without a validation curve (accuracies are fractions: a hundredth is one percentage point). */
export const ACCURACY_GAP_OVERFITTING = 0.01;

export type FitVerdict = 'overfitting' | 'starting-to-overfit' | 'still-improving' | 'good-fit';

export interface OverfittingReport {
  /** One word for scripts and tables. */
  kind: FitVerdict;
  /** One sentence a learner can read. */
  verdict: string;
  /** Epochs in the history. */
  epochs: number;
  /** Training accuracy of the last epoch, as Keras printed it (dropout active). */
  finalTrainAcc: number;
  /** Accuracy on the test set. */
  testAcc: number;
  /** finalTrainAcc - testAcc: positive when the model does better on data it has seen. */
  accuracyGap: number;
  /** 0-based epoch with the lowest val_loss (as in `history.epoch`); null without validation. */
  bestEpoch: number | null;
  bestValLoss: number | null;
  /** val_loss of the last epoch; null without validation. */
  finalValLoss: number | null;
  /** finalValLoss - bestValLoss (0 when the last epoch is the best). */
  valLossRise: number | null;
  /** valLossRise / bestValLoss: 0.42 means val_loss ended 42% above its minimum. */
  valLossRiseRelative: number | null;
}

const percentOf = (fraction: number, digits = 1) => percent(fraction, { digits });

/**
 * Compare training with test numbers. Epochs in the verdict count from 1,
 * as Keras's "Epoch 3/10" lines do; `bestEpoch` in the report is 0-based
 * like `history.epoch`.
 */
export function overfittingReport(history: TrainingHistory, test: EvaluateResult): OverfittingReport {
  const { acc, val_loss: valLoss } = history.history;
  const epochs = acc.length;
  const finalTrainAcc = acc[epochs - 1] ?? Number.NaN;
  const accuracyGap = finalTrainAcc - test.acc;
  const trainTest = `train accuracy ${percentOf(finalTrainAcc)}, test ${percentOf(test.acc)}`;
  const base = { epochs, finalTrainAcc, testAcc: test.acc, accuracyGap };

  if (valLoss === undefined || valLoss.length === 0) {
    const kind: FitVerdict = accuracyGap >= ACCURACY_GAP_OVERFITTING ? 'overfitting' : 'good-fit';
    const verdict =
      kind === 'overfitting'
        ? `Overfitting: train accuracy ${percentOf(finalTrainAcc)} is ${(accuracyGap * 100).toFixed(1)} points above test accuracy ${percentOf(test.acc)} (no validation data, so there is no val_loss curve to say when it began).`
        : `No clear overfitting: ${trainTest} are within ${(ACCURACY_GAP_OVERFITTING * 100).toFixed(0)} point(s) (no validation data to follow val_loss).`;
    return { ...base, kind, verdict, bestEpoch: null, bestValLoss: null, finalValLoss: null, valLossRise: null, valLossRiseRelative: null };
  }

  let bestEpoch = 0;
  valLoss.forEach((value, epoch) => {
    if (value < valLoss[bestEpoch]) bestEpoch = epoch;
  });
  const bestValLoss = valLoss[bestEpoch];
  const lastEpoch = valLoss.length - 1;
  const finalValLoss = valLoss[lastEpoch];
  const valLossRise = finalValLoss - bestValLoss;
  const valLossRiseRelative = bestValLoss > 0 ? valLossRise / bestValLoss : 0;
  const trainKeptClimbing = finalTrainAcc > (acc[bestEpoch] ?? Number.POSITIVE_INFINITY);
  const lowest = `val_loss was lowest at epoch ${bestEpoch + 1}`;

  let kind: FitVerdict;
  let verdict: string;
  if (valLossRiseRelative >= VAL_LOSS_RISE_OVERFITTING) {
    kind = 'overfitting';
    verdict =
      `Overfitting: ${lowest} and rose ${percentOf(valLossRiseRelative, 0)} by epoch ${lastEpoch + 1}, ` +
      `while train accuracy ${trainKeptClimbing ? 'kept climbing to' : 'ended at'} ${percentOf(finalTrainAcc)} (test ${percentOf(test.acc)}).`;
  } else if (accuracyGap >= ACCURACY_GAP_OVERFITTING) {
    kind = 'overfitting';
    verdict =
      `Overfitting: train accuracy ${percentOf(finalTrainAcc)} is ${(accuracyGap * 100).toFixed(1)} points above test accuracy ${percentOf(test.acc)}, ` +
      (bestEpoch === lastEpoch ? 'although val_loss was still falling at the last epoch.' : `and ${lowest} (then rose ${percentOf(valLossRiseRelative, 0)}).`);
  } else if (valLossRiseRelative >= VAL_LOSS_RISE_NOISE) {
    kind = 'starting-to-overfit';
    verdict = `Starting to overfit: ${lowest} and has risen ${percentOf(valLossRiseRelative, 0)} since; ${trainTest}.`;
  } else if (bestEpoch === lastEpoch && lastEpoch > 0) {
    kind = 'still-improving';
    verdict = `Still improving: val_loss was lowest at the last epoch (${lastEpoch + 1}), so more epochs may help; ${trainTest}.`;
  } else {
    kind = 'good-fit';
    verdict = `No clear overfitting: ${lowest} and stayed within ${percentOf(VAL_LOSS_RISE_NOISE, 0)} of it; ${trainTest}.`;
  }
  return { ...base, kind, verdict, bestEpoch, bestValLoss, finalValLoss, valLossRise, valLossRiseRelative };
}
