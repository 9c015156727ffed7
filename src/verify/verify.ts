/**
 * `r10e verify A B`: why do two images differ? The edge of the verify package:
 * it opens both inputs with the image reader, summarizes every layer in one
 * streaming pass (file headers and the sha256 of each file's content), compares
 * the summaries top-down (compare.ts), spools only the files whose content
 * differs to a temporary directory to look inside them (content.ts), and
 * collapses the differences into findings with causes (causes.ts).
 *
 * Memory grows with the number of files, never with their size (DESIGN:
 * reading images). It returns a `Report`; main.ts prints it and picks the exit
 * code.
 *
 * @module
 */
import { diskFullOr } from "../disk_full.ts";
import { createHash } from "node:crypto";
import { statfs } from "node:fs/promises";
import { formatPlatform } from "../image/platform.ts";
import { type ImageInfo, type ImageInput, isAttachment, openImage } from "../image/reader.ts";
import { missingPlatform, pairPlatform, pairPlatforms, platformList } from "./platforms.ts";
import { openInput, type ResolveOptions } from "../registry/resolve.ts";
import type { TarHeader } from "../tar/reader.ts";
import { collapse, summarize } from "./causes.ts";
import {
  attachmentNotes,
  compareImages,
  identityLevel,
  isBlobName,
  packagingNotes,
  sameContent,
  sameEntries,
} from "./compare.ts";
import { type ByteDifference, describeByteDifference, type TarSpan } from "./archive_bytes.ts";
import { analyzeContent } from "./content.ts";
import { sameBytes } from "./identical.ts";
import { hashFileOffThread } from "../image/_hash_ranges.ts";
import {
  CAUSES,
  type DiffNode,
  type Finding,
  FINDINGS_PER_KIND,
  type Identity,
  type IgnoreOptions,
  type InputInfo,
  type OmittedFindings,
  type Report,
} from "./findings.ts";
import { globMatch } from "./glob.ts";
import { explain } from "./explain.ts";
import { fileRandomAccess } from "../gobinary/random_access.ts";
import { type GoBinaryPair, goModuleFindings, readGoModulePair } from "./sbom_diff.ts";
import type { ArchiveEntry, FileMeta, ImageSummary, LayerSummary } from "./summary.ts";
import { plural } from "../plural.ts";
import { Digests } from "../digests.ts";

/** A fresh sha256 to copy per file: a copy costs a third less than createHash (many small files). */
const SHA256 = createHash("sha256");

/** Options of `verifyImages`. */
export interface VerifyOptions {
  /** What to leave out of the findings. */
  ignore?: IgnoreOptions;
  /** `os/arch[/variant]`: compare only this platform. */
  platform?: string;
  /** Parent of the temporary directories (spools, differing files). */
  tempDir?: string;
  /** How to reach registries, for inputs that are registry references. */
  registry?: Omit<ResolveOptions, "platform" | "tempDir">;
  /** Receives a progress line now and then (at most once a second, after the first two seconds). */
  onProgress?: (line: string) => void;
  /** Lines of unified diff to keep per text file. */
  maxDiffLines?: number;
  /** At most this many differing files are looked into (spooled and analyzed); the rest keep their digests. */
  maxAnalyzed?: number;
  /** The clock for progress throttling, in milliseconds (injected by tests). */
  now?: () => number;
}

/**
 * Compares two image inputs and returns the report.
 * @throws {InputError} when an input cannot be read, naming the input and the entry.
 */
export async function verifyImages(
  pathA: string,
  pathB: string,
  options: VerifyOptions = {},
): Promise<Report> {
  const ignore = options.ignore ?? { causes: [], paths: [] };
  return await verify(pathA, pathB, options, ignore);
}

async function verify(
  pathA: string,
  pathB: string,
  options: VerifyOptions,
  ignore: IgnoreOptions,
): Promise<Report> {
  const progress = throttle(options.onProgress, options.now ?? (() => Date.now()));
  if (await sameBytes(pathA, pathB)) return await byteIdenticalReport(pathA, pathB, options);
  const opened = await openInputs(pathA, pathB, options, progress);
  await using inputA = opened.inputs[0];
  await using inputB = opened.inputs[1];
  const pairs = pairPlatforms(inputA, inputB, options.platform);
  const [shaA, shaB] = await opened.shas;
  const work = await Deno.makeTempDir({ dir: options.tempDir, prefix: "r10e-verify-" });
  try {
    const tally: Tally = {
      findings: [],
      omitted: [],
      large: [],
      consequences: [],
      ignored: { count: 0, byCause: {} },
      infos: [],
      levels: [],
      skippedContent: 0,
      packaging: [],
    };
    for (const [index, pair] of pairs.entries()) {
      await comparePair(pair, tally, {
        index,
        pairs: pairs.length,
        inputs: [inputA, inputB],
        shas: [shaA, shaB],
        work,
        options,
        ignore,
        progress,
      });
    }
    // Several platforms are pinned by their index's digest: judged by it when both have one.
    const indexes = options.platform === undefined
      ? [indexDigest(inputA), indexDigest(inputB)]
      : [null, null];
    const byIndex = indexes[0] !== null && indexes[1] !== null;
    if (byIndex && indexes[0] !== indexes[1]) indexFinding(tally, indexes as string[], ignore);
    const [infoA, infoB] = mergeInfos(tally.infos, inputA, inputB, shaA, shaB, pairs.length > 1);
    const notes = await reportNotes(tally, {
      inputs: [inputA, inputB],
      infos: [infoA, infoB],
      shas: [shaA, shaB],
      maxAnalyzed: options.maxAnalyzed ?? 100,
    });
    const { findings, omitted, ignored } = tally;
    const first = pairs.find((p) => p.a && p.b);
    const explained = explain(findings, { a: first?.a?.config, b: first?.b?.config }, omitted);
    const identical = findings.length === 0 && omitted.length === 0;
    const identity = identityOf(tally.levels, pairs.length, byIndex ? indexes as string[] : null);
    let summary = summarize(explained.findings, ignored.count, omitted);
    if (identical && ignored.count === 0 && identity.equal) {
      summary += `: ${identityText(identity, tally.levels.length)}`;
    }
    return {
      schemaVersion: 1,
      identical,
      identity,
      summary,
      a: infoA,
      b: infoB,
      findings: explained.findings,
      consequences: tally.consequences,
      notes,
      ignored,
      causes: explained.causes,
      builders: explained.builders,
      omitted: {
        count: omitted.reduce((n, o) => n + o.count, 0),
        perKind: FINDINGS_PER_KIND,
        kinds: omitted.map((o) => ({
          ...(o.layer !== undefined ? { layer: o.layer } : {}),
          field: o.field,
          cause: o.cause,
          count: o.count,
          ...(o.platform ? { platform: o.platform } : {}),
        })),
      },
    };
  } finally {
    await Deno.remove(work, { recursive: true }).catch(() => {});
  }
}

/** What the comparison of each pair of images adds up to, for the report. */
interface Tally {
  findings: Finding[];
  omitted: OmittedFindings[];
  /** Differing files too large to look into. */
  large: DiffNode[];
  consequences: Report["consequences"];
  ignored: Report["ignored"];
  infos: [InputInfo, InputInfo][];
  levels: { level: Identity["level"]; a: ImageSummary; b: ImageSummary }[];
  /** Differing files not looked into (beyond `maxAnalyzed`). */
  skippedContent: number;
  /** Notes on how the two inputs are packaged. */
  packaging: string[];
}

/**
 * Opens both inputs at once (decompression and hashing of one overlap with the other's), and
 * hashes the archives as given meanwhile; `shas` is awaited by the caller.
 * @throws {InputError} for the first input that cannot be opened (the other is closed).
 */
async function openInputs(
  pathA: string,
  pathB: string,
  options: VerifyOptions,
  progress: Progress,
): Promise<{ inputs: [ImageInput, ImageInput]; shas: Promise<[string, string]> }> {
  // A registry reference is read from its registry: documents now, layers streamed when
  // compared and kept nowhere.
  const open = {
    env: {},
    ...options.registry,
    platform: options.platform,
    tempDir: options.tempDir,
  };
  // The archives' own sha256, computed while the reader works: the reads overlap.
  const shas = Promise.all([fileSha256(pathA), fileSha256(pathB)]);
  shas.catch(() => {}); // handled now: an unreadable input is reported by openImage below
  const opened = await Promise.allSettled([
    openInput(pathA, open).finally(() => progress.force(`read ${pathA}`)),
    openInput(pathB, open).finally(() => progress.force(`read ${pathB}`)),
  ]);
  const failed = opened.find((o) => o.status === "rejected");
  if (failed) {
    for (const o of opened) if (o.status === "fulfilled") await o.value.close();
    throw failed.reason;
  }
  const [okA, okB] = opened as PromiseFulfilledResult<ImageInput>[];
  return { inputs: [okA.value, okB.value], shas };
}

/** Reads, compares and looks into one pair of images (one platform), adding to `tally`. */
async function comparePair(
  pair: ReturnType<typeof pairPlatforms>[number],
  tally: Tally,
  context: {
    index: number;
    pairs: number;
    inputs: [ImageInput, ImageInput];
    shas: [string, string];
    work: string;
    options: VerifyOptions;
    ignore: IgnoreOptions;
    progress: Progress;
  },
): Promise<void> {
  const { index, inputs, shas, options, ignore, progress } = context;
  const [inputA, inputB] = inputs;
  const platform = context.pairs > 1 ? pairPlatform(pair) : undefined;
  if (!pair.a || !pair.b) {
    tally.findings.push(missingPlatform(pair));
    return;
  }
  const same = sharedBlobs(pair.a, pair.b);
  const [a, b] = await Promise.all([
    summarizeImage(inputA, pair.a, shas[0], { progress, same }),
    summarizeImage(inputB, pair.b, shas[1], { progress, same }),
  ]);
  const level = identityLevel(a, b);
  if (level === "image-id") {
    await checkSharedLayers([inputA, inputB], [pair.a, pair.b], same);
  }
  tally.levels.push({ level, a, b });
  if (inputA.kind !== inputB.kind) {
    // A layout directory has no tar headers to compare with an archive's.
    a.entries = [];
    b.entries = [];
  }
  if (inputA.images.length > 1 || inputB.images.length > 1) {
    // Blobs of the images not compared here differ too: only the images explain them.
    a.entries = a.entries.filter((e) => !isBlobName(e.name));
    b.entries = b.entries.filter((e) => !isBlobName(e.name));
  }
  if (index > 0) {
    // Archive-level differences were reported with the first pair.
    b.entries = a.entries;
    b.index = a.index;
    b.archiveSha256 = a.archiveSha256;
  }
  tally.infos.push([inputInfo(a), inputInfo(b)]);
  if (sameContent(a, b) && index === 0) tally.packaging.push(...packagingNotes(a, b));
  else if (index === 0) tally.packaging.push(...attachmentNotes(a.index, b.index));
  // What reading left behind goes before the comparison adds its own: peak RSS is then one of
  // them, not both.
  gc?.();
  const tree = compareImages(a, b, { ignore });
  const goBinaries: GoBinaryPair[] = [];
  const notAnalyzed = await analyzeContents(tree, {
    large: tally.large,
    goBinaries,
    inputs: [inputA, inputB],
    images: [pair.a, pair.b],
    summaries: [a, b],
    // Each platform's files are spooled apart: their names (side, layer, count) repeat.
    work: index === 0
      ? context.work
      : await Deno.makeTempDir({ dir: context.work, prefix: `${index}-` }),
    ignore,
    maxDiffLines: options.maxDiffLines,
    maxAnalyzed: options.maxAnalyzed ?? 100,
    progress,
  });
  if (notAnalyzed > 0) {
    tally.skippedContent += notAnalyzed;
  }
  const c = collapse(tree, ignore);
  // The Go module differences first: they explain the byte-level findings.
  for (const f of goModuleFindings(goBinaries)) {
    tally.findings.push(platform ? { ...f, platform } : f);
  }
  for (const f of c.findings) tally.findings.push(platform ? { ...f, platform } : f);
  for (const o of c.omitted) {
    tally.omitted.push(platform ? { ...o, platform } : o);
    // Differing contents left out of the findings were not looked into either.
    if (o.field === "content" && o.scope === "file") tally.skippedContent += o.count;
  }
  for (const q of c.consequences) tally.consequences.push(platform ? { ...q, platform } : q);
  const ignored = tally.ignored;
  ignored.count += c.ignored.count;
  for (const [k, n] of Object.entries(c.ignored.byCause)) {
    const key = k as keyof typeof ignored.byCause;
    ignored.byCause[key] = (ignored.byCause[key] ?? 0) + n;
  }
}

/**
 * When every platform's manifest is the same, the index that differs around them is a finding
 * of its own (or an ignored one).
 */
function indexFinding(tally: Tally, indexes: string[], ignore: IgnoreOptions): void {
  if (tally.findings.length > 0 || tally.omitted.length > 0) return;
  const cause = "manifest-encoding";
  if (ignore.causes.includes(cause)) {
    tally.ignored.count++;
    tally.ignored.byCause[cause] = (tally.ignored.byCause[cause] ?? 0) + 1;
  } else {
    tally.findings.push({
      scope: "index",
      field: INDEX_FIELD,
      a: indexes[0],
      b: indexes[1],
      cause,
      causeText: CAUSES[cause].text,
      hint: CAUSES[cause].hint,
    });
  }
}

/** The report's notes: what was not looked into, and how the inputs differ around the images. */
async function reportNotes(
  tally: Tally,
  about: {
    inputs: [ImageInput, ImageInput];
    infos: [InputInfo, InputInfo];
    shas: [string, string];
    maxAnalyzed: number;
  },
): Promise<string[]> {
  const { large, skippedContent } = tally;
  const [inputA, inputB] = about.inputs;
  const [infoA, infoB] = about.infos;
  const [shaA, shaB] = about.shas;
  const notes: string[] = [];
  if (large.length > 0) {
    const first = large[0];
    notes.push(
      `${large.length} differing file${large.length === 1 ? " was" : "s were"} compared by ` +
        `digest only, not spooled to TMPDIR to look into (larger than ${
          ANALYZE_MAX / 2 ** 30
        } GiB, or more than its free space): layer ${first.layer} /${first.path} (${
          leafSize(first.a)
        } and ${leafSize(first.b)} bytes)` +
        (large.length > 1 ? ` and ${large.length - 1} more` : ""),
    );
  }
  if (skippedContent > 0) {
    notes.push(
      `${skippedContent} more files differ in content: only the first ` +
        `${about.maxAnalyzed} were looked into (Go build info, diffs)`,
    );
  }
  const remote = inputA.kind === "registry" || inputB.kind === "registry";
  if (inputA.compression !== inputB.compression && !remote) {
    notes.push(
      `outer compression differs (${inputA.compression} vs ${inputB.compression}), ` +
        `so the archive files differ; the images inside are compared`,
    );
  }
  if (inputA.kind !== inputB.kind) {
    const kind = {
      archive: "an archive",
      directory: "a directory",
      registry: "a registry image",
    };
    notes.push(
      `one input is ${kind[inputA.kind]}, the other ${
        kind[inputB.kind]
      }: archive entries are not compared`,
    );
  }
  if (infoA.format !== infoB.format) {
    notes.push(`archive formats differ (${infoA.format} vs ${infoB.format})`);
  }
  notes.push(...tally.packaging);
  if (tally.findings.length === 0 && tally.ignored.count === 0 && shaA && shaB && shaA !== shaB) {
    notes.push(await archiveNote(inputA, inputB, shaA, shaB));
  }
  return notes;
}

/**
 * The layer positions whose blob both images share: the same blob digest (each checked against
 * its bytes as they are read: archives when opened, registry blobs as they arrive), size and
 * claimed diff_id. Only these are left unread: the same bytes hold the same files. A layer whose
 * blobs differ is read and inflated on both sides, which checks each against its diff_id; a
 * claimed diff_id alone proves nothing (a patched, re-compressed layer may keep the original).
 */
export function sharedBlobs(a: ImageInfo, b: ImageInfo): Set<number> {
  const same = new Set<number>();
  a.layers.forEach((l, i) => {
    const o = b.layers[i];
    if (o && o.digest === l.digest && o.size === l.size && o.diffId === l.diffId) same.add(i);
  });
  return same;
}

/**
 * At the image-ID level (a docker-archive on one side), every layer's content is checked against
 * its diff_id: a shared compressed blob is inflated and hashed once, on a local side when there
 * is one (the reader checks it when the layer is read to its end). An uncompressed blob was
 * checked when it was opened: it is its own diff_id.
 * @throws {InputError} naming the layer whose content is not its diff_id.
 */
async function checkSharedLayers(
  inputs: [ImageInput, ImageInput],
  images: [ImageInfo, ImageInfo],
  same: Set<number>,
): Promise<void> {
  const side = inputs[0].kind === "registry" && inputs[1].kind !== "registry" ? 1 : 0;
  const input = inputs[side];
  const image = images[side];
  const done = new Set<string>();
  for (const i of same) {
    const layer = image.layers[i];
    if (layer.compression === "none" || done.has(layer.path)) continue;
    done.add(layer.path);
    for await (const _ of input.layerEntries(image, i)) { /* bodies are skipped, still hashed */ }
  }
}

/** The identity of the compared pairs: the weakest level any pair has, equal when all are. */
function identityOf(
  levels: { level: Identity["level"]; a: ImageSummary; b: ImageSummary }[],
  pairCount: number,
  indexes: string[] | null,
): Identity {
  if (indexes) {
    const [a, b] = indexes;
    return { level: "index", equal: a === b && levels.length === pairCount, a, b };
  }
  const level = levels.every((l) => l.level === "manifest") ? "manifest" : "image-id";
  const digest = (s: ImageSummary) => (level === "manifest" ? s.manifestDigest : s.configDigest);
  const a = levels.map((l) => digest(l.a));
  const b = levels.map((l) => digest(l.b));
  return {
    level,
    // A platform only one input holds (no pair) is a difference too.
    equal: levels.length === pairCount && levels.length > 0 && a.every((d, i) => d === b[i]),
    a: a.join(", "),
    b: b.join(", "),
  };
}

/** The field of the finding on indexes that differ around the same manifests. */
export const INDEX_FIELD = "index digest (same manifests)";

/**
 * The digest of the image index an input is pinned by, or null: a registry reference's top
 * document when it is not one of the image manifests, or the one image entry of an
 * `index.json` that is an index (r10e's several-platform archives).
 */
function indexDigest(input: ImageInput): string | null {
  const manifests = new Set(input.images.map((i) => i.manifestDigest));
  if (input.kind === "registry") {
    const top = /@(sha256:[0-9a-f]{64})$/.exec(input.path)?.[1] ?? null;
    return top && !manifests.has(top) ? top : null;
  }
  if (!input.indexJson) return null;
  let doc: unknown;
  try {
    doc = JSON.parse(new TextDecoder().decode(input.indexJson));
  } catch {
    return null;
  }
  const listed = (doc as { manifests?: unknown }).manifests;
  if (!Array.isArray(listed)) return null;
  const images = listed.filter((d) => !isAttachment(d, undefined));
  if (images.length !== 1) return null;
  const digest = (images[0] as { digest?: unknown }).digest;
  return typeof digest === "string" && !manifests.has(digest) ? digest : null;
}

/** What the first line says was proven equal. */
function identityText(identity: Identity, platforms: number): string {
  const digest = platforms > 1 ? `${platforms} platforms` : shortSha(identity.a);
  if (identity.level === "archive") return `the archive files are byte-identical (${digest})`;
  if (identity.level === "index") return `the same index digest ${shortSha(identity.a)}`;
  if (identity.level === "manifest") {
    return platforms > 1
      ? `the same manifest digests (${digest})`
      : `the same manifest digest ${digest}`;
  }
  return `the same image ID ${digest}, every layer checked against its diff_id`;
}

/**
 * The report on two byte-identical archives: opened once (documents, configs and descriptors
 * checked; a plain tar's large blobs are not hashed, their bytes being the other side's too), so
 * that junk is still an unreadable input; the layers are not read.
 */
async function byteIdenticalReport(
  pathA: string,
  pathB: string,
  options: VerifyOptions,
): Promise<Report> {
  // The archive's digest on another thread while this one inflates it up to its documents.
  const digest = hashFileOffThread(pathA);
  digest.catch(() => {}); // an unreadable input is reported by openImage
  await using input = await openImage(pathA, {
    platform: options.platform,
    tempDir: options.tempDir,
    deferBlobHashes: true,
    documentsOnly: true,
  });
  const sha = "sha256:" + await digest;
  const pairs = pairPlatforms(input, input, options.platform);
  const images = pairs.map((p) => p.a!);
  const format = input.indexJson && input.manifestJson
    ? "docker-archive+oci"
    : input.indexJson
    ? "oci"
    : "docker-archive";
  const info = (path: string): InputInfo => ({
    input: path,
    format,
    compression: input.compression,
    archiveSha256: sha,
    platform: pairs.length > 1
      ? platformList(input)
      : images[0].platform
      ? formatPlatform(images[0].platform)
      : platformOf(images[0].config),
    manifestDigest: images[0].manifestDigest ?? "",
    imageId: images[0].configDigest,
    layers: images[0].layers.length,
    files: 0,
    layersNotRead: images[0].layers.length,
  });
  const identity: Identity = { level: "archive", equal: true, a: sha, b: sha };
  const explained = explain([], { a: images[0].config, b: images[0].config }, []);
  return {
    schemaVersion: 1,
    identical: true,
    identity,
    summary: `identical: ${identityText(identity, 1)}`,
    a: info(pathA),
    b: info(pathB),
    findings: [],
    consequences: [],
    notes: ["the layers were not read: the same bytes hold the same image"],
    ignored: { count: 0, byCause: {} },
    causes: explained.causes,
    builders: explained.builders,
    omitted: { count: 0, perKind: FINDINGS_PER_KIND, kinds: [] },
  };
}

/** sha256 of an input file as given; `""` for a directory or a registry reference. */
async function fileSha256(path: string): Promise<string> {
  const info = await Deno.stat(path).catch(() => null);
  if (!info?.isFile) return "";
  const hash = createHash("sha256");
  using file = await Deno.open(path);
  const buf = new Uint8Array(1 << 20);
  for (;;) {
    const n = await file.read(buf);
    if (n === null) break;
    hash.update(buf.subarray(0, n));
  }
  return "sha256:" + hash.digest("hex");
}

const EMPTY: Record<string, string> = Object.freeze({}) as Record<string, string>;
/** PAX records that restate a header field or an xattr: compared through those. */
const RESTATED = new Set(["path", "linkpath", "size", "uid", "gid", "uname", "gname", "mtime"]);

/** A tar header as verify compares it. */
export function fileMeta(
  header: TarHeader,
  content: {
    /** Position of the entry in its layer, from 0. */
    index: number;
    /** Index of the content's sha256 in the layer's digests, -1 when it was not hashed. */
    digest: number;
  },
): FileMeta {
  const { index, digest } = content;
  let pax = EMPTY;
  const hasPax = hasKeys(header.pax);
  for (const [k, v] of hasPax ? Object.entries(header.pax) : []) {
    if (RESTATED.has(k) || k.startsWith("SCHILY.xattr.") || k.startsWith("LIBARCHIVE.xattr.")) {
      continue;
    }
    if (pax === EMPTY) pax = {};
    pax[k] = v;
  }
  return {
    path: normalizePath(header.name),
    type: header.kind,
    mode: header.mode,
    uid: header.uid,
    gid: header.gid,
    uname: header.uname,
    gname: header.gname,
    mtime: header.mtime,
    linkname: header.linkname,
    size: header.size,
    digest,
    pax,
    xattrs: hasKeys(header.xattrs) ? { ...header.xattrs } : EMPTY,
    index,
    format: hasPax ? "pax" : header.format,
    dataOffset: header.dataOffset,
  };
}

/** Whether an object has an own enumerable key, without a list of them (once per entry). */
function hasKeys(o: Record<string, string>): boolean {
  for (const _ in o) return true;
  return false;
}

/** Image path without `./`, leading `/` or trailing `/`. */
function normalizePath(name: string): string {
  // Most names are clean already: no split and join per entry.
  if (
    name !== "" && name !== "." && !name.startsWith("/") && !name.startsWith("./") &&
    !name.endsWith("/") && !name.endsWith("/.") && !name.includes("//") && !name.includes("/./")
  ) return name;
  return name.split("/").filter((p) => p !== "" && p !== ".").join("/");
}

/** sha256 hex of no bytes. */
const EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
const gc = (globalThis as { gc?: (o?: { type: string }) => void }).gc;

/** One pass over each layer: headers and content hashes. */
async function summarizeImage(
  input: ImageInput,
  image: ImageInfo,
  archiveSha256: string,
  options: { progress: Progress; same: Set<number> },
): Promise<ImageSummary> {
  const { progress, same } = options;
  const layers: LayerSummary[] = [];
  for (let i = 0; i < image.layers.length; i++) {
    const layer = image.layers[i];
    // A blob listed again is read once (1,000 listings would be inflated 1,000 times).
    const earlier = image.layers.findIndex((l) =>
      l.path === layer.path && l.diffId === layer.diffId
    );
    if (earlier < i && !(same.has(earlier) && !same.has(i))) {
      layers.push(layers[earlier]);
      continue;
    }
    const files: FileMeta[] = [];
    const digests = new Digests();
    let bytes = 0;
    // A layer both images share: headers only when they are cheap to read (uncompressed,
    // contents skipped), not read at all when compressed or in a registry (not fetched: its
    // digest names the bytes the other side holds).
    const shared = same.has(i);
    const notRead = shared && (layer.compression !== "none" || input.kind === "registry");
    const entries = notRead ? [] : input.layerEntries(image, i);
    for await (const entry of entries) {
      let digest = -1;
      if (entry.header.kind === "file" && !shared && entry.header.size === 0) {
        digest = digests.addHex(EMPTY_SHA256);
      } else if (entry.header.kind === "file" && !shared) {
        const hash = SHA256.copy();
        const whole = entry.body.takeBuffered?.() ?? null;
        if (whole) {
          hash.update(whole);
          bytes += whole.length;
        } else {
          for await (const chunk of entry.body) {
            hash.update(chunk);
            bytes += chunk.length;
          }
        }
        digest = digests.addHex(hash.digest("hex"));
      }
      files.push(fileMeta(entry.header, { index: files.length, digest }));
      // Headers die young: collect them while they are (else the old generation grows with
      // them, and RSS with it, over 150,000 files).
      if (gc && files.length % 8192 === 0) gc({ type: "minor" });
      progress(() =>
        // Layers are numbered from 0 here as in the report and the JSON (`layer 0` is the base).
        `${input.path}: layer ${i} of ${image.layers.length}: ${plural(files.length, "file")}, ` +
        `${(bytes / 1e6).toFixed(0)} MB`
      );
    }
    layers.push({
      ...(notRead ? { notRead: true } : {}),
      path: layer.path,
      digest: layer.digest,
      diffId: layer.diffId,
      mediaType: layer.mediaType ?? "",
      compression: layer.compression,
      size: layer.size,
      files,
      digests,
    });
  }
  const entries = archiveEntries(input);
  const format = input.indexJson && input.manifestJson
    ? "docker-archive+oci"
    : input.indexJson
    ? "oci"
    : "docker-archive";
  return {
    input: input.path,
    format,
    outerCompression: input.compression,
    archiveSha256,
    entries,
    platform: image.platform ? formatPlatform(image.platform) : platformOf(image.config),
    index: input.indexJson ? parse(input.indexJson) : undefined,
    dockerManifest: dockerItem(input, image),
    manifestDigest: image.manifestDigest ?? "",
    manifest: image.manifestBytes ? parse(image.manifestBytes) : undefined,
    configDigest: image.configDigest,
    config: image.config,
    configPath: image.configPath,
    configMediaType: image.configMediaType ?? "",
    layers,
  };
}

/** The outer archive's entries as verify compares them. */
function archiveEntries(input: ImageInput): ArchiveEntry[] {
  return input.entries.map((e) => ({
    name: e.path,
    type: e.kind,
    mode: e.header?.mode ?? 0,
    uid: e.header?.uid ?? 0,
    gid: e.header?.gid ?? 0,
    uname: e.header?.uname ?? "",
    gname: e.header?.gname ?? "",
    mtime: e.header?.mtime ?? 0,
    size: e.size,
    sha256: e.sha256 ?? "",
  }));
}

/** The platform a config states, `unknown` for what it leaves out. */
function platformOf(config: Record<string, unknown>): string {
  const { os, architecture, variant } = config as Record<string, string | undefined>;
  return formatPlatform({ os: os ?? "unknown", architecture: architecture ?? "unknown", variant });
}

function parse(bytes: Uint8Array): unknown {
  return JSON.parse(new TextDecoder().decode(bytes));
}

/** The manifest.json item naming this image's config, if any. */
function dockerItem(input: ImageInput, image: ImageInfo): unknown {
  if (!input.manifestJson) return undefined;
  const items = parse(input.manifestJson);
  if (!Array.isArray(items)) return undefined;
  const hex = image.configDigest.replace(/^sha256:/, "");
  return items.find((i) =>
    typeof i === "object" && i !== null && typeof i.Config === "string" && i.Config.includes(hex)
  );
}

function inputInfo(s: ImageSummary): InputInfo {
  return {
    input: s.input,
    format: s.format,
    compression: s.outerCompression,
    archiveSha256: s.archiveSha256,
    platform: s.platform,
    manifestDigest: s.manifestDigest,
    imageId: s.configDigest,
    layers: s.layers.length,
    files: s.layers.reduce((n, l) => n + l.files.length, 0),
    ...(s.layers.some((l) => l.notRead)
      ? { layersNotRead: s.layers.filter((l) => l.notRead).length }
      : {}),
  };
}

/** One input's info: of the only pair, or of the first with the platforms listed. */
function mergeInfos(
  infos: [InputInfo, InputInfo][],
  a: ImageInput,
  b: ImageInput,
  shaA: string,
  shaB: string,
  /** Every platform of either input was paired (no --platform): the lines list them all. */
  several: boolean,
): [InputInfo, InputInfo] {
  const blank = (input: ImageInput, sha: string): InputInfo => ({
    input: input.path,
    format: input.indexJson ? "oci" : "docker-archive",
    compression: input.compression,
    archiveSha256: sha,
    platform: "",
    manifestDigest: "",
    imageId: "",
    layers: 0,
    files: 0,
  });
  if (infos.length === 0) return [blank(a, shaA), blank(b, shaB)];
  if (infos.length === 1 && !several) return infos[0];
  // Several platforms: each input's line names every platform it holds.
  const [ia, ib] = infos[0];
  return [
    { ...ia, platform: platformList(a) },
    { ...ib, platform: platformList(b) },
  ];
}

/** Differing files larger than this are not spooled to be looked into (text diff, Go build info). */
export const ANALYZE_MAX = 2 * 2 ** 30;

/** The size in a content leaf's value (`<size> bytes, sha256:…`). */
function leafSize(v: unknown): number {
  return typeof v === "string" ? parseInt(v, 10) || 0 : 0;
}

interface ContentContext {
  /** Receives the content leaves too large to look into ({@linkcode ANALYZE_MAX}). */
  large: DiffNode[];
  inputs: [ImageInput, ImageInput];
  images: [ImageInfo, ImageInfo];
  summaries: [ImageSummary, ImageSummary];
  work: string;
  ignore: IgnoreOptions;
  maxDiffLines?: number;
  maxAnalyzed: number;
  progress: Progress;
  /** Receives the build info of each pair of differing Go binaries (sbom_diff.ts). */
  goBinaries: GoBinaryPair[];
}

/** The `content` leaves of the tree, minus those the user ignores by path. */
function contentLeaves(tree: DiffNode | null, ignore: IgnoreOptions): DiffNode[] {
  const out: DiffNode[] = [];
  const seen = new Set<DiffNode>();
  const walk = (n: DiffNode) => {
    if (seen.has(n)) return;
    seen.add(n);
    if (n.scope === "file" && n.field === "content" && n.layer !== undefined && n.path) {
      if (!ignore.paths.some((g) => globMatch(g, n.path!))) out.push(n);
    }
    n.children.forEach(walk);
  };
  if (tree) walk(tree);
  return out;
}

/** Spools both versions of each differing file and names what differs inside. */
/** Returns how many differing files were left out by `maxAnalyzed`. */
async function analyzeContents(tree: DiffNode | null, ctx: ContentContext): Promise<number> {
  // Both versions of a file are spooled to be looked into: not those above ANALYZE_MAX (issue
  // 10: a 20 GiB file would write 40 GiB to TMPDIR); their digests say that they differ.
  // Nor more than the free space of TMPDIR holds: the others are said to be left out.
  const all: DiffNode[] = [];
  const free = await statfs(ctx.work).then((f) => Number(f.bavail) * Number(f.bsize), () => null);
  let need = 0;
  for (const n of contentLeaves(tree, ctx.ignore)) {
    const size = leafSize(n.a) + leafSize(n.b);
    const fits = all.length >= ctx.maxAnalyzed || free === null || need + size <= free * 0.9;
    if (Math.max(leafSize(n.a), leafSize(n.b)) > ANALYZE_MAX || !fits) ctx.large.push(n);
    else {
      all.push(n);
      if (all.length <= ctx.maxAnalyzed) need += size;
    }
  }
  const leaves = all.slice(0, ctx.maxAnalyzed);
  if (leaves.length === 0) return all.length;
  const spooled: [Map<string, string>, Map<string, string>] = [new Map(), new Map()];
  for (const side of [0, 1] as const) {
    const byLayer = new Map<number, Set<string>>();
    for (const n of leaves) {
      const set = byLayer.get(n.layer!) ?? new Set();
      set.add(n.path!);
      byLayer.set(n.layer!, set);
    }
    for (const [layer, paths] of byLayer) {
      await spoolFiles(ctx, side, layer, paths, spooled[side]);
    }
  }
  for (const n of leaves) {
    const key = `${n.layer}\0${n.path}`;
    const pa = spooled[0].get(key);
    const pb = spooled[1].get(key);
    if (!pa || !pb) continue;
    using fa = await Deno.open(pa);
    using fb = await Deno.open(pb);
    const ra = fileRandomAccess(fa, (await fa.stat()).size);
    const rb = fileRandomAccess(fb, (await fb.stat()).size);
    const { cause, detail } = await analyzeContent(ra, rb, {
      path: n.path!,
      maxDiffLines: ctx.maxDiffLines,
    });
    n.cause = cause;
    n.detail = detail;
    if (detail.kind === "go") {
      const infos = await readGoModulePair(ra, rb);
      if (infos) ctx.goBinaries.push({ layer: n.layer!, path: n.path!, ...infos });
    }
  }
  return all.length - leaves.length;
}

/**
 * Writes the content of `paths` in one layer of one side to temporary files:
 * by offset when the layer is stored uncompressed, else in one pass over it.
 */
async function spoolFiles(
  ctx: ContentContext,
  side: 0 | 1,
  layer: number,
  paths: Set<string>,
  into: Map<string, string>,
): Promise<void> {
  const input = ctx.inputs[side];
  const image = ctx.images[side];
  const files = ctx.summaries[side].layers[layer].files;
  const last = new Map<string, FileMeta>();
  for (const f of files) if (paths.has(f.path)) last.set(f.path, f);
  const target = () => `${ctx.work}/${side}-${layer}-${into.size}`;
  let pending = last.size;
  for (const [path, f] of last) {
    if (f.dataOffset === undefined) continue;
    const range = input.layerRange(image, layer, f.dataOffset, f.size);
    if (!range) break;
    const dest = target();
    await writeStream(dest, range);
    into.set(`${layer}\0${path}`, dest);
    pending--;
  }
  if (pending === 0) return;
  ctx.progress.force(
    `${input.path}: reading layer ${layer} again for ${plural(pending, "differing file")}`,
  );
  let index = 0;
  for await (const entry of input.layerEntries(image, layer)) {
    const f = files[index++];
    if (!f || last.get(f.path) !== f || into.has(`${layer}\0${f.path}`)) continue;
    const dest = target();
    await writeStream(dest, entry.body);
    into.set(`${layer}\0${f.path}`, dest);
    if (--pending === 0) break;
  }
}

async function writeStream(path: string, source: AsyncIterable<Uint8Array>): Promise<void> {
  using file = await Deno.open(path, { write: true, createNew: true, mode: 0o600 });
  for await (const chunk of source) {
    let off = 0;
    try {
      while (off < chunk.length) off += await file.write(chunk.subarray(off));
    } catch (error) {
      throw diskFullOr(error, path, "TMPDIR");
    }
  }
}

/**
 * The note on archive files whose sha256 differ while no finding is left: where the bytes differ
 * when both hold the same entries (trailing bytes, padding, the archive twice), else that the
 * packaging notes explain it.
 */
async function archiveNote(
  a: ImageInput,
  b: ImageInput,
  shaA: string,
  shaB: string,
): Promise<string> {
  const head = `the archive files differ (${shortSha(shaA)} vs ${shortSha(shaB)})`;
  if (a.compression !== b.compression || !sameEntries(archiveEntries(a), archiveEntries(b))) {
    return `${head}: the same image, packaged differently`;
  }
  const d = await compareFiles(a.path, b.path);
  const spans: TarSpan[] | null = a.compression === "none"
    ? a.entries.filter((e) => e.header).map((e) => ({
      name: e.name,
      dataOffset: e.header!.dataOffset,
      size: e.kind === "file" ? e.size : 0,
    }))
    : null;
  const gz = a.compression === "none"
    ? ""
    : ` (${a.compression} bytes; the tar inside is the same)`;
  return `${head}, with the same entries: ${describeByteDifference(d, spans)}${gz}`;
}

function shortSha(d: string): string {
  return d.replace(/^(sha256:[0-9a-f]{12})[0-9a-f]{52}$/, "$1…");
}

/** Reads two files side by side: the first differing byte, how many differ, what a longer one adds. */
async function compareFiles(pathA: string, pathB: string): Promise<ByteDifference> {
  using fa = await Deno.open(pathA);
  using fb = await Deno.open(pathB);
  const sizeA = (await fa.stat()).size;
  const sizeB = (await fb.stat()).size;
  const common = Math.min(sizeA, sizeB);
  const bufA = new Uint8Array(1 << 20);
  const bufB = new Uint8Array(1 << 20);
  let first = -1;
  let count = 0;
  for (let at = 0; at < common;) {
    const n = Math.min(bufA.length, common - at);
    await readFull(fa, bufA.subarray(0, n));
    await readFull(fb, bufB.subarray(0, n));
    for (let i = 0; i < n; i++) {
      if (bufA[i] !== bufB[i]) {
        if (first < 0) first = at + i;
        count++;
      }
    }
    at += n;
  }
  const d: ByteDifference = { sizeA, sizeB, first: first < 0 ? common : first, count };
  if (count === 0 && sizeA !== sizeB) {
    // The longer one goes on: a copy of the shorter (written twice), zeros, or anything else.
    const [longer, shorter, shortSize] = sizeA > sizeB ? [fa, fb, sizeB] : [fb, fa, sizeA];
    const extra = Math.max(sizeA, sizeB) - common;
    await shorter.seek(0, Deno.SeekMode.Start);
    let copy = extra === shortSize;
    let zeros = true;
    for (let at = 0; at < extra;) {
      const n = Math.min(bufA.length, extra - at);
      await readFull(longer, bufA.subarray(0, n));
      if (copy) await readFull(shorter, bufB.subarray(0, n));
      for (let i = 0; i < n; i++) {
        if (bufA[i] !== 0) zeros = false;
        if (copy && bufA[i] !== bufB[i]) copy = false;
      }
      at += n;
    }
    d.tail = copy ? "copy" : zeros ? "zeros" : "other";
  }
  return d;
}

async function readFull(file: Deno.FsFile, buf: Uint8Array): Promise<void> {
  let got = 0;
  while (got < buf.length) {
    const r = await file.read(buf.subarray(got));
    if (r === null) throw new Error("File ended while it was read");
    got += r;
  }
}

/** A progress callback limited to one line a second, silent during the first two seconds. */
interface Progress {
  /** A line, or what makes it: made only when it is shown (verify calls this per file). */
  (line: string | (() => string)): void;
  /** Passes the line on when anything was shown already. */
  force(line: string): void;
}

function throttle(sink: ((line: string) => void) | undefined, now: () => number): Progress {
  const start = now();
  let last = start;
  let shown = false;
  const progress = ((line: string | (() => string)) => {
    if (!sink) return;
    const t = now();
    if (t - start < 2000 || t - last < 1000) return;
    last = t;
    shown = true;
    sink(typeof line === "string" ? line : line());
  }) as Progress;
  progress.force = (line: string) => {
    if (sink && shown) sink(line);
    else progress(line);
  };
  return progress;
}
