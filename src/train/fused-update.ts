/**
 * Which fused TensorFlow kernel (`ResourceApplyRMSProp`, `ResourceApplyAdam`,
 * ...) carries out each Keras optimizer of src/model/optimizers.ts, with the
 * same math as Keras: one kernel call updates one weight in place.
 */
import type { tf } from '../backend';
import { KerasAdam, KerasMomentumSGD, KerasRMSprop, KerasSGD } from '../model/optimizers';

/**
 * A Keras optimizer as one of TensorFlow's fused update kernels: which
 * kernel, where its state lives and how its inputs line up. Both hand-written
 * steps use it: the eager one (step.ts) and the graph one (graph-step.ts).
 */
export interface FusedUpdate {
  /** TensorFlow kernel that updates one weight in place, e.g. `ResourceApplyRMSProp`. */
  op: string;
  /** Slot names in the optimizer's weight layout (src/model/optimizers.ts). */
  slotSuffixes: string[];
  /** Slots whose value the Keras rule never uses; written back as zeros. */
  zeroSlots: number[];
  /** Scalar hyper-parameters, in the order `inputs` takes them. */
  constants: number[];
  /** Bases whose powers beta^t the kernel takes every step (Adam's beta1, beta2); `t` is the 1-based iteration. */
  powerBases: number[];
  /** Bool attrs of the kernel besides `use_locking`. */
  boolAttrs: Record<string, boolean>;
  /** The kernel's inputs in order. */
  inputs<T>(weight: T, slots: T[], constants: T[], powers: T[], gradient: T): T[];
}

/** The fused kernel for a Keras optimizer from src/model/optimizers.ts, or null for other optimizers. */
export function fusedUpdate(optimizer: tf.Optimizer): FusedUpdate | null {
  const config = optimizer.getConfig() as Record<string, number>;
  // Not `instanceof`: tfjs's Optimizer answers it for any object with an optimizer's methods.
  const kind = Object.getPrototypeOf(optimizer) as object;
  if (kind === KerasRMSprop.prototype && optimizer instanceof KerasRMSprop) {
    // TensorFlow's ApplyRMSProp: ms = rho ms + (1-rho) g^2; mom = momentum mom + lr g / sqrt(ms + epsilon); w -= mom.
    // With momentum 0 Keras keeps that slot at zero while TensorFlow stores the last increment in it; write back zeros.
    return {
      op: 'ResourceApplyRMSProp',
      slotSuffixes: ['rms', 'momentum'],
      zeroSlots: optimizer.momentum === 0 ? [1] : [],
      constants: [config.learningRate, optimizer.rho, optimizer.momentum, optimizer.epsilon],
      powerBases: [],
      boolAttrs: {},
      inputs: (weight, slots, constants, _powers, gradient) => [weight, ...slots, ...constants, gradient],
    };
  }
  if (kind === KerasAdam.prototype && optimizer instanceof KerasAdam) {
    // TensorFlow's ApplyAdam: lr_t = lr sqrt(1-beta2^t)/(1-beta1^t); w -= lr_t m / (sqrt(v) + epsilon), as Keras.
    return {
      op: 'ResourceApplyAdam',
      slotSuffixes: ['m', 'v'],
      zeroSlots: [],
      constants: [config.learningRate, optimizer.beta1, optimizer.beta2, optimizer.epsilon],
      powerBases: [optimizer.beta1, optimizer.beta2],
      boolAttrs: { use_nesterov: false },
      inputs: (weight, slots, constants, powers, gradient) => [weight, ...slots, ...powers, ...constants, gradient],
    };
  }
  if (kind === KerasMomentumSGD.prototype && optimizer instanceof KerasMomentumSGD) {
    // TensorFlow's ApplyMomentum: a = momentum a + g; w -= lr a (the tfjs form KerasMomentumSGD keeps).
    return {
      op: 'ResourceApplyMomentum',
      slotSuffixes: ['momentum'],
      zeroSlots: [],
      constants: [config.learningRate, optimizer.momentum],
      powerBases: [],
      boolAttrs: { use_nesterov: false },
      inputs: (weight, [accumulation], [learningRate, momentum], _powers, gradient) => [weight, accumulation, learningRate, gradient, momentum],
    };
  }
  if (kind === KerasSGD.prototype) {
    return {
      op: 'ResourceApplyGradientDescent',
      slotSuffixes: [],
      zeroSlots: [],
      constants: [config.learningRate],
      powerBases: [],
      boolAttrs: {},
      inputs: (weight, _slots, [learningRate], _powers, gradient) => [weight, learningRate, gradient],
    };
  }
  return null;
}
