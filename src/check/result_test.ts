import assert from "node:assert/strict";
import {
  type BuildDigests,
  checkExitCode,
  compareDigest,
  compareRecorded,
  differingDigests,
} from "./result.ts";
import type { RecordedDigests } from "../project/digests.ts";

const hex = (c: string) => c.repeat(64);
const build: BuildDigests = {
  label: "A",
  mode: "host",
  archivePath: "/x.tar.gz",
  archiveSha256: hex("a"),
  imageId: `sha256:${hex("b")}`,
  manifestDigest: `sha256:${hex("c")}`,
  revision: null,
};

Deno.test("compareDigest: manifest digest, image ID, archive sha256 match; anything else names both", () => {
  for (
    const [d, what] of [[hex("c"), "manifest digest"], [hex("b"), "image ID"], [
      hex("a"),
      "archive sha256",
    ]]
  ) {
    const r = compareDigest(`sha256:${d}`, build);
    assert.equal(r.matches, true);
    assert.equal(r.detail, `sha256:${d} is the ${what} of the rebuilt image`);
  }
  const r = compareDigest(`sha256:${hex("d")}`, build);
  assert.equal(r.matches, false);
  assert.match(
    r.detail,
    new RegExp(`expected sha256:${hex("d")} .*sha256:${hex("c")}.*sha256:${hex("b")}`),
  );
});

Deno.test("compareRecorded: a tar recording, another archive, another format, config or layer", () => {
  const d = {
    manifest_digest: `sha256:${hex("c")}`,
    image_id: `sha256:${hex("b")}`,
    format_version: 2,
    commit: "0123456789abcdef0123456789abcdef01234567",
    archive_sha256: hex("a"),
    archive_format: "tar" as const,
  };
  // A tar recording: the archive sha256 is not compared with check's tar.gz archive.
  const r = compareRecorded({ ...d, commit: null }, build, "f.json");
  assert.equal(r.matches, true);
  assert.equal(r.detail, "equal to f.json (manifest digest, image ID)");
  const wrong = compareRecorded(
    { ...d, archive_format: "tar.gz", archive_sha256: hex("e") },
    build,
    "f.json",
  );
  assert.equal(wrong.matches, false);
  assert.equal(
    wrong.detail,
    `archive sha256: recorded ${hex("e")}, rebuilt ${hex("a")}. The image is the same ` +
      "(manifest digest and image ID): only the archive's bytes differ",
  );
  // What the differing digests say: another format, another compression, another image.
  const cases: [Partial<RecordedDigests>, string][] = [
    [
      { format_version: 1, manifest_digest: `sha256:${hex("9")}` },
      "recorded with image format 1 and this r10e writes format 2",
    ],
    [
      { manifest_digest: `sha256:${hex("9")}` },
      `Same image ID sha256:${hex("b")}: the same config`,
    ],
    [{ image_id: `sha256:${hex("9")}` }, "The image ID differs: the config or a layer's content"],
  ];
  for (const [change, says] of cases) {
    const outcome = compareRecorded({ ...d, ...change }, build, "f.json", 2);
    assert.equal(outcome.matches, false);
    assert.match(outcome.detail, new RegExp(says.replace(/[()]/g, "\\$&")));
  }
});

Deno.test("differingDigests: strict; the archive compared within one mode, or from format 5 on", () => {
  const b = { ...build, label: "B" as const };
  assert.deepEqual(differingDigests(build, b, 4), []);
  assert.deepEqual(differingDigests(build, { ...b, archiveSha256: hex("9") }, 4), [
    "archive sha256",
  ]);
  // Format 4 archives carry the provenance, which records the mode.
  const docker = { ...b, mode: "docker" as const, archiveSha256: hex("9") };
  assert.deepEqual(differingDigests(build, docker, 4), []);
  assert.deepEqual(differingDigests(build, docker, 5), ["archive sha256"]);
  assert.deepEqual(
    differingDigests(build, { ...b, manifestDigest: `sha256:${hex("9")}`, indexDigest: "x" }, 4),
    ["index digest", "manifest digest"],
  );
});

Deno.test("checkExitCode: 0 only when reproducible and equal to the reference", () => {
  const base = { reproducible: true, reference: null } as unknown as Parameters<
    typeof checkExitCode
  >[0];
  assert.equal(checkExitCode(base), 0);
  assert.equal(checkExitCode({ ...base, reproducible: false }), 1);
  assert.equal(checkExitCode({ ...base, reference: { matches: false } as never }), 1);
  assert.equal(checkExitCode({ ...base, reference: { matches: true } as never }), 0);
});
