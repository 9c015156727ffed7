// Several platforms: digests.json records the index digest and each platform's
// digests; a rebuild is compared by the index digest too.
import assert from "node:assert/strict";
import { type BuildDigests, compareDigest, compareRecorded } from "./result.ts";

const hex = (c: string) => c.repeat(64);
const build: BuildDigests = {
  label: "A",
  mode: "host",
  archivePath: "/x.tar.gz",
  archiveSha256: hex("a"),
  imageId: `sha256:${hex("b")}`,
  manifestDigest: `sha256:${hex("c")}`,
  indexDigest: `sha256:${hex("e")}`,
  revision: null,
};
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

Deno.test("compareRecorded and compareDigest: the index digest is compared and matched", () => {
  assert.equal(compareRecorded(recorded, build, "d.json").matches, true);
  const other = compareRecorded(
    recorded,
    { ...build, indexDigest: `sha256:${hex("f")}` },
    "d.json",
  );
  assert.equal(other.matches, false);
  assert.equal(
    other.detail,
    `index digest: recorded sha256:${hex("e")}, rebuilt sha256:${hex("f")}. This platform's ` +
      "image is the same: another platform's image or the index differs",
  );
  // A one-platform record against a several-platform rebuild differs by the index.
  const { index_digest: _, platforms: __, ...one } = recorded;
  assert.equal(
    compareRecorded(one, build, "d.json").detail,
    `index digest: recorded none, rebuilt sha256:${hex("e")}. This platform's image is the ` +
      "same: another platform's image or the index differs",
  );
  assert.equal(
    compareDigest(`sha256:${hex("e")}`, build).detail,
    `sha256:${hex("e")} is the index digest of the rebuilt image`,
  );
});
