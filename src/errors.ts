/**
 * Named errors. Every message says what is wrong, where, and what to do, so a
 * learner never has to read a stack trace to get unstuck. Tests match the
 * messages, so keep them stable.
 */

/** Base class: everything mnist-lab throws on purpose is one of these. */
export class MnistLabError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** A file exists but its bytes are not what the format promises. */
export class DataFormatError extends MnistLabError {
  constructor(
    readonly file: string,
    readonly problem: string,
    readonly expected?: string | number,
    readonly actual?: string | number,
    readonly fix = 'Delete the file and load again so it is downloaded afresh, or replace it with the official file.',
  ) {
    super(
      `${file}: ${problem}` +
        (expected !== undefined ? ` (expected ${expected}, got ${actual})` : '') +
        `. ${fix}`,
    );
  }
}

/** The decompressed payload does not hash to the registry's SHA-256. */
export class ChecksumError extends MnistLabError {
  constructor(
    readonly file: string,
    readonly expected: string,
    readonly actual: string,
    readonly fix = 'Delete it and load again so it is downloaded afresh, or replace it with the official file.',
  ) {
    super(
      `${file}: checksum mismatch (expected SHA-256 ${expected} of the decompressed payload, got ${actual}). ` +
        `The file is corrupt, truncated or a different data set. ${fix} ` +
        'To use a deliberately modified copy, switch the check off: loadData(name, { verify: false }), or MNIST_LAB_VERIFY=0 for the mnist-lab command.',
    );
  }
}

/** No source had the data set and it could not be downloaded. */
export class DatasetNotFoundError extends MnistLabError {
  constructor(
    readonly dataset: string,
    readonly searched: readonly string[],
    readonly hint: string,
  ) {
    super(
      `Data set '${dataset}' was not found. Looked in:\n` +
        searched.map((place) => `  - ${place}`).join('\n') +
        `\n${hint}`,
    );
  }
}

/** A download failed on every mirror. */
export class DownloadError extends MnistLabError {
  constructor(
    readonly file: string,
    readonly attempts: readonly string[],
    readonly hint: string,
  ) {
    super(`Could not download ${file}:\n${attempts.map((a) => `  - ${a}`).join('\n')}\n${hint}`);
  }
}

/** A config object or command-line flag has a value we cannot use. */
export class ConfigError extends MnistLabError {
  constructor(
    readonly field: string,
    readonly problem: string,
    readonly allowed?: string,
  ) {
    super(`${field}: ${problem}` + (allowed ? ` (allowed: ${allowed})` : ''));
  }
}
