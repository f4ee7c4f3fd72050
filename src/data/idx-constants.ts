/** File-format facts of IDX (see idx.ts), apart so the file recogniser can use them too. */

/** Type code for unsigned bytes, the only one MNIST-style files use. */
export const IDX_TYPE_UBYTE = 0x08;
/** Magic number of an image file: ubyte, three dimensions (count, rows, columns). */
export const IDX_IMAGES_MAGIC = 0x00000803;
/** Magic number of a label file: ubyte, one dimension (count). */
export const IDX_LABELS_MAGIC = 0x00000801;
/** The first two bytes of every gzip stream. */
export const GZIP_MAGIC = [0x1f, 0x8b] as const;
