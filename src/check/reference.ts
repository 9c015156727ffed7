/**
 * What `r10e check` compares build A with besides build B: REFERENCE (a digest, an archive or
 * layout, a registry reference), or without one the digests `build --record` wrote for HEAD.
 *
 * @module
 */
import { join, relative, resolve } from "node:path";
import { ConfigError, UsageError } from "../errors.ts";
import { Sha256 } from "../image/digest.ts";
import { FORMAT_VERSION } from "../image/writer.ts";
import { looksLikeReference, parseReference } from "../registry/reference.ts";
import type { ResolveOptions } from "../registry/resolve.ts";
import { verifyImages } from "../verify/verify.ts";
import { parseDigests, type RecordedDigests } from "../project/digests.ts";
import { DIGESTS_PATH, OUT_DIR } from "../project/layout.ts";
import {
  type BuildDigests,
  compareDigest,
  compareRecorded,
  isDigest,
  type ReferenceOutcome,
} from "./result.ts";

/** What the comparison takes of check's options. */
export interface ReferenceOptions {
  /** REFERENCE as typed. */
  reference?: string;
  cwd: string;
  /** For a REFERENCE that is a registry reference. */
  registry?: Omit<ResolveOptions, "platform" | "tempDir">;
  onProgress?: (line: string) => void;
}

/** What REFERENCE is, decided before building. */
export type ReferenceKind = "digest" | "path" | "registry";

/**
 * Compares build A with REFERENCE, or without one with digests.json when it was recorded for
 * HEAD (a note says when it was recorded for another commit).
 */
export async function againstReference(
  buildA: BuildDigests,
  options: ReferenceOptions & {
    /** What `classifyReference` found REFERENCE to be, or null without one. */
    kind: ReferenceKind | null;
    /** The project root in the working copy (its digests.json) and the commit checked. */
    root: string;
    commit: string;
    /** check's folder, for what verify spools. */
    work: string;
  },
): Promise<{ reference: ReferenceOutcome | null; notes: string[] }> {
  const kind = options.kind;
  if (options.reference !== undefined && kind !== null) {
    return {
      reference: await compareReference(options.reference, kind, buildA, options, options.work),
      notes: [],
    };
  }
  const recorded = await readRecorded(options.root);
  if (!recorded) return { reference: null, notes: [] };
  if (recorded.digests.commit !== options.commit) {
    return {
      reference: null,
      notes: [
        `${DIGESTS_PATH} was recorded for ${
          recorded.digests.commit ? `commit ${recorded.digests.commit.slice(0, 12)}` : "no commit"
        }, not HEAD ${options.commit.slice(0, 12)}: not compared`,
      ],
    };
  }
  const reference = compareRecorded(recorded.digests, buildA, DIGESTS_PATH, FORMAT_VERSION);
  if (!reference.matches) {
    reference.next = await recordedImageCommand(recorded.digests, options.root, options.cwd);
  }
  return { reference, notes: [] };
}

/**
 * Classifies REFERENCE: a digest, an existing archive or layout, or a registry reference.
 * @throws {UsageError} for anything else, with what was expected.
 */
export async function classifyReference(text: string, cwd: string): Promise<ReferenceKind> {
  if (isDigest(text)) return "digest";
  if (/^sha256:/i.test(text)) {
    throw new UsageError(
      `Invalid REFERENCE "${text}": a digest is sha256: and 64 lowercase hex digits`,
    );
  }
  if (await Deno.stat(resolve(cwd, text)).then(() => true, () => false)) return "path";
  if (looksLikeReference(text)) return "registry";
  let detail: string;
  try {
    parseReference(text);
    detail = "it names no registry host (write host/repository[:tag][@sha256:…])";
  } catch (error) {
    detail = (error as Error).message;
  }
  throw new UsageError(
    `Invalid REFERENCE "${text}": not a digest (sha256:<64 hex>), no such file or directory, ` +
      `and not a registry reference: ${detail}`,
  );
}

/** REFERENCE against build A: a digest, or an image read by verify (archive, layout, registry). */
async function compareReference(
  text: string,
  kind: ReferenceKind,
  build: BuildDigests,
  options: ReferenceOptions,
  work: string,
): Promise<ReferenceOutcome> {
  if (kind === "digest") return compareDigest(text, build);
  const path = resolve(options.cwd, text);
  const exists = kind === "path";
  options.onProgress?.(`comparing A with ${text} with verify`);
  const report = await verifyImages(build.archivePath, exists ? path : text, {
    tempDir: work,
    registry: options.registry,
  });
  report.a.input = "A";
  report.b.input = text;
  return {
    kind: "image",
    text,
    matches: report.identical,
    detail: report.identical
      ? `same image (manifest ${report.b.manifestDigest || "none"}, image ID ${report.b.imageId})`
      : `the rebuilt image (manifest ${build.manifestDigest}, image ID ${build.imageId}) ` +
        `differs from ${text} (manifest ${
          report.b.manifestDigest || "none"
        }, image ID ${report.b.imageId})`,
    report,
  };
}

async function readRecorded(root: string) {
  const file = join(root, DIGESTS_PATH);
  let text: string;
  try {
    text = await Deno.readTextFile(file);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return null;
    throw error;
  }
  try {
    return { file, digests: parseDigests(text, file) };
  } catch (error) {
    throw new ConfigError((error as Error).message);
  }
}

/**
 * The one command that shows why a rebuild differs from digests.json, which holds no image:
 * check against the image the digests were recorded from, so that verify compares the files.
 * That image is found in r10e-docker/out/ when its sha256 is the recorded one.
 */
async function recordedImageCommand(
  recorded: RecordedDigests,
  root: string,
  cwd: string,
): Promise<string> {
  const out = join(root, OUT_DIR);
  const entries = await Array.fromAsync(Deno.readDir(out)).catch(() => [] as Deno.DirEntry[]);
  for (const e of entries.sort((x, y) => (x.name < y.name ? -1 : 1))) {
    if (!e.isFile || !/\.tar(\.gz)?$/.test(e.name)) continue;
    if (await fileSha256(join(out, e.name)) === recorded.archive_sha256) {
      return `r10e check ${shellQuote(relative(cwd, join(out, e.name)))}`;
    }
  }
  return `r10e check IMAGE, where IMAGE is the image digests.json was recorded from (archive ` +
    `sha256 ${recorded.archive_sha256.slice(0, 12)}…, manifest ${recorded.manifest_digest}), ` +
    "as an archive or a registry reference";
}

async function fileSha256(path: string): Promise<string> {
  const hash = new Sha256();
  using file = await Deno.open(path);
  for await (const chunk of file.readable) hash.update(chunk);
  return hash.hex();
}

function shellQuote(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replaceAll("'", `'\\''`)}'`;
}
