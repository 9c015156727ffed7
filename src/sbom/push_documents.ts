/**
 * Where `r10e push` finds the documents of an archive: beside it, by the names `build` gives
 * them (`documentNames` of src/image/artifact_types.ts), or in `--documents DIR` under the same
 * names.
 *
 * A missing SBOM is made again from the image: it is a function of the image, so the bytes are
 * the ones `build` wrote. A missing provenance cannot be: it records how the image was built
 * (mode, builder, commit), which the image does not say; the push goes on without it and says so.
 * A document that names another image (left from an older build) is an error: attaching it would
 * tell the registry something false about this one.
 *
 * @module
 */
import { basename, dirname, join } from "node:path";
import { InputError } from "../errors.ts";
import type { ImageInput } from "../image/reader.ts";
import { formatPlatform } from "../image/platform.ts";
import type { DocumentFile } from "../registry/documents.ts";
import { archiveStem, type DocumentKind, documentNames } from "../image/artifact_types.ts";

/** Options of `findDocuments`. */
export interface FindOptions {
  /** `--documents DIR`: look there instead of beside the archive. */
  dir?: string;
  /** Makes the SBOM of one platform again (`r10e sbom`'s document), for one not found. */
  makeSbom: (kind: "spdx" | "cyclonedx", platform: string | undefined) => Promise<string>;
  /** Hears what was found, made again, or is missing. */
  onNote: (line: string) => void;
}

/**
 * The documents to attach to the image of `input` (read from `archivePath`).
 * @throws {InputError} for a document that is unreadable or describes another image.
 */
export async function findDocuments(
  archivePath: string,
  input: ImageInput,
  options: FindOptions,
): Promise<DocumentFile[]> {
  const images = input.images.filter((i) => i.manifestDigest !== null);
  if (images.length === 0) return [];
  // Format 3 and 4 archives carry their documents inside: push sends those.
  const index = input.indexJson ? JSON.parse(new TextDecoder().decode(input.indexJson)) : null;
  if (index?.manifests?.some((m: { artifactType?: unknown }) => m?.artifactType)) return [];
  const platforms = images.map((i) => (i.platform ? formatPlatform(i.platform) : ""));
  const several = images.length > 1;
  const dir = options.dir ?? dirname(archivePath);
  const where = options.dir ? `in "${options.dir}"` : `beside "${archivePath}"`;
  const names = documentNames(archiveStem(basename(archivePath)), platforms);
  // What the provenance must name: the index for several platforms, else the manifest.
  const top: string = several ? index?.manifests?.[0]?.digest : images[0].manifestDigest!;
  const out: DocumentFile[] = [];
  for (const n of names) {
    const path = join(dir, n.name);
    const describes = n.platform === null
      ? top
      : images[platforms.indexOf(n.platform)].manifestDigest!;
    let bytes: Uint8Array | null = null;
    try {
      bytes = await Deno.readFile(path);
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) {
        throw new InputError(`Cannot read document "${path}": ${(e as Error).message}`);
      }
    }
    if (bytes && !new TextDecoder().decode(bytes).includes(describes.slice("sha256:".length))) {
      throw new InputError(
        `Cannot attach "${path}": it does not describe this image (${describes}); it is left ` +
          `from another build: build again, or pass --documents with this image's documents`,
      );
    }
    if (!bytes && n.kind === "provenance") {
      options.onNote(
        `no provenance "${n.name}" ${where}: it records how the image was built and cannot be ` +
          `made from the image, so none is attached`,
      );
      continue;
    }
    if (!bytes) {
      const kind = n.kind as Exclude<DocumentKind, "provenance">;
      const text = await options.makeSbom(kind, several ? n.platform! : undefined);
      bytes = new TextEncoder().encode(text);
      options.onNote(
        `no "${n.name}" ${where}: made again from the image (the same bytes build writes)`,
      );
    }
    out.push({ kind: n.kind, platform: n.platform, title: n.name, bytes });
  }
  return out;
}
