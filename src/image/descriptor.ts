/**
 * The content descriptor (OCI image-spec: `mediaType`, `digest`, `size`, `platform`,
 * `annotations`, `artifactType`) and its one parser, used by the image reader and the
 * registry client alike. Only what r10e can check is a descriptor: a sha256 digest of 64
 * lowercase hex digits (a blob under another algorithm would be trusted by its name alone, and
 * two images could share a digest while their bytes differ) and a size that is a safe
 * non-negative integer.
 *
 * @module
 */
import { type Platform, readPlatform } from "./platform.ts";
import { isObject } from "../json_object.ts";

/** A content descriptor as indexes and manifests carry it. */
export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: Platform;
  annotations?: Record<string, string>;
  /** OCI 1.1: the type of an artifact (an attached SBOM or provenance), when it is one. */
  artifactType?: string;
}

/**
 * A descriptor that r10e does not accept. `algorithm` names the digest's algorithm when the
 * digest is well formed but not sha256 (`sha512:<hex>`), for a message that says so.
 */
export class DescriptorError extends SyntaxError {
  /** The digest's algorithm when it is one other than sha256, else null. */
  readonly algorithm: string | null;
  /** The digest as written, when it is a string. */
  readonly digest: string | null;

  /** `message` names where the descriptor is. */
  constructor(message: string, algorithm: string | null, digest: string | null) {
    super(message);
    this.name = "DescriptorError";
    this.algorithm = algorithm;
    this.digest = digest;
  }
}

const SHA256 = /^sha256:[0-9a-f]{64}$/;
/** A digest of another algorithm (image-spec's grammar, lowercase hex encodings only). */
const OTHER = /^([a-z0-9]+(?:[+._-][a-z0-9]+)*):[0-9a-f]{32,}$/;

/**
 * A descriptor read from JSON, checked: a sha256 digest of 64 lowercase hex digits and a size
 * that is a safe non-negative integer; `platform` and `annotations` kept when well formed.
 * @throws {DescriptorError} naming `where` when it is not one.
 */
export function readDescriptor(d: unknown, where: string): Descriptor {
  if (!isObject(d)) throw new DescriptorError(invalid(where), null, null);
  const digest = typeof d.digest === "string" ? d.digest : null;
  if (digest !== null && !SHA256.test(digest)) {
    const other = OTHER.exec(digest);
    if (other && other[1] !== "sha256") {
      throw new DescriptorError(
        `${where} has a ${other[1]} digest: r10e checks sha256 digests only`,
        other[1],
        digest,
      );
    }
  }
  if (
    digest === null || !SHA256.test(digest) || typeof d.size !== "number" ||
    !Number.isSafeInteger(d.size) || d.size < 0
  ) {
    throw new DescriptorError(invalid(where), null, digest);
  }
  const out: Descriptor = {
    mediaType: typeof d.mediaType === "string" ? d.mediaType : "",
    digest,
    size: d.size,
  };
  const platform = readPlatform(d.platform);
  if (platform) out.platform = platform;
  if (typeof d.artifactType === "string") out.artifactType = d.artifactType;
  if (isObject(d.annotations)) {
    out.annotations = Object.fromEntries(
      Object.entries(d.annotations).filter((e): e is [string, string] => typeof e[1] === "string"),
    );
  }
  return out;
}

function invalid(where: string): string {
  return `${where} is not a valid descriptor (sha256 digest and size)`;
}
