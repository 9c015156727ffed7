/**
 * Verify compares SBOMs: for each Go binary at the same path in both images
 * whose bytes differ, what its build info says changed, named as such above the byte-level
 * findings it explains: a dependency added, removed, upgraded or downgraded (both versions), the
 * same version with another `h1:` sum, a `replace` added, changed or dropped, the main module
 * (version, vcs.revision, vcs.modified, …), the Go toolchain, and the build settings (-ldflags,
 * CGO_ENABLED, GOAMD64, DefaultGODEBUG, …).
 *
 * The modules are read as the SBOM reads them (src/sbom/model.ts `binaryModules` over the build
 * info of src/gobinary/go_binary.ts): the same set `r10e sbom` lists, so the two never disagree.
 *
 * Pure, except `readGoModulePair`, which reads the two binaries' build info.
 *
 * @module
 */
import { compareCodePoints } from "../code_point_order.ts";
import { type GoBuildInfo, readGoBuildInfo } from "../gobinary/go_binary.ts";
import type { RandomAccess } from "../gobinary/random_access.ts";
import { type BinaryModules, binaryModules, type ModuleEntry } from "../sbom/model.ts";
import { buildInfoHint } from "./content.ts";
import { type CauseId, CAUSES, type Finding, type GoModuleSide } from "./findings.ts";

/** The causes of Go module differences, in the order the report names them (before all others but a commit). */
export const GO_MODULE_CAUSES: readonly CauseId[] = [
  "go-dependency",
  "go-toolchain",
  "go-main-module",
  "go-build-setting",
];

/** One Go binary at the same place in both images, with both build infos. */
export interface GoBinaryPair {
  /** Layer position from 0 (as the content finding it explains). */
  layer: number;
  /** Path in the layer, no leading `/`. */
  path: string;
  a: GoBuildInfo;
  b: GoBuildInfo;
}

/**
 * The build info of two binaries, or null when either has none or is malformed (the content
 * finding then says what it could read).
 */
export async function readGoModulePair(
  a: RandomAccess,
  b: RandomAccess,
): Promise<{ a: GoBuildInfo; b: GoBuildInfo } | null> {
  try {
    const [x, y] = await Promise.all([readGoBuildInfo(a), readGoBuildInfo(b)]);
    return x && y ? { a: x, b: y } : null;
  } catch (e) {
    if (e instanceof SyntaxError || e instanceof RangeError) return null;
    throw e;
  }
}

/** The findings of the Go module differences of each pair: dependencies first, then toolchain, main module, settings. */
export function goModuleFindings(pairs: readonly GoBinaryPair[]): Finding[] {
  const out: Finding[] = [];
  const sorted = [...pairs].sort((x, y) => x.layer - y.layer || compareCodePoints(x.path, y.path));
  for (const pair of sorted) {
    const a = binaryModules(pair.a);
    const b = binaryModules(pair.b);
    const at = { scope: "file" as const, layer: pair.layer, path: pair.path };
    const list = [
      ...dependencyFindings(a, b),
      ...toolchainFindings(pair.a, pair.b),
      ...mainModuleFindings(pair.a, pair.b, a, b),
      ...settingFindings(a, b),
    ];
    for (const f of list) out.push({ ...at, ...f });
  }
  return out;
}

type Partial = Omit<Finding, "scope" | "layer" | "path">;

/** The module path go.mod requires: the replaced one for a replacement. */
function required(m: ModuleEntry): string {
  return m.replaces?.path ?? m.path;
}

/** The module as the report shows it: `v1.2.3`, `v1.2.3 => ../dep`, `v1.2.3 => example.com/fork v1.0.0`. */
export function moduleText(m: GoModuleSide | null): string | null {
  if (!m) return null;
  if (!m.replace) return m.version;
  const r = m.replace;
  return `${m.version} => ${r.path}${r.version ? " " + r.version : ""}`.trim();
}

function side(m: ModuleEntry): GoModuleSide {
  if (!m.replaces) return { version: m.version, sum: m.sum };
  return {
    version: m.replaces.version,
    sum: "",
    replace: { path: m.path, version: m.version, sum: m.sum },
  };
}

function dependencyFindings(a: BinaryModules, b: BinaryModules): Partial[] {
  const byPath = (mods: BinaryModules) => new Map(mods.deps.map((m) => [required(m), side(m)]));
  const da = byPath(a);
  const db = byPath(b);
  const paths = [...new Set([...da.keys(), ...db.keys()])].sort(compareCodePoints);
  const out: Partial[] = [];
  for (const path of paths) {
    const x = da.get(path) ?? null;
    const y = db.get(path) ?? null;
    const change = moduleChange(x, y);
    if (!change) continue;
    const sumOnly = change === "sum";
    const text = sumOnly
      ? `the same version of a Go dependency with another h1: sum: its content differs (a re-tagged or altered version, or another module source)`
      : change === "replace"
      ? "a Go dependency's replace directive differs (go.mod `replace`)"
      : `a Go dependency ${change}`;
    out.push({
      field: `go dependency ${path}`,
      a: sumOnly ? sumText(x!) : moduleText(x),
      b: sumOnly ? sumText(y!) : moduleText(y),
      cause: "go-dependency",
      causeText: text,
      hint: sumOnly
        ? "check go.sum against the checksum database (GONOSUMDB, GOFLAGS=-mod=mod, GOPROXY) and build from the same module source"
        : CAUSES["go-dependency"].hint,
      detail: { kind: "go-module", module: path, change, a: x, b: y },
    });
  }
  return out;
}

function sumText(m: GoModuleSide): string {
  const sum = m.replace ? m.replace.sum : m.sum;
  return `${moduleText(m)} ${sum || "(no sum)"}`;
}

/** How a module changed between two sides, null when it did not. */
export function moduleChange(
  a: GoModuleSide | null,
  b: GoModuleSide | null,
): "added" | "removed" | "upgraded" | "downgraded" | "sum" | "replace" | null {
  if (!a && !b) return null;
  if (!a) return "added";
  if (!b) return "removed";
  const ra = a.replace;
  const rb = b.replace;
  if ((ra === undefined) !== (rb === undefined) || (ra && rb && ra.path !== rb.path)) {
    return "replace";
  }
  if (ra && rb && ra.version !== rb.version) return "replace";
  if (a.version !== b.version) {
    const order = compareSemver(a.version, b.version);
    return order > 0 ? "downgraded" : "upgraded";
  }
  const sa = ra ? ra.sum : a.sum;
  const sb = rb ? rb.sum : b.sum;
  return sa === sb ? null : "sum";
}

/**
 * Compares two module versions by semantic versioning (Go's `golang.org/x/mod/semver` order:
 * `v1.2.3` > `v1.2.3-pre`, pseudo-versions by their prerelease); invalid versions sort first.
 */
export function compareSemver(x: string, y: string): number {
  const parse = (v: string) => {
    const m = /^v(\d+)(?:\.(\d+))?(?:\.(\d+))?(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$/.exec(v);
    if (!m) return null;
    return { nums: [m[1], m[2] ?? "0", m[3] ?? "0"].map(BigInt), pre: m[4] ?? null };
  };
  const a = parse(x);
  const b = parse(y);
  if (!a || !b) return a ? 1 : b ? -1 : compareCodePoints(x, y);
  for (let i = 0; i < 3; i++) {
    if (a.nums[i] !== b.nums[i]) return a.nums[i] < b.nums[i] ? -1 : 1;
  }
  if (a.pre === b.pre) return 0;
  if (a.pre === null) return 1;
  if (b.pre === null) return -1;
  const pa = a.pre.split(".");
  const pb = b.pre.split(".");
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    if (i >= pa.length) return -1;
    if (i >= pb.length) return 1;
    const na = /^\d+$/.test(pa[i]);
    const nb = /^\d+$/.test(pb[i]);
    if (na && nb) {
      const d = BigInt(pa[i]) - BigInt(pb[i]);
      if (d !== 0n) return d < 0n ? -1 : 1;
    } else if (na !== nb) {
      return na ? -1 : 1;
    } else if (pa[i] !== pb[i]) {
      return pa[i] < pb[i] ? -1 : 1;
    }
  }
  return 0;
}

function toolchainFindings(a: GoBuildInfo, b: GoBuildInfo): Partial[] {
  if (a.goVersion === b.goVersion) return [];
  return [{
    field: "go toolchain",
    a: a.goVersion,
    b: b.goVersion,
    cause: "go-toolchain",
    causeText: CAUSES["go-toolchain"].text,
    hint: CAUSES["go-toolchain"].hint,
  }];
}

const VCS = /^vcs(\.|$)/;

function mainModuleFindings(
  a: GoBuildInfo,
  b: GoBuildInfo,
  ma: BinaryModules,
  mb: BinaryModules,
): Partial[] {
  const out: Partial[] = [];
  const push = (field: string, x: string | null, y: string | null, hint: string) => {
    if (x === y) return;
    out.push({
      field,
      a: x,
      b: y,
      cause: "go-main-module",
      causeText: CAUSES["go-main-module"].text,
      hint: hint || CAUSES["go-main-module"].hint,
    });
  };
  push("go main package", a.path || null, b.path || null, "build the same main package");
  const main = (m: BinaryModules) => (m.main ? `${m.main.path} ${moduleText(side(m.main))}` : null);
  push("go main module", main(ma), main(mb), "build the same main module and version");
  const vcs = (m: BinaryModules) =>
    new Map(m.settings.filter((s) => VCS.test(s.key)).map((s) => [s.key, s.value]));
  const va = vcs(ma);
  const vb = vcs(mb);
  for (const key of [...new Set([...va.keys(), ...vb.keys()])].sort(compareCodePoints)) {
    push(
      `go ${key}`,
      va.get(key) ?? null,
      vb.get(key) ?? null,
      key === "vcs.modified"
        ? "commit before building (vcs.modified=true: the tree had changes)"
        : buildInfoHint({ field: "build", key }),
    );
  }
  return out;
}

function settingFindings(a: BinaryModules, b: BinaryModules): Partial[] {
  // A key that is repeated keeps every value (as go version -m lists them).
  const map = (m: BinaryModules) => {
    const out = new Map<string, string>();
    for (const s of m.settings) {
      if (VCS.test(s.key)) continue;
      out.set(s.key, out.has(s.key) ? `${out.get(s.key)}\n${s.value}` : s.value);
    }
    return out;
  };
  const sa = map(a);
  const sb = map(b);
  const out: Partial[] = [];
  for (const key of [...new Set([...sa.keys(), ...sb.keys()])].sort(compareCodePoints)) {
    const x = sa.get(key) ?? null;
    const y = sb.get(key) ?? null;
    if (x === y) continue;
    const hint = key === "DefaultGODEBUG"
      ? CAUSES.godebug.hint
      : buildInfoHint({ field: "build", key }) || CAUSES["go-build-setting"].hint;
    out.push({
      field: `go build ${key}`,
      a: x,
      b: y,
      cause: "go-build-setting",
      causeText: CAUSES["go-build-setting"].text,
      hint,
    });
  }
  return out;
}

/** Whether a finding is a Go module difference (this file's), not a byte-level one. */
export function isGoModuleFinding(f: Finding): boolean {
  return GO_MODULE_CAUSES.includes(f.cause);
}

/**
 * The cause line's text for Go module findings of one cause: the changes, each once, with the
 * binaries they are in: `golang.org/x/sync v0.19.0 → v0.20.0 (upgraded, in /app/server)`.
 */
export function goModuleCauseText(cause: CauseId, list: readonly Finding[]): string {
  if (cause === "go-main-module") {
    // The values are long (pseudo-versions, revisions) and in the section below: the names here.
    const fields = [...new Set(list.map((f) => f.field.replace(/^go /, "")))];
    const paths = [...new Set(list.map((f) => "/" + (f.path ?? "")))];
    return `${CAUSES[cause].text}: ${fields.join(", ")} (in ${paths.slice(0, 2).join(", ")}${
      paths.length > 2 ? ` and ${paths.length - 2} more` : ""
    })`;
  }
  const byChange = new Map<string, string[]>();
  for (const f of list) {
    const what = f.field.replace(/^go (dependency |build )?/, "");
    const change = f.detail?.kind !== "go-module"
      ? ""
      : f.detail.change === "sum"
      ? "same version, other h1: sum, "
      : `${f.detail.change}, `;
    const key = `${what}: ${show(f.a)} → ${show(f.b)} (${change}`;
    byChange.set(key, [...(byChange.get(key) ?? []), "/" + (f.path ?? "")]);
  }
  const items = [...byChange].map(([k, paths]) =>
    `${k}in ${paths.slice(0, 2).join(", ")}${
      paths.length > 2 ? ` and ${paths.length - 2} more` : ""
    })`
  );
  const shown = items.slice(0, 3).join("; ");
  const more = items.length > 3 ? `; and ${items.length - 3} more` : "";
  return `${CAUSES[cause].text}: ${shown}${more}`;
}

function show(v: unknown): string {
  if (v === null || v === undefined) return "(none)";
  const s = String(v).replace(/\n/g, " ");
  return s.length > 80 ? s.slice(0, 79) + "…" : s;
}
