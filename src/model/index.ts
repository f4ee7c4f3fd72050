export * from './config';
export * from './validate';
export * from './optimizers';
export * from './mlp';
export * from './summary';
