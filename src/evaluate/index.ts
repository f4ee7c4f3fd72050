export * from './metrics';
export * from './overfitting';
export * from './run';
