/** Errors of parameter export and import. */
import { MnistLabError } from '../errors';

/** A parameter file is missing, is not valid JSON/CSV, or lacks a field. */
export class ParamsFormatError extends MnistLabError {
  constructor(
    readonly file: string,
    readonly problem: string,
  ) {
    super(`${file}: ${problem}. Export the parameters again with exportParams (or \`mnist-lab params export\`); if you edited the file by hand, check it against the README.txt written beside it.`);
  }
}

/** The parameters on disk do not fit the model they are imported into. */
export class ParamsMismatchError extends MnistLabError {
  constructor(
    readonly layer: string,
    readonly problem: string,
    /** The matching layer's name in the file, when it differs from the model's. */
    readonly fileLayer?: string,
  ) {
    super(`Layer '${layer}'${fileLayer !== undefined && fileLayer !== layer ? ` (file layer '${fileLayer}')` : ''}: ${problem}. Import into a model with the same architecture (hidden layer sizes, input shape, number of classes) as the one that exported the parameters.`);
  }
}
