/**
 * `r10e-docker/digests.json`: the digests of a build that `r10e build --record` writes and
 * `r10e check` compares a rebuild of the same commit with. Pure; record.ts writes it.
 *
 * @module
 */

const DIGEST = /^sha256:[0-9a-f]{64}$/;

/** The recorded expectation, `r10e-docker/digests.json` (written by `r10e build --record`). */
export interface RecordedDigests {
  archive_format: "tar.gz" | "tar";
  archive_sha256: string;
  commit: string | null;
  format_version: number;
  image_id: string;
  manifest_digest: string;
  /** Several platforms: the image index digest, and each platform's digests. */
  index_digest?: string;
  platforms?: Record<string, { image_id: string; manifest_digest: string }>;
}

/** digests.json bytes: sorted keys, two-space indent, a final newline (deterministic). */
export function renderDigests(d: RecordedDigests): string {
  const sorted = Object.fromEntries(
    Object.entries(d).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)),
  );
  return JSON.stringify(sorted, null, 2) + "\n";
}

/**
 * Parses digests.json.
 * @throws {SyntaxError} naming the file and the field that is missing or malformed.
 */
export function parseDigests(text: string, file: string): RecordedDigests {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw new SyntaxError(`Cannot read "${file}": ${(e as Error).message}`);
  }
  if (typeof data !== "object" || data === null || Array.isArray(data)) {
    throw new SyntaxError(`Cannot read "${file}": expected a JSON object`);
  }
  const o = data as Record<string, unknown>;
  const want = (key: string, ok: (v: unknown) => boolean, what: string) => {
    if (!ok(o[key])) {
      throw new SyntaxError(
        `Cannot read "${file}": "${key}" must be ${what}, found ${JSON.stringify(o[key] ?? null)}`,
      );
    }
  };
  const digest = (v: unknown) => typeof v === "string" && DIGEST.test(v);
  want("archive_format", (v) => v === "tar.gz" || v === "tar", `"tar.gz" or "tar"`);
  want("archive_sha256", (v) => typeof v === "string" && /^[0-9a-f]{64}$/.test(v), "64 hex digits");
  want(
    "commit",
    (v) => v === null || (typeof v === "string" && /^[0-9a-f]{40,64}$/.test(v)),
    "a commit id or null",
  );
  want("format_version", (v) => Number.isSafeInteger(v), "a whole number");
  want("image_id", digest, "sha256:<64 hex>");
  want("manifest_digest", digest, "sha256:<64 hex>");
  want("index_digest", (v) => v === undefined || digest(v), "sha256:<64 hex> or absent");
  want(
    "platforms",
    (v) =>
      v === undefined ||
      (typeof v === "object" && v !== null && !Array.isArray(v) &&
        Object.values(v).every((p) =>
          typeof p === "object" && p !== null && digest(p.image_id) && digest(p.manifest_digest)
        )),
    "an object of {image_id, manifest_digest} or absent",
  );
  return o as unknown as RecordedDigests;
}
