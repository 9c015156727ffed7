import { assertEquals, assertRejects } from "../../tests/_assert.ts";
import { UsageError } from "../errors.ts";
import { findProjectRoot } from "./root.ts";

Deno.test("findProjectRoot: nearest go.mod at or above config.json, else the working directory", async (t) => {
  const tmp = await Deno.realPath(await Deno.makeTempDir({ prefix: "r10e-root-" }));
  try {
    // tmp/repo/go.mod, tmp/repo/config.json, tmp/repo/testdata/c2.json, tmp/repo/sub/go.mod,
    // tmp/loose/config.json (no go.mod anywhere above).
    await Deno.mkdir(`${tmp}/repo/testdata/deep`, { recursive: true });
    await Deno.mkdir(`${tmp}/repo/sub`, { recursive: true });
    await Deno.mkdir(`${tmp}/loose`, { recursive: true });
    await Deno.writeTextFile(`${tmp}/repo/go.mod`, "module x\n");
    await Deno.writeTextFile(`${tmp}/repo/sub/go.mod`, "module y\n");
    // A directory named go.mod is not a module.
    await Deno.mkdir(`${tmp}/repo/testdata/deep/go.mod`);
    const cases: [string, string, string, string][] = [
      ["config at the module root", `${tmp}/repo`, "config.json", `${tmp}/repo`],
      ["r10edocker: testdata/ from the root", `${tmp}/repo`, "testdata/c2.json", `${tmp}/repo`],
      ["from another directory", `${tmp}/loose`, `${tmp}/repo/testdata/deep/c.json`, `${tmp}/repo`],
      ["a nested module wins", `${tmp}/repo`, "sub/config.json", `${tmp}/repo/sub`],
    ];
    for (const [name, cwd, config, want] of cases) {
      await t.step(name, async () => {
        const got = await findProjectRoot(config, { cwd });
        assertEquals(got.root, want);
        assertEquals(got.why, "the nearest go.mod at or above the config file");
      });
    }
    await t.step("no go.mod: the working directory", async () => {
      // tmp itself may sit under a directory with a go.mod on some machines: use / as a witness.
      const got = await findProjectRoot(`${tmp}/loose/config.json`, { cwd: `${tmp}/repo/sub` });
      if (got.why.startsWith("the working directory")) assertEquals(got.root, `${tmp}/repo/sub`);
      else assertEquals(got.root.startsWith(tmp), false);
    });
    await t.step("--project-dir overrides", async () => {
      const got = await findProjectRoot("testdata/c2.json", {
        cwd: `${tmp}/repo`,
        projectDir: "sub",
      });
      assertEquals(got, { root: `${tmp}/repo/sub`, why: "--project-dir" });
      await assertRejects(
        () => findProjectRoot("c.json", { cwd: tmp, projectDir: "nope" }),
        UsageError,
        'Cannot use --project-dir "nope": no such directory',
      );
      await assertRejects(
        () => findProjectRoot("c.json", { cwd: tmp, projectDir: "repo/go.mod" }),
        UsageError,
        'Cannot use --project-dir "repo/go.mod": not a directory',
      );
    });
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});
