/**
 * Two r10e builds of examples/hello: with different SOURCE_DATE_EPOCH,
 * `r10e verify` names only timestamps; with the same one, the images are
 * identical. Builds and verifies through the real CLI, in temporary copies.
 */
import { deepStrictEqual as assertEquals, ok } from "node:assert/strict";
import { build, verify } from "./_verify.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const OUT = "r10e-docker/out/r10e-hello-latest.tar.gz";

async function copyExample(to: string): Promise<void> {
  const cp = await new Deno.Command("cp", { args: ["-r", ROOT + "examples/hello", to] }).output();
  ok(cp.success);
  await Deno.remove(`${to}/r10e-docker/out`, { recursive: true }).catch(() => {});
}

Deno.test("verify: two r10e builds with different SOURCE_DATE_EPOCH differ only in timestamps", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "r10e-verify-build-" });
  try {
    await copyExample(`${dir}/one`);
    await copyExample(`${dir}/two`);
    await copyExample(`${dir}/three`);
    await build(`${dir}/one`, "1700000000");
    await build(`${dir}/two`, "1700086400");
    await build(`${dir}/three`, "1700000000");

    await t.step("different SOURCE_DATE_EPOCH: only timestamps", async () => {
      const r = await verify([`one/${OUT}`, `two/${OUT}`, "--json"], dir);
      assertEquals([r.code, r.stderr], [1, ""]);
      const report = JSON.parse(r.stdout);
      const causes = new Set(report.findings.map((f: { cause: string }) => f.cause));
      assertEquals([...causes], ["timestamps"]);
      ok(report.findings.some((f: { field: string }) => f.field === "created"));
      ok(report.findings.some((f: { path?: string }) => f.path === "app/hello"));
      ok(report.summary.startsWith("differ: "), report.summary);
      ok(report.summary.endsWith(" findings: timestamps (" + report.findings.length + ")"));
    });
    await t.step("the same with --ignore timestamps is identical", async () => {
      const r = await verify([`one/${OUT}`, `two/${OUT}`, "--ignore", "timestamps"], dir);
      assertEquals([r.code, r.stderr], [0, ""]);
      ok(r.stdout.startsWith("Images are identical (ignoring "), r.stdout);
    });
    await t.step("same SOURCE_DATE_EPOCH in another directory: identical", async () => {
      const r = await verify([`one/${OUT}`, `three/${OUT}`], dir);
      assertEquals([r.code, r.stderr], [0, ""]);
      // r10e's archive is a function of its inputs: the same bytes.
      ok(
        /^Images are identical: the archive files are byte-identical \(sha256:[0-9a-f]{12}…\)\n/
          .test(r.stdout),
        r.stdout,
      );
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
