/**
 * The findings model of `verify`: a tree of differences compared top-down
 * (archive, index, manifest, config, layers, files), the causes a leaf can have,
 * and the report that `verify` returns and `--json` prints (docs/verify-json.md).
 *
 * @module
 */

/** Where a difference is. */
export type Scope = "archive" | "index" | "manifest" | "config" | "layer" | "file";

/** Stable identifiers of causes (DESIGN: verify, the cause table); part of the `--json` schema. */
export type CauseId =
  | "timestamps"
  | "owner"
  | "order"
  | "compression"
  | "go-build-info"
  | "go-build-id"
  | "build-paths"
  | "content"
  | "mode"
  | "files"
  | "metadata"
  | "config"
  | "tags"
  | "tar-format"
  | "layers"
  | "platform"
  | "config-encoding"
  | "manifest-encoding"
  | "commit"
  | "base-image"
  | "builder-ids"
  | "godebug"
  | "go-ldflags-x"
  | "go-dependency"
  | "go-toolchain"
  | "go-main-module"
  | "go-build-setting";

/** A cause: what likely made the difference, and the fix when one is known. */
export interface Cause {
  text: string;
  hint: string;
}

/** The cause table of DESIGN ("Verify: from differences to causes"), extended with the rows verify also needs. */
export const CAUSES: Readonly<Record<CauseId, Cause>> = {
  timestamps: {
    text: "build time leaked into the image",
    hint: "set SOURCE_DATE_EPOCH; build with r10e",
  },
  owner: {
    text: "built as different users",
    hint: "use a fixed owner (uid/gid 0, empty uname/gname)",
  },
  order: { text: "unsorted tar writer", hint: "sort entries" },
  compression: {
    text: "compression differs",
    hint: "pin the compressor or ship uncompressed",
  },
  "go-build-info": {
    text: "Go build info differs (Go version, flags, deps, vcs.modified)",
    hint: "see the differing fields",
  },
  "go-build-id": {
    text: "Go build ID only: different toolchain or paths",
    hint: "pin go_version; build with -trimpath",
  },
  "build-paths": {
    text: "build paths in the binary: missing -trimpath",
    hint: "build with -trimpath",
  },
  content: { text: "file content differs", hint: "" },
  mode: {
    text: "file modes differ (umask or checkout)",
    hint: "fix modes: 0755 for executables and directories, 0644 otherwise (umask 022)",
  },
  files: { text: "different set of files", hint: "" },
  metadata: {
    text: "tar metadata differs (type, link target, PAX records, xattrs)",
    hint: "",
  },
  config: { text: "image config differs", hint: "" },
  tags: {
    text: "image name or tag differs",
    hint: "use the same project_name and tag",
  },
  "tar-format": {
    text: "tar encoding differs, same files (header format or padding)",
    hint: "write layers with one deterministic tar writer (r10e)",
  },
  layers: { text: "different layers", hint: "" },
  platform: { text: "different platform", hint: "compare the same platform (--platform)" },
  "config-encoding": {
    text: "config re-serialized: the same JSON content in other bytes (key order, escapes)",
    hint:
      "no fix needed: the image content is identical (a copy tool such as skopeo re-encoded it)",
  },
  "manifest-encoding": {
    text: "manifest re-encoded: other media types or annotations around the same config and layers",
    hint: "pin the digest people deploy; `--ignore manifest-encoding` if a copy tool converted it",
  },
  commit: {
    text: "built from different commits",
    hint: "compare builds of the same commit",
  },
  "base-image": {
    text: "base image differs",
    hint: "build on the same base_image digest (its layers follow from it)",
  },
  "builder-ids": {
    text: "the legacy docker builder records its build container and parent image IDs",
    hint: "they follow from the other differences; BuildKit and r10e do not record them",
  },
  godebug: {
    text: "DefaultGODEBUG differs: the go.mod `go` line or `godebug` directives differ",
    hint: "build with the same go.mod (its `go` and `godebug` lines) and the same Go version",
  },
  "go-ldflags-x": {
    text: "a value stamped at link time (-ldflags -X)",
    hint: "derive it from vcs.time, a tag or SOURCE_DATE_EPOCH, not the clock",
  },
  // The Go module differences of a binary (sbom_diff.ts), named above the bytes they explain.
  "go-dependency": {
    text: "Go dependencies differ",
    hint: "build with the same go.mod and go.sum (commit them; GOFLAGS=-mod=readonly)",
  },
  "go-toolchain": {
    text: "the Go toolchain differs",
    hint: "pin go_version (GOTOOLCHAIN=go<X.Y.Z>)",
  },
  "go-main-module": {
    text: "the main module or its VCS stamp differs",
    hint: "build the same commit from a clean tree",
  },
  "go-build-setting": {
    text: "Go build settings differ",
    hint: "use the same build flags and environment (GOFLAGS, -ldflags, CGO_ENABLED, GOAMD64)",
  },
};

/** A Go module as one binary's build info has it (sbom_diff.ts). */
export interface GoModuleSide {
  /** The version go.mod requires, e.g. `v1.2.3`. */
  version: string;
  /** Its `h1:` sum, `""` when none (a replaced module has none of its own). */
  sum: string;
  /** What replaces it (go.mod `replace`): a module path and version, or a directory and `""`. */
  replace?: { path: string; version: string; sum: string };
}

/** Extra data of a content difference, filled by the content analysis. */
export type Detail =
  | {
    kind: "go-module";
    /** The module path go.mod requires. */
    module: string;
    change: "added" | "removed" | "upgraded" | "downgraded" | "sum" | "replace";
    /** The module in A and in B, `null` when absent. */
    a: GoModuleSide | null;
    b: GoModuleSide | null;
  }
  | { kind: "text"; diff: string; truncated: boolean }
  | { kind: "binary"; sizeA: number; sizeB: number; firstDifference: number }
  | {
    kind: "go";
    /** Build info fields that differ, `field: a → b`. */
    buildInfo: { field: string; a: string; b: string; hint: string }[];
    buildIdA: string;
    buildIdB: string;
    /** ELF sections whose bytes differ. */
    sections: string[];
    /** Build paths found in the binaries (missing -trimpath). */
    buildPaths: string[];
    sizeA: number;
    sizeB: number;
    firstDifference: number;
    /** `elf` or `macho`. */
    format?: string;
    /** Go string variables stamped with `-ldflags -X` whose values differ, with the fix for each. */
    stamps?: { symbol: string; a: string | null; b: string | null; hint: string }[];
    /** Printable strings near the differing bytes that only A or only B holds (stripped binaries). */
    strings?: { a: string[]; b: string[] };
    /** Symbols holding the differing bytes: where names come from, how many, the first few as `name (section)`. */
    symbols?: { source: string; count: number; names: string[] };
    /** Which parts of the Go build ID differ, and what that means. */
    buildIdParts?: { parts: string[]; verdict: string; meaning: string };
  };

/** One node of the difference tree. A node with children is a consequence of them. */
export interface DiffNode {
  scope: Scope;
  /** Layer position from 0, for layer and file nodes. */
  layer?: number;
  /** File path inside the layer, or archive entry name. */
  path?: string;
  /** What differs: a field (`mtime`, `config.Env`, `history[0].created`) or a digest (`manifest digest`). */
  field: string;
  a: unknown;
  b: unknown;
  /** Differences below that explain this one. */
  children: DiffNode[];
  /** The cause of a leaf. */
  cause?: CauseId;
  detail?: Detail;
  /** Set on a digest node that needs children to be explained: without them it is a leaf with this cause. */
  unexplained?: CauseId;
  /** Alike differences below beyond the first {@linkcode FINDINGS_PER_KIND}: counted, not kept. */
  omitted?: OmittedFindings[];
  /** Differences below that the user ignores, counted where they were found instead of kept. */
  ignoredBelow?: { count: number; byCause: Partial<Record<CauseId, number>> };
}

/**
 * Findings of one kind (the same field and cause in one layer) kept in full; beyond this many
 * they are counted (150,000 differing files kept in full took 904 MB).
 */
export const FINDINGS_PER_KIND = 1000;

/** Findings of one kind left out of the report's list: how many, and what they share. */
export interface OmittedFindings {
  scope: Scope;
  layer?: number;
  field: string;
  cause: CauseId;
  /** Findings left out. */
  count: number;
  /**
   * For timestamps: how many left out share each pair of times, by `"<secondsA> <secondsB>"`
   * (at most 64 pairs; the rest are not counted here).
   */
  shifts?: Record<string, number>;
  /** `os/arch` when the inputs hold several platforms. */
  platform?: string;
}

/** A leaf difference with its cause: what the user has to fix. */
export interface Finding {
  scope: Scope;
  layer?: number;
  path?: string;
  field: string;
  a: unknown;
  b: unknown;
  cause: CauseId;
  causeText: string;
  hint: string;
  detail?: Detail;
  /** `os/arch` when the inputs hold several platforms. */
  platform?: string;
}

/** A difference that is only a consequence of findings below it (a digest, a count). */
export interface Consequence {
  scope: Scope;
  layer?: number;
  path?: string;
  field: string;
  a: unknown;
  b: unknown;
  /** Short description of what explains it, e.g. `config, layer 1`. */
  because: string;
  platform?: string;
}

/** What the user chose to ignore (`--ignore`, `--ignore-path`). */
export interface IgnoreOptions {
  /** Causes to ignore: `timestamps`, `owner`, `order`, `compression`. */
  causes: CauseId[];
  /** Globs of file paths to ignore. */
  paths: string[];
}

/** One input as the report shows it. */
export interface InputInfo {
  input: string;
  format: string;
  compression: string;
  archiveSha256: string;
  platform: string;
  manifestDigest: string;
  imageId: string;
  layers: number;
  files: number;
  /** Compressed layers whose blob both images share, whose files were not read: not in `files`. */
  layersNotRead?: number;
}

/**
 * The strongest identity both inputs carry (DESIGN: what "identical" means), and whether it is
 * equal: `archive`, the files are byte-identical; `index`, the image index digests (several
 * platforms, both inputs pinned by an index); `manifest`, the manifest digests (every
 * platform's, for an index); `image-id`, the config digests (a docker-archive has no manifest),
 * with every layer's content checked against its diff_id. `r10e check` is strict: its builds
 * agree only when this is equal at the `archive`, `index` or `manifest` level.
 */
export interface Identity {
  level: "archive" | "index" | "manifest" | "image-id";
  equal: boolean;
  /** The digests compared (comma-separated, one per platform, for several). */
  a: string;
  b: string;
}

/** The result of `verify`: printed by `main.ts` as text or `--json`. */
export interface Report {
  schemaVersion: 1;
  identical: boolean;
  /** The identity the answer is given at (the first line says it). */
  identity: Identity;
  /** One line: `identical` or `differ: N findings (cause ×n, …)`. */
  summary: string;
  a: InputInfo;
  b: InputInfo;
  findings: Finding[];
  consequences: Consequence[];
  /** Remarks that are not differences, e.g. about outer compression. */
  notes: string[];
  ignored: { count: number; byCause: Partial<Record<CauseId, number>> };
  /** One line per cause, the evidence read (commit, time shift, builder): the report's second part. */
  causes: CauseSummary[];
  /** Who built each image, from its history: `r10e`, `ko`, `buildkit`, `docker-legacy`, `nix`, `unknown`. */
  builders: { a: string; b: string };
  /**
   * Findings counted but left out of `findings`: each kind (field and cause in one layer) keeps
   * its first `perKind`. `summary`, `causes` and the exit code count them all.
   */
  omitted?: {
    count: number;
    perKind: number;
    kinds: { layer?: number; field: string; cause: CauseId; count: number; platform?: string }[];
  };
}

/** One cause with its evidence, fix and count (explain.ts). */
export interface CauseSummary {
  cause: CauseId;
  text: string;
  hint: string;
  count: number;
  shift?: { a: string; b: string; count: number };
}
