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
import type { GraphPass } from './graph-step';
import { graphAttr, type GraphBuilder, type GraphOutput } from './graph';
import type { StepStage } from './step';

/** TensorFlow's op for each activation (null: none). */
const ACTIVATION_OPS: Record<string, string | null> = { relu: 'Relu', sigmoid: 'Sigmoid', tanh: 'Tanh', linear: null, softmax: null };

const F32 = graphAttr.type('float32');

/**
 * Build the forward pass of `stages` on the gathered batch `input` (rows of
 * pixels); `values` are the weights read from the graph's variables, in the
 * order of `variables`.
 */
export function layerGraphPass(g: GraphBuilder, stages: readonly StepStage[], variables: readonly tf.Variable[], values: GraphOutput[], input: GraphOutput): GraphPass {
  const valueOf = (variable: tf.Variable): GraphOutput => {
    const index = variables.indexOf(variable);
    if (index < 0) throw new ConfigError('model', 'has a layer weight that is not among its trainable weights', 'models from createMlp() or createCnn() (no frozen layers)');
    return values[index];
  };
  const activate = (x: GraphOutput, activation: string): GraphOutput => {
    if (!(activation in ACTIVATION_OPS)) throw new ConfigError('activation', `the graph step does not support '${activation}'`, 'relu, linear, sigmoid, tanh');
    const op = ACTIVATION_OPS[activation];
    return op === null ? x : g.float(op, x);
  };
  const addBias = (x: GraphOutput, bias: tf.Variable | null): GraphOutput => (bias === null ? x : g.out('BiasAdd', [x, valueOf(bias)], { T: F32, data_format: graphAttr.string('NHWC') }));

  let x = input;
  // One example's shape as the stages change it, for Flatten's static size.
  let shape: number[] = [];
  const dropoutSeeds: GraphOutput[] = [];
  for (const stage of stages) {
    switch (stage.kind) {
      case 'input':
        shape = [...stage.shape];
        x = g.out('Reshape', [x, g.intVector([-1, ...shape])], { T: F32, Tshape: graphAttr.type('int32') });
        break;
      case 'conv2d': {
        const [height, width] = shape;
        const [kernelHeight, kernelWidth, , filters] = stage.kernel.shape;
        const padding = stage.padding.toUpperCase();
        x = g.out('Conv2D', [x, valueOf(stage.kernel)], {
          T: F32,
          strides: graphAttr.listInt([1, stage.strides[0], stage.strides[1], 1]),
          padding: graphAttr.string(padding),
          data_format: graphAttr.string('NHWC'),
          dilations: graphAttr.listInt([1, 1, 1, 1]),
          use_cudnn_on_gpu: graphAttr.bool(true),
          explicit_paddings: graphAttr.listInt([]),
        });
        x = activate(addBias(x, stage.bias), stage.activation);
        shape = [convOutputSize(height, kernelHeight, stage.strides[0], stage.padding), convOutputSize(width, kernelWidth, stage.strides[1], stage.padding), filters];
        break;
      }
      case 'maxPooling2d': {
        const [height, width, channels] = shape;
        x = g.out('MaxPool', [x], {
          T: F32,
          ksize: graphAttr.listInt([1, stage.poolSize[0], stage.poolSize[1], 1]),
          strides: graphAttr.listInt([1, stage.strides[0], stage.strides[1], 1]),
          padding: graphAttr.string(stage.padding.toUpperCase()),
          data_format: graphAttr.string('NHWC'),
        });
        shape = [convOutputSize(height, stage.poolSize[0], stage.strides[0], stage.padding), convOutputSize(width, stage.poolSize[1], stage.strides[1], stage.padding), channels];
        break;
      }
      case 'flatten': {
        const units = shape.reduce((product, dim) => product * dim, 1);
        if (shape.length > 1) x = g.out('Reshape', [x, g.intVector([-1, units])], { T: F32, Tshape: graphAttr.type('int32') });
        shape = [units];
        break;
      }
      case 'dense':
        x = addBias(g.matMul(x, valueOf(stage.kernel)), stage.bias);
        // The output layer's softmax is inside the loss.
        if (!stage.isOutput) x = activate(x, stage.activation);
        shape = [stage.kernel.shape[1] as number];
        break;
      case 'dropout': {
        const seed = g.placeholder('int32', [2]);
        dropoutSeeds.push(seed);
        x = g.float('Mul', x, g.dropoutMask(x, seed, stage.rate));
        break;
      }
    }
  }
  return {
    logits: x,
    dropoutSeeds,
    backward(_crossEntropy, lossSum, batchSize) {
      const meanLoss = g.float('RealDiv', lossSum, batchSize);
      const gradients = g.gradients([meanLoss], values);
      // Every update waits for the whole backward pass, so no gradient reads a weight already updated in place.
      const all = gradients.map(([op]) => op);
      return { gradients, updateAfter: values.map(() => all) };
    },
  };
}
