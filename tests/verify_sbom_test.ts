/**
 * `r10e verify` names Go module differences above the byte-level findings they explain: two
 * r10e builds of tests/fixtures/moddeps whose only change is the version of one real
 * dependency (golang.org/x/sync v0.19.0 → v0.20.0, from the Go module proxy or the module cache);
 * the same source built again, and with another creation time, reports no module change.
 */
import { deepStrictEqual as assertEquals, ok } from "node:assert/strict";
import { r10e, REPO } from "./_cli.ts";
import { build, verify } from "./_verify.ts";

const OUT = "r10e-docker/out/r10e-moddeps-latest.tar.gz";
const FIXTURE = `${REPO}/tests/fixtures/moddeps`;

/** tests/fixtures/moddeps in `dir`, with golang.org/x/sync required at `sync`, after `r10e init`. */
async function project(dir: string, sync: string): Promise<void> {
  await Deno.mkdir(dir, { recursive: true });
  for (const f of ["go.mod", "go.sum", "main.go", "main_test.go", "config.json"]) {
    await Deno.copyFile(`${FIXTURE}/${f}`, `${dir}/${f}`);
  }
  const mod = await Deno.readTextFile(`${dir}/go.mod`);
  ok(mod.includes("golang.org/x/sync v0.19.0\n"), mod);
  await Deno.writeTextFile(
    `${dir}/go.mod`,
    mod.replace("golang.org/x/sync v0.19.0\n", `golang.org/x/sync ${sync}\n`),
  );
  const init = await r10e(["init", "-q"], { cwd: dir, env: { SOURCE_DATE_EPOCH: "1700000000" } });
  assertEquals(init.code, 0, init.stderr);
}

/** The `h1:` sum go.sum records for `module version` (the fixture's go.sum holds both versions). */
async function goSum(module: string, version: string): Promise<string> {
  const lines = (await Deno.readTextFile(`${FIXTURE}/go.sum`)).split("\n");
  const line = lines.find((l) => l.startsWith(`${module} ${version} `));
  ok(line, `${module} ${version} in go.sum`);
  return line.split(" ")[2];
}

// deno-lint-ignore no-explicit-any
type Json = any;

Deno.test("verify: a dependency bump is named with both versions, above the bytes", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "r10e-verify-sbom-" });
  try {
    await project(`${dir}/old`, "v0.19.0");
    await project(`${dir}/new`, "v0.20.0");
    await project(`${dir}/again`, "v0.19.0");
    await build(`${dir}/old`, "1700000000");
    await build(`${dir}/new`, "1700000000");
    await build(`${dir}/again`, "1700086400");
    const sumOld = await goSum("golang.org/x/sync", "v0.19.0");
    const sumNew = await goSum("golang.org/x/sync", "v0.20.0");

    await t.step("the report names the dependency first, with both versions; exit 1", async () => {
      const r = await verify([`old/${OUT}`, `new/${OUT}`], dir);
      assertEquals([r.code, r.stderr], [1, ""], r.stdout);
      const lines = r.stdout.split("\n");
      ok(lines[0].startsWith("Images differ: "), r.stdout);
      ok(/ findings?: go-dependency \(1\)(, |$)/.test(lines[0]), lines[0]);
      const causes = lines.indexOf("Causes and fixes (both built by r10e)");
      ok(causes > 0, r.stdout);
      assertEquals(
        lines[causes + 1],
        "  go-dependency (1): Go dependencies differ: golang.org/x/sync: v0.19.0 → v0.20.0 " +
          "(upgraded, in /app/moddeps) → build with the same go.mod and go.sum (commit them; " +
          "GOFLAGS=-mod=readonly)",
      );
      const modules = lines.indexOf("Go modules (what the bytes below follow from)");
      ok(modules > causes, r.stdout);
      assertEquals(lines.slice(modules + 1, modules + 4), [
        "  /app/moddeps",
        "    golang.org/x/sync: v0.19.0 → v0.20.0 (upgraded) [go-dependency]",
        `      sums: ${sumOld} → ${sumNew}`,
      ]);
      // The byte-level finding of the same binary comes after, and says what explains it.
      const layer = lines.findIndex((l) => /^Layer \d+$/.test(l));
      ok(layer > modules, r.stdout);
      ok(
        lines.some((l) =>
          l.startsWith("  go-build-info (1): ") &&
          l.includes("follows from the Go module differences above")
        ),
        r.stdout,
      );
      ok(
        lines.slice(layer).some((l) => l.includes("build info dep golang.org/x/sync: v0.19.0")),
        r.stdout,
      );
    });

    await t.step("--json: the module finding first, with both versions and sums", async () => {
      const r = await verify([`old/${OUT}`, `new/${OUT}`, "--json"], dir);
      assertEquals([r.code, r.stderr], [1, ""]);
      const report = JSON.parse(r.stdout);
      const first: Json = report.findings[0];
      assertEquals({ ...first, layer: 0 }, {
        scope: "file",
        layer: 0,
        path: "app/moddeps",
        field: "go dependency golang.org/x/sync",
        a: "v0.19.0",
        b: "v0.20.0",
        cause: "go-dependency",
        causeText: "a Go dependency upgraded",
        hint: "build with the same go.mod and go.sum (commit them; GOFLAGS=-mod=readonly)",
        detail: {
          kind: "go-module",
          module: "golang.org/x/sync",
          change: "upgraded",
          a: { version: "v0.19.0", sum: sumOld },
          b: { version: "v0.20.0", sum: sumNew },
        },
      });
      // Nothing else of the build info changed: uuid, the toolchain, the settings are the same.
      const modules = report.findings.filter((f: Json) =>
        f.cause.startsWith("go-") &&
        f.cause !== "go-build-info" && f.cause !== "go-build-id" && f.cause !== "go-ldflags-x"
      );
      assertEquals(modules.length, 1, JSON.stringify(modules));
      const bytes = report.findings.find((f: Json) =>
        f.path === "app/moddeps" && f.field === "content"
      );
      ok(bytes, r.stdout);
      assertEquals(bytes.layer, first.layer);
      assertEquals(bytes.cause, "go-build-info");
      assertEquals(report.causes[0].cause, "go-dependency");
    });

    await t.step("the same modules: no module change", async () => {
      const same = await verify([`old/${OUT}`, `again/${OUT}`, "--json"], dir);
      assertEquals([same.code, same.stderr], [1, ""]);
      const report = JSON.parse(same.stdout);
      // Another creation time: only timestamps, the binary's bytes and modules are the same.
      assertEquals([...new Set(report.findings.map((f: Json) => f.cause))], ["timestamps"]);
      const human = await verify([`old/${OUT}`, `again/${OUT}`], dir);
      ok(!human.stdout.includes("Go modules"), human.stdout);
      const twice = await verify([`again/${OUT}`, `again/${OUT}`], dir);
      assertEquals(twice.code, 0);
      ok(
        twice.stdout.startsWith("Images are identical: the archive files are byte-identical"),
        twice.stdout,
      );
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
