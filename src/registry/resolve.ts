/**
 * The one step `verify`, `cp` (and later `sbom`) take before opening an image: an input that is
 * an existing path is used as it is; otherwise one that reads as a registry reference
 * (`host[:port]/repo[:tag]`, `…@sha256:<digest>`) is fetched into a temporary OCI layout
 * directory, which the image reader then opens like any other (DESIGN: registries).
 *
 * @module
 */
import { registerTemporary, removeTemporary } from "../signals.ts";
import { RegistryError } from "./errors.ts";
import type { ClientOptions } from "./client.ts";
import { looksLikeReference, parseReference } from "./reference.ts";

/** An input ready for `openImage`; dispose of it to remove what was fetched. */
export interface ResolvedImage extends AsyncDisposable {
  /** A path `openImage` reads. */
  path: string;
  /** The registry reference, when the input was one (`host/repo@sha256:…` as fetched). */
  reference?: string;
}

/** Options of `resolveImage`. */
export interface ResolveOptions extends ClientOptions {
  platform?: string;
  /** Parent of the temporary layout directory (default: the system one). */
  tempDir?: string;
  onProgress?: (line: string) => void;
}

/**
 * `input` as a path `openImage` can read: itself when it exists or is not a reference, else a
 * temporary layout with the reference's image (for `platform`, when given).
 * @throws {RegistryError} when the reference cannot be fetched or a blob does not match its digest.
 */
export async function resolveImage(
  input: string,
  options: ResolveOptions,
): Promise<ResolvedImage> {
  const asIs: ResolvedImage = { path: input, [Symbol.asyncDispose]: () => Promise.resolve() };
  try {
    await Deno.lstat(input);
    return asIs; // an existing path wins over a reference that reads the same
  } catch {
    // not a path: perhaps a reference
  }
  if (!looksLikeReference(input)) return asIs;
  const ref = parseReference(input);
  const { pullToLayout } = await import("./pull.ts");
  const dir = await Deno.makeTempDir({ dir: options.tempDir, prefix: "r10e-pull-" });
  // An interrupt (Ctrl-C) removes it too (issue 10: signals and leftovers).
  registerTemporary(dir);
  const remove = () => removeTemporary(dir);
  try {
    const pulled = await pullToLayout(ref, dir, options);
    return {
      path: dir,
      reference: `${ref.registry}/${ref.repository}@${pulled.digest}`,
      [Symbol.asyncDispose]: remove,
    };
  } catch (e) {
    await remove();
    if (e instanceof RegistryError) throw e;
    throw new RegistryError(`Cannot read image "${input}" from its registry`, { cause: e });
  }
}
