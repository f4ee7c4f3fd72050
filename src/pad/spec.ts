/**
 * What a drawing pad page is told by the lab: the trained model (topology
 * and weights, travelling with the page) and how to feed it. Shared by the
 * Node side that writes the page and the browser side that runs it, so it
 * imports nothing from either world.
 */

/** One weight array of the model, in the order of `weightsBase64`'s bytes (tfjs's weight manifest entry). */
export interface PadWeightSpec {
  name: string;
  shape: number[];
  dtype: 'float32';
  /** Stored as float16 (tfjs's weight quantization): the page gets float32 back when it loads the model. */
  quantization: { dtype: 'float16' };
}

/** The trained network, as `tf.loadLayersModel(tf.io.fromMemory(...))` takes it in the browser. */
export interface PadModelSpec {
  /** `model.toJSON()`: the layers and their configuration. */
  modelTopology: object;
  weightSpecs: PadWeightSpec[];
  /** All weights, float16 little-endian, concatenated, base64. */
  weightsBase64: string;
  /** Input shape without the batch axis (e.g. [28, 28]). */
  inputShape: number[];
  /** False for models trained on raw 0-255 pixels: the preprocessed image is multiplied back to that range. */
  scaleInputs: boolean;
  /** Name of each output class (digits by default). */
  classNames: string[];
}

/** Everything the browser side needs to build one pad. */
export interface PadSpec {
  model: PadModelSpec;
  /** Heading above the pad. */
  title: string;
  /** Side of the drawing canvas in CSS pixels. */
  canvasSize: number;
  /** Show each hidden layer's activations under the pad. */
  showActivations: boolean;
  /** Where `mnist-lab draw` accepts drawings (POST); null in notebooks and exported pages. */
  saveUrl: string | null;
}

/**
 * Side of the picture handed to `preprocessImage`: the drawing scaled down
 * (the network gets 28x28 anyway), so every update stays well inside one
 * animation frame. Saved drawings are this picture too: what you save is
 * what the pad read.
 */
export const PAD_PICTURE_SIZE = 140;

/** Attribute values tests and scripts read on the pad's root element. */
export const PAD_ROOT_ATTRIBUTE = 'data-mnist-lab';
export const PAD_ROOT_VALUE = 'drawing-pad';

/** What the save endpoint of `mnist-lab draw` receives. */
export interface PadSaveRequest {
  /** The class the learner says they drew (index into classNames). */
  label: number;
  /** The drawing as a PNG data URL (`canvas.toDataURL('image/png')`). */
  png: string;
}

/** What it answers. */
export interface PadSaveResponse {
  /** Path of the PNG written, relative to the data folder (e.g. "7/drawing-...png"). */
  file: string;
  /** How many drawings of that label the folder now holds. */
  count: number;
}
