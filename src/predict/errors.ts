/** Errors of reading and preparing an image file (defined with the decoders in src/data/image-errors.ts). */
export * from '../data/image-errors';
