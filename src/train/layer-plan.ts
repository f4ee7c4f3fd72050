/**
 * A model from `createMlp` or `createCnn` as the training steps see it:
 * its Dense layers in order, each with the Dropout layers that follow it,
 * the convolutional layers before them (CNNs), and the one eager forward
 * pass over them. The eager step (step.ts), the graph
 * step (graph-step.ts) and evaluation (evaluation.ts) all start from this
 * plan, so they agree on what the network computes.
 */
import { tf } from '../backend';
import { ConfigError } from '../errors';
import { ACTIVATIONS, type Activation } from '../model/config';
import { applyConvStage, planConvLayer, type ConvStage } from './conv-stages';

/** A Dense layer of the plan. */
export interface DenseLayer {
  kernel: tf.Variable;
  bias: tf.Variable | null;
  /** A hidden activation, or `softmax` for the output layer, whose logits go into the loss. */
  activation: Activation | 'softmax';
  /** The Dropout layers right after this one: their mask index (0, 1, ... through the model) and their rate. */
  dropouts: { index: number; rate: number }[];
  /**
   * On the first Dense layer of a CNN: the convolutional layers that run
   * before it (see {@link ConvFront}), so every forward pass over the
   * layers (training, validation, evaluation) includes them.
   */
  front?: ConvFront;
}

/**
 * What a CNN computes before its first Dense layer: each batch reshaped to
 * the model's input shape, the Conv2D and MaxPooling2D stages, Flatten,
 * then the Dropout layers right after Flatten. Its gradients come from
 * autodiff (conv-stages.ts, graph-layers.ts), not a hand-written pass.
 */
interface ConvFront {
  /** One example's shape as the model takes it, e.g. [28, 28, 1]. */
  inputShape: number[];
  stages: ConvStage[];
  /** Values per example after Flatten (the first Dense layer's inputs). */
  flatUnits: number;
  /** Dropout layers between Flatten and the first Dense layer. */
  dropouts: { index: number; rate: number }[];
}

/** The model's Dense layers and its trainable weights in the order the steps return gradients. */
export interface LayerPlan {
  layers: DenseLayer[];
  /** kernel, then bias, per Conv2D then Dense layer: exactly the model's trainable weights. */
  variables: tf.Variable[];
  /** The convolutional front of a CNN (also on `layers[0].front`), null for an MLP. */
  front: ConvFront | null;
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
  const convStages: ConvStage[] = [];
  const frontDropouts: { index: number; rate: number }[] = [];
  let dropoutIndex = 0;
  model.layers.forEach((layer, index) => {
    const className = layer.getClassName();
    const config = layer.getConfig();
    if (className === 'Flatten' || className === 'InputLayer') return;
    const conv = planConvLayer(layer);
    if (conv !== null) {
      if (layers.length > 0) throw new ConfigError('model', `has a ${className} layer after a Dense layer`, 'Conv2D and MaxPooling2D layers first, then Flatten and the Dense layers (createCnn)');
      convStages.push(conv);
      return;
    }
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
      if (last === undefined && convStages.length > 0) {
        frontDropouts.push({ index: dropoutIndex++, rate });
        return;
      }
      if (last === undefined) throw new ConfigError('model', 'has a Dropout layer before the first Dense layer', 'Dropout after a hidden Dense layer');
      last.dropouts.push({ index: dropoutIndex++, rate });
    } else {
      throw new ConfigError('model', `fit() trains Conv2D/MaxPooling2D/Flatten/Dense/Dropout networks and found a ${className} layer`, 'models from createMlp() or createCnn(), or use model.fit() for other layers');
    }
  });
  const last = model.layers[model.layers.length - 1];
  if (layers.length === 0 || last === undefined || last.getClassName() !== 'Dense') {
    throw new ConfigError('model', 'the last layer must be a Dense layer with softmax activation', 'a classifier built by createMlp()');
  }
  let front: ConvFront | null = null;
  if (convStages.length > 0) {
    const inputShape = model.inputs[0].shape.slice(1) as number[];
    // Convolutions take images, not rows of pixels: each batch is reshaped first.
    front = { inputShape, stages: [{ kind: 'input', shape: inputShape }, ...convStages], flatUnits: layers[0].kernel.shape[0] as number, dropouts: frontDropouts };
    layers[0].front = front;
  }
  const variables = model.trainableWeights.map((weight) => weight.read() as tf.Variable);
  const convWeights = convStages.flatMap((stage) => (stage.kind === 'conv2d' ? (stage.bias !== null ? [stage.kernel, stage.bias] : [stage.kernel]) : []));
  const ordered = [...convWeights, ...layers.flatMap((layer) => (layer.bias !== null ? [layer.kernel, layer.bias] : [layer.kernel]))];
  if (ordered.length !== variables.length || ordered.some((variable, index) => variable !== variables[index])) {
    throw new ConfigError('model', 'has trainable weights outside its Conv2D and Dense layers', 'models from createMlp() or createCnn()');
  }
  return { layers, variables, front };
}

/** Each Dropout layer's mask shape per example, in mask-index order: as wide as the Dense layer before it (or the Flatten output of a CNN). */
export function dropoutMaskShapes(layers: readonly DenseLayer[]): { rate: number; units: number }[] {
  const front = layers[0]?.front;
  const frontMasks = front !== undefined ? front.dropouts.map(({ rate }) => ({ rate, units: front.flatUnits })) : [];
  return [...frontMasks, ...layers.flatMap((layer) => layer.dropouts.map(({ rate }) => ({ rate, units: layer.kernel.shape[1] ?? 0 })))];
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
  const front = layers[0]?.front;
  if (front !== undefined) {
    let features: tf.Tensor = images;
    for (const stage of front.stages) {
      const values = stage.kind === 'conv2d' && weights !== null ? { kernel: weights[weightIndex++], bias: stage.bias !== null ? weights[weightIndex++] : null } : undefined;
      features = applyConvStage(stage, features, values);
    }
    x = tf.reshape(features, [batchSize, -1]) as tf.Tensor2D;
    if (masks !== null) for (const dropout of front.dropouts) x = tf.mul(x, masks[dropout.index]);
  }
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
