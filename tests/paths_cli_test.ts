/**
 * Paths in messages are written one way: a path the user typed is named as typed (relative stays
 * relative, `../x` stays `../x`), a path r10e chose (the config it found, build's outputs) by its
 * full path. Run as a separate process, where the working directory is the process's own.
 *
 * @module
 */
import { assertEquals, assertStringIncludes } from "./_assert.ts";
import { r10e } from "./_cli.ts";

Deno.test("paths typed by the user are named as typed: -c of build and init, the inputs and outputs of cp, verify and sbom", async () => {
  const { writeTestArchive } = await import("./_registry.ts");
  const dir = await Deno.makeTempDir({ prefix: "r10e-paths-" });
  try {
    await Deno.mkdir(`${dir}/sub`);
    await Deno.writeTextFile(`${dir}/bad.json`, "{\n");
    await Deno.writeTextFile(`${dir}/go.mod`, "module example.com/p\n\ngo 1.22\n");
    await writeTestArchive(`${dir}/app.tar`, { size: 1000, seed: 3 });
    const run = (args: string[], cwd = dir) => r10e(args, { cwd });
    const invalid = (name: string) =>
      `r10e: Invalid config "${name}"\n  ${name}:2:1: invalid JSON: expected "}"\n`;
    for (const command of ["build", "init"]) {
      const here = await run([command, "-q", "-c", "bad.json"]);
      assertEquals(here.code, 2, here.stderr);
      assertEquals(here.stderr, invalid("bad.json"));
      const below = await run([command, "-q", "-c", "../bad.json"], `${dir}/sub`);
      assertEquals(below.stderr, invalid("../bad.json"));
      const missing = await run([command, "-q", "-c", "sub/none.json"]);
      assertEquals(missing.code, 2, missing.stderr);
      assertStringIncludes(
        missing.stderr,
        `r10e: Cannot read config "sub/none.json": no such file`,
      );
    }
    for (
      const args of [["cp", "../none.tar", "/x", "out"], ["verify", "../none.tar", "../app.tar"], [
        "sbom",
        "../none.tar",
      ]]
    ) {
      const r = await run(args, `${dir}/sub`);
      assertEquals(r.code, 2, r.stderr);
      assertStringIncludes(r.stderr, `r10e: Cannot read image "../none.tar": file not found`);
    }
    const copied = await run(["cp", "../app.tar", "/data/blob", "."], `${dir}/sub`);
    assertEquals(copied.code, 0, copied.stderr);
    assertEquals(copied.stdout.startsWith("./blob(sha256:"), true, copied.stdout);
    const verified = await run(["verify", "../app.tar", `${dir}/app.tar`], `${dir}/sub`);
    assertEquals(verified.code, 0, verified.stderr);
    assertStringIncludes(verified.stdout, "  A: ../app.tar (");
    assertStringIncludes(verified.stdout, `  B: ${dir}/app.tar (`);
    const record = await run(
      ["sbom", "--format", "provenance", "--build", "../none.json", "../app.tar"],
      `${dir}/sub`,
    );
    assertEquals(record.code, 2, record.stderr);
    assertEquals(record.stderr, `r10e: Cannot read build record "../none.json": no such file\n`);
    const none = await run(["sbom", "-o", "none/x.json", "../app.tar"], `${dir}/sub`);
    assertEquals(none.code, 2, none.stderr);
    assertStringIncludes(none.stderr, `r10e: Cannot write "none/x.json"`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
