/**
 * The one step `verify`, `cp` and `sbom` take to open an image: an input that is an existing
 * path is opened by the image reader as it is; otherwise one that reads as a registry reference
 * (`host[:port]/repo[:tag]`, `…@sha256:<digest>`) is opened from its registry, its layers
 * streamed when read (pull.ts; DESIGN: registries).
 *
 * @module
 */
import { type ImageInput, openImage } from "../image/reader.ts";
import { RegistryError } from "./errors.ts";
import type { ClientOptions } from "./client.ts";
import { looksLikeReference, parseReference } from "./reference.ts";

/** Options of `openInput`. */
export interface ResolveOptions extends ClientOptions {
  platform?: string;
  /** Parent of temporary directories (the reader's spool, fetched blobs). */
  tempDir?: string;
  onProgress?: (line: string) => void;
  /** For a reference: hears its layer bytes as they come (`RemoteImageOptions.onFetched`). */
  onFetched?: (bytes: number, more: number) => void;
  /**
   * For a reference: keep the blobs read in a temporary directory, for commands that read a
   * layer twice (cp, sbom); verify reads each once and keeps nothing.
   */
  spool?: boolean;
  /** For a local plain tar: large blobs are hashed when read, not when opened (`openImage`). */
  deferBlobHashes?: boolean;
}

/**
 * Opens `input`: a path (archive or layout directory) when it exists or is not a reference,
 * else the reference's image (for `platform`, when given) from its registry.
 * @throws {InputError} for an unreadable image.
 * @throws {RegistryError} when the reference cannot be fetched or a document does not match its
 * digest (a layer that does not is an InputError when it is read).
 */
export async function openInput(input: string, options: ResolveOptions): Promise<ImageInput> {
  const local = {
    platform: options.platform,
    tempDir: options.tempDir,
    deferBlobHashes: options.deferBlobHashes,
  };
  // An existing path wins over a reference that reads the same.
  const exists = await Deno.lstat(input).then(() => true, () => false);
  if (exists || !looksLikeReference(input)) return await openImage(input, local);
  const ref = parseReference(input);
  const { openRemoteImage } = await import("./pull.ts");
  try {
    return await openRemoteImage(ref, options);
  } catch (e) {
    if (e instanceof RegistryError || (e as { exitCode?: number }).exitCode === 2) throw e;
    throw new RegistryError(`Cannot read image "${input}" from its registry`, { cause: e });
  }
}
