/**
 * Where r10e keeps a project's own files, relative to the project root (DESIGN: project root):
 * r10e-docker/, which `init` writes and the project commits (the build recipe and pins.json),
 * digests.json that `build --record` adds, and out/, git-ignored, where `build` writes the image.
 *
 * @module
 */

/** The folder of r10e's files at the project root. */
export const R10E_DIR = "r10e-docker";

/** The pins' file name inside r10e-docker/. */
export const PINS_FILE = "pins.json";

/** pins.json: the inputs `init` resolved and `build` must not drift from. */
export const PINS_PATH = `${R10E_DIR}/${PINS_FILE}`;

/** The builder image's Dockerfile that `init` writes and `--in docker` builds from. */
export const DOCKERFILE_PATH = `${R10E_DIR}/Dockerfile`;

/** digests.json: where `build --record` writes and `check` reads the expectation. */
export const DIGESTS_PATH = `${R10E_DIR}/digests.json`;

/** Where `build` writes the archive and the documents beside it (r10e-docker/.gitignore keeps it out of git). */
export const OUT_DIR = `${R10E_DIR}/out`;

/**
 * The archive's file name in r10e-docker/out/: a `/` in project_name becomes `-`
 * (`traefik/whoami` → `traefik-whoami-latest.tar.gz`). Every generated file uses this.
 */
export function archiveName(projectName: string, format: "tar.gz" | "tar"): string {
  return `${projectName.replaceAll("/", "-")}-latest.${format}`;
}
