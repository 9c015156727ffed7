/**
 * What r10e reads of the project's go.mod: the `go` line (the oldest Go that may build the
 * module) and the `toolchain` line, and how Go versions compare. Pure.
 *
 * @module
 */

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
