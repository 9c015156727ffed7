/**
 * The SBOMs and provenance `r10e build` writes: from the staged layers
 * (every file with its sha256 and sha1, hashed as the image writer reads it the first time, so
 * the files are read no more than without them), the Go build info of the executables, and
 * the build's own record. Each image (platform) gets an SPDX 2.3 and a CycloneDX 1.6 document
 * and the provenance statement, written beside the archive (`writeDocuments`) once it is
 * written (the documents name its digests); `r10e push` attaches them in the registry.
 *
 * The documents are the ones `r10e sbom` makes from the archive: the same model, the same
 * writers, the same image identity (name, manifest digest, created, platform).
 *
 * @module
 */
import { DiskFullError, diskFullOr } from "../disk_full.ts";
import { createHash } from "node:crypto";
import { isExecutable } from "./file_hash.ts";
import { basename, dirname } from "node:path";
import { readGoBuildInfo } from "../gobinary/go_binary.ts";
import { fileRandomAccess } from "../gobinary/random_access.ts";
import { type ImageResult, type LayerSpec, rfc3339 } from "../image/writer.ts";
import { formatPlatform, type Platform } from "../image/platform.ts";
import { writeFilesAtomically } from "../atomic_write.ts";
import { registerTemporary, removeTemporary } from "../signals.ts";
import type { TarEntry } from "../tar/writer.ts";
import { cyclonedxDocument } from "./cyclonedx.ts";
import { normalizeCreated, type SbomBinary, type SbomFile, sortedJson } from "./model.ts";
import { type ProvenanceBuild, type ProvenanceInput, provenanceStatement } from "./provenance.ts";
import { spdxDocument } from "./spdx.ts";
import { archiveStem, type DocumentKind, documentNames } from "../image/artifact_types.ts";

export { ArtifactType, type DocumentKind } from "../image/artifact_types.ts";

/** One image to describe: its platform and layers, base first, as given to the writer. */
export interface DocumentImage {
  platform: Platform;
  layers: LayerSpec[];
  /**
   * Its artifacts: `src` relative to `filesRoot` (read there, not spooled), `dest` in the image,
   * sha256 known once the writer has read them.
   */
  artifacts: () => { src: string; dest: string; sha256: string }[];
  /** The regular files a base image's layers leave (its layers have no entries of their own). */
  baseFiles?: SbomFile[];
  /** The Go executables among `baseFiles`, with their build info. */
  baseBinaries?: SbomBinary[];
}

/** What the provenance says besides the image and artifact digests. */
export type BuildRecord = Omit<
  ProvenanceBuild,
  "manifestDigest" | "artifacts" | "images" | "indexDigest"
>;

/** Options of `prepareDocuments`. */
export interface PrepareOptions {
  /** Make no documents, nothing attached or written (benchmarks measure their cost with it). */
  skip?: boolean;
  /** `<repository>:<tag>`, the name `docker load` gives the image (the SBOM's image name). */
  imageName: string;
  /** Seconds since the epoch. */
  created: number;
  tool: { name: string; version: string };
  /** Where the artifacts' `src` paths are (the project root, or docker mode's staging folder). */
  filesRoot: string;
  /** Parent of the spool folder for executables not on disk (default: the system one). */
  tempDir?: string;
  provenance: {
    record: BuildRecord;
    config: Record<string, unknown>;
    pins: Record<string, unknown>;
    sourceUri: string | null;
  };
}

/** The documents of one image, as written. */
export interface ImageDocuments {
  /** `os/arch[/variant]`. */
  platform: string;
  manifestDigest: string;
  texts: Record<DocumentKind, string>;
}

/** One file of a layer, with its hashes once read. */
interface Hashed {
  entry: TarEntry;
  sha256: string | null;
  sha1: string | null;
  /** Whether its first bytes are ELF or Mach-O magic. */
  executable: boolean;
}

/** The written archive's images: what the documents name. */
export interface ArchiveImages {
  /** Every image, in order. */
  images: readonly ImageResult[];
  /** Several platforms: the digest of the image index naming them. */
  indexDigest?: string;
}

/** The documents, prepared before the archive is written. */
export interface PreparedDocuments {
  /** Makes every image's documents, once the archive is written (its files hashed on the way). */
  make(archive: ArchiveImages): Promise<ImageDocuments[]>;
}

/**
 * Wraps every file entry of `images`' layers so that its first full read hashes it (sha256,
 * sha1) and notes executable magic; returns the `attach` function that makes the documents.
 * The layers are changed in place (their `content` functions), their bytes are not.
 */
export function prepareDocuments(
  images: DocumentImage[],
  options: PrepareOptions,
): PreparedDocuments {
  if (options.skip) return { make: () => Promise.resolve([]) };
  const records = new Map<TarEntry, Hashed>();
  const perImage = images.map((image) => {
    // The merged filesystem of r10e's own layers: a later layer's entry replaces an earlier one.
    const byPath = new Map<string, Hashed | null>();
    for (const layer of image.layers) {
      for (const entry of layer.entries) {
        if (entry.kind !== "file") {
          if (entry.kind !== "dir") byPath.set(entry.name, null);
          continue;
        }
        let record = records.get(entry);
        if (!record) {
          record = wrap(entry);
          records.set(entry, record);
        }
        byPath.set(entry.name, record);
      }
    }
    return { image, byPath };
  });
  const describe = async (i: number, archive: ArchiveImages): Promise<ImageDocuments> => {
    const result = archive.images[i];
    const { byPath, image } = perImage[i];
    const files: SbomFile[] = [];
    const executables: { path: string; record: Hashed }[] = [];
    // The base's files first; r10e's layers replace what they put at the same path.
    for (const f of image.baseFiles ?? []) {
      if (!byPath.has(f.path.slice(1))) files.push(f);
    }
    for (const [name, record] of byPath) {
      if (!record) continue;
      if (record.sha256 === null) await hashNow(record);
      const path = "/" + name;
      files.push({ path, size: record.entry.size, sha256: record.sha256!, sha1: record.sha1! });
      if (record.executable) executables.push({ path, record });
    }
    const diskPaths = new Map(
      image.artifacts().map((a) => [a.dest, `${options.filesRoot}/${a.src}`]),
    );
    const binaries = [
      // A base's binary unless r10e's layers put another file at its path.
      ...(image.baseBinaries ?? []).filter((b) => !byPath.has(b.path.slice(1))),
      ...await goBinaries(executables, diskPaths, options.tempDir),
    ];
    const platform = formatPlatform(result.platform);
    const sbomInput = {
      image: {
        name: options.imageName,
        digest: result.manifestDigest,
        digestOf: "manifest" as const,
        created: normalizeCreated(rfc3339(options.created)),
        platform,
      },
      files,
      binaries,
      tool: options.tool,
    };
    const texts: Record<DocumentKind, string> = {
      spdx: sortedJson(spdxDocument(sbomInput)),
      cyclonedx: sortedJson(cyclonedxDocument(sbomInput)),
      provenance: sortedJson(provenanceStatement(provenanceOf(archive, images, options))),
    };
    return { platform, manifestDigest: result.manifestDigest, texts };
  };
  return {
    make: async (archive) => {
      const made: ImageDocuments[] = [];
      for (const i of archive.images.keys()) made.push(await describe(i, archive));
      return made;
    },
  };
}

/** The provenance input for the whole build: every image's manifest digest, every artifact. */
function provenanceOf(
  archive: ArchiveImages,
  images: DocumentImage[],
  options: PrepareOptions,
): ProvenanceInput {
  const { record, ...rest } = options.provenance;
  const results = archive.images;
  const several = results.length > 1;
  return {
    build: {
      ...record,
      manifestDigest: results[0].manifestDigest,
      artifacts: results.flatMap((r, i) =>
        images[i].artifacts().map((a) => ({
          ...a,
          dest: several ? `${formatPlatform(r.platform)}:${a.dest}` : a.dest,
        }))
      ),
      ...(several
        ? {
          images: results.map((r) => ({
            platform: formatPlatform(r.platform),
            manifestDigest: r.manifestDigest,
          })),
          ...(archive.indexDigest ? { indexDigest: archive.indexDigest } : {}),
        }
        : {}),
    },
    imageName: options.imageName,
    config: rest.config,
    pins: rest.pins,
    sourceUri: rest.sourceUri,
    r10eVersion: options.tool.version,
  };
}

function wrap(entry: TarEntry): Hashed {
  const record: Hashed = { entry, sha256: null, sha1: null, executable: false };
  const read = entry.content;
  if (!read) {
    // An empty file without content.
    record.sha256 = createHash("sha256").digest("hex");
    record.sha1 = createHash("sha1").digest("hex");
    return record;
  }
  entry.content = async function* () {
    if (record.sha256 !== null) {
      yield* read();
      return;
    }
    const sha256 = createHash("sha256");
    const sha1 = createHash("sha1");
    let first = true;
    for await (const chunk of read()) {
      if (first && chunk.length > 0) {
        first = false;
        record.executable = isExecutable(chunk);
      }
      sha256.update(chunk);
      sha1.update(chunk);
      yield chunk;
    }
    record.sha256 = sha256.digest("hex");
    record.sha1 = sha1.digest("hex");
  };
  return record;
}

/** Hashes a file the writer has not read yet (none today: a safety net for a changed writer). */
async function hashNow(record: Hashed): Promise<void> {
  for await (const _ of record.entry.content!()) { /* hashed by the wrapper */ }
}

/** The Go build info of each executable: from its file on disk, else from a spooled copy. */
async function goBinaries(
  executables: { path: string; record: Hashed }[],
  diskPaths: Map<string, string>,
  tempDir: string | undefined,
): Promise<SbomBinary[]> {
  const out: SbomBinary[] = [];
  let spool: string | null = null;
  try {
    for (const [n, { path, record }] of executables.entries()) {
      let file = diskPaths.get(path);
      if (!file) {
        if (!spool) {
          spool = await Deno.makeTempDir({ dir: tempDir, prefix: "r10e-sbom-" });
          registerTemporary(spool);
        }
        file = `${spool}/${n}`;
        using out = await Deno.open(file, { write: true, createNew: true, mode: 0o600 });
        for await (const chunk of record.entry.content!()) {
          let done = 0;
          try {
            while (done < chunk.length) done += await out.write(chunk.subarray(done));
          } catch (error) {
            throw diskFullOr(error, file, "TMPDIR");
          }
        }
      }
      using f = await Deno.open(file);
      let info;
      try {
        info = await readGoBuildInfo(fileRandomAccess(f, (await f.stat()).size));
      } catch {
        continue; // headers or build info malformed: no modules, as `r10e sbom` does
      }
      if (info) out.push({ path, sha256: record.sha256!, info });
    }
  } finally {
    if (spool) await removeTemporary(spool);
  }
  return out;
}

/** What `writeDocuments` wrote. */
export interface WrittenDocument {
  kind: DocumentKind;
  /** `os/arch[/variant]`; null for the provenance, which covers every image. */
  platform: string | null;
  path: string;
  sha256: string;
}

/**
 * The paths beside `archivePath` (`<dir>/<name>-latest.tar.gz`): `<name>-latest.spdx.json`,
 * `.cdx.json`, `.provenance.json`; with several images the SBOMs get the platform
 * (`<name>-latest.linux-arm64.spdx.json`) and the provenance, the same for all, is written once.
 */
export function documentPaths(
  archivePath: string,
  documents: ImageDocuments[],
): { kind: DocumentKind; platform: string | null; path: string; text: string }[] {
  const dir = dirname(archivePath);
  const names = documentNames(archiveStem(basename(archivePath)), documents.map((d) => d.platform));
  return names.map((n) => {
    const doc = n.platform === null
      ? documents[0]
      : documents.find((d) => d.platform === n.platform)!;
    return {
      kind: n.kind,
      platform: n.platform,
      path: `${dir}/${n.name}`,
      text: doc.texts[n.kind],
    };
  });
}

/**
 * Writes the documents beside the archive, each atomically (a temporary file in the same
 * folder, registered for removal on a signal, renamed over the final name when whole).
 */
export async function writeDocuments(
  archivePath: string,
  documents: ImageDocuments[],
): Promise<WrittenDocument[]> {
  const planned = documentPaths(archivePath, documents);
  try {
    // Every document is whole on disk before any takes its final name.
    await writeFilesAtomically(planned.map((p) => ({ path: p.path, data: p.text })), "build");
  } catch (e) {
    if (e instanceof DiskFullError) throw e;
    throw new Error(
      `Cannot write the SBOM and provenance beside "${archivePath}": ${(e as Error).message}`,
      { cause: e },
    );
  }
  return planned.map((p) => ({
    kind: p.kind,
    platform: p.platform,
    path: p.path,
    sha256: createHash("sha256").update(p.text).digest("hex"),
  }));
}
