/**
 * Data augmentation with Keras semantics: every batch of every epoch gets
 * freshly drawn random rotations, shifts and zooms (Keras 3's
 * `RandomRotation`, `RandomTranslation`, `RandomZoom`; the parameters are
 * named and measured as in `ImageDataGenerator`), never a pre-enlarged copy
 * of the data set. Pixels that come from outside the image are 0 (Keras
 * `fill_mode="constant"`), sampled bilinearly.
 *
 * The random draws are stateless: the parameters of step `s` of epoch `e`
 * come from a generator seeded by (seed, 'augment', e, s), so a resumed run
 * sees exactly the images the uninterrupted run saw. The three transforms
 * are composed into one projective matrix per image, as ImageDataGenerator
 * does, and applied by TensorFlow's `ImageProjectiveTransformV3` (the kernel
 * of Keras's layers): inside the training graph (graph-step.ts) or eagerly
 * (`applyTransforms`), with the same matrices, so both steps see the same images.
 */
import ndarray from 'ndarray';
import type { NdArray } from 'ndarray';
import { tf } from '../backend';
import { ConfigError } from '../errors';
import { deriveSeed, SeededRandom } from '../util/random';
import { GRAPH_PIECES, graphAttr, pieceSizes, type GraphBuilder, type GraphOutput, type HostTensor } from './graph';

/** Random transforms per batch, as Keras's `ImageDataGenerator` ranges. */
export interface AugmentConfig {
  /** Degrees: each image turns by a random angle in [-rotationRange, +rotationRange] (Keras `rotation_range`; `RandomRotation(rotationRange / 360)`). */
  rotationRange: number;
  /** Fraction of the width: horizontal shift drawn from [-widthShiftRange, +widthShiftRange] x width (Keras `width_shift_range`). */
  widthShiftRange: number;
  /** Fraction of the height: vertical shift drawn from [-heightShiftRange, +heightShiftRange] x height (Keras `height_shift_range`). */
  heightShiftRange: number;
  /** Zoom factor drawn from [1 - zoomRange, 1 + zoomRange], the same for both axes (Keras `zoom_range`; `RandomZoom(zoomRange)`). */
  zoomRange: number;
}

/** No augmentation: every range 0. */
export const NO_AUGMENT: AugmentConfig = { rotationRange: 0, widthShiftRange: 0, heightShiftRange: 0, zoomRange: 0 };

/** A mild augmentation for handwritten digits (digits must stay readable: no flips, small turns). */
export const DEFAULT_AUGMENT: AugmentConfig = { rotationRange: 10, widthShiftRange: 0.1, heightShiftRange: 0.1, zoomRange: 0.1 };

/** The Keras (ImageDataGenerator) names of the fields, for messages and the CLI flags. */
const AUGMENT_KERAS_NAMES: Record<keyof AugmentConfig, string> = {
  rotationRange: 'rotation_range',
  widthShiftRange: 'width_shift_range',
  heightShiftRange: 'height_shift_range',
  zoomRange: 'zoom_range',
};

/** Each field's allowed range: [min, max) for the fractions, [min, max] degrees for the rotation. */
const LIMITS: Record<keyof AugmentConfig, [number, number]> = {
  rotationRange: [0, 180],
  widthShiftRange: [0, 1],
  heightShiftRange: [0, 1],
  zoomRange: [0, 1],
};

/** Check an augmentation config (missing fields are 0) and return it complete; ConfigError names the bad field. */
export function validateAugment(input: Partial<AugmentConfig> | undefined, where = 'augment'): AugmentConfig {
  if (input === undefined) return { ...NO_AUGMENT };
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new ConfigError(where, `must be an object, got ${JSON.stringify(input)}`, `e.g. ${JSON.stringify(DEFAULT_AUGMENT)}`);
  }
  const config = { ...NO_AUGMENT };
  for (const key of Object.keys(input)) {
    if (!(key in LIMITS)) throw new ConfigError(`${where}.${key}`, 'is not an augmentation setting', Object.keys(LIMITS).join(', '));
  }
  for (const key of Object.keys(LIMITS) as (keyof AugmentConfig)[]) {
    const value = input[key];
    if (value === undefined) continue;
    const [min, max] = LIMITS[key];
    const inside = key === 'rotationRange' ? value <= max : value < max;
    if (typeof value !== 'number' || !Number.isFinite(value) || value < min || !inside) {
      const unit = key === 'rotationRange' ? 'degrees' : 'a fraction';
      throw new ConfigError(`${where}.${key}`, `must be ${unit} from ${min} to ${max}${key === 'rotationRange' ? '' : ' (exclusive)'}, got ${JSON.stringify(value)}`, `e.g. ${DEFAULT_AUGMENT[key]} (Keras ${AUGMENT_KERAS_NAMES[key]})`);
    }
    config[key] = value;
  }
  return config;
}

/** Whether a config changes any image at all. */
export function augmentActive(config: AugmentConfig | undefined): config is AugmentConfig {
  return config !== undefined && (config.rotationRange > 0 || config.widthShiftRange > 0 || config.heightShiftRange > 0 || config.zoomRange > 0);
}

/** One image's transform: a turn (degrees, counter-clockwise on screen), a shift (pixels, right and down) and a zoom (> 1 shows the digit smaller). */
export interface TransformParams {
  rotation: number;
  shiftX: number;
  shiftY: number;
  zoom: number;
}

/**
 * The 8 numbers of a projective transform (TensorFlow's layout) for
 * rotation, then shift, then zoom, about the image centre. They map each
 * OUTPUT pixel (x, y) to the input point it samples, as Keras builds them.
 */
export function transformMatrix(params: TransformParams, height: number, width: number): number[] {
  const angle = (params.rotation * Math.PI) / 180;
  const cos = Math.cos(angle);
  const sin = Math.sin(angle);
  const z = params.zoom;
  const cx = (width - 1) / 2;
  const cy = (height - 1) / 2;
  // input = z R (output - c) - R t + c, with R the rotation and t the shift.
  const tx = params.shiftX;
  const ty = params.shiftY;
  return [
    z * cos,
    -z * sin,
    cx - z * (cos * cx - sin * cy) - (cos * tx - sin * ty),
    z * sin,
    z * cos,
    cy - z * (sin * cx + cos * cy) - (sin * tx + cos * ty),
    0,
    0,
  ];
}

/** Where a batch sits in training: the transforms of (seed, epoch, step) are always the same. */
export interface AugmentPosition {
  seed: number;
  epoch: number;
  step: number;
}

/** The random parameters of `count` images at a training position (four draws per image, in a fixed order). */
function drawTransformParams(config: AugmentConfig, count: number, height: number, width: number, position: AugmentPosition): TransformParams[] {
  const random = new SeededRandom(deriveSeed(position.seed, 'augment', position.epoch, position.step));
  const symmetric = (range: number) => (2 * random.next() - 1) * range;
  return Array.from({ length: count }, () => ({
    rotation: symmetric(config.rotationRange),
    shiftX: symmetric(config.widthShiftRange) * width,
    shiftY: symmetric(config.heightShiftRange) * height,
    zoom: 1 + symmetric(config.zoomRange),
  }));
}

/** `[count, 8]` transform rows for a batch at a training position (row-major Float32Array). */
export function augmentTransforms(config: AugmentConfig, count: number, height: number, width: number, position: AugmentPosition): Float32Array {
  const rows = new Float32Array(count * 8);
  drawTransformParams(config, count, height, width, position).forEach((params, index) => rows.set(transformMatrix(params, height, width), index * 8));
  return rows;
}

/** `[height, width]` of the images in a batch of shape [n, h, w], [n, h, w, 1] or [n, h*w] (square images). */
export function imageSizeOf(shape: readonly number[]): [number, number] {
  if (shape.length === 3 || (shape.length === 4 && shape[3] === 1)) return [shape[1], shape[2]];
  if (shape.length === 2) {
    const side = Math.round(Math.sqrt(shape[1]));
    if (side * side === shape[1]) return [side, side];
  }
  throw new ConfigError('augment', `needs grayscale images shaped [n, height, width] (or flattened square ones), got [${shape.join(', ')}]`, 'images as loadData() or loadImageFolder() return them');
}

/** tfjs-node's backend object, for the TensorFlow op tfjs has no kernel for (ImageProjectiveTransformV3). */
interface NativeExecutor {
  binding: { TF_ATTR_STRING: number; TF_ATTR_TYPE: number; TF_FLOAT: number };
  executeSingleOutput(name: string, attrs: { name: string; type: number; value: unknown }[], inputs: tf.Tensor[]): tf.Tensor;
}

/**
 * Apply `[n, 8]` transforms to a batch of images (any of the shapes
 * `imageSizeOf` accepts; the result has the input's shape), bilinear, fill 0.
 * Native backend: TensorFlow's ImageProjectiveTransformV3, the op the graph
 * step uses; other backends: tfjs's `tf.image.transform`, the same math.
 */
export function applyTransforms(images: tf.Tensor, transforms: Float32Array): tf.Tensor {
  const [height, width] = imageSizeOf(images.shape);
  const count = images.shape[0];
  if (transforms.length !== count * 8) throw new ConfigError('transforms', `has ${transforms.length} numbers for ${count} images`, `${count * 8} (8 per image)`);
  return tf.tidy(() => {
    const batch = tf.reshape(tf.cast(images, 'float32'), [count, height, width, 1]) as tf.Tensor4D;
    const matrices = tf.tensor2d(transforms, [count, 8]);
    let out: tf.Tensor;
    if (tf.getBackend() === 'tensorflow') {
      const native = tf.backend() as unknown as NativeExecutor;
      const { binding } = native;
      out = native.executeSingleOutput(
        'ImageProjectiveTransformV3',
        [
          { name: 'dtype', type: binding.TF_ATTR_TYPE, value: binding.TF_FLOAT },
          { name: 'interpolation', type: binding.TF_ATTR_STRING, value: 'BILINEAR' },
          { name: 'fill_mode', type: binding.TF_ATTR_STRING, value: 'CONSTANT' },
        ],
        [batch, matrices, tf.tensor1d([height, width], 'int32'), tf.scalar(0)],
      );
    } else {
      out = tf.image.transform(batch, matrices, 'bilinear', 'constant', 0, [height, width]);
    }
    return tf.reshape(out, images.shape);
  });
}

/**
 * Augment a batch as training would at `position` (Keras: calling the
 * augmentation layers with `training=True`). For galleries and checks; `fit`
 * calls the same functions for every batch.
 */
export function augmentImages(images: tf.Tensor, config: AugmentConfig, position: AugmentPosition): tf.Tensor {
  const [height, width] = imageSizeOf(images.shape);
  return applyTransforms(images, augmentTransforms(config, images.shape[0], height, width, position));
}

/** The augmentation part of the training graph: what a step feeds it. */
export interface GraphAugmentation {
  height: number;
  width: number;
  /** The feeds for a batch's `[n, 8]` transforms (`augmentTransforms`). */
  feeds(transforms: Float32Array): [GraphOutput, HostTensor][];
}

/**
 * Insert the transform into a training graph: `rows` are the gathered batch
 * `[n, height * width]`; returns the augmented rows, whole (`output`) and
 * in the pieces the transform ran in (`pieces`, pieceSizes() of the batch,
 * for a step cut the same way), and what to feed per step. The pieces run
 * side by side: TensorFlow's CPU kernel works on one thread, and each
 * image's result does not depend on the cut.
 */
export function addGraphAugmentation(g: GraphBuilder, rows: GraphOutput, height: number, width: number, pieces = GRAPH_PIECES): { output: GraphOutput; pieces: GraphOutput[]; augmentation: GraphAugmentation } {
  const int32 = graphAttr.type('int32');
  const float32 = graphAttr.type('float32');
  const transforms = g.placeholder('float32', [-1, 8]);
  // Rows per piece, fed with the transforms (the last batch of an epoch is smaller).
  const pieceRows = g.placeholder('int32', [pieces]);
  const images = g.out('Reshape', [rows, g.intVector([-1, height, width, 1])], { T: float32, Tshape: int32 });
  const outputSize = g.intVector([height, width]);
  const fill = g.constant(0);
  const imagePieces = g.splitRows(images, pieceRows, pieces);
  const moved = g.splitRows(transforms, pieceRows, pieces).map((pieceTransforms, index) => g.projectiveTransform(imagePieces[index], pieceTransforms, outputSize, fill));
  const flat = (value: GraphOutput) => g.out('Reshape', [value, g.intVector([-1, height * width])], { T: float32, Tshape: int32 });
  return {
    // Graph ops that nothing fetches do not run: a step that takes the pieces never joins them.
    output: flat(moved.length === 1 ? moved[0] : g.out('ConcatV2', [moved, g.constant(0, 'int32')], { T: float32, N: graphAttr.int(pieces), Tidx: int32 })),
    pieces: moved.map(flat),
    augmentation: {
      height,
      width,
      feeds(values) {
        const count = values.length / 8;
        return [
          [transforms, { dtype: 'float32', shape: [count, 8], data: values }],
          [pieceRows, { dtype: 'int32', shape: [pieces], data: pieceSizes(count, pieces) }],
        ];
      },
    },
  };
}

/**
 * `count` augmented variants of one image (uint8 `[rows, columns]`, as
 * `loadData` gives it), the original first: `[count + 1, rows, columns]`
 * uint8, ready for `gallery()`. Each variant is what one training step would draw.
 */
export function augmentationVariants(image: NdArray, config: AugmentConfig, count: number, seed = 0): NdArray<Uint8Array> {
  const [rows, columns] = image.shape.slice(-2);
  const original = new Float32Array(rows * columns);
  for (let r = 0; r < rows; r++) for (let c = 0; c < columns; c++) original[r * columns + c] = image.shape.length === 3 ? image.get(0, r, c) : image.get(r, c);
  const variants = tf.tidy(() => {
    const batch = tf.tensor3d(Array.from({ length: count }, () => Array.from(original)).flat(), [count, rows, columns]);
    return Uint8Array.from(augmentImages(batch, config, { seed, epoch: 0, step: 0 }).dataSync(), (value) => Math.max(0, Math.min(255, Math.round(value))));
  });
  const data = new Uint8Array((count + 1) * rows * columns);
  data.set(Uint8Array.from(original), 0);
  data.set(variants, rows * columns);
  return ndarray(data, [count + 1, rows, columns]);
}
