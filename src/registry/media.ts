/**
 * Media types of manifests and indexes the registry client sends and accepts.
 *
 * @module
 */
import { type Descriptor, readDescriptor } from "../image/descriptor.ts";
import { isObject } from "../json_object.ts";

/** OCI and Docker image indexes (manifest lists). */
export const INDEX_TYPES: ReadonlySet<string> = new Set([
  "application/vnd.oci.image.index.v1+json",
  "application/vnd.docker.distribution.manifest.list.v2+json",
]);

/** OCI and Docker schema 2 image manifests. */
export const MANIFEST_TYPES: ReadonlySet<string> = new Set([
  "application/vnd.oci.image.manifest.v1+json",
  "application/vnd.docker.distribution.manifest.v2+json",
]);

/** The Accept header of a manifest GET: every kind r10e reads. */
export const ACCEPT = [...INDEX_TYPES, ...MANIFEST_TYPES].join(", ");

/** A content descriptor as manifests carry it (see src/image/descriptor.ts). */
export type { Descriptor } from "../image/descriptor.ts";

/** What a manifest or index document refers to. */
export interface Document {
  kind: "index" | "manifest";
  mediaType: string;
  /** index: its manifests; manifest: config first, then layers (and a `subject` is not followed). */
  children: Descriptor[];
}

/**
 * Reads a manifest or index document.
 * @throws {SyntaxError} naming `where` when it is neither.
 */
export function readDocument(bytes: Uint8Array, where: string, mediaType = ""): Document {
  let doc: unknown;
  try {
    doc = JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    throw new SyntaxError(`${where} is not valid JSON`);
  }
  if (!isObject(doc)) throw new SyntaxError(`${where} is not a JSON object`);
  const type = mediaType || (typeof doc.mediaType === "string" ? doc.mediaType : "");
  if (INDEX_TYPES.has(type) || (!MANIFEST_TYPES.has(type) && Array.isArray(doc.manifests))) {
    if (!Array.isArray(doc.manifests)) throw new SyntaxError(`${where} has no "manifests" array`);
    return {
      kind: "index",
      mediaType: type || "application/vnd.oci.image.index.v1+json",
      children: doc.manifests.map((m, i) => readDescriptor(m, `${where}: manifests[${i}]`)),
    };
  }
  if (!isObject(doc.config) || !Array.isArray(doc.layers)) {
    throw new SyntaxError(
      `${where} is neither an image index nor a manifest with config and layers`,
    );
  }
  return {
    kind: "manifest",
    mediaType: type || "application/vnd.oci.image.manifest.v1+json",
    children: [
      readDescriptor(doc.config, `${where}: config`),
      ...doc.layers.map((l, i) => readDescriptor(l, `${where}: layers[${i}]`)),
    ],
  };
}
