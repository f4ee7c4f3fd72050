export * from './config';
export * from './validate';
export * from './optimizers';
export * from './mlp';
export * from './summary';
export * from './cnn';
export * from './factory';
