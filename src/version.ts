/** r10e's version, printed by `--version` and recorded in `r10e-docker/pins.json`. */
export const VERSION = "0.1.0";
