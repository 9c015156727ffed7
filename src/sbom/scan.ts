/**
 * Reads what an SBOM needs from an open image (the I/O edge of src/sbom/): every regular file
 * of the merged filesystem with its sha256 and sha1, in one pass over each layer; files that
 * start with ELF or Mach-O magic are spooled to a temporary file and their Go build info read
 * (src/gobinary/), so any image works, whoever built it. Other files are hashed as they stream
 * by and never held: memory grows with the number of files, not their size (a 1 GB image
 * under 150 MB RSS, bench/sbom_read.ts).
 *
 * @module
 */
import { createHash } from "node:crypto";
import { buildMergedFs, type FsNode, readContents } from "../image/merged_fs.ts";
import type { ImageInfo, ImageInput } from "../image/reader.ts";
import { formatPlatform } from "../image/platform.ts";
import { readGoBuildInfo } from "../gobinary/go_binary.ts";
import { hashFile } from "./file_hash.ts";
import { fileRandomAccess } from "../gobinary/random_access.ts";
import { registerTemporary, removeTemporary } from "../signals.ts";
import {
  normalizeCreated,
  type SbomBinary,
  type SbomFile,
  type SbomImage,
  type SbomInput,
} from "./model.ts";

/** Options of `scanImage`. */
export interface ScanOptions {
  /** Parent of the spool directory for binaries (default: the system one). */
  tempDir?: string;
  /** The writing tool, recorded in the documents. */
  tool: { name: string; version: string };
  /** Told about executables whose build info is malformed (they are left out of the modules). */
  onWarning?: (line: string) => void;
}

/**
 * What a file's two hash objects count for in `collector` (their native state is invisible to
 * V8's heap accounting, like the buffers read).
 */
const FILE_COST = 64 << 10;

/**
 * Collects young garbage every 16 MiB read or 256 files when allowed (--expose-gc, set by
 * scripts/r10e and the compiled binary): the chunks read and the per-file hash objects live
 * outside V8's heap, which does not see them grow. Of a 1 GB image of 10,000 files the scan
 * alone took the RSS to 174 MB without it, 110 MB with it (bench/sbom_read.ts).
 */
function collector(): (bytes: number) => void {
  const gc = (globalThis as { gc?: (options?: { type: "minor" }) => void }).gc;
  let since = 0;
  return (bytes) => {
    since += bytes;
    if (gc && since >= 16 << 20) {
      // A scavenge is enough: the buffers and hash objects die young (a full collection every
      // 16 MiB cost 30% more CPU).
      gc({ type: "minor" });
      since = 0;
    }
  };
}

/**
 * The name an input gives its image: RepoTags, then the ref.name annotations, else `image`;
 * `io.containerd.image.name` in Docker's familiar form (`docker.io/library/app:v1` → `app:v1`),
 * so that every platform of a multi-platform archive, of which only one has RepoTags, is named
 * alike.
 */
function imageName(image: ImageInfo): string {
  const full = image.annotations["io.containerd.image.name"];
  return image.repoTags[0] ??
    (full ? familiarName(full) : undefined) ??
    image.annotations["org.opencontainers.image.ref.name"] ??
    "image";
}

/** `docker.io/library/x` → `x`, `docker.io/org/x` → `org/x`; other names as they are. */
export function familiarName(name: string): string {
  if (name.startsWith("docker.io/library/") && !name.slice(18).includes("/")) {
    return name.slice(18);
  }
  return name.startsWith("docker.io/") ? name.slice(10) : name;
}

/** The identity of the image an SBOM describes. */
export function describeImage(image: ImageInfo): SbomImage {
  return {
    name: imageName(image),
    digest: image.manifestDigest ?? image.configDigest,
    digestOf: image.manifestDigest ? "manifest" : "config",
    created: normalizeCreated(image.config.created),
    platform: image.platform ? formatPlatform(image.platform) : null,
  };
}

/**
 * Reads every regular file of `image` and the build info of its Go binaries.
 * @throws {InputError} for an unreadable layer or a hostile entry.
 */
export async function scanImage(
  input: ImageInput,
  image: ImageInfo,
  options: ScanOptions,
): Promise<SbomInput> {
  const fs = await buildMergedFs(input, image);
  const paths = new Map<FsNode, string[]>();
  for (const [rel, node] of fs.walk(fs.root)) {
    if (node.kind !== "file") continue;
    const list = paths.get(node);
    if (list) list.push("/" + rel);
    else paths.set(node, ["/" + rel]);
  }
  const spool = await Deno.makeTempDir({ dir: options.tempDir, prefix: "r10e-sbom-" });
  registerTemporary(spool);
  try {
    const files: SbomFile[] = [];
    const spooled: { paths: string[]; file: string; sha256: string }[] = [];
    const hashed = new Set<FsNode>();
    const collect = collector();
    await readContents(input, image, {
      nodes: paths.keys(),
      inOnePass: true,
      onContent: async (nodes, body) => {
        const name = `${spool}/${spooled.length}`;
        const { sha256: hex, sha1: sha1Hex, size, spooled: out } = await hashFile(body, {
          spoolTo: () => Promise.resolve(name),
          onChunk: collect,
        });
        collect(FILE_COST);
        const all = nodes.flatMap((n) => paths.get(n) ?? []);
        for (const n of nodes) hashed.add(n);
        for (const path of all) files.push({ path, size, sha256: hex, sha1: sha1Hex });
        if (out) spooled.push({ paths: all, file: name, sha256: hex });
      },
    });
    // Files no entry gave content for: only empty files can be left.
    const empty256 = createHash("sha256").digest("hex");
    const empty1 = createHash("sha1").digest("hex");
    for (const [node, list] of paths) {
      if (hashed.has(node)) continue;
      if (node.size !== 0) {
        throw input.error(`file "${list[0]}" has no content in its layer`);
      }
      for (const path of list) files.push({ path, size: 0, sha256: empty256, sha1: empty1 });
    }
    const binaries: SbomBinary[] = [];
    for (const s of spooled) {
      using file = await Deno.open(s.file);
      const ra = fileRandomAccess(file, (await file.stat()).size);
      let info;
      try {
        info = await readGoBuildInfo(ra);
      } catch (e) {
        options.onWarning?.(
          `"${
            s.paths[0]
          }" looks like an executable but its headers or Go build info are malformed (${
            (e as Error).message
          }); its modules are left out`,
        );
        continue;
      }
      if (!info) continue;
      for (const path of s.paths) binaries.push({ path, sha256: s.sha256, info });
    }
    // One full collection before the documents are made: what reading left is garbage now.
    (globalThis as { gc?: () => void }).gc?.();
    return { image: describeImage(image), files, binaries, tool: options.tool };
  } finally {
    await removeTemporary(spool);
  }
}
