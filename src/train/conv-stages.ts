/**
 * The convolutional layers in `fit`'s forward plan: Conv2D and MaxPooling2D
 * as stages and their eager forward pass (the eager training step for
 * plans that contain them is createAutodiffStep in step.ts). The Dense/Dropout steps of step.ts write their
 * backward pass by hand; for convolutions the gradients come from autodiff
 * instead (tfjs's here, TensorFlow's symbolic gradients in the graph step,
 * see graph-layers.ts).
 */
import { tf } from '../backend';
import { ConfigError } from '../errors';

type Padding = 'valid' | 'same';

/** A stage of the plan that is not a Dense/Dropout/Flatten stage. */
export type ConvStage =
  /** Each batch reshaped to the model's input shape (the data arrive as rows of pixels). */
  | { kind: 'input'; shape: number[] }
  | { kind: 'conv2d'; kernel: tf.Variable; bias: tf.Variable | null; activation: string; strides: [number, number]; padding: Padding }
  | { kind: 'maxPooling2d'; poolSize: [number, number]; strides: [number, number]; padding: Padding };

const CONV_ACTIVATIONS = ['relu', 'linear', 'sigmoid', 'tanh'];

const pair = (value: unknown): [number, number] => (Array.isArray(value) ? [Number(value[0]), Number(value[1] ?? value[0])] : [Number(value), Number(value)]);

/** The stage for a Conv2D or MaxPooling2D layer, or null for other layers. */
export function planConvLayer(layer: tf.layers.Layer): ConvStage | null {
  const className = layer.getClassName();
  const config = layer.getConfig();
  if (className === 'Conv2D') {
    const [kernel, bias] = layer.weights.map((weight) => weight.read() as tf.Variable);
    const activation = String(config.activation ?? 'linear');
    if (!CONV_ACTIVATIONS.includes(activation)) throw new ConfigError('activation', `fit() does not support '${activation}' in Conv2D layers`, CONV_ACTIVATIONS.join(', '));
    if (config.dataFormat === 'channelsFirst') throw new ConfigError('dataFormat', 'fit() trains channels-last Conv2D layers', "dataFormat 'channelsLast' (Keras's default)");
    if (pair(config.dilationRate ?? 1).some((rate) => rate !== 1)) throw new ConfigError('dilationRate', 'fit() trains Conv2D layers without dilation', '1 (the default)');
    return { kind: 'conv2d', kernel, bias: bias ?? null, activation, strides: pair(config.strides), padding: config.padding as Padding };
  }
  if (className === 'MaxPooling2D') {
    const poolSize = pair(config.poolSize);
    return { kind: 'maxPooling2d', poolSize, strides: config.strides == null ? poolSize : pair(config.strides), padding: config.padding as Padding };
  }
  return null;
}

function activate(x: tf.Tensor4D, activation: string): tf.Tensor4D {
  switch (activation) {
    case 'relu':
      return tf.relu(x);
    case 'sigmoid':
      return tf.sigmoid(x);
    case 'tanh':
      return tf.tanh(x);
    default:
      return x;
  }
}

/**
 * One convolutional stage, eagerly (Keras's semantics: channels last, the
 * bias added, then the activation). `values` replaces a Conv2D stage's own
 * kernel and bias (a step that keeps weights elsewhere).
 */
export function applyConvStage(stage: ConvStage, x: tf.Tensor, values?: { kernel: tf.Tensor; bias: tf.Tensor | null }): tf.Tensor {
  switch (stage.kind) {
    case 'input':
      return tf.reshape(x, [x.shape[0], ...stage.shape]);
    case 'conv2d': {
      const kernel = (values?.kernel ?? stage.kernel) as tf.Tensor4D;
      const bias = values !== undefined ? values.bias : stage.bias;
      const fusable = stage.activation === 'relu' || stage.activation === 'linear';
      if (fusable) {
        return tf.fused.conv2d({ x: x as tf.Tensor4D, filter: kernel, strides: stage.strides, pad: stage.padding, bias: bias ?? undefined, activation: stage.activation === 'relu' ? 'relu' : 'linear' });
      }
      const linear = tf.conv2d(x as tf.Tensor4D, kernel, stage.strides, stage.padding);
      return activate(bias !== null ? tf.add(linear, bias) : linear, stage.activation);
    }
    case 'maxPooling2d':
      return tf.maxPool(x as tf.Tensor4D, stage.poolSize, stage.strides, stage.padding);
  }
}
