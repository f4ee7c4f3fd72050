/** Picture files for `predict`: decoding and preprocessing live with the data loaders (src/data/image-decode.ts). */
export * from '../data/image-decode';
