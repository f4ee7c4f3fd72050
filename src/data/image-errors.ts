/** Errors of reading and preparing an image file for prediction. */
import { MnistLabError } from '../errors';

/** Base class of every image problem, so callers can catch them together. */
export class ImageError extends MnistLabError {
  constructor(
    readonly file: string,
    message: string,
  ) {
    super(message);
  }
}

/** The file cannot be read, or claims to be PNG/JPEG but does not decode. */
export class UnreadableImageError extends ImageError {
  constructor(file: string, readonly reason: string) {
    super(file, `Cannot read the image ${file}: ${reason}. Check the path, and re-export the picture as PNG or JPEG if the file is damaged.`);
  }
}

/** The bytes are neither PNG nor JPEG. */
export class UnsupportedImageError extends ImageError {
  constructor(file: string, readonly firstBytes: string) {
    super(file, `${file} is not a PNG or JPEG image (it starts with bytes ${firstBytes}). Save or export the picture as .png or .jpg and try again.`);
  }
}

/** The image decodes but has no digit in it: every pixel is about the same shade. */
export class EmptyImageError extends ImageError {
  constructor(file: string, readonly contrast: number, readonly minimumContrast: number) {
    super(
      file,
      `${file} looks blank: the darkest and lightest pixels differ by only ${contrast} of 255 levels (at least ${minimumContrast} are needed to find a digit). ` +
        'Draw the digit with a thick dark pen on light paper (or light on dark), fill most of the picture with it, and try again.',
    );
  }
}
