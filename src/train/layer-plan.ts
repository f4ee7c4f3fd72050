/**
 * A model from `createMlp` as the hand-written training steps see it: its
 * Dense layers in order, each with the Dropout layers that follow it, and
 * the one eager forward pass over them. The eager step (step.ts), the graph
 * step (graph-step.ts) and evaluation (evaluation.ts) all start from this
 * plan, so they agree on what the network computes.
 */
import { tf } from '../backend';
import { ConfigError } from '../errors';
import { ACTIVATIONS, type Activation } from '../model/config';

/** A Dense layer of the plan. */
export interface DenseLayer {
  kernel: tf.Variable;
  bias: tf.Variable | null;
  /** A hidden activation, or `softmax` for the output layer, whose logits go into the loss. */
  activation: Activation | 'softmax';
  /** The Dropout layers right after this one: their mask index (0, 1, ... through the model) and their rate. */
  dropouts: { index: number; rate: number }[];
}

/** The model's Dense layers and its trainable weights in the order the steps return gradients. */
export interface LayerPlan {
  layers: DenseLayer[];
  /** kernel, then bias, per Dense layer: exactly the model's trainable weights. */
  variables: tf.Variable[];
}

const isActivation = (name: string): name is Activation => (ACTIVATIONS as readonly string[]).includes(name);

/**
 * The plan of a Flatten/Dense/Dropout classifier ending in a softmax Dense
 * layer. Throws a ConfigError naming what does not fit: another kind of
 * layer, a hidden activation the steps cannot differentiate, a Dropout
 * before the first Dense layer, or trainable weights outside the Dense layers.
 */
export function planLayers(model: tf.LayersModel): LayerPlan {
  const layers: DenseLayer[] = [];
  let dropoutIndex = 0;
  model.layers.forEach((layer, index) => {
    const className = layer.getClassName();
    const config = layer.getConfig();
    if (className === 'Flatten' || className === 'InputLayer') return;
    if (className === 'Dense') {
      const [kernel, bias] = layer.weights.map((weight) => weight.read() as tf.Variable);
      const activation = String(config.activation ?? 'linear');
      const isOutput = index === model.layers.length - 1;
      if (isOutput && activation !== 'softmax') {
        throw new ConfigError('model', 'the last layer must be a Dense layer with softmax activation', 'a classifier built by createMlp()');
      }
      if (!isOutput && !isActivation(activation)) {
        throw new ConfigError('activation', `fit() does not support '${activation}' in hidden layers`, ACTIVATIONS.join(', '));
      }
      layers.push({ kernel, bias: bias ?? null, activation: isOutput ? 'softmax' : (activation as Activation), dropouts: [] });
    } else if (className === 'Dropout') {
      const rate = Number(config.rate);
      if (rate <= 0) return;
      const last = layers[layers.length - 1];
      if (last === undefined) throw new ConfigError('model', 'has a Dropout layer before the first Dense layer', 'Dropout after a hidden Dense layer');
      last.dropouts.push({ index: dropoutIndex++, rate });
    } else {
      throw new ConfigError('model', `fit() trains Flatten/Dense/Dropout networks and found a ${className} layer`, 'models from createMlp(), or use model.fit() for other layers');
    }
  });
  const last = model.layers[model.layers.length - 1];
  if (layers.length === 0 || last === undefined || last.getClassName() !== 'Dense') {
    throw new ConfigError('model', 'the last layer must be a Dense layer with softmax activation', 'a classifier built by createMlp()');
  }
  const variables = model.trainableWeights.map((weight) => weight.read() as tf.Variable);
  const ordered = layers.flatMap((layer) => (layer.bias !== null ? [layer.kernel, layer.bias] : [layer.kernel]));
  if (ordered.length !== variables.length || ordered.some((variable, index) => variable !== variables[index])) {
    throw new ConfigError('model', 'has trainable weights outside its Dense layers', 'models from createMlp()');
  }
  return { layers, variables };
}

/** Each Dropout layer's mask shape per example, in mask-index order: as wide as the Dense layer before it. */
export function dropoutMaskShapes(layers: readonly DenseLayer[]): { rate: number; units: number }[] {
  return layers.flatMap((layer) => layer.dropouts.map(({ rate }) => ({ rate, units: layer.kernel.shape[1] ?? 0 })));
}

/** What a backward pass needs from the forward pass: each Dense layer's input and activated output. */
export interface ForwardTrace {
  inputs: tf.Tensor2D[];
  outputs: tf.Tensor2D[];
}

/**
 * The eager forward pass: logits of the output layer (its softmax is left
 * to the loss, which takes logits as Keras does). `weights` are the values
 * to use, kernel then bias per layer (default: the layers' own variables);
 * `masks` switch dropout on, one per Dropout layer (null: inference);
 * `trace` collects what a hand-written backward pass needs.
 */
export function forwardLogits(
  layers: readonly DenseLayer[],
  images: tf.Tensor,
  masks: readonly tf.Tensor[] | null,
  weights: readonly tf.Tensor[] | null = null,
  trace?: ForwardTrace,
): tf.Tensor2D {
  const batchSize = images.shape[0];
  let x = (images.rank === 2 ? images : tf.reshape(images, [batchSize, -1])) as tf.Tensor2D;
  let weightIndex = 0;
  for (const layer of layers) {
    const kernel = (weights !== null ? weights[weightIndex++] : layer.kernel) as tf.Tensor2D;
    const bias = layer.bias === null ? null : ((weights !== null ? weights[weightIndex++] : layer.bias) as tf.Tensor1D);
    trace?.inputs.push(x);
    if (layer.activation === 'relu' || layer.activation === 'linear' || layer.activation === 'softmax') {
      x = tf.fused.matMul({ a: x, b: kernel, bias: bias ?? undefined, activation: layer.activation === 'relu' ? 'relu' : 'linear' }) as tf.Tensor2D;
    } else {
      const linear: tf.Tensor2D = bias !== null ? tf.add(tf.matMul(x, kernel), bias) : tf.matMul(x, kernel);
      x = (layer.activation === 'sigmoid' ? tf.sigmoid(linear) : tf.tanh(linear)) as tf.Tensor2D;
    }
    trace?.outputs.push(x);
    if (masks !== null) for (const dropout of layer.dropouts) x = tf.mul(x, masks[dropout.index]);
  }
  return x;
}
