/**
 * Media types of manifests and indexes the registry client sends and accepts.
 *
 * @module
 */

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

/** A content descriptor as manifests carry it. */
export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: { os: string; architecture: string; variant?: string };
  annotations?: Record<string, string>;
  /** OCI 1.1: the type of an artifact (an attached SBOM or provenance), when it is one. */
  artifactType?: string;
}

/** True for a JSON object. */
export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * A descriptor read from JSON, checked: a sha256 digest and a non-negative integer size.
 * @throws {SyntaxError} naming `where` when it is not one.
 */
export function readDescriptor(d: unknown, where: string): Descriptor {
  if (
    !isObject(d) || typeof d.digest !== "string" || !/^sha256:[0-9a-f]{64}$/.test(d.digest) ||
    typeof d.size !== "number" || !Number.isSafeInteger(d.size) || d.size < 0
  ) {
    throw new SyntaxError(`${where} is not a valid descriptor (sha256 digest and size)`);
  }
  const out: Descriptor = {
    mediaType: typeof d.mediaType === "string" ? d.mediaType : "",
    digest: d.digest,
    size: d.size,
  };
  if (
    isObject(d.platform) && typeof d.platform.os === "string" &&
    typeof d.platform.architecture === "string"
  ) {
    out.platform = {
      os: d.platform.os,
      architecture: d.platform.architecture,
      ...(typeof d.platform.variant === "string" ? { variant: d.platform.variant } : {}),
    };
  }
  if (typeof d.artifactType === "string") out.artifactType = d.artifactType;
  if (isObject(d.annotations)) {
    out.annotations = Object.fromEntries(
      Object.entries(d.annotations).filter((e): e is [string, string] => typeof e[1] === "string"),
    );
  }
  return out;
}

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
