export * from './types';
export * from '../util/random';
export * from './progress';
export * from './fit';
export * from './evaluation';
export * from './layer-plan';
export * from './snapshots';
export { TrainingInterruptedError, watchKernelInterrupt, type InterruptWatch } from './interrupt';
export * from './augment';
