export * from './types';
export * from './random';
export * from './progress';
export * from './fit';
export * from './augment';
