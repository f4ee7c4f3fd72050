/** The photo-like pictures the tests make their test sets with (src/data/synthetic-photo.ts). */
export { photoOfDigit, type PhotoOptions, type PhotoParameters } from '../../src/data/synthetic-photo';
