/**
 * The Go toolchain pin and the normalized environment of `build_cmd` (DESIGN:
 * toolchain and environment). Pure: the host environment comes in as a value.
 *
 * @module
 */
import { parsePlatform } from "../image/platform.ts";

/**
 * Newest patch release of each Go minor version known when this r10e was
 * released. Used when the module proxy cannot be reached; `init` records the
 * result, so later builds never drift.
 */
export const KNOWN_GO_VERSIONS: Readonly<Record<string, string>> = {
  "1.21": "1.21.13",
  "1.22": "1.22.12",
  "1.23": "1.23.12",
  "1.24": "1.24.13",
  "1.25": "1.25.14",
  "1.26": "1.26.11",
  "1.27": "1.27.4",
};

/** The Go version used when config.json names none. */
export const DEFAULT_GO_MINOR = "1.26";

/** Oldest supported minor: GOTOOLCHAIN (toolchain download and checksum) needs Go 1.21. */
const OLDEST_MINOR = 21;

/**
 * Resolves a config `go_version` ("1.26" or "1.26.8") to an exact version.
 * `available` lists exact versions the module proxy offers, when it could be asked.
 * @throws {RangeError} for a version that is malformed, too old, or unknown.
 */
export function resolveGoVersion(spec: string | undefined, available: string[] | null): string {
  const requested = spec ?? DEFAULT_GO_MINOR;
  const m = /^1\.(\d+)(?:\.(\d+))?$/.exec(requested);
  if (!m) {
    throw new RangeError(`expected a Go version like "1.26" or "1.26.8", found "${requested}"`);
  }
  const minor = Number(m[1]);
  if (minor < OLDEST_MINOR) {
    throw new RangeError(
      `expected Go 1.${OLDEST_MINOR} or later (the first with GOTOOLCHAIN pinning), found "${requested}"`,
    );
  }
  const known = new Set([...(available ?? []), ...Object.values(KNOWN_GO_VERSIONS)]);
  if (m[2] !== undefined) {
    const newestKnown = KNOWN_GO_VERSIONS[`1.${minor}`];
    const listed = available ? available.includes(requested) : newestKnown !== undefined &&
      Number(m[2]) <= Number(newestKnown.split(".")[2]);
    if (!listed) throw new RangeError(unknown(requested, available));
    return requested;
  }
  const candidates = [...known].filter((v) => v.startsWith(`1.${minor}.`))
    .sort((a, b) => Number(a.split(".")[2]) - Number(b.split(".")[2]));
  if (candidates.length === 0) throw new RangeError(unknown(requested, available));
  return candidates[candidates.length - 1];
}

function unknown(requested: string, available: string[] | null): string {
  const known = Object.keys(KNOWN_GO_VERSIONS).join(", ");
  return `unknown Go version "${requested}" (${
    available ? "not listed by the Go module proxy" : "the Go module proxy was not reachable"
  }; r10e knows ${known})`;
}

/**
 * Exact versions from the module proxy's list of `golang.org/toolchain`
 * (lines like `v0.0.1-go1.26.8.linux-amd64`). Release versions only.
 */
export function parseToolchainList(text: string): string[] {
  const out = new Set<string>();
  for (const line of text.split("\n")) {
    const m = /^v0\.0\.1-go(1\.\d+\.\d+)\.[a-z0-9]+-[a-z0-9]+$/.exec(line.trim());
    if (m) out.add(m[1]);
  }
  return [...out];
}

/** Host variables that reach `build_cmd`: what Go needs to find its caches and the network. Nothing else leaks in. */
export const PASSED_THROUGH = [
  "PATH",
  "HOME",
  "USER",
  "LOGNAME",
  "TMPDIR",
  "GOPATH",
  "GOCACHE",
  "GOMODCACHE",
  "GOPROXY",
  "GOSUMDB",
  "GONOSUMDB",
  "GONOPROXY",
  "GOPRIVATE",
  "GOINSECURE",
  "GOVCS",
  "GOAUTH",
  "HTTP_PROXY",
  "HTTPS_PROXY",
  "NO_PROXY",
  "http_proxy",
  "https_proxy",
  "no_proxy",
  "SSL_CERT_FILE",
  "SSL_CERT_DIR",
  "GIT_SSH_COMMAND",
  "SSH_AUTH_SOCK",
] as const;

/** Inputs of the normalized build environment. */
export interface BuildEnvInput {
  /** The host environment; only `PASSED_THROUGH` is kept. */
  host: Record<string, string>;
  /** Exact Go version, e.g. "1.26.8". */
  goVersion: string;
  /** `linux/amd64` style. */
  platform: string;
  /** Seconds since the epoch. */
  sourceDateEpoch: number;
  /**
   * `-mod` of GOFLAGS: `readonly` (every module checked against go.sum, from the module cache)
   * or `vendor`, which `go build` itself uses when the module vendors its dependencies.
   */
  mod?: "readonly" | "vendor";
  /** config.json's `cgo`: CGO_ENABLED=1 (the C toolchain build_cmd finds on PATH or in CC). */
  cgo?: boolean;
}

/**
 * The environment `build_cmd` runs with: the exact toolchain, no cgo unless asked for,
 * -trimpath, fixed GOAMD64/GOARM/GOARM64, SOURCE_DATE_EPOCH, UTC, C locale,
 * the user's `go env -w` file shut out (GOENV=off), and the platform as
 * GOOS/GOARCH/GOARM and R10E_OS/R10E_ARCH/R10E_VARIANT.
 */
export function buildEnv(input: BuildEnvInput): Record<string, string> {
  const env: Record<string, string> = {};
  for (const key of PASSED_THROUGH) {
    const value = input.host[key];
    if (value !== undefined) env[key] = value;
  }
  env.PATH ??= "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  const { os, architecture: arch, variant } = parsePlatform(input.platform);
  Object.assign(env, {
    GOENV: "off",
    GOTOOLCHAIN: `go${input.goVersion}`,
    GOFLAGS: `-trimpath -mod=${input.mod ?? "readonly"}`,
    CGO_ENABLED: input.cgo ? "1" : "0",
    GOOS: os,
    GOARCH: arch,
    GOAMD64: "v1",
    GOARM64: "v8.0",
    GOARM: variant ? variant.slice(1) : "7",
    GO386: "sse2",
    GOEXPERIMENT: "",
    // The platform, for build_cmd's own paths: it runs once per platform.
    R10E_OS: os,
    R10E_ARCH: arch,
    R10E_VARIANT: variant ?? "",
    SOURCE_DATE_EPOCH: String(input.sourceDateEpoch),
    TZ: "UTC",
    LC_ALL: "C",
    LANG: "C",
  });
  return env;
}

/**
 * Parses SOURCE_DATE_EPOCH: a non-negative whole number of seconds.
 * @throws {RangeError} naming the malformed value.
 */
export function parseSourceDateEpoch(value: string): number {
  if (!/^\d{1,11}$/.test(value.trim()) || Number(value) > 0o77777777777) {
    throw new RangeError(
      `SOURCE_DATE_EPOCH must be a whole number of seconds since 1970 (at most 11 digits), found "${value}"`,
    );
  }
  return Number(value.trim());
}

/** The `go` and `toolchain` lines of a go.mod (null when absent). */
export interface GoModVersions {
  /** `go 1.26` or `go 1.26.2`: the oldest Go that may build the module. */
  go: string | null;
  /** `toolchain go1.26.8`: the toolchain the module prefers, without `go`. */
  toolchain: string | null;
}

/** Reads the `go` and `toolchain` directives of go.mod text (comments and blocks ignored). */
export function parseGoModVersions(text: string): GoModVersions {
  const out: GoModVersions = { go: null, toolchain: null };
  for (const raw of text.split("\n")) {
    const line = raw.replace(/\/\/.*$/, "").trim();
    const go = /^go\s+(1(?:\.\d+){1,2}(?:rc\d+)?)$/.exec(line);
    if (go) out.go = go[1];
    const tc = /^toolchain\s+go(1(?:\.\d+){1,2}(?:rc\d+)?)(?:[+-]\S*)?$/.exec(line);
    if (tc) out.toolchain = tc[1];
  }
  return out;
}

/** Compares Go versions "1.26", "1.26.2": negative, zero or positive (a missing patch is 0). */
export function compareGoVersions(a: string, b: string): number {
  const pa = a.split(".").map((n) => parseInt(n, 10) || 0);
  const pb = b.split(".").map((n) => parseInt(n, 10) || 0);
  for (let i = 0; i < 3; i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/**
 * What go.mod says against the pinned version, before building: a `go` line newer than the pin
 * fails the build (GOTOOLCHAIN pins one exact toolchain, so Go cannot switch), a `toolchain`
 * line that differs is overridden by the pin. One message each; none when they agree.
 */
export function goModDisagreements(mod: GoModVersions, pinned: string, file: string): string[] {
  const out: string[] = [];
  if (mod.go !== null && compareGoVersions(mod.go, pinned) > 0) {
    out.push(
      `"${file}" says "go ${mod.go}", newer than the pinned Go ${pinned}: the build will fail ` +
        `(GOTOOLCHAIN=go${pinned} cannot switch); set "go_version": "${mod.go}" in config.json ` +
        "and run `r10e init`",
    );
  }
  if (mod.toolchain !== null && mod.toolchain !== pinned) {
    out.push(
      `"${file}" says "toolchain go${mod.toolchain}", but r10e builds with the pinned Go ${pinned} ` +
        `(GOTOOLCHAIN overrides the line); to build with the project's toolchain, set ` +
        `"go_version": "${mod.toolchain}" in config.json and run \`r10e init\``,
    );
  }
  return out;
}

/**
 * Whether `go build` in this module builds from vendor/ by default: vendor/modules.txt exists,
 * no go.work governs the module, and go.mod says go 1.14 or later (cmd/go's rule for the
 * default of -mod).
 */
export function vendorByDefault(
  mod: GoModVersions,
  has: { modulesTxt: boolean; goWork: boolean },
): boolean {
  return has.modulesTxt && !has.goWork && mod.go !== null && compareGoVersions(mod.go, "1.14") >= 0;
}
