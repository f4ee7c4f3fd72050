export * from './types';
export * from '../util/random';
export * from './progress';
export * from './fit';
export * from './evaluation';
export * from './layer-plan';
