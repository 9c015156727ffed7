/**
 * The Go versions r10e knows: its own table of the newest patch of each minor (for when the
 * module proxy cannot be reached), the default minor, and how a config's go_version resolves to
 * the exact version `init` pins. Pure.
 *
 * @module
 */

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
