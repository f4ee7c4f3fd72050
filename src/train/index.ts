export * from './types';
export * from './random';
export * from './progress';
export * from './fit';
export { TrainingInterruptedError, watchKernelInterrupt, type InterruptWatch } from './interrupt';
