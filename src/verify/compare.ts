/**
 * Top-down comparison of two images (DESIGN: verify): archive, index, manifest,
 * config field by field, layers paired by position, and the files of each layer.
 * The result is a tree of differences whose inner nodes are digests explained by
 * the nodes below them; `collapse` (causes.ts) turns it into findings.
 *
 * Pure: works on the summaries the reader collected, never touches the disk.
 *
 * @module
 */
import { canonicalJson } from "../image/canonical_json.ts";
import {
  type CauseId,
  type DiffNode,
  FINDINGS_PER_KIND,
  type IgnoreOptions,
  type OmittedFindings,
} from "./findings.ts";
import { globMatch } from "./glob.ts";
import type { ArchiveEntry, FileMeta, ImageSummary, LayerSummary } from "./summary.ts";
import type { Digests } from "../digests.ts";
import { isObject } from "../json_object.ts";

/**
 * Whether two summaries hold the same content: configs equal as JSON (whatever their bytes: key
 * order, escapes), the same diff_ids.
 */
export function sameContent(a: ImageSummary, b: ImageSummary): boolean {
  return canonical(a.config) === canonical(b.config) && a.layers.length === b.layers.length &&
    a.layers.every((l, i) => l.diffId === b.layers[i].diffId);
}

/** Options of {@linkcode compareImages}. */
export interface CompareOptions {
  /**
   * What the user ignores: file differences it covers are counted on their layer node
   * (`ignoredBelow`) instead of kept, so that they take no memory and no place in the limit.
   */
  ignore?: IgnoreOptions;
  /** File differences of one kind (field and cause) kept per layer; the rest are counted. */
  perKind?: number;
}

/**
 * Compares two images and returns the root of the difference tree, or `null` when nothing
 * differs. The same image in different packaging is `null` too: see {@linkcode packagingNotes}.
 * Memory is bounded whatever the number of differing files: per layer, the first
 * `perKind` ({@linkcode FINDINGS_PER_KIND}) differences of a kind are nodes, the others counts.
 */
export function compareImages(
  a: ImageSummary,
  b: ImageSummary,
  options: CompareOptions = {},
): DiffNode | null {
  if (sameContent(a, b)) {
    const leaves = identityLeaves(a, b);
    if (leaves.length === 0) return null;
    return {
      scope: "archive",
      field: "archive sha256",
      a: a.archiveSha256 || null,
      b: b.archiveSha256 || null,
      children: [{
        scope: "manifest",
        field: identityLevel(a, b) === "manifest" ? "manifest digest" : "image ID",
        a: identityLevel(a, b) === "manifest" ? a.manifestDigest : a.configDigest,
        b: identityLevel(a, b) === "manifest" ? b.manifestDigest : b.configDigest,
        children: leaves,
        unexplained: "config",
      }],
      unexplained: "tar-format",
    };
  }
  const image = compareImage(a, b, options);
  const children: DiffNode[] = [];
  if (
    a.outerCompression === b.outerCompression && a.outerCompression !== "none" &&
    a.archiveSha256 !== b.archiveSha256 && sameEntries(a.entries, b.entries)
  ) {
    // Same tar entries, different compressed bytes: the outer compressor differs.
    children.push(leaf("archive", "outer compression bytes", a.archiveSha256, b.archiveSha256, {
      cause: "compression",
    }));
  }
  for (const x of compareEntries(a.entries, b.entries, image !== null)) children.push(x);
  for (const x of compareIndex(a.index, b.index)) children.push(x);
  for (const x of compareDockerManifest(a.dockerManifest, b.dockerManifest)) children.push(x);
  if (image) children.push(image);
  if (children.length === 0) return null;
  return {
    scope: "archive",
    field: "archive sha256",
    a: a.archiveSha256 || null,
    b: b.archiveSha256 || null,
    children,
    unexplained: "tar-format",
  };
}

/**
 * The strongest identity both images carry: the manifest digest when both have one, else the
 * image ID (a docker-archive has no manifest), whose diff_ids the caller checked against the
 * layers' content.
 */
export function identityLevel(a: ImageSummary, b: ImageSummary): "manifest" | "image-id" {
  return a.manifestDigest !== "" && b.manifestDigest !== "" ? "manifest" : "image-id";
}

/**
 * What differs between two images of the same verified content (same config JSON, same
 * diff_ids) at the identity level they are judged by: empty when that identity is equal. Each
 * leaf is one finding: the config's bytes (`config-encoding`), the layer blobs
 * (`compression`), the manifest's own fields (`manifest-encoding`). A reproducible build is
 * judged by the digest people pin, so each is a difference unless the user ignores its cause.
 */
export function identityLeaves(a: ImageSummary, b: ImageSummary): DiffNode[] {
  const out: DiffNode[] = [];
  const byManifest = identityLevel(a, b) === "manifest";
  if (byManifest ? a.manifestDigest === b.manifestDigest : a.configDigest === b.configDigest) {
    return out;
  }
  if (a.configDigest !== b.configDigest) {
    out.push(leaf("config", "image ID", a.configDigest, b.configDigest, {
      cause: "config-encoding",
    }));
  }
  if (!byManifest) return out;
  const blobs = a.layers.flatMap((l, i) => (l.digest !== b.layers[i].digest ? [i] : []));
  if (blobs.length > 0) {
    const describe = (s: ImageSummary) =>
      blobs.map((i) => {
        const l = s.layers[i];
        return `layer ${i}: ${l.compression}, ${l.size} bytes, ${l.digest}`;
      }).join("; ");
    out.push(leaf("manifest", BLOBS_FIELD, describe(a), describe(b), { cause: "compression" }));
  }
  const all = manifestFields(a, b);
  // The same base digest under another name (a mirror): named as such, not as re-encoding.
  const annotation = (s: ImageSummary, key: string) =>
    isObject(s.manifest) && isObject(s.manifest.annotations)
      ? s.manifest.annotations[key] ?? null
      : null;
  for (const key of [BASE_DIGEST, BASE_NAME]) {
    const field = `annotations[${JSON.stringify(key)}]`;
    if (!all.includes(field)) continue;
    out.push(leaf("manifest", field, annotation(a, key), annotation(b, key), {
      cause: "base-image",
    }));
  }
  const fields = all.filter((f) =>
    !f.includes(JSON.stringify(BASE_DIGEST)) && !f.includes(JSON.stringify(BASE_NAME))
  );
  if (fields.length > 0 || out.length === 0) {
    const field = `${MANIFEST_FIELD}${fields.length ? `: ${fields.join(", ")}` : ""}`;
    out.push(leaf("manifest", field, a.manifestDigest, b.manifestDigest, {
      cause: "manifest-encoding",
    }));
  }
  return out;
}

/** The field of the finding on layer blobs that differ over the same verified content. */
export const BLOBS_FIELD = "layer blobs (same content: diff_ids verified)";
/** The field of the finding on manifests that differ around the same config and layers. */
export const MANIFEST_FIELD = "manifest (same config and layers)";

/**
 * The manifest fields that differ besides the config and layer digests: its own fields (media
 * type, annotations, artifactType) and the descriptors' media types and annotations.
 */
function manifestFields(a: ImageSummary, b: ImageSummary): string[] {
  const strip = (m: unknown) => {
    if (!isObject(m)) return m;
    const { config, layers, ...rest } = m;
    const descriptor = (d: unknown) => {
      if (!isObject(d)) return d;
      const { digest: _d, size: _s, ...kept } = d;
      return kept;
    };
    return {
      ...rest,
      config: descriptor(config),
      layers: Array.isArray(layers) ? layers.map(descriptor) : layers,
    };
  };
  const found = compareJson(strip(a.manifest), strip(b.manifest), {
    path: "",
    scope: "manifest",
    causeOf: jsonCause,
  }).map((n) => n.field.replace(/\[\d+\]/g, "[]"));
  return [...new Set(found)];
}

/** Same names, headers and contents in the same order: the same tar, up to padding. */
export function sameEntries(a: ArchiveEntry[], b: ArchiveEntry[]): boolean {
  return a.length === b.length && a.every((e, i) => JSON.stringify(e) === JSON.stringify(b[i]));
}

function leaf(
  scope: DiffNode["scope"],
  field: string,
  a: unknown,
  b: unknown,
  extra: Partial<DiffNode> & { cause: CauseId },
): DiffNode {
  return { scope, field, a, b, children: [], ...extra };
}

const DOCUMENTS = new Set(["index.json", "manifest.json"]);
/**
 * Entries named after a digest: OCI blobs, `docker save`'s `<id>/layer.tar` and `<hex>.json`,
 * go-containerregistry's tarball (ko, crane) `sha256:<hex>` config and `<hex>.tar.gz` layers.
 */
const BLOB_NAME =
  /^(blobs\/sha256\/[0-9a-f]{64}|(sha256:)?[0-9a-f]{64}(\/.*|\.json|\.tar|\.tar\.gz|\.tar\.zst)?)$/;

/** Whether an archive entry is named by a digest (an OCI blob or a legacy docker-archive layer). */
export function isBlobName(name: string): boolean {
  return BLOB_NAME.test(name);
}

/** Outer archive entries: names, metadata and order. Blob names follow digests, so they are explained by the image when it differs. */
function compareEntries(
  a: ArchiveEntry[],
  b: ArchiveEntry[],
  imageDiffers: boolean,
): DiffNode[] {
  const out: DiffNode[] = [];
  const mapB = new Map(b.map((e) => [e.name, e]));
  const mapA = new Map(a.map((e) => [e.name, e]));
  const skip = (name: string) => imageDiffers && BLOB_NAME.test(name);
  for (const ea of a) {
    const eb = mapB.get(ea.name);
    if (!eb) {
      if (!skip(ea.name)) {
        out.push(leaf("archive", "removed", ea.name, null, { path: ea.name, cause: "files" }));
      }
      continue;
    }
    for (const x of compareHeader("archive", undefined, ea, eb)) out.push(x);
    // index.json and manifest.json are compared field by field; blobs by what they hold;
    // the legacy `repositories` maps tags to layer IDs, so a different image explains it
    // (its tags are in manifest.json too).
    const explained = imageDiffers && ea.name === "repositories";
    if (ea.sha256 !== eb.sha256 && !skip(ea.name) && !DOCUMENTS.has(ea.name) && !explained) {
      const cause = ea.name === "repositories" ? "tags" : "content";
      out.push(leaf("archive", "content", ea.sha256, eb.sha256, { path: ea.name, cause }));
    }
  }
  for (const eb of b) {
    if (!mapA.has(eb.name) && !skip(eb.name)) {
      out.push(leaf("archive", "added", null, eb.name, { path: eb.name, cause: "files" }));
    }
  }
  const order = firstOrderDifference(
    a.map((e) => e.name).filter((n) => mapB.has(n)),
    b.map((e) => e.name).filter((n) => mapA.has(n)),
  );
  if (order) {
    out.push(leaf("archive", "order", order.a, order.b, { cause: "order", path: order.at }));
  }
  return out;
}

/** Metadata of one tar entry present in both: type, mode, owner, mtime. */
function compareHeader(
  scope: "archive" | "file",
  layer: number | undefined,
  a: ArchiveEntry | FileMeta,
  b: ArchiveEntry | FileMeta,
): DiffNode[] {
  const out: DiffNode[] = [];
  const at = { path: "path" in a ? a.path : a.name, ...(layer === undefined ? {} : { layer }) };
  if (a.type !== b.type) {
    out.push(leaf(scope, "type", a.type, b.type, { ...at, cause: "metadata" }));
  }
  if (a.mode !== b.mode) {
    out.push(leaf(scope, "mode", octal(a.mode), octal(b.mode), { ...at, cause: "mode" }));
  }
  for (const field of ["uid", "gid", "uname", "gname"] as const) {
    if (a[field] !== b[field]) {
      out.push(leaf(scope, field, a[field], b[field], { ...at, cause: "owner" }));
    }
  }
  if (a.mtime !== b.mtime) {
    out.push(
      leaf(scope, "mtime", isoTime(a.mtime), isoTime(b.mtime), { ...at, cause: "timestamps" }),
    );
  }
  return out;
}

/** Permission bits as `0755`. */
export function octal(mode: number): string {
  return "0" + mode.toString(8).padStart(3, "0");
}

/** Times already formatted: a layer's files share few mtimes, and 150,000 files are common. */
const isoTimes = new Map<number, string>();

/** Seconds since the epoch as RFC 3339, keeping fractions. */
export function isoTime(seconds: number): string {
  let text = isoTimes.get(seconds);
  if (text === undefined) {
    if (isoTimes.size >= 4096) isoTimes.clear();
    isoTimes.set(seconds, text = formatTime(seconds));
  }
  return text;
}

function formatTime(seconds: number): string {
  if (!Number.isFinite(seconds)) return String(seconds);
  const d = new Date(Math.floor(seconds * 1000));
  if (Number.isNaN(d.getTime())) return String(seconds);
  return d.toISOString().replace(".000Z", "Z");
}

/** The first position where two orderings of the same names differ. */
function firstOrderDifference(
  a: string[],
  b: string[],
): { at: string; a: string; b: string } | null {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    if (a[i] !== b[i]) {
      return { at: `entry ${i + 1} of ${n}`, a: a[i], b: b[i] };
    }
  }
  return null;
}

/**
 * The documents attached to the images of an `index.json` (r10e's SBOMs and provenance, any
 * OCI 1.1 artifact): the artifact types of the entries that have one, sorted.
 */
export function attachedTypes(index: unknown): string[] {
  if (!isObject(index) || !Array.isArray(index.manifests)) return [];
  return index.manifests.filter((m) => isObject(m) && typeof m.artifactType === "string")
    .map((m) => (m as { artifactType: string }).artifactType).sort();
}

/**
 * A packaging note when the attached documents differ (they describe the image, they are not
 * part of it): only one side has them, or other ones.
 */
export function attachmentNotes(a: unknown, b: unknown): string[] {
  const [ta, tb] = [attachedTypes(a), attachedTypes(b)];
  if (ta.join() === tb.join()) return [];
  const list = (t: string[]) => [...new Set(t)].join(", ");
  if (tb.length === 0) return [`documents attached to the image only in A: ${list(ta)}`];
  if (ta.length === 0) return [`documents attached to the image only in B: ${list(tb)}`];
  return [`attached documents differ: ${list(ta)} vs ${list(tb)}`];
}

/** `index.json`: everything but the manifest descriptors (their digests are explained by the image). */
function compareIndex(a: unknown, b: unknown): DiffNode[] {
  if (a === undefined || b === undefined) return [];
  const strip = (index: unknown) => {
    if (!isObject(index)) return index;
    const copy: Record<string, unknown> = { ...index };
    if (Array.isArray(copy.manifests)) {
      // Attached documents are not images: attachmentNotes says how they differ.
      copy.manifests = copy.manifests.filter((m) =>
        !(isObject(m) && typeof m.artifactType === "string")
      ).map((m) => {
        if (!isObject(m)) return m;
        const { digest: _d, size: _s, ...rest } = m;
        return rest;
      });
    }
    return copy;
  };
  return compareJson(strip(a), strip(b), { path: "", scope: "index", causeOf: indexCause });
}

function indexCause(path: string, a: unknown, b: unknown): CauseId {
  if (/ref\.name|image\.name|RepoTags/.test(path)) return "tags";
  return jsonCause(path, a, b);
}

/** The docker-archive `manifest.json` item: tags; `Config` and `Layers` name blobs, explained by the image. */
function compareDockerManifest(a: unknown, b: unknown): DiffNode[] {
  if (!isObject(a) || !isObject(b)) return [];
  const { Config: _ca, Layers: _la, LayerSources: _sa, ...ra } = a;
  const { Config: _cb, Layers: _lb, LayerSources: _sb, ...rb } = b;
  return compareJson(ra, rb, { path: "manifest.json", scope: "archive", causeOf: indexCause });
}

/** The image: manifest digest explained by manifest fields, config and layers. */
function compareImage(
  a: ImageSummary,
  b: ImageSummary,
  options: CompareOptions,
): DiffNode | null {
  let layers = compareLayers(a.layers, b.layers, options);
  // Built on another base image: the base's layers and history differ as a whole, one finding
  // (the annotation below), not a wall of file differences inside them.
  const base = { a: baseOf(a), b: baseOf(b) };
  const baseChanged = base.a.digest !== null && base.b.digest !== null &&
    base.a.digest !== base.b.digest;
  if (baseChanged) {
    const n = Math.min(base.a.layers, base.b.layers);
    layers = layers.map((l, i) =>
      i >= n || l === null
        ? l
        : i === 0
        ? leaf("layer", "base image layers", base.a.digest, base.b.digest, {
          layer: 0,
          cause: "base-image",
        })
        : null
    );
  }
  let config = compareConfig(a, b, layers);
  if (config && baseChanged) {
    const n = Math.min(base.a.history, base.b.history);
    const inBase = (c: DiffNode) => {
      const m = /^history\[(\d+)\]/.exec(c.field);
      return m !== null && Number(m[1]) < n;
    };
    config = { ...config, children: config.children.filter((c) => !inBase(c)) };
  }
  const children: DiffNode[] = [];
  if (a.manifest !== undefined && b.manifest !== undefined) {
    const strip = (m: unknown) => {
      if (!isObject(m)) return m;
      const { config: _c, layers: _l, ...rest } = m;
      return rest;
    };
    children.push(
      ...compareJson(strip(a.manifest), strip(b.manifest), {
        path: "",
        scope: "manifest",
        causeOf: jsonCause,
      }),
    );
  }
  if (config) children.push(config);
  for (const x of layers.filter((l): l is DiffNode => l !== null)) children.push(x);
  const byManifest = a.manifestDigest !== "" && b.manifestDigest !== "";
  const same = byManifest
    ? a.manifestDigest === b.manifestDigest
    : a.configDigest === b.configDigest && children.length === 0;
  if (same && children.length === 0) return null;
  return {
    scope: "manifest",
    field: byManifest ? "manifest digest" : "image ID",
    a: byManifest ? a.manifestDigest : a.configDigest,
    b: byManifest ? b.manifestDigest : b.configDigest,
    children,
    unexplained: "config",
  };
}

/**
 * The config digest, explained field by field; `rootfs.diff_ids` is explained by the layers.
 * Different bytes holding the same JSON (skopeo re-encodes: key order, `\u003c`) are one leaf.
 */
function compareConfig(
  a: ImageSummary,
  b: ImageSummary,
  layers: (DiffNode | null)[],
): DiffNode | null {
  if (a.configDigest === b.configDigest) return null;
  if (canonical(a.config) === canonical(b.config)) {
    return leaf("config", "image ID", a.configDigest, b.configDigest, {
      cause: "config-encoding",
    });
  }
  const strip = (c: unknown) => {
    if (!isObject(c)) return c;
    const { rootfs: _r, ...rest } = c;
    return rest;
  };
  const children = compareJson(strip(a.config), strip(b.config), {
    path: "",
    scope: "config",
    causeOf: jsonCause,
  });
  const rootA = isObject(a.config) ? a.config.rootfs : undefined;
  const rootB = isObject(b.config) ? b.config.rootfs : undefined;
  if (canonical(rootA) !== canonical(rootB)) {
    const below = layers.filter((l): l is DiffNode => l !== null);
    children.push({
      scope: "config",
      field: "rootfs.diff_ids",
      a: diffIds(rootA),
      b: diffIds(rootB),
      children: below,
      unexplained: "layers",
    });
  }
  return {
    scope: "config",
    field: "image ID",
    a: a.configDigest,
    b: b.configDigest,
    children,
    unexplained: "config",
  };
}

/** JSON with sorted keys: equal for equal content whatever the encoding. */
function canonical(v: unknown): string {
  try {
    return canonicalJson(v);
  } catch {
    return JSON.stringify(v);
  }
}

function diffIds(rootfs: unknown): unknown {
  return isObject(rootfs) && Array.isArray(rootfs.diff_ids) ? rootfs.diff_ids : rootfs;
}

/** Layers paired by position; one entry per position, `null` where the blobs are the same. */
function compareLayers(
  a: LayerSummary[],
  b: LayerSummary[],
  options: CompareOptions,
): (DiffNode | null)[] {
  const out: (DiffNode | null)[] = [];
  const n = Math.max(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const la = a[i];
    const lb = b[i];
    if (!la || !lb) {
      const l = (la ?? lb)!;
      out.push(leaf("layer", la ? "removed" : "added", la ? l.digest : null, lb ? l.digest : null, {
        layer: i,
        cause: "layers",
      }));
      continue;
    }
    out.push(compareLayer(la, lb, i, options));
  }
  return out;
}

/** One layer: same diff_id means only the compression differs; otherwise the files explain it. */
function compareLayer(
  a: LayerSummary,
  b: LayerSummary,
  layer: number,
  options: CompareOptions,
): DiffNode | null {
  if (a.digest === b.digest) return null;
  const children: DiffNode[] = [];
  const kindA = a.compression + (a.mediaType ? ` (${a.mediaType})` : "");
  const kindB = b.compression + (b.mediaType ? ` (${b.mediaType})` : "");
  if (a.diffId === b.diffId || kindA !== kindB) {
    const compressionA = `${kindA}, ${a.size} bytes`;
    const compressionB = `${kindB}, ${b.size} bytes`;
    children.push(leaf("layer", "compression", compressionA, compressionB, {
      layer,
      cause: "compression",
    }));
  }
  const kept = new KeptLeaves(layer, options);
  if (a.diffId !== b.diffId) compareFiles(a, b, layer, kept);
  for (const x of kept.nodes) children.push(x);
  return {
    scope: "layer",
    layer,
    field: "layer digest",
    a: a.digest,
    b: b.digest,
    children,
    unexplained: "tar-format",
    ...(kept.omitted.length ? { omitted: kept.omitted } : {}),
    ...(kept.ignored.count ? { ignoredBelow: kept.ignored } : {}),
  };
}

/** Pairs of times counted per kind of left-out timestamps (see `OmittedFindings.shifts`). */
const SHIFTS_MAX = 64;

/**
 * The differences found in one layer's files: ignored ones counted, the first `perKind` of each
 * kind (field and cause) kept as nodes, the others counted by kind.
 */
class KeptLeaves {
  readonly nodes: DiffNode[] = [];
  readonly omitted: OmittedFindings[] = [];
  readonly ignored: { count: number; byCause: Partial<Record<CauseId, number>> } = {
    count: 0,
    byCause: {},
  };
  #layer: number;
  #perKind: number;
  #causes: Set<CauseId>;
  #paths: string[];
  #kinds = new Map<string, { kept: number; omitted?: OmittedFindings }>();

  constructor(layer: number, options: CompareOptions) {
    this.#layer = layer;
    this.#perKind = options.perKind ?? FINDINGS_PER_KIND;
    this.#causes = new Set(options.ignore?.causes ?? []);
    this.#paths = options.ignore?.paths ?? [];
  }

  push(node: DiffNode): void {
    const cause = node.cause ?? node.unexplained ?? "content";
    const byPath = node.scope === "file" && node.path !== undefined &&
      this.#paths.some((g) => globMatch(g, node.path!));
    if (this.#causes.has(cause) || byPath) {
      this.ignored.count++;
      this.ignored.byCause[cause] = (this.ignored.byCause[cause] ?? 0) + 1;
      return;
    }
    const key = `${node.scope}\0${node.field}\0${cause}`;
    let kind = this.#kinds.get(key);
    if (!kind) this.#kinds.set(key, kind = { kept: 0 });
    if (kind.kept < this.#perKind) {
      kind.kept++;
      this.nodes.push(node);
      return;
    }
    if (!kind.omitted) {
      kind.omitted = { scope: node.scope, layer: this.#layer, field: node.field, cause, count: 0 };
      this.omitted.push(kind.omitted);
    }
    const o = kind.omitted;
    o.count++;
    if (cause === "timestamps") {
      const k = shiftKey(node.a, node.b);
      const shifts = o.shifts ??= {};
      if (k !== null && (k in shifts || Object.keys(shifts).length < SHIFTS_MAX)) {
        shifts[k] = (shifts[k] ?? 0) + 1;
      }
    }
  }
}

/** `"<secondsA> <secondsB>"` of two RFC 3339 times or PAX times, or null. */
export function shiftKey(a: unknown, b: unknown): string | null {
  const sa = wholeSeconds(a);
  const sb = wholeSeconds(b);
  return sa === null || sb === null ? null : `${sa} ${sb}`;
}

const secondsOf = new Map<string, number | null>();

/** Whole seconds since the epoch of an RFC 3339 string or a PAX time, else null. */
export function wholeSeconds(v: unknown): number | null {
  if (typeof v !== "string") return null;
  let n = secondsOf.get(v);
  if (n === undefined) {
    if (secondsOf.size >= 4096) secondsOf.clear();
    secondsOf.set(v, n = parseSeconds(v));
  }
  return n;
}

function parseSeconds(v: unknown): number | null {
  if (typeof v === "string" && /^\d{4}-\d\d-\d\dT/.test(v)) {
    const t = Date.parse(v);
    return Number.isNaN(t) ? null : Math.floor(t / 1000);
  }
  if (typeof v === "string" && /^-?\d+(\.\d+)?$/.test(v)) return Math.floor(Number(v));
  return null;
}

const gc = (globalThis as { gc?: (o?: { type: string }) => void }).gc;

/** Files of one layer, paired by path, into `out`. */
function compareFiles(
  layerA: LayerSummary,
  layerB: LayerSummary,
  layer: number,
  out: KeptLeaves,
): void {
  const { files: a, digests: digestsA } = layerA;
  const { files: b, digests: digestsB } = layerB;
  const sides: FileSides = { layer, digestsA, digestsB };
  if (sameUniqueNames(a, b)) {
    // Nearly always (a rebuild of the same tree): each file is paired by position, no maps.
    for (let i = 0; i < a.length; i++) {
      for (const x of compareFile(a[i], b[i], sides)) out.push(x);
      // Each pair's garbage dies young: collected before the young generation grows for it.
      if (gc && i % 8192 === 8191) gc({ type: "minor" });
    }
    compareFormats(a, b, layer, out);
    return;
  }
  // Maps and lists built without intermediate arrays: 200,000 files a side (peak RSS).
  const mapA = byPath(a);
  const mapB = byPath(b);
  for (const fa of a) {
    if (mapA.get(fa.path) !== fa) continue; // a duplicate name: the last one counts, as on extraction
    const fb = mapB.get(fa.path);
    if (!fb) {
      out.push(
        leaf("file", "removed", describe(fa), null, { layer, path: fa.path, cause: "files" }),
      );
      continue;
    }
    for (const x of compareFile(fa, fb, sides)) out.push(x);
  }
  for (const fb of b) {
    if (mapB.get(fb.path) === fb && !mapA.has(fb.path)) {
      out.push(leaf("file", "added", null, describe(fb), { layer, path: fb.path, cause: "files" }));
    }
  }
  // The same names in the same order (nearly always) have no order difference to look for.
  const sameNames = a.length === b.length && a.every((f, i) => f.path === b[i].path);
  const order = sameNames ? null : firstOrderDifference(
    a.filter((f) => mapB.has(f.path) && mapA.get(f.path) === f).map((f) => f.path),
    b.filter((f) => mapA.has(f.path) && mapB.get(f.path) === f).map((f) => f.path),
  );
  if (order) {
    out.push(leaf("layer", "order", order.a, order.b, { layer, path: order.at, cause: "order" }));
  }
  compareFormats(a, b, layer, out);
}

/**
 * Whether both lists hold the same names in the same order, each name once (strictly
 * ascending, as sorted layers are: a name given twice would need the map's last-one-wins rule).
 */
function sameUniqueNames(a: FileMeta[], b: FileMeta[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    if (a[i].path !== b[i].path || (i > 0 && !(a[i - 1].path < a[i].path))) return false;
  }
  return true;
}

function compareFormats(a: FileMeta[], b: FileMeta[], layer: number, out: KeptLeaves): void {
  const formatsA = formats(a);
  const formatsB = formats(b);
  if (formatsA !== formatsB) {
    out.push(leaf("layer", "tar format", formatsA, formatsB, { layer, cause: "tar-format" }));
  }
}

function byPath(files: FileMeta[]): Map<string, FileMeta> {
  const map = new Map<string, FileMeta>();
  for (const f of files) map.set(f.path, f);
  return map;
}

function formats(files: FileMeta[]): string {
  const set = new Set<string>();
  for (const f of files) if (f.format) set.add(f.format);
  return [...set].sort().join(", ");
}

function describe(f: FileMeta): string {
  if (f.type === "file") return `file, ${f.size} bytes`;
  if (f.type === "symlink" || f.type === "hardlink") return `${f.type} → ${f.linkname}`;
  return f.type;
}

/** PAX records that are timestamps. */
const TIME_RECORDS = new Set(["atime", "ctime", "mtime", "LIBARCHIVE.creationtime"]);

/** One file present in both: header fields, link target, content, PAX records and xattrs. */
/** Where two files being compared come from: their layer and each side's digests. */
interface FileSides {
  layer: number;
  digestsA: Digests;
  digestsB: Digests;
}

function compareFile(a: FileMeta, b: FileMeta, sides: FileSides): DiffNode[] {
  const { layer, digestsA, digestsB } = sides;
  const out = compareHeader("file", layer, a, b);
  const at = { layer, path: a.path };
  if (a.linkname !== b.linkname) {
    out.push(leaf("file", "linkname", a.linkname, b.linkname, { ...at, cause: "metadata" }));
  }
  if (a.type === b.type && !digestsA.same(a.digest, digestsB, b.digest)) {
    out.push(
      leaf(
        "file",
        "content",
        `${a.size} bytes, sha256:${digestsA.hex(a.digest)}`,
        `${b.size} bytes, sha256:${digestsB.hex(b.digest)}`,
        {
          ...at,
          cause: "content",
        },
      ),
    );
  }
  for (const key of unionKeys(a.pax, b.pax)) {
    if (a.pax[key] !== b.pax[key]) {
      const cause = TIME_RECORDS.has(key) ? "timestamps" : "metadata";
      out.push(
        leaf("file", `pax ${key}`, a.pax[key] ?? null, b.pax[key] ?? null, { ...at, cause }),
      );
    }
  }
  for (const key of unionKeys(a.xattrs, b.xattrs)) {
    if (a.xattrs[key] !== b.xattrs[key]) {
      out.push(
        leaf("file", `xattr ${key}`, a.xattrs[key] ?? null, b.xattrs[key] ?? null, {
          ...at,
          cause: "metadata",
        }),
      );
    }
  }
  return out;
}

function unionKeys(a: Record<string, unknown>, b: Record<string, unknown>): string[] {
  return [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
}

/** The annotation r10e (and BuildKit) write for the digest of the base image. */
export const BASE_DIGEST = "org.opencontainers.image.base.digest";
/** The annotation that names the base image's repository. */
export const BASE_NAME = "org.opencontainers.image.base.name";

/**
 * The base image an image names (its manifest's annotation) and how many of its layers and
 * history entries are the base's: those before the first of r10e's own (`r10e: …`).
 */
function baseOf(s: ImageSummary): { digest: string | null; layers: number; history: number } {
  const annotations = isObject(s.manifest) && isObject(s.manifest.annotations)
    ? s.manifest.annotations
    : {};
  const digest = typeof annotations[BASE_DIGEST] === "string" ? annotations[BASE_DIGEST] : null;
  const history = isObject(s.config) && Array.isArray(s.config.history) ? s.config.history : [];
  let layers = 0;
  let entries = 0;
  for (const h of history) {
    if (isObject(h) && typeof h.created_by === "string" && h.created_by.startsWith("r10e: ")) {
      break;
    }
    entries++;
    if (!(isObject(h) && h.empty_layer === true)) layers++;
  }
  return { digest, layers, history: entries };
}

const RFC3339 = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/;

/** The cause of a differing JSON field: a time (by name or by value) is a leaked build time. */
export function jsonCause(path: string, a: unknown, b: unknown): CauseId {
  if (path.includes(`annotations[${JSON.stringify(BASE_DIGEST)}]`)) return "base-image";
  if (path.includes(`annotations[${JSON.stringify(BASE_NAME)}]`)) return "base-image";
  if (/(^|\.)created$/.test(path)) return "timestamps";
  if (typeof a === "string" && typeof b === "string" && RFC3339.test(a) && RFC3339.test(b)) {
    return "timestamps";
  }
  if (/^(architecture|os|variant|os\.version)$/.test(path)) return "platform";
  return "config";
}

/**
 * Field-by-field JSON comparison: objects by key, arrays of objects by position,
 * other arrays and values whole. Returns one leaf per differing field.
 */
export function compareJson(
  a: unknown,
  b: unknown,
  options: {
    /** JSON path of `a` and `b`, `""` at the top. */
    path: string;
    scope: DiffNode["scope"];
    causeOf: (path: string, a: unknown, b: unknown) => CauseId;
  },
): DiffNode[] {
  const { path, scope, causeOf } = options;
  if (isObject(a) && isObject(b)) {
    const out: DiffNode[] = [];
    for (const key of unionKeys(a, b)) {
      const sub = /^[A-Za-z_][A-Za-z0-9_]*$/.test(key)
        ? (path ? `${path}.${key}` : key)
        : `${path}[${JSON.stringify(key)}]`;
      for (const x of compareJson(a[key], b[key], { path: sub, scope, causeOf })) out.push(x);
    }
    return out;
  }
  if (
    Array.isArray(a) && Array.isArray(b) && (a.some(isObject) || b.some(isObject))
  ) {
    const out: DiffNode[] = [];
    for (let i = 0; i < Math.max(a.length, b.length); i++) {
      for (const x of compareJson(a[i], b[i], { path: `${path}[${i}]`, scope, causeOf })) {
        out.push(x);
      }
    }
    return out;
  }
  if (JSON.stringify(a) === JSON.stringify(b)) return [];
  const va = a === undefined ? null : a;
  const vb = b === undefined ? null : b;
  return [leaf(scope, path, va, vb, { cause: causeOf(path, va, vb) })];
}

/**
 * The packaging around the same image, as notes: blob file names, media types, layer
 * blob compression, the manifest's own fields, tags, and the outer archive's entries. Format and
 * outer compression are noted by the caller for every pair. Empty when nothing differs.
 */
export function packagingNotes(a: ImageSummary, b: ImageSummary): string[] {
  const notes: string[] = [];
  const names = (s: ImageSummary) =>
    distinct([s.configPath ?? "", ...s.layers.map((l) => l.path ?? "")].map(nameShape));
  const [na, nb] = [names(a), names(b)];
  if (na !== nb) notes.push(`blob file names differ: ${na} vs ${nb}`);
  const media = (s: ImageSummary) =>
    mediaFamily([
      manifestMediaType(s.manifest),
      s.configMediaType ?? "",
      ...s.layers.map((l) => l.mediaType),
    ]);
  const [ma, mb] = [media(a), media(b)];
  if (ma !== mb) notes.push(`media types differ: ${ma} vs ${mb}`);
  const compression = (s: ImageSummary) => distinct(s.layers.map((l) => l.compression));
  const [ca, cb] = [compression(a), compression(b)];
  // Judged by their manifest digests, other blobs or manifests are findings (identityLeaves).
  const byManifest = identityLevel(a, b) === "manifest";
  if (!byManifest && ca !== cb) {
    notes.push(`layer blobs are stored ${ca} vs ${cb} (same diff_ids)`);
  } else if (!byManifest) {
    const blobs = a.layers.flatMap((l, i) => (l.digest !== b.layers[i].digest ? [i] : []));
    if (blobs.length) {
      notes.push(
        `layer blob bytes differ for the same diff_ids (layer ${blobs.join(", ")}): ` +
          `another compressor or level (pin it, or ship layers uncompressed)`,
      );
    }
  }
  const attached = attachmentNotes(a.index, b.index);
  notes.push(...attached);
  const tags = [
    ...compareIndex(a.index, b.index),
    ...compareDockerManifest(a.dockerManifest, b.dockerManifest),
  ];
  for (const t of tags.slice(0, 2)) {
    const cut = (v: unknown) => {
      const text = JSON.stringify(v) ?? "null";
      return text.length > 60 ? text.slice(0, 59) + "…" : text;
    };
    notes.push(`${t.field} differs: ${cut(t.a)} vs ${cut(t.b)}`);
  }
  // The blobs of attached documents are explained by the note above.
  const entries = compareEntries(a.entries, b.entries, true).filter((e) =>
    !(attached.length && (e.field === "added" || e.field === "removed") &&
      isBlobName(String(e.path)))
  );
  const onlyA = entries.filter((e) => e.field === "removed").map((e) => String(e.path));
  const onlyB = entries.filter((e) => e.field === "added").map((e) => String(e.path));
  const list = (xs: string[]) =>
    xs.slice(0, 3).join(", ") + (xs.length > 3 ? ` and ${xs.length - 3} more` : "");
  if (onlyA.length) notes.push(`archive entries only in A: ${list(onlyA)}`);
  if (onlyB.length) notes.push(`archive entries only in B: ${list(onlyB)}`);
  const headers = new Map<string, number>();
  for (const e of entries) {
    if (e.field !== "added" && e.field !== "removed") {
      headers.set(e.field, (headers.get(e.field) ?? 0) + 1);
    }
  }
  if (headers.size) {
    notes.push(
      `archive entry headers differ: ${[...headers].map(([f, n]) => `${f} (${n})`).join(", ")}`,
    );
  }
  return notes;
}

/** `blobs/sha256/ab12…` → `blobs/sha256/<hex>`: how an archive names its blobs. */
function nameShape(name: string): string {
  return name.replace(/[0-9a-f]{64}/g, "<hex>");
}

function distinct(values: string[]): string {
  return [...new Set(values.filter((v) => v !== ""))].sort().join(", ");
}

/** `OCI`, `Docker v2` or the list of media types: short enough for one note. */
function mediaFamily(types: string[]): string {
  const all = [...new Set(types.filter((t) => t !== ""))].sort();
  if (all.length === 0) return "none (docker-archive)";
  if (all.every((t) => t.startsWith("application/vnd.oci."))) return "OCI";
  if (all.every((t) => t.startsWith("application/vnd.docker."))) {
    return "Docker v2";
  }
  return all.join(", ");
}

function manifestMediaType(m: unknown): string {
  return isObject(m) && typeof m.mediaType === "string" ? m.mediaType : "";
}
