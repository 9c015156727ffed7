/**
 * `verify` and `cp` read registry references from a docker-registry of the
 * test's own on loopback: the auditor's `r10e verify host/app@sha256:… app-latest.tar.gz`, a
 * platform's blobs only, a corrupted blob caught by its digest, an existing path winning over
 * a reference.
 */
import { assertEquals, assertStringIncludes } from "./_assert.ts";
import { fileSha256, r10e, r10eInProcess, REPO } from "./_cli.ts";
import { requireTool } from "./_docker.ts";
import { cacheEnv, startProxy, startRegistry, writeTestArchive } from "./_registry.ts";

Deno.test("verify and cp read registry references: by digest and tag, one platform's blobs, digests checked", async (t) => {
  if (!requireTool(t, "docker-registry") || !requireTool(t, "curl")) return;
  const dir = await Deno.makeTempDir({ prefix: "r10e-read-" });
  let registry;
  try {
    registry = await startRegistry(`${dir}/registry`);
    const env = { ...cacheEnv(dir), DOCKER_CONFIG: `${dir}/docker` };
    const image = await writeTestArchive(`${dir}/app.tar.gz`, { size: 1_500_000, seed: 3 });
    await writeTestArchive(`${dir}/other.tar.gz`, { size: 1_500_000, seed: 4 });
    const pushed = await r10eInProcess([
      "push",
      "-q",
      `${dir}/app.tar.gz`,
      `${registry.host}/team/app:v1`,
    ], {
      env,
    });
    assertEquals(pushed.code, 0, pushed.stderr);
    const ref = pushed.stdout.trim();
    assertEquals(ref, `${registry.host}/team/app@${image.manifestDigest}`);

    await t.step(
      "the auditor's command: the registry's image against the archive is identical",
      async () => {
        const r = await r10eInProcess(["--verbose", "verify", ref, `${dir}/app.tar.gz`], { env });
        assertEquals(r.code, 0, r.stdout + r.stderr);
        assertStringIncludes(r.stdout, "Images are identical");
        assertStringIncludes(r.stdout, `manifest ${image.manifestDigest.slice(0, 19)}`);
        // Only what verify needs: the layers have the archive's digests, so none is downloaded
        // (their first bytes only, for the compression: a Range answered 206).
        const whole = [...r.stderr.matchAll(/GET \S+\/blobs\/(sha256:[0-9a-f]{64}) -> 200/g)]
          .map((m) => m[1]);
        assertEquals(whole, [image.imageId], r.stderr);
      },
    );

    await t.step(
      "by tag, against another archive: they differ (exit 1), and the finding is the file",
      async () => {
        const r = await r10eInProcess([
          "verify",
          "--json",
          `${registry!.host}/team/app:v1`,
          `${dir}/other.tar.gz`,
        ], { env });
        assertEquals(r.code, 1, r.stderr);
        const report = JSON.parse(r.stdout);
        assertEquals(report.identical, false);
        assertStringIncludes(JSON.stringify(report.findings), "data/blob");
      },
    );

    await t.step("cp from a reference copies the file with the bytes of the archive", async () => {
      await Deno.mkdir(`${dir}/out`);
      const r = await r10eInProcess(["cp", ref, "/bin/busybox", `${dir}/out/`], { env });
      assertEquals(r.code, 0, r.stderr);
      const want = (await fileSha256("/bin/busybox")).replace(/^sha256:/, "");
      assertEquals(r.stdout, `${dir}/out/busybox(sha256:${want})\n`);
    });

    await t.step(
      "sbom of a reference lists the archive's files, and leaves nothing in TMPDIR",
      async () => {
        const tmp = `${dir}/sbom-tmp`;
        await Deno.mkdir(tmp);
        const fromRef = await r10e(["sbom", "--format", "spdx", ref], {
          env: { ...env, TMPDIR: tmp },
        });
        assertEquals(fromRef.code, 0, fromRef.stderr);
        const fromArchive = await r10eInProcess(["sbom", "--format", "spdx", `${dir}/app.tar.gz`], {
          env,
        });
        assertEquals(fromArchive.code, 0, fromArchive.stderr);
        const files = (text: string) =>
          (JSON.parse(text).files as { fileName: string; checksums: unknown }[])
            .map((f) => JSON.stringify([f.fileName, f.checksums])).sort();
        const want = (await fileSha256("/bin/busybox")).replace(/^sha256:/, "");
        assertStringIncludes(fromRef.stdout, want);
        assertEquals(files(fromRef.stdout), files(fromArchive.stdout));
        assertEquals([...Deno.readDirSync(tmp)].map((e) => e.name), []);
      },
    );

    await t.step(
      "a multi-platform index: --platform fetches that platform's blobs only",
      async () => {
        const multi = await writeTestArchive(`${dir}/multi.tar`, {
          size: 500_000,
          seed: 21,
          platforms: ["linux/amd64", "linux/arm64"],
        });
        const p = await r10eInProcess([
          "push",
          "--json",
          `${dir}/multi.tar`,
          `${registry!.host}/team/multi:v1`,
        ], { env });
        assertEquals(p.code, 0, p.stderr);
        const json = JSON.parse(p.stdout);
        assertEquals(json.mediaType, "application/vnd.oci.image.index.v1+json");
        const r = await r10eInProcess([
          "--verbose",
          "cp",
          "--platform",
          "linux/arm64",
          `${registry!.host}/team/multi:v1`,
          "/data/blob",
          `${dir}/arm64-blob`,
        ], { env });
        assertEquals(r.code, 0, r.stderr);
        const [amd64, arm64] = multi.images;
        const fetched = [...r.stderr.matchAll(/GET \S+\/blobs\/(sha256:[0-9a-f]{64}) -> 200/g)].map(
          (m) => m[1],
        );
        assertEquals(fetched.includes(arm64.layers[1]), true, r.stderr);
        assertEquals(fetched.includes(amd64.layers[1]), false, "the amd64 data layer was fetched");
        const manifests = [...r.stderr.matchAll(/GET \S+\/manifests\/(\S+) -> 200/g)].map((m) =>
          m[1]
        );
        assertEquals(
          manifests.includes(amd64.manifestDigest),
          false,
          "the amd64 manifest was fetched",
        );
      },
    );

    await t.step("an existing path wins over a reference that reads the same", async () => {
      // A directory named like a registry host, holding an archive named like repo:tag.
      await Deno.mkdir(`${dir}/cwd/127.0.0.1:9`, { recursive: true });
      await Deno.copyFile(`${dir}/app.tar.gz`, `${dir}/cwd/127.0.0.1:9/app:v1`);
      const r = await r10eInProcess(["verify", "127.0.0.1:9/app:v1", `${dir}/app.tar.gz`], {
        env,
        cwd: `${dir}/cwd`,
      });
      assertEquals(r.code, 0, r.stderr);
      // and without the path, it is a reference to a registry that is not there: exit 2
      await Deno.remove(`${dir}/cwd/127.0.0.1:9`, { recursive: true });
      const gone = await r10eInProcess(["verify", "127.0.0.1:9/app:v1", `${dir}/app.tar.gz`], {
        env,
        cwd: `${dir}/cwd`,
      });
      assertEquals(gone.code, 2, gone.stderr);
      assertStringIncludes(gone.stderr, 'Cannot reach registry "127.0.0.1:9"');
    });

    await t.step(
      "a blob corrupted in the registry's storage is caught by its digest: exit 2",
      async () => {
        const layer = image.layers[1].slice("sha256:".length);
        const data = `${dir}/registry/storage/docker/registry/v2/blobs/sha256/${
          layer.slice(0, 2)
        }/${layer}/data`;
        using f = await Deno.open(data, { read: true, write: true });
        await f.seek(1000, Deno.SeekMode.Start);
        const one = new Uint8Array(1);
        await f.read(one);
        await f.seek(1000, Deno.SeekMode.Start);
        await f.write(new Uint8Array([one[0] ^ 0xff]));
        // Against the other archive the data layer differs: verify reads it, and stops at its end.
        const r = await r10eInProcess(["verify", ref, `${dir}/other.tar.gz`], { env });
        assertEquals([r.code, r.stdout], [2, ""], r.stderr);
        assertStringIncludes(r.stderr, `blob ${image.layers[1]} does not match its digest`);
        // cp reads every layer (and keeps them in a spool directory, removed on the way out).
        const tmp = `${dir}/tmp`;
        await Deno.mkdir(tmp);
        const c = await r10e(["cp", ref, "/bin/busybox", `${dir}/corrupt-busybox`], {
          env: { ...env, TMPDIR: tmp },
        });
        assertEquals([c.code, c.stdout], [2, ""], c.stderr);
        assertStringIncludes(c.stderr, `blob ${image.layers[1]} does not match its digest`);
        assertEquals([...Deno.readDirSync(tmp)].map((e) => e.name), []);
        assertEquals(
          await Deno.stat(`${dir}/corrupt-busybox`).then(() => true, () => false),
          false,
        );
      },
    );
  } finally {
    await registry?.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("cp from a reference interrupted mid-download (Ctrl-C): exit 130, the spooled blobs removed", async (t) => {
  if (!requireTool(t, "docker-registry")) return;
  const dir = await Deno.makeTempDir({ prefix: "r10e-read-int-" });
  let registry;
  let proxy;
  try {
    registry = await startRegistry(`${dir}/registry`);
    const env = { ...cacheEnv(dir), DOCKER_CONFIG: `${dir}/docker` };
    await writeTestArchive(`${dir}/app.tar`, { size: 1_500_000, seed: 5 });
    const pushed = await r10eInProcess([
      "push",
      "-q",
      `${dir}/app.tar`,
      `${registry.host}/team/app:v1`,
    ], {
      env,
    });
    assertEquals(pushed.code, 0, pushed.stderr);
    // The proxy passes the first 600 KB of a whole large blob, then sends nothing more.
    proxy = startProxy(registry.host, {
      after: (kind, upstream) => {
        const size = Number(upstream.headers.get("content-length") ?? "0");
        if (!kind.startsWith("GET /v2/team/app/blobs/") || upstream.status !== 200) return;
        if (size < 1_000_000) return;
        const reader = upstream.body!.getReader();
        let sent = 0;
        const stalled = new ReadableStream<Uint8Array>({
          async pull(c) {
            if (sent >= 600_000) return new Promise(() => {}); // nothing more, ever
            const r = await reader.read();
            if (r.done) return c.close();
            sent += r.value.length;
            c.enqueue(r.value);
          },
          cancel: () => reader.cancel(),
        });
        return new Response(stalled, { status: 200, headers: upstream.headers });
      },
    });
    const tmp = `${dir}/tmp`;
    await Deno.mkdir(tmp);
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        "--quiet",
        `${REPO}/src/main.ts`,
        "cp",
        `${proxy.host}/team/app:v1`,
        "/data/blob",
        `${dir}/blob`,
      ],
      env: { ...env, TMPDIR: tmp, NO_COLOR: "1" },
      stdout: "null",
      stderr: "piped",
    }).spawn();
    // Wait until part of a blob is in the spool directory.
    const spooled = async () => {
      for (const d of Deno.readDirSync(tmp)) {
        if (!d.isDirectory) continue;
        for (const f of Deno.readDirSync(`${tmp}/${d.name}`)) {
          if ((await Deno.stat(`${tmp}/${d.name}/${f.name}`)).size > 0) return true;
        }
      }
      return false;
    };
    const until = Date.now() + 60_000;
    while (!(await spooled())) {
      if (Date.now() > until) throw new Error("nothing was spooled within 60 s");
      await new Promise((r) => setTimeout(r, 100));
    }
    child.kill("SIGINT");
    const status = await child.status;
    const stderr = new TextDecoder().decode(
      await new Response(child.stderr).arrayBuffer(),
    );
    assertEquals(status.code, 130, stderr);
    assertEquals([...Deno.readDirSync(tmp)].map((e) => e.name), []);
    assertEquals(await Deno.stat(`${dir}/blob`).then(() => true, () => false), false);
  } finally {
    await proxy?.close();
    await registry?.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
