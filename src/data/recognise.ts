/**
 * What a file is when it is not the IDX file it should be: a blocked
 * download saved as an HTML page, a label file where the images belong
 * (swapped files), a zip archive, a Git LFS pointer. Checked only after the
 * magic number did not match, so a good file pays nothing.
 */
import { IDX_IMAGES_MAGIC, IDX_LABELS_MAGIC } from './idx-constants';

/** A sentence saying what the bytes are and what that means, or undefined when unrecognised. */
export function recogniseWrongFile(bytes: Uint8Array, expectedMagic?: number): string | undefined {
  const head = Buffer.from(bytes.subarray(0, 512)).toString('latin1').trimStart().toLowerCase();
  if (head.startsWith('<!doctype html') || head.startsWith('<html') || /^<head|^<body/.test(head)) {
    return 'this is an HTML web page, not the data: the download was blocked or redirected (a proxy, firewall or login page answered instead of the mirror)';
  }
  if (head.startsWith('<?xml') || head.startsWith('<error')) {
    return 'this is an XML error page from the server, not the data: the download was refused (for example a moved or private bucket)';
  }
  if (head.startsWith('version https://git-lfs')) {
    return 'this is a Git LFS pointer, not the data: the repository it came from was cloned without `git lfs pull`';
  }
  if (bytes[0] === 0x50 && bytes[1] === 0x4b && bytes[2] === 0x03 && bytes[3] === 0x04) {
    return "this is a zip archive (Keras's mnist.npz is one), not an IDX file: put mnist.npz in ~/.keras/datasets/, or extract the four IDX files";
  }
  if (bytes.length >= 4 && expectedMagic !== undefined) {
    const magic = new DataView(bytes.buffer, bytes.byteOffset, 4).getUint32(0, false);
    if (expectedMagic === IDX_IMAGES_MAGIC && magic === IDX_LABELS_MAGIC) {
      return 'this is a label file (IDX magic 0x00000801) where the images belong: the images and labels files look swapped';
    }
    if (expectedMagic === IDX_LABELS_MAGIC && magic === IDX_IMAGES_MAGIC) {
      return 'this is an image file (IDX magic 0x00000803) where the labels belong: the images and labels files look swapped';
    }
  }
  return undefined;
}
