import assert from "node:assert/strict";
import {
  isTemporaryName,
  ownerOfTemporary,
  replaceAtomically,
  temporaryPath,
  writeFilesAtomically,
} from "./atomic_write.ts";
import { registeredTemporaries, releaseTemporary, removeStaleTemporaries } from "./signals.ts";

const names = (dir: string) => [...Deno.readDirSync(dir)].map((e) => e.name).sort();

Deno.test("temporaryPath: .r10e-<tag>-<pid>-<12 hex> in the folder, registered until released", () => {
  const path = temporaryPath("/some/dir", "cp");
  assert.match(path, new RegExp(`^/some/dir/\\.r10e-cp-${Deno.pid}-[0-9a-f]{12}$`));
  assert.ok(registeredTemporaries().includes(path));
  releaseTemporary(path);
  assert.ok(!registeredTemporaries().includes(path));
  assert.notEqual(temporaryPath("/d", "build"), temporaryPath("/d", "build"));
  assert.throws(() => temporaryPath("/d", "Build-1"), /Invalid temporary tag/);
  for (const p of registeredTemporaries().filter((p) => p.startsWith("/d/"))) releaseTemporary(p);
});

Deno.test("ownerOfTemporary: the pid of r10e's names only", () => {
  assert.equal(ownerOfTemporary(".r10e-cp-4321-0123456789ab"), 4321);
  assert.equal(ownerOfTemporary(".r10e-build-7-abcdefabcdef"), 7);
  for (
    const other of [
      ".r10e-cp-1-notours",
      ".r10e-cp-x",
      "r10e-cp-1-0123456789ab",
      ".r10e-cp-1-0123456789ab.tar",
      ".app.tar.gz.tmp-12-0123abcd",
      "unrelated.tmp-1-0123abcd",
      ".r10e-CP-1-0123456789ab",
    ]
  ) {
    assert.equal(ownerOfTemporary(other), null, other);
    assert.equal(isTemporaryName(other), false, other);
  }
  assert.equal(isTemporaryName(".r10e-sbom-1-0123456789ab"), true);
});

Deno.test("writeFilesAtomically: all files whole, no temporary left, none registered", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/a.json`, "old");
    await writeFilesAtomically(
      [
        { path: `${dir}/a.json`, data: "new a" },
        { path: `${dir}/b.sh`, data: new TextEncoder().encode("#!/bin/sh\n"), mode: 0o755 },
      ],
      "init",
      { exactMode: true },
    );
    assert.deepEqual(names(dir), ["a.json", "b.sh"]);
    assert.equal(await Deno.readTextFile(`${dir}/a.json`), "new a");
    assert.equal((await Deno.stat(`${dir}/b.sh`)).mode! & 0o777, 0o755);
    assert.equal((await Deno.stat(`${dir}/a.json`)).mode! & 0o777, 0o644);
    assert.deepEqual(registeredTemporaries().filter((p) => p.startsWith(dir)), []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("writeFilesAtomically: a failure renames nothing and removes every temporary", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/a.json`, "old");
    await assert.rejects(
      writeFilesAtomically([
        { path: `${dir}/a.json`, data: "new a" },
        { path: `${dir}/missing/b.json`, data: "b" },
      ], "build"),
      Deno.errors.NotFound,
    );
    assert.deepEqual(names(dir), ["a.json"]);
    assert.equal(await Deno.readTextFile(`${dir}/a.json`), "old");
    assert.deepEqual(registeredTemporaries().filter((p) => p.startsWith(dir)), []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("replaceAtomically: the writer's result; on its error the old file stays, no temporary", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const got = await replaceAtomically(`${dir}/x`, "cp", async (temp) => {
      assert.ok(isTemporaryName(temp.slice(dir.length + 1)));
      await Deno.writeTextFile(temp, "one");
      return 3;
    });
    assert.equal(got, 3);
    assert.equal(await Deno.readTextFile(`${dir}/x`), "one");
    await assert.rejects(
      replaceAtomically(`${dir}/x`, "cp", async (temp) => {
        await Deno.writeTextFile(temp, "half");
        throw new Error("stopped");
      }),
      /^Error: stopped$/,
    );
    assert.deepEqual(names(dir), ["x"]);
    assert.equal(await Deno.readTextFile(`${dir}/x`), "one");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("removeStaleTemporaries with ownerOfTemporary: a dead process's temporaries go, others stay", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const dead = `.r10e-build-${2 ** 22 + 12345}-0123456789ab`;
    const kept = [".r10e-cp-1-0123456789ab", ".r10e-cp-1-notours", "app.tar"];
    for (const n of [dead, ...kept]) await Deno.writeTextFile(`${dir}/${n}`, "x");
    assert.deepEqual(await removeStaleTemporaries(dir, ownerOfTemporary), [dead]);
    assert.deepEqual(names(dir), [...kept].sort());
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
