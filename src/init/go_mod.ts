/**
 * What `init` reads of go.mod: the oldest Go the module accepts. Pure.
 *
 * @module
 */

/** The version of go.mod's `go` directive, or null. */
export function goModVersion(text: string): string | null {
  return /^go[ \t]+(1\.\d+(?:\.\d+)?)\s*(?:\/\/.*)?$/m.exec(text)?.[1] ?? null;
}

/** Compares Go versions such as "1.26" and "1.26.8" numerically (a missing patch counts as 0). */
export function compareGoVersions(a: string, b: string): number {
  const pa = a.split(".").map(Number);
  const pb = b.split(".").map(Number);
  for (let i = 0; i < 3; i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}
