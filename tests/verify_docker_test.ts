/**
 * `r10e verify` on `docker save` output of images built twice with `docker build`
 * (images from Docker itself, here the engine of scripts/dockerd.sh; before
 * Docker 25 that is the legacy `<id>/layer.tar` docker-archive). Skipped, visibly,
 * without an engine; fails with R10E_REQUIRE_DOCKER=1.
 */
import { deepStrictEqual as assertEquals, ok } from "node:assert/strict";
import { docker, dockerTest, importImage, writeBusyboxRootfs } from "./_docker.ts";
import { verify } from "./_verify.ts";

dockerTest("verify: docker build twice, docker save, compare", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "r10e-verify-docker-" });
  const id = crypto.randomUUID().slice(0, 8);
  const base = `r10e-verify-base:${id}`;
  const tag = `r10e-verify:${id}`;
  try {
    await Deno.mkdir(`${dir}/rootfs`);
    await writeBusyboxRootfs(`${dir}/rootfs`);
    await importImage(`${dir}/rootfs`, base);
    await Deno.mkdir(`${dir}/ctx`);
    await Deno.writeTextFile(
      `${dir}/ctx/Dockerfile`,
      // Each build writes a new /stamp; the build time leaks into its mtime and `created`.
      `FROM ${base}\nRUN cat /proc/sys/kernel/random/uuid > /stamp\n`,
    );
    // The same tag both times, as a rebuild would: only the build itself differs.
    for (const i of [1, 2]) {
      await docker(["build", "--no-cache", "--network", "none", "-q", "-t", tag, `${dir}/ctx`]);
      await docker(["save", "-o", `${dir}/${i}.tar`, tag]);
      if (i === 1) await docker(["save", "-o", `${dir}/1-again.tar`, tag]);
    }

    await t.step("built twice: the stamp's content and the build time", async () => {
      const r = await verify(["1.tar", "2.tar", "--json"], dir);
      assertEquals([r.code, r.stderr], [1, ""]);
      const report = JSON.parse(r.stdout);
      assertEquals(report.a.format, "docker-archive");
      const byCause = new Map<string, string[]>();
      for (const f of report.findings) {
        byCause.set(f.cause, [
          ...(byCause.get(f.cause) ?? []),
          `${f.scope} ${f.path ?? ""} ${f.field}`,
        ]);
      }
      // Docker's legacy builder also records the ID of its build container in the config.
      assertEquals([...byCause.keys()].sort(), ["builder-ids", "content", "timestamps"], r.stdout);
      assertEquals(byCause.get("builder-ids"), ["config  container"]);
      assertEquals(report.builders, { a: "docker-legacy", b: "docker-legacy" });
      const times = report.causes.find((c: { cause: string }) => c.cause === "timestamps");
      ok(/SOURCE_DATE_EPOCH does not change that/.test(times.hint), times.hint);
      // The part a person reads at a glance: summary, inputs, notes, one line per cause.
      const text = (await verify(["1.tar", "2.tar"], dir)).stdout.split("\n");
      const causes = text.indexOf("Causes and fixes (both built by the legacy docker builder)");
      ok(causes > 0, text.join("\n"));
      const end = text.indexOf("", causes);
      ok(end <= 15, text.join("\n"));
      ok(
        text.slice(causes, end).some((l) =>
          l.startsWith("  timestamps (") && l.includes("SOURCE_DATE_EPOCH does not change that")
        ),
        text.join("\n"),
      );
      assertEquals(byCause.get("content"), ["file stamp content"]);
      ok(byCause.get("timestamps")!.includes("config  created"), r.stdout);
      const stamp = report.findings.find((f: { cause: string }) => f.cause === "content");
      assertEquals(stamp.layer, 1);
      assertEquals(stamp.detail.kind, "text");
      ok(/^-[0-9a-f-]{36}\n\+[0-9a-f-]{36}\n$/m.test(stamp.detail.diff), stamp.detail.diff);
    });
    await t.step("the same image saved twice is identical", async () => {
      const r = await verify(["1.tar", "1-again.tar"], dir);
      assertEquals([r.code, r.stderr], [0, ""]);
      const first = r.stdout.split("\n")[0];
      // docker save writes the same bytes again; else its image ID (no manifest before
      // Docker 25) or its manifest digest is the identity.
      ok(
        /^Images are identical: (the archive files are byte-identical \(sha256:[0-9a-f]{12}…\)|the same image ID sha256:[0-9a-f]{12}…, every layer checked against its diff_id|the same manifest digest sha256:[0-9a-f]{12}…)( \(the archive files differ: see the notes\))?$/
          .test(first),
        r.stdout,
      );
    });
    await t.step("--ignore timestamps still shows the content", async () => {
      const r = await verify(["1.tar", "2.tar", "--ignore", "timestamps"], dir);
      assertEquals([r.code, r.stderr], [1, ""]);
      assertEquals(
        r.stdout.split("\n")[0],
        "Images differ: 2 findings: builder-ids (1), content (1)",
      );
      ok(r.stdout.includes("  /stamp\n"), r.stdout);
    });
  } finally {
    await docker(["rmi", tag, base], { allowFail: true });
    await Deno.remove(dir, { recursive: true });
  }
});
