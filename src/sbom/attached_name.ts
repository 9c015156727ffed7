/**
 * The image name an SBOM attached in a registry gives its image. An SBOM names the image
 * (`app:latest`, from the archive's RepoTags or `io.containerd.image.name`); a registry serves
 * no such name, so `r10e sbom REF@digest` takes it from the SBOM `r10e push` attached to that
 * digest. Everything else in the document is made from the image, so the bytes are those
 * attached exactly when the image is the one they describe.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { type ClientOptions, RegistryClient } from "../registry/client.ts";
import { readDocument } from "../registry/media.ts";
import { isObject } from "../json_object.ts";
import { fetchManifest } from "../registry/pull.ts";
import { listReferrers } from "../registry/referrers.ts";
import { looksLikeReference, parseReference } from "../registry/reference.ts";
import { readCapped } from "../registry/transport.ts";
import { ArtifactType } from "../image/artifact_types.ts";

/** SBOMs are read whole: at most this much (a 10,000-file image's SPDX is about 6 MB). */
const SBOM_LIMIT = 256 * 1024 * 1024;

/** The name the attached document of `kind` gives its image, from its text; null if none. */
export function documentImageName(kind: "spdx" | "cyclonedx", text: string): string | null {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return null;
  }
  if (!isObject(doc)) return null;
  if (kind === "spdx") {
    const image = Array.isArray(doc.packages)
      ? doc.packages.find((p) => isObject(p) && p.SPDXID === "SPDXRef-Image")
      : undefined;
    return isObject(image) && typeof image.name === "string" ? image.name : null;
  }
  const component = isObject(doc.metadata) ? doc.metadata.component : undefined;
  return isObject(component) && typeof component.name === "string" ? component.name : null;
}

/**
 * For a registry reference: the image name of the SBOM of `kind` attached to `manifestDigest`,
 * null when `image` is a path or nothing of that kind is attached.
 * @throws {RegistryError} for an unreachable registry or a document that does not match its digest.
 */
export async function attachedImageName(
  image: string,
  manifestDigest: string,
  kind: "spdx" | "cyclonedx",
  options: ClientOptions,
): Promise<string | null> {
  const exists = await Deno.lstat(image).then(() => true, () => false);
  if (exists || !looksLikeReference(image)) return null;
  const ref = parseReference(image);
  using client = new RegistryClient(ref.registry, options);
  const scopes = [`repository:${ref.repository}:pull`];
  const listed = await listReferrers(client, ref.repository, manifestDigest, scopes);
  const found = listed.find((r) => r.artifactType === ArtifactType[kind]);
  if (!found) return null;
  const manifest = await fetchManifest(client, ref, found.digest, scopes);
  // Its children are the empty config and the document layer.
  const layer = readDocument(manifest.bytes, `manifest ${found.digest}`).children
    .find((c) => c.mediaType === ArtifactType[kind]);
  if (!layer) return null;
  const response = await client.request("GET", `/v2/${ref.repository}/blobs/${layer.digest}`, {
    scopes,
    expect: [200],
    what: `fetch the attached ${kind} document ${layer.digest}`,
  });
  const bytes = await readCapped(response, SBOM_LIMIT, `The attached document ${layer.digest}`);
  if (`sha256:${createHash("sha256").update(bytes).digest("hex")}` !== layer.digest) return null;
  return documentImageName(kind, new TextDecoder().decode(bytes));
}
