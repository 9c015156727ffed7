/**
 * The OCI platform (`os/architecture[/variant]`): its one type, parser, formatter and matcher,
 * used wherever an image, an index entry, a config or a `--platform` names one.
 *
 * ```ts
 * const p = parsePlatform("linux/arm/v7"); // { os: "linux", architecture: "arm", variant: "v7" }
 * formatPlatform(p);                       // "linux/arm/v7"
 * platformMatches(p, parsePlatform("linux/arm")); // true: no variant asked for
 * readPlatform({ os: "linux", architecture: "amd64" }); // from a descriptor or a config
 * ```
 *
 * @module
 */

/** An OCI platform. */
export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

/** Parses `os/arch[/variant]`, e.g. `linux/arm64/v8`. @throws {RangeError} for another shape. */
export function parsePlatform(text: string): Platform {
  const parts = text.split("/");
  if (parts.length < 2 || parts.length > 3 || parts.some((p) => p === "")) {
    throw new RangeError(`Bad platform "${text}": expected os/architecture[/variant]`);
  }
  return parts[2]
    ? { os: parts[0], architecture: parts[1], variant: parts[2] }
    : { os: parts[0], architecture: parts[1] };
}

/** `os/arch[/variant]`. */
export function formatPlatform(p: Platform): string {
  return [p.os, p.architecture, p.variant].filter(Boolean).join("/");
}

/**
 * Whether `have` is a platform that `want` asks for: the same os and architecture, and the same
 * variant when `want` names one (`linux/arm` takes any arm variant).
 */
export function platformMatches(have: Platform, want: Platform): boolean {
  return have.os === want.os && have.architecture === want.architecture &&
    (!want.variant || have.variant === want.variant);
}

/**
 * The platform a JSON object states in `os`, `architecture` and `variant` (a descriptor's
 * `platform`, an image config), or null when either of the first two is not a string.
 */
export function readPlatform(v: unknown): Platform | null {
  if (typeof v !== "object" || v === null) return null;
  const { os, architecture, variant } = v as Record<string, unknown>;
  if (typeof os !== "string" || typeof architecture !== "string") return null;
  return typeof variant === "string" ? { os, architecture, variant } : { os, architecture };
}
