/**
 * `r10e-docker/pins.json`: the inputs `init` resolved and `build` must not drift
 * from (exact Go version, builder image digest, CA bundle sha256, r10e and image
 * format versions). Small and sorted so a reviewer can read it in a pull request.
 *
 * @module
 */
import { ConfigError } from "../errors.ts";

/** What `init` recorded. */
export interface Pins {
  /** Exact Go version, e.g. "1.26.8". */
  go_version: string;
  /** The config's go_version as written ("1.26"), or null when absent. */
  go_version_requested: string | null;
  /** `os/arch[/variant]`: the only platform, or the first of `platforms`. */
  platform: string;
  /**
   * Every platform, in config order, present only for several: a
   * one-platform project keeps the pins.json bytes it had, so it needs no re-init.
   */
  platforms?: string[];
  /** sha256 of the CA bundle r10e put in the image, or null when include_ca_bundle is false. */
  ca_bundle_sha256: string | null;
  /** sha256 of the zoneinfo zip r10e put in the image; absent when include_tzdata is false. */
  tzdata_sha256?: string;
  /** Builder image for `--in docker`, `name@sha256:…`, or null when it could not be pinned. */
  builder_image: string | null;
  /**
   * For a `base_image` given by tag: what it resolved to at `init`, `host/repo@sha256:…`, and
   * the tag as written; absent otherwise (a base pinned in config.json needs no pin).
   */
  base_image?: { requested: string; pinned: string };
  /** Image format version of the r10e that wrote this. */
  image_format: number;
  /** r10e version that wrote this (informational). */
  r10e_version: string;
  /** sha256 of each file `init` generated, to tell hand edits from r10e's own. */
  generated: Record<string, string>;
}

/** The platforms pinned: `platforms`, else the one `platform`. */
export function pinnedPlatforms(pins: Pins): string[] {
  return pins.platforms ?? [pins.platform];
}

/** Serializes pins: sorted keys, two-space indent, final newline. */
export function formatPins(pins: Pins): string {
  const sorted = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(sorted);
    if (v && typeof v === "object") {
      return Object.fromEntries(
        Object.keys(v).sort().map((k) => [k, sorted((v as Record<string, unknown>)[k])]),
      );
    }
    return v;
  };
  return JSON.stringify(sorted(pins), null, 2) + "\n";
}

/**
 * Parses a pins file.
 * @throws {ConfigError} naming the file and the field that is missing or wrong.
 */
export function parsePins(text: string, file: string): Pins {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(`Cannot read "${file}": invalid JSON (${(error as Error).message})`);
  }
  const v = value as Record<string, unknown>;
  const problems: string[] = [];
  const want = (key: string, ok: (x: unknown) => boolean, what: string) => {
    if (!ok(v?.[key])) problems.push(`${key}: expected ${what}, found ${JSON.stringify(v?.[key])}`);
  };
  const str = (x: unknown) => typeof x === "string" && x !== "";
  const strOrNull = (x: unknown) => x === null || str(x);
  want(
    "go_version",
    (x) => typeof x === "string" && /^1\.\d+\.\d+$/.test(x),
    'a version like "1.26.8"',
  );
  want("go_version_requested", strOrNull, "a string or null");
  want("platform", str, 'a platform like "linux/amd64"');
  want(
    "platforms",
    (x) =>
      x === undefined ||
      (Array.isArray(x) && x.length > 1 && x.every(str) && x[0] === v?.platform),
    `a list of at least two platforms starting with "platform"'s, or nothing`,
  );
  want(
    "ca_bundle_sha256",
    (x) => x === null || (typeof x === "string" && /^[0-9a-f]{64}$/.test(x)),
    "a sha256 or null",
  );
  want("builder_image", strOrNull, "an image reference or null");
  want(
    "tzdata_sha256",
    (x) => x === undefined || (typeof x === "string" && /^[0-9a-f]{64}$/.test(x)),
    "a sha256 or nothing",
  );
  want(
    "base_image",
    (x) =>
      x === undefined ||
      (!!x && typeof x === "object" && str((x as Record<string, unknown>).requested) &&
        typeof (x as Record<string, unknown>).pinned === "string" &&
        /@sha256:[0-9a-f]{64}$/.test((x as Record<string, string>).pinned)),
    'an object {"requested": tag, "pinned": "host/repo@sha256:…"}, or nothing',
  );
  want("image_format", (x) => Number.isInteger(x), "a number");
  want("r10e_version", str, "a version");
  want("generated", (x) => !!x && typeof x === "object" && !Array.isArray(x), "an object");
  if (problems.length) {
    throw new ConfigError(
      `Cannot read "${file}": ${problems.join("; ")} (run \`r10e init\` to write it again)`,
    );
  }
  return v as unknown as Pins;
}
