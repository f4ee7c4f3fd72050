/**
 * The graph step's forward pass for any plan of Conv2D, MaxPooling2D,
 * Flatten, Dense and Dropout stages, with gradients from TensorFlow itself:
 * `TF_AddGradients` (through native/tf_graph.cc) adds the symbolic
 * gradients of the registered ops (Conv2DBackpropFilter/Input, MaxPoolGrad,
 * BiasAddGrad, ReluGrad, MatMul, ...), which is how Keras's `fit` gets them
 * on TensorFlow. No second, hand-written backward pass to keep in sync.
 */
import { tf } from '../backend';
import { ConfigError } from '../errors';
import { convOutputSize } from '../model/validate';
import { graphAttr, type GraphBuilder, type GraphOutput } from './graph';
import type { LayerPlan } from './layer-plan';

/**
 * A training graph's forward pass and how to get its gradients: what
 * createGraphTrainer needs from either kind of network.
 */
export interface GraphPass {
  /** Output layer's logits, one per piece of the batch (softmax left to the loss). */
  logits: GraphOutput[];
  /** One int32[2] placeholder per dropout mask, in the plan's mask order. */
  dropoutSeeds: GraphOutput[];
  /**
   * Gradients of the batch-mean loss for each weight (model order), as one
   * partial sum per piece of the batch, given each piece's
   * SoftmaxCrossEntropyWithLogits op, the loss sum and the batch size; and
   * per weight the ops its in-place update must wait for.
   */
  backward(crossEntropy: number[], lossSum: GraphOutput, batchSize: GraphOutput): { gradients: GraphOutput[][]; updateAfter: number[][] };
}

/** TensorFlow's op for each activation (null: none). */
const ACTIVATION_OPS: Record<string, string | null> = { relu: 'Relu', sigmoid: 'Sigmoid', tanh: 'Tanh', linear: null, softmax: null };

const F32 = graphAttr.type('float32');

/**
 * Build the forward pass of a CNN's plan on the gathered batch `input`
 * (rows of pixels); `values` are the weights read from the graph's
 * variables, in the order of `plan.variables`.
 */
export function layerGraphPass(g: GraphBuilder, plan: LayerPlan, values: GraphOutput[], input: GraphOutput, batchRows: GraphOutput): GraphPass {
  const valueOf = (variable: tf.Variable): GraphOutput => {
    const index = plan.variables.indexOf(variable);
    if (index < 0) throw new ConfigError('model', 'has a layer weight that is not among its trainable weights', 'models from createMlp() or createCnn() (no frozen layers)');
    return values[index];
  };
  const activate = (x: GraphOutput, activation: string): GraphOutput => {
    if (!(activation in ACTIVATION_OPS)) throw new ConfigError('activation', `the graph step does not support '${activation}'`, 'relu, linear, sigmoid, tanh');
    const op = ACTIVATION_OPS[activation];
    return op === null ? x : g.float(op, x);
  };
  const addBias = (x: GraphOutput, bias: tf.Variable | null): GraphOutput => (bias === null ? x : g.out('BiasAdd', [x, valueOf(bias)], { T: F32, data_format: graphAttr.string('NHWC') }));
  const reshape = (x: GraphOutput, shape: number[]) => g.out('Reshape', [x, g.intVector(shape)], { T: F32, Tshape: graphAttr.type('int32') });
  // One seed placeholder per mask, in mask-index order (the front's Dropout layers come first).
  const dropoutSeeds: GraphOutput[] = [];
  // Dropout follows Flatten or Dense, so x is [rows, units].
  const dropout = (x: GraphOutput, rate: number, units: number): GraphOutput => {
    const seed = g.placeholder('int32', [2]);
    dropoutSeeds.push(seed);
    return g.float('Mul', x, g.dropoutMask(batchRows, units, seed, rate));
  };

  let x = input;
  const front = plan.front;
  if (front !== null) {
    // One example's shape as the stages change it, for Flatten's static size.
    let shape: number[] = [];
    for (const stage of front.stages) {
      if (stage.kind === 'input') {
        shape = [...stage.shape];
        x = reshape(x, [-1, ...shape]);
      } else if (stage.kind === 'conv2d') {
        const [height, width] = shape;
        const [kernelHeight, kernelWidth, , filters] = stage.kernel.shape;
        x = g.out('Conv2D', [x, valueOf(stage.kernel)], {
          T: F32,
          strides: graphAttr.listInt([1, stage.strides[0], stage.strides[1], 1]),
          padding: graphAttr.string(stage.padding.toUpperCase()),
          data_format: graphAttr.string('NHWC'),
          dilations: graphAttr.listInt([1, 1, 1, 1]),
          use_cudnn_on_gpu: graphAttr.bool(true),
          explicit_paddings: graphAttr.listInt([]),
        });
        x = activate(addBias(x, stage.bias), stage.activation);
        shape = [convOutputSize(height, kernelHeight, stage.strides[0], stage.padding), convOutputSize(width, kernelWidth, stage.strides[1], stage.padding), filters];
      } else {
        const [height, width, channels] = shape;
        x = g.out('MaxPool', [x], {
          T: F32,
          ksize: graphAttr.listInt([1, stage.poolSize[0], stage.poolSize[1], 1]),
          strides: graphAttr.listInt([1, stage.strides[0], stage.strides[1], 1]),
          padding: graphAttr.string(stage.padding.toUpperCase()),
          data_format: graphAttr.string('NHWC'),
        });
        shape = [convOutputSize(height, stage.poolSize[0], stage.strides[0], stage.padding), convOutputSize(width, stage.poolSize[1], stage.strides[1], stage.padding), channels];
      }
    }
    const flatUnits = shape.reduce((product, dim) => product * dim, 1);
    x = reshape(x, [-1, flatUnits]);
    for (const { rate } of front.dropouts) x = dropout(x, rate, flatUnits);
  }
  for (const layer of plan.layers) {
    x = addBias(g.matMul(x, valueOf(layer.kernel)), layer.bias);
    // The output layer's softmax is inside the loss.
    if (layer.activation !== 'softmax') x = activate(x, layer.activation);
    for (const { rate } of layer.dropouts) x = dropout(x, rate, layer.kernel.shape[1] ?? 0);
  }
  return {
    logits: [x],
    dropoutSeeds,
    backward(_crossEntropy, lossSum, batchSize) {
      const meanLoss = g.float('RealDiv', lossSum, batchSize);
      const gradients = g.gradients([meanLoss], values);
      // Every update waits for the whole backward pass, so no gradient reads a weight already updated in place.
      const all = gradients.map(([op]) => op);
      return { gradients: gradients.map((gradient) => [gradient]), updateAfter: values.map(() => all) };
    },
  };
}
