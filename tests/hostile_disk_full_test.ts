/**
 * A full disk, where r10e writes: the output folder (build's r10e-docker/out, `sbom -o`) or
 * TMPDIR (build's layer spool). Each is a small tmpfs mounted in a private mount namespace of
 * the run (unshare), so that nothing of the machine fills up. The message names the path and
 * says which folder filled up; exit 2; nothing is left under the final name or in TMPDIR.
 */
import assert from "node:assert/strict";
import { copyExample } from "./_cli.ts";
import { canMount, measure } from "./_hostile.ts";

/** A copy of the example project with `size` random bytes in extern_data (they do not compress). */
async function project(size: number): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "r10e-hostile-full-" });
  await copyExample(dir);
  using big = await Deno.open(`${dir}/data/big.bin`, { write: true, create: true });
  const chunk = new Uint8Array(1 << 16);
  for (let done = 0; done < size; done += chunk.length) {
    crypto.getRandomValues(chunk);
    await big.write(chunk);
  }
  await Deno.mkdir(`${dir}/tmp`);
  await Deno.mkdir(`${dir}/r10e-docker/out`, { recursive: true });
  return dir;
}

/** Runs r10e in a private mount namespace where `mountpoint` is a tmpfs of `size`. */
async function runFull(dir: string, mountpoint: string, size: string, args: string[]) {
  const r = await measure(args, {
    cwd: dir,
    env: { TMPDIR: `${dir}/tmp`, SOURCE_DATE_EPOCH: "0" },
    timeoutSeconds: 300,
    prefix: [
      "unshare",
      "-m",
      "--propagation",
      "private",
      "sh",
      "-c",
      `mount -t tmpfs -o size=${size} tmpfs "${mountpoint}" && exec "$@"`,
      "sh",
    ],
  });
  assert.equal(r.timedOut, false, `r10e ${args.join(" ")} hung`);
  return r;
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");

Deno.test("disk full: the message names the path and the folder that filled up", async (t) => {
  const why = await canMount();
  if (why) {
    console.log(`skipped: cannot make a mount namespace with a tmpfs (${why})`);
    return;
  }
  // 24 MB that do not compress: more than the 16 MiB tmpfs below, less than the 256 MB a
  // gzip layer is kept in memory within.
  const dir = await project(24 << 20);
  try {
    const out = `${dir}/r10e-docker/out`;
    await t.step("build, the output folder", async () => {
      const r = await runFull(dir, out, "16m", ["build", "--in", "host"]);
      assert.equal(r.code, 2, r.stderr);
      assert.match(
        r.stderr,
        new RegExp(
          `\\nr10e: Cannot write "${escape(out)}/r10e-hello-latest\\.tar\\.gz": the output ` +
            `folder "${escape(out)}" is full \\(no space left on device\\)\\n`,
        ),
      );
      // The mount is gone with the namespace: out/ is the project's own folder again, empty.
      assert.deepEqual([...Deno.readDirSync(out)], []);
      assert.deepEqual([...Deno.readDirSync(`${dir}/tmp`)], []);
    });
    await t.step("build, TMPDIR (the layer spool)", async () => {
      // The compressed layers beyond what is kept in memory wait in TMPDIR: none is kept.
      const r = await runFull(dir, `${dir}/tmp`, "8m", [
        "build",
        "--in",
        "host",
      ]);
      assert.equal(r.code, 2, r.stderr);
      assert.match(
        r.stderr,
        new RegExp(
          `\\nr10e: Cannot write temporary files: TMPDIR "${escape(dir)}/tmp" is full \\(no ` +
            `space left on device\\); set TMPDIR to a folder with more space\\n`,
        ),
      );
      assert.deepEqual([...Deno.readDirSync(out)], []);
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
