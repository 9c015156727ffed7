/**
 * The artifact types of r10e's documents (also each document layer's media type), shared by
 * `build` (which writes them beside the archive) and `push` (which attaches them as referrers)
 * without loading either.
 *
 * @module
 */

/** The artifact types (and document media types) of the SBOMs and the provenance. */
export const ArtifactType = {
  spdx: "application/spdx+json",
  cyclonedx: "application/vnd.cyclonedx+json",
  provenance: "application/vnd.in-toto+json",
} as const;

/** The kinds of document. */
export type DocumentKind = keyof typeof ArtifactType;

/** File name suffixes beside the archive: `app-latest.spdx.json`. */
export const DOCUMENT_SUFFIX: Record<DocumentKind, string> = {
  spdx: "spdx.json",
  cyclonedx: "cdx.json",
  provenance: "provenance.json",
};

/**
 * The documents of an archive, by file name: `<stem>.spdx.json`, `<stem>.cdx.json` and
 * `<stem>.provenance.json` for one platform; with several the SBOMs carry the platform
 * (`<stem>.linux-arm64.spdx.json`) and the provenance, which covers them all, is one file.
 * `stem` is the archive's name without `.tar`, `.tar.gz` or `.tar.zst`.
 */
export function documentNames(
  stem: string,
  platforms: readonly string[],
): { kind: DocumentKind; platform: string | null; name: string }[] {
  const several = platforms.length > 1;
  const out: { kind: DocumentKind; platform: string | null; name: string }[] = [];
  for (const platform of platforms) {
    const tag = several ? `.${platform.replaceAll("/", "-")}` : "";
    for (const kind of ["spdx", "cyclonedx"] as const) {
      out.push({ kind, platform, name: `${stem}${tag}.${DOCUMENT_SUFFIX[kind]}` });
    }
  }
  if (platforms.length) {
    out.push({ kind: "provenance", platform: null, name: `${stem}.${DOCUMENT_SUFFIX.provenance}` });
  }
  return out;
}

/** `app-latest.tar.gz` → `app-latest` (an OCI layout folder keeps its name). */
export function archiveStem(name: string): string {
  return name.replace(/\/+$/, "").replace(/\.tar(\.gz|\.zst)?$/, "");
}
