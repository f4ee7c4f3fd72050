export * from './registry';
export * from './idx';
export * from './npz';
export * from './download';
export * from './load';
export * from './preprocess';
export * from './describe';
