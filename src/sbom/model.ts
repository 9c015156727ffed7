/**
 * What an SBOM says about an image, gathered once (`scan.ts`) and written as SPDX 2.3
 * (`spdx.ts`) or CycloneDX 1.6 (`cyclonedx.ts`) by pure functions (DESIGN: pure
 * core). This file holds the shared model and the derivations both formats use: package
 * URLs, the modules of a Go binary, the CA bundle and tzdata packages, stable identifiers.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { Buffer } from "node:buffer";
import { compareCodePoints } from "../code_point_order.ts";
import type { GoBuildInfo, GoModule } from "../gobinary/go_binary.ts";
import { CA_BUNDLE_SHA256, CA_BUNDLE_SOURCE } from "../pinned/ca_bundle_data.ts";
import { RUNTIME_ROOT_FILES } from "../pinned/runtime_root.ts";
import { sha256Hex } from "../image/digest.ts";

/** One regular file of the merged filesystem. */
export interface SbomFile {
  /** Absolute path in the image, e.g. `/usr/bin/app`. */
  path: string;
  size: number;
  sha256: string;
  /** SPDX 2.3 requires SHA1 for every file (clause 8.4). */
  sha1: string;
}

/** A Go binary found in the image, with its build info. */
export interface SbomBinary {
  path: string;
  sha256: string;
  info: GoBuildInfo;
}

/** The image an SBOM describes. */
export interface SbomImage {
  /** A name from the input (RepoTags, ref.name annotation), or `image`. */
  name: string;
  /** `sha256:<hex>` of the manifest; of the config for a docker-archive without one. */
  digest: string;
  /** Which of the two `digest` is. */
  digestOf: "manifest" | "config";
  /** The config's `created`, as RFC 3339 UTC without fractions; the Unix epoch when absent. */
  created: string;
  /** `os/arch[/variant]`, or null when the image does not say. */
  platform: string | null;
}

/** Everything both formats are written from. */
export interface SbomInput {
  image: SbomImage;
  /** Every regular file, any order (the writers sort). */
  files: SbomFile[];
  /** Every Go binary, any order. */
  binaries: SbomBinary[];
  /** The writing tool, e.g. `{ name: "r10e", version: "0.1.0" }`. */
  tool: { name: string; version: string };
}

/** Where the CA bundle and the zoneinfo tree live (Go's crypto/x509 and time look there). */
export const CA_DIR = "/etc/ssl/certs";
export const TZDATA_DIR = "/usr/share/zoneinfo";

/** The package name of r10e's runtime root (`"runtime"` in config.json) in an SBOM. */
export const RUNTIME_ROOT_PACKAGE = "r10e-runtime-root";

/** A package made of files of the image: the CA bundle, tzdata or r10e's runtime root. */
export interface DataPackage {
  /** `ca-certificates`, `tzdata` or `r10e-runtime-root`. */
  name: string;
  /** The directory it lives under. */
  dir: string;
  /** Its files, sorted by path. */
  files: SbomFile[];
  /** sha256 of the package: its one file's, when it is one file (the usual CA bundle). */
  sha256: string | null;
  /** Where it came from, when known (r10e's own CA bundle, recognized by its pinned sha256). */
  source: string | null;
}

/** The CA bundle and tzdata packages present in `files`, sorted by name. */
export function dataPackages(files: SbomFile[]): DataPackage[] {
  const out: DataPackage[] = [];
  for (const [name, dir] of [["ca-certificates", CA_DIR], ["tzdata", TZDATA_DIR]]) {
    const inside = files.filter((f) => f.path.startsWith(dir + "/")).sort(byPath);
    if (inside.length === 0) continue;
    const sha256 = inside.length === 1 ? inside[0].sha256 : null;
    const source = name === "ca-certificates" && inside.some((f) => f.sha256 === CA_BUNDLE_SHA256)
      ? `r10e's CA bundle: ${CA_BUNDLE_SOURCE}`
      : null;
    out.push({ name, dir, files: inside, sha256, source });
  }
  const root = runtimeRootFiles(files);
  if (root) {
    out.push({
      name: RUNTIME_ROOT_PACKAGE,
      dir: "/etc",
      files: root,
      sha256: null,
      source: "r10e's runtime root: /etc/passwd, /etc/group and /etc/nsswitch.conf written by r10e",
    });
  }
  return out.sort((a, b) => compareCodePoints(a.name, b.name));
}

let runtimeRootSha256: Map<string, string> | null = null;

/**
 * The files of r10e's runtime root when the image has all of them with r10e's bytes, else null:
 * an /etc/passwd of another origin is a file of the image, not r10e's package.
 */
function runtimeRootFiles(files: SbomFile[]): SbomFile[] | null {
  runtimeRootSha256 ??= new Map(
    Object.entries(RUNTIME_ROOT_FILES).map(([path, text]) => [
      path,
      sha256Hex(new TextEncoder().encode(text)),
    ]),
  );
  const found = files.filter((f) => runtimeRootSha256!.get(f.path) === f.sha256).sort(byPath);
  return found.length === runtimeRootSha256.size ? found : null;
}

/** A Go module as it ends up in a binary. */
export interface ModuleEntry {
  path: string;
  /** Version, `(devel)`, or `""` (a local replacement). */
  version: string;
  /** `h1:` sum, `""` when none. */
  sum: string;
  /** The module this one replaces (go.mod `replace`), if any. */
  replaces?: { path: string; version: string };
}

/** The parts of a Go binary the SBOM names. */
export interface BinaryModules {
  main: ModuleEntry | null;
  /** The modules compiled in: replacements instead of what they replace; sorted. */
  deps: ModuleEntry[];
  /** `go1.22.1` (without GOEXPERIMENT suffixes). */
  goVersion: string;
  /** Build settings, sorted by key then value. */
  settings: { key: string; value: string }[];
}

/** The modules, toolchain and settings of one binary, sorted. */
export function binaryModules(info: GoBuildInfo): BinaryModules {
  const entry = (m: GoModule): ModuleEntry => {
    if (!m.replace) return { path: m.path, version: m.version, sum: m.sum };
    const r = m.replace;
    return {
      path: r.path,
      version: r.version,
      sum: r.sum,
      replaces: { path: m.path, version: m.version },
    };
  };
  const deps = info.deps.map(entry).sort((a, b) => compareCodePoints(moduleKey(a), moduleKey(b)));
  const settings = [...info.settings].sort((a, b) =>
    compareCodePoints(a.key, b.key) || compareCodePoints(a.value, b.value)
  );
  return {
    main: info.main ? entry(info.main) : null,
    deps,
    goVersion: info.goVersion.split(" ")[0],
    settings,
  };
}

/** A key that tells modules apart: path, version, sum, and what it replaces. */
export function moduleKey(m: ModuleEntry): string {
  const r = m.replaces ? `\0${m.replaces.path}\0${m.replaces.version}` : "";
  return `${m.path}\0${m.version}\0${m.sum}${r}`;
}

/** The build setting `key` of a binary, or null. */
export function setting(mods: BinaryModules, key: string): string | null {
  return mods.settings.find((s) => s.key === key)?.value ?? null;
}

/**
 * `pkg:golang/<path>@<version>` (purl-spec, type golang): each path segment and the version
 * percent-encoded; no version for `(devel)` or none. Null for a local (relative or absolute)
 * path, which is no Go module proxy name.
 */
export function golangPurl(path: string, version: string): string | null {
  if (path === "" || path.startsWith(".") || path.startsWith("/")) return null;
  const name = path.split("/").map(encodeURIComponent).join("/");
  const v = version && version !== "(devel)" ? "@" + encodeURIComponent(version) : "";
  return `pkg:golang/${name}${v}`;
}

/** `pkg:golang/stdlib@1.22.1` for `go1.22.1`, as syft names the toolchain. */
export function stdlibPurl(goVersion: string): string {
  return `pkg:golang/stdlib@${encodeURIComponent(goVersion.replace(/^go/, ""))}`;
}

/** The sha256 hex inside an `h1:` sum (base64 of SHA-256), or null for anything else. */
export function h1Hex(sum: string): string | null {
  const m = /^h1:([A-Za-z0-9+/]{43}=)$/.exec(sum);
  return m ? Buffer.from(m[1], "base64").toString("hex") : null;
}

/** A name-based UUID (RFC 9562 version 5, SHA-1, URL namespace) of `name`. */
export function uuidV5(name: string): string {
  const ns = Buffer.from("6ba7b8119dad11d180b400c04fd430c8", "hex");
  const h = createHash("sha1").update(ns).update(name).digest().subarray(0, 16);
  h[6] = (h[6] & 0x0f) | 0x50;
  h[8] = (h[8] & 0x3f) | 0x80;
  const x = h.toString("hex");
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}

/** First 16 hex digits of sha256(text): short stable identifiers. */
export function shortHash(text: string): string {
  return createHash("sha256").update(text).digest("hex").slice(0, 16);
}

/** `created` of an image config as `YYYY-MM-DDThh:mm:ssZ` (SPDX's form); the epoch when absent or unreadable. */
export function normalizeCreated(created: unknown): string {
  const ms = typeof created === "string" ? Date.parse(created) : NaN;
  const d = new Date(Number.isFinite(ms) ? Math.floor(ms / 1000) * 1000 : 0);
  return d.toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** Sorts by path, by code point. */
export function byPath(a: { path: string }, b: { path: string }): number {
  return compareCodePoints(a.path, b.path);
}

/**
 * JSON with keys sorted by code point, two-space indented, one final newline: readable and
 * the same bytes for the same document (canonical_json's order). Each object is copied sorted
 * only while it is written (a replacer), not the whole document up front: of a 10,000-file
 * image's SBOM that copy was 12 MB of the peak RSS (bench/sbom_read.ts).
 */
export function sortedJson(value: unknown): string {
  return JSON.stringify(value, sortedObject, 2) + "\n";
}

function sortedObject(_key: string, value: unknown): unknown {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return value;
  const obj = value as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(obj).sort(compareCodePoints)) {
    if (obj[k] !== undefined) out[k] = obj[k];
  }
  return out;
}
