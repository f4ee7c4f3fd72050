/**
 * Optimizers with Keras 3's exact update rules. tfjs's own differ in small
 * ways that matter for a reproduction (Adam adds epsilon after bias-correcting
 * the second moment; Keras adds it to the raw one) and spend ops on state
 * that is unused at Keras's defaults (RMSprop's momentum buffer).
 *
 * Each class reports the tfjs class name and config and keeps its state in
 * tfjs's weight layout (`iter`, then one slot list per state kind), so a
 * checkpoint saved with `includeOptimizer: true` loads with a plain
 * `tf.loadLayersModel` and its state can be handed back to these classes.
 */
import { tf } from '../backend';
import { resolveOptimizerOptions, type OptimizerName, type OptimizerOptions } from './config';

/** A tensor with the name tfjs stores it under in a checkpoint. */
export type NamedTensor = { name: string; tensor: tf.Tensor };
type NamedTensorMap = tf.NamedTensorMap;

/** One kind of optimizer state kept per weight (e.g. RMSprop's running average). */
export interface Slot {
  originalName: string;
  variable: tf.Variable;
}

/** Shared bookkeeping: slots per variable, the iteration count, constants as tensors. */
abstract class KerasOptimizer extends tf.Optimizer {
  /** One list of state slots per kind (e.g. RMSprop: mean squares, momentum). */
  protected slots: Slot[][];
  private constants = new Map<number, tf.Scalar>();

  constructor(
    protected readonly learningRate: number,
    protected readonly slotSuffixes: readonly string[],
  ) {
    super();
    this.slots = slotSuffixes.map(() => []);
  }

  /** A scalar tensor kept for the optimizer's life, so no step re-uploads constants. */
  protected constant(value: number): tf.Scalar {
    let scalar = this.constants.get(value);
    if (scalar === undefined) {
      scalar = tf.keep(tf.scalar(value));
      this.constants.set(value, scalar);
    }
    return scalar;
  }

  private slotFor(kind: number, index: number, variable: tf.Variable, name: string): tf.Variable {
    const list = this.slots[kind];
    if (list[index] === undefined) {
      list[index] = {
        originalName: `${name}/${this.slotSuffixes[kind]}`,
        variable: tf.tidy(() => tf.zerosLike(variable).variable(false)),
      };
    }
    return list[index].variable;
  }

  override applyGradients(variableGradients: NamedTensorMap | NamedTensor[]): void {
    const list: NamedTensor[] = Array.isArray(variableGradients)
      ? variableGradients
      : Object.keys(variableGradients).map((name) => ({ name, tensor: variableGradients[name] }));
    const registered = tf.engine().registeredVariables;
    const step = this.iterations + 1;
    tf.tidy(() => {
      const stepConstants = this.beginStep(step);
      list.forEach(({ name, tensor: gradient }, index) => {
        const variable = registered[name];
        if (variable === undefined || gradient == null) return;
        const slots = this.slotSuffixes.map((_, kind) => this.slotFor(kind, index, variable, name));
        this.updateVariable(variable, gradient, slots, stepConstants);
      });
    });
    this.incrementIterations();
  }

  /** Per-step values shared by every variable (e.g. Adam's bias correction), created inside the step's tidy. */
  protected beginStep(_step: number): tf.Scalar[] {
    return [];
  }

  /** Keras's update rule for one weight, given its gradient and its slots. */
  protected abstract updateVariable(variable: tf.Variable, gradient: tf.Tensor, slots: tf.Variable[], stepConstants: tf.Scalar[]): void;

  /** The last `iter` tensor handed out; tfjs's model.save never disposes it, so we do on the next call. */
  private iterationTensor: tf.Tensor | null = null;

  /** The optimizer's state (`iter`, then each slot of each weight), as a checkpoint stores it. */
  override async getWeights(): Promise<NamedTensor[]> {
    const state = this.slots.flat().map((slot) => ({ name: slot.originalName, tensor: slot.variable as tf.Tensor }));
    const iterations = await this.saveIterations();
    this.iterationTensor?.dispose();
    this.iterationTensor = iterations.tensor;
    return [iterations, ...state];
  }

  /** Restore the state {@link getWeights} gave (e.g. from a checkpoint). */
  override async setWeights(weightValues: NamedTensor[]): Promise<void> {
    const values = await this.extractIterations(weightValues);
    const perKind = values.length / this.slotSuffixes.length;
    this.disposeSlots();
    this.slots = this.slotSuffixes.map((_, kind) =>
      values.slice(kind * perKind, (kind + 1) * perKind).map((value) => ({ originalName: value.name, variable: value.tensor.variable(false) })),
    );
  }

  private disposeSlots(): void {
    for (const slot of this.slots.flat()) slot.variable.dispose();
    this.slots = this.slotSuffixes.map(() => []);
  }

  override dispose(): void {
    super.dispose();
    this.disposeSlots();
    for (const scalar of this.constants.values()) scalar.dispose();
    this.constants.clear();
    this.iterationTensor?.dispose();
    this.iterationTensor = null;
  }
}

/** Keras RMSprop: `v = rho v + (1 - rho) g^2`, `w -= lr g / sqrt(v + epsilon)` (zero-initialised `v`). */
export class KerasRMSprop extends KerasOptimizer {
  static className = 'RMSProp';

  constructor(
    learningRate: number,
    readonly rho: number,
    readonly momentum: number,
    readonly epsilon: number,
  ) {
    super(learningRate, ['rms', 'momentum']);
  }

  /** Keras's update rule for one weight. */
  protected updateVariable(variable: tf.Variable, gradient: tf.Tensor, [meanSquare, moment]: tf.Variable[]): void {
    const newMeanSquare = tf.add(tf.mul(meanSquare, this.constant(this.rho)), tf.mul(tf.square(gradient), this.constant(1 - this.rho)));
    meanSquare.assign(newMeanSquare);
    const increment = tf.div(tf.mul(gradient, this.constant(this.learningRate)), tf.sqrt(tf.add(newMeanSquare, this.constant(this.epsilon))));
    if (this.momentum > 0) {
      const newMoment = tf.add(tf.mul(moment, this.constant(this.momentum)), increment);
      moment.assign(newMoment);
      variable.assign(tf.sub(variable, newMoment));
    } else {
      variable.assign(tf.sub(variable, increment));
    }
  }

  getConfig(): tf.serialization.ConfigDict {
    return { learningRate: this.learningRate, decay: this.rho, momentum: this.momentum, epsilon: this.epsilon, centered: false };
  }
}

/** Keras Adam: epsilon added to `sqrt(v)` of the raw second moment, bias correction folded into the step size. */
export class KerasAdam extends KerasOptimizer {
  static className = 'Adam';

  constructor(
    learningRate: number,
    readonly beta1: number,
    readonly beta2: number,
    readonly epsilon: number,
  ) {
    super(learningRate, ['m', 'v']);
  }

  protected override beginStep(step: number): tf.Scalar[] {
    const alpha = (this.learningRate * Math.sqrt(1 - Math.pow(this.beta2, step))) / (1 - Math.pow(this.beta1, step));
    return [tf.scalar(alpha)];
  }

  /** Keras's update rule for one weight. */
  protected updateVariable(variable: tf.Variable, gradient: tf.Tensor, [firstMoment, secondMoment]: tf.Variable[], [alpha]: tf.Scalar[]): void {
    const newFirst = tf.add(firstMoment, tf.mul(tf.sub(gradient, firstMoment), this.constant(1 - this.beta1)));
    const newSecond = tf.add(secondMoment, tf.mul(tf.sub(tf.square(gradient), secondMoment), this.constant(1 - this.beta2)));
    firstMoment.assign(newFirst);
    secondMoment.assign(newSecond);
    variable.assign(tf.sub(variable, tf.div(tf.mul(newFirst, alpha), tf.add(tf.sqrt(newSecond), this.constant(this.epsilon)))));
  }

  getConfig(): tf.serialization.ConfigDict {
    return { learningRate: this.learningRate, beta1: this.beta1, beta2: this.beta2, epsilon: this.epsilon };
  }
}

/** Keras SGD without momentum: `w -= lr g`. */
export class KerasSGD extends KerasOptimizer {
  static className = 'SGD';

  constructor(learningRate: number) {
    super(learningRate, []);
  }

  /** Keras's update rule for one weight. */
  protected updateVariable(variable: tf.Variable, gradient: tf.Tensor): void {
    variable.assign(tf.sub(variable, tf.mul(gradient, this.constant(this.learningRate))));
  }

  getConfig(): tf.serialization.ConfigDict {
    return { learningRate: this.learningRate };
  }
}

/**
 * Keras SGD with momentum, in tfjs's `Momentum` form (`a = momentum a + g`,
 * `w -= lr a`), which equals Keras's `m = momentum m - lr g`, `w += m` at a
 * constant learning rate.
 */
export class KerasMomentumSGD extends KerasOptimizer {
  static className = 'Momentum';

  constructor(
    learningRate: number,
    readonly momentum: number,
  ) {
    super(learningRate, ['momentum']);
  }

  /** Keras's update rule for one weight. */
  protected updateVariable(variable: tf.Variable, gradient: tf.Tensor, [accumulation]: tf.Variable[]): void {
    const newAccumulation = tf.add(tf.mul(accumulation, this.constant(this.momentum)), gradient);
    accumulation.assign(newAccumulation);
    variable.assign(tf.sub(variable, tf.mul(newAccumulation, this.constant(this.learningRate))));
  }

  getConfig(): tf.serialization.ConfigDict {
    return { learningRate: this.learningRate, momentum: this.momentum, useNesterov: false };
  }
}

/** An optimizer by Keras name with Keras's defaults, overridden field by field. */
export function createOptimizer(name: OptimizerName, overrides: OptimizerOptions = {}): tf.Optimizer {
  const options = resolveOptimizerOptions(name, overrides);
  switch (name) {
    case 'rmsprop':
      return new KerasRMSprop(options.learningRate, options.rho, options.momentum, options.epsilon);
    case 'adam':
      return new KerasAdam(options.learningRate, options.beta1, options.beta2, options.epsilon);
    case 'sgd':
      return options.momentum > 0 ? new KerasMomentumSGD(options.learningRate, options.momentum) : new KerasSGD(options.learningRate);
  }
}
