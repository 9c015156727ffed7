/**
 * `r10e build --record`: the digests of a build written to r10e-docker/digests.json, the
 * expectation that `r10e check` compares a rebuild of the same commit with.
 *
 * @module
 */
import { dirname, join } from "node:path";
import { ConfigError } from "../errors.ts";
import { writeFilesAtomically } from "../atomic_write.ts";
import { DiskFullError } from "../disk_full.ts";
import { FORMAT_VERSION } from "../image/writer.ts";
import { renderDigests } from "./digests.ts";
import { DIGESTS_PATH } from "./layout.ts";

/** What of a build result is recorded (a subset of build's `BuildResult`). */
export interface Recordable {
  root: string;
  archiveSha256: string;
  imageId: string;
  manifestDigest: string;
  /** Several platforms: the index digest and every platform's digests. */
  indexDigest?: string;
  images?: { platform: string; imageId: string; manifestDigest: string }[];
  revision: string | null;
  /** Uncommitted paths, or null outside git. */
  dirty: string[] | null;
}

/**
 * Writes digests.json for a build (atomically: a temporary renamed over it) and returns its path.
 * @throws {ConfigError} when the tree was dirty: Go stamped vcs.modified=true, so the image is
 * not the one the commit gives, and recording it would make every check of the commit fail.
 */
export async function recordDigests(
  build: Recordable,
  format: "tar.gz" | "tar",
): Promise<string> {
  const file = join(build.root, DIGESTS_PATH);
  if (build.dirty && build.dirty.length) {
    throw new ConfigError(
      `Not recorded in "${file}": the git tree is dirty (${
        build.dirty.slice(0, 5).map((d) => `"${d}"`).join(", ")
      }), so the image is not the one commit ${
        build.revision?.slice(0, 12) ?? "HEAD"
      } gives; commit (or remove) them and build with --record again (the image itself was written)`,
    );
  }
  const text = renderDigests({
    archive_format: format,
    archive_sha256: build.archiveSha256,
    commit: build.revision,
    format_version: FORMAT_VERSION,
    image_id: build.imageId,
    manifest_digest: build.manifestDigest,
    ...(build.indexDigest && build.images
      ? {
        index_digest: build.indexDigest,
        platforms: Object.fromEntries(
          build.images.map((i) => [i.platform, {
            image_id: i.imageId,
            manifest_digest: i.manifestDigest,
          }]),
        ),
      }
      : {}),
  });
  try {
    await Deno.mkdir(dirname(file), { recursive: true });
    await writeFilesAtomically([{ path: file, data: text }], "check");
  } catch (error) {
    if (error instanceof DiskFullError) throw error;
    throw new ConfigError(`Cannot write "${file}": ${(error as Error).message}`);
  }
  return file;
}
