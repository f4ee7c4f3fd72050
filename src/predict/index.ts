/**
 * "What digit is in this picture?": preprocess a PNG or JPEG the way MNIST
 * was made, run the model, and report the most likely classes.
 */
import { tf } from '../backend';
import { predict } from '../evaluate/metrics';
import { outputClasses } from '../train/evaluation';
import { MNIST_IMAGE_SIZE, preprocessImageFile } from './image';

export * from './errors';
export { decodeImage, encodeJpeg, inputRows, preprocessImage, preprocessImageFile, readImageBytes, MNIST_IMAGE_SIZE, MNIST_DIGIT_BOX, MIN_CONTRAST, NOISE_FLOOR, MAX_IMAGE_MEGAPIXELS, PREPROCESS_MODES } from './image';
export type { RgbaImage, PreprocessMode } from './image';
export { otsuThreshold, extractInk, centreInMnistFrame, mnistPixels, resizedPixels, toGray, resizeArea, WORKING_SIZE } from '../data/image-preprocess';
export type { GrayImage, InkCrop } from '../data/image-preprocess';

/** One candidate class and the probability the model gives it. */
export interface ClassProbability {
  label: number;
  probability: number;
}

export interface PredictImageOptions {
  /** How many classes to report, most likely first. */
  topK?: number;
  /**
   * Whether the model was trained on pixels divided by 255 (the usual case).
   * False for models trained on raw 0-255 pixels (the "no /255" ablation):
   * the preprocessed image is multiplied back to that range.
   */
  scaleInputs?: boolean;
}

export const DEFAULT_PREDICT_IMAGE_OPTIONS: Required<PredictImageOptions> = {
  topK: 3,
  scaleInputs: true,
};

/** The `k` most probable classes of one row of probabilities, most likely first. */
export function topClasses(probabilities: ArrayLike<number>, k: number): ClassProbability[] {
  return Array.from(probabilities, (probability, label) => ({ label, probability }))
    .sort((a, b) => b.probability - a.probability || a.label - b.label)
    .slice(0, k);
}

/** Classify one preprocessed 28x28 image (784 values in [0, 1]). */
export function predictImage(model: tf.LayersModel, pixels: Float32Array, options: PredictImageOptions = {}): ClassProbability[] {
  const { topK, scaleInputs } = { ...DEFAULT_PREDICT_IMAGE_OPTIONS, ...options };
  const input = tf.tensor3d(scaleInputs ? pixels : pixels.map((value) => value * 255), [1, MNIST_IMAGE_SIZE, MNIST_IMAGE_SIZE]);
  try {
    const probabilities = predict(model, input);
    return topClasses(probabilities.subarray(0, outputClasses(model)), topK);
  } finally {
    input.dispose();
  }
}

/** Read a PNG/JPEG digit, preprocess it like MNIST and return the top classes (three by default) with probabilities. */
export async function predictImageFile(model: tf.LayersModel, file: string, options: PredictImageOptions = {}): Promise<ClassProbability[]> {
  return predictImage(model, await preprocessImageFile(file), options);
}
