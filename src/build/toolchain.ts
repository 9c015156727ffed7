/**
 * The normalized environment of `build_cmd` (DESIGN: toolchain and environment), and what
 * go.mod says against the pinned Go. Pure: the host environment comes in as a value.
 *
 * @module
 */
import { parsePlatform } from "../image/platform.ts";
import { compareGoVersions, type GoModVersions } from "../project/go_mod.ts";

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
