import assert from "node:assert/strict";
import { parseDigests, renderDigests } from "./digests.ts";

const hex = (c: string) => c.repeat(64);

Deno.test("digests.json: sorted keys whatever the order given, parsed back, malformed fields named", () => {
  const d = {
    manifest_digest: `sha256:${hex("c")}`,
    image_id: `sha256:${hex("b")}`,
    format_version: 2,
    commit: "0123456789abcdef0123456789abcdef01234567",
    archive_sha256: hex("a"),
    archive_format: "tar" as const,
  };
  const text = renderDigests(d);
  assert.deepEqual(Object.keys(JSON.parse(text)), [
    "archive_format",
    "archive_sha256",
    "commit",
    "format_version",
    "image_id",
    "manifest_digest",
  ]);
  assert.deepEqual(parseDigests(text, "f.json"), JSON.parse(text));
  assert.throws(
    () => parseDigests(JSON.stringify({ ...d, image_id: "sha256:xyz" }), "f.json"),
    { message: `Cannot read "f.json": "image_id" must be sha256:<64 hex>, found "sha256:xyz"` },
  );
  assert.throws(() => parseDigests("[", "f.json"), SyntaxError);
});

/** Several platforms: the index digest and each platform's digests. */
const recorded = {
  archive_format: "tar.gz" as const,
  archive_sha256: hex("a"),
  commit: null,
  format_version: 2,
  image_id: `sha256:${hex("b")}`,
  manifest_digest: `sha256:${hex("c")}`,
  index_digest: `sha256:${hex("e")}`,
  platforms: {
    "linux/amd64": { image_id: `sha256:${hex("b")}`, manifest_digest: `sha256:${hex("c")}` },
    "linux/arm64": { image_id: `sha256:${hex("1")}`, manifest_digest: `sha256:${hex("2")}` },
  },
};

Deno.test("digests.json of several platforms: written sorted, read back, bad entries named", () => {
  const text = renderDigests(recorded);
  assert.deepEqual(Object.keys(JSON.parse(text)), [
    "archive_format",
    "archive_sha256",
    "commit",
    "format_version",
    "image_id",
    "index_digest",
    "manifest_digest",
    "platforms",
  ]);
  assert.deepEqual(parseDigests(text, "d.json"), recorded);
  const bad = JSON.stringify({ ...recorded, platforms: { "linux/arm64": { image_id: "x" } } });
  assert.throws(
    () => parseDigests(bad, "d.json"),
    /"platforms" must be an object of \{image_id, manifest_digest\} or absent/,
  );
});
