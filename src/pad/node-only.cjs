// Stands in for Node-only modules (fs, pngjs, jpeg-js...) in the drawing pad's browser bundle: the pad
// uses only the pure preprocessing of src/predict/image.ts, never decoding or files.
module.exports = {};
