/**
 * The artifact manifests that carry r10e's documents into a registry as OCI 1.1 referrers
 * (image-spec 1.1 "Guidelines for Artifact Usage"): the empty config, the document as the one
 * layer, titled with its file name (`org.opencontainers.image.title`, so `oras pull` writes a
 * file), and the image it describes as `subject`.
 *
 * Which image: each platform's SBOMs go to that platform's manifest; the provenance to the
 * digest people deploy (the manifest of a one-platform image, else the index). With several
 * platforms the index also gets an SBOM set per format: one artifact whose layers are every
 * platform's SBOM, so that `oras discover` of the deployed digest finds them.
 *
 * Pure: bytes in, manifests and blobs out; canonical JSON, so the same documents give the same
 * digests on every push.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { canonicalJsonBytes } from "../image/canonical_json.ts";
import { ArtifactType, type DocumentKind } from "../image/artifact_types.ts";
import type { Descriptor } from "./media.ts";
import type { ReferrerItem } from "./referrers.ts";

/** The annotation that names a layer's file (image-spec annotations.md). */
export const TITLE = "org.opencontainers.image.title";

/** The OCI empty descriptor's media type and content (image-spec 1.1 manifest.md). */
export const EMPTY_MEDIA_TYPE = "application/vnd.oci.empty.v1+json";
const EMPTY_BYTES = new TextEncoder().encode("{}");
const MANIFEST = "application/vnd.oci.image.manifest.v1+json";

/** One document to attach: its kind, the platform it describes (null: all), file name, bytes. */
export interface DocumentFile {
  kind: DocumentKind;
  platform: string | null;
  /** The file name, the layer's title. */
  title: string;
  bytes: Uint8Array;
}

/** What the documents are attached to. */
export interface AttachTarget {
  /** The digest people deploy: the one manifest, or the index of several. */
  top: Descriptor;
  /** Each platform's manifest (`os/arch[/variant]`); for one platform, the top itself. */
  manifests: { platform: string; descriptor: Descriptor }[];
}

/** A blob to send before the artifact manifests. */
export interface BytesBlob {
  digest: string;
  size: number;
  bytes: Uint8Array;
}

/** The artifact manifests (children of their subjects) and the blobs they name. */
export interface DocumentPlan {
  items: ReferrerItem[];
  blobs: BytesBlob[];
}

/** The artifact manifests and blobs that attach `files` to `target`. */
export function documentReferrers(
  target: AttachTarget,
  files: readonly DocumentFile[],
): DocumentPlan {
  const blobs = new Map<string, BytesBlob>();
  const add = (bytes: Uint8Array): BytesBlob => {
    const digest = `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
    const blob = blobs.get(digest) ?? { digest, size: bytes.length, bytes };
    blobs.set(digest, blob);
    return blob;
  };
  const empty = add(EMPTY_BYTES);
  const items: ReferrerItem[] = [];
  const attach = (subject: Descriptor, artifactType: string, docs: readonly DocumentFile[]) => {
    const layers = docs.map((d) => {
      const blob = add(d.bytes);
      return {
        mediaType: ArtifactType[d.kind],
        digest: blob.digest,
        size: blob.size,
        annotations: { [TITLE]: d.title },
      };
    });
    const bytes = canonicalJsonBytes({
      schemaVersion: 2,
      mediaType: MANIFEST,
      artifactType,
      config: { mediaType: EMPTY_MEDIA_TYPE, digest: empty.digest, size: empty.size },
      layers,
      subject: { mediaType: subject.mediaType, digest: subject.digest, size: subject.size },
    });
    items.push({
      mediaType: MANIFEST,
      digest: `sha256:${createHash("sha256").update(bytes).digest("hex")}`,
      size: bytes.length,
      artifactType,
      subject: subject.digest,
      bytes,
    });
  };
  const several = target.manifests.length > 1;
  for (const { platform, descriptor } of target.manifests) {
    for (const f of files) {
      if (f.kind !== "provenance" && (!several || f.platform === platform)) {
        attach(descriptor, ArtifactType[f.kind], [f]);
      }
    }
  }
  if (several) {
    for (const kind of ["spdx", "cyclonedx"] as const) {
      const set = target.manifests.flatMap(({ platform }) =>
        files.filter((f) => f.kind === kind && f.platform === platform)
      );
      if (set.length) attach(target.top, ArtifactType[kind], set);
    }
  }
  for (const f of files) {
    if (f.kind === "provenance") attach(target.top, ArtifactType.provenance, [f]);
  }
  // The empty config first, then the documents in the order they were named.
  return { items, blobs: [...blobs.values()] };
}
