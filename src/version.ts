/** r10e's version, printed by `--version` and recorded in `r10e-docker/pins.json`. */
export const VERSION = "0.1.0";

/**
 * r10e's image format version. Bump it, and the golden digests, whenever bytes change for the
 * same inputs (the image writer exports it as its own).
 */
export const FORMAT_VERSION = 5;
