/**
 * scripts/install: one command puts `r10e` on PATH without root, and `r10e version` then works
 * from any folder.
 *
 * @module
 */
import { assertEquals, assertStringIncludes } from "./_assert.ts";
import { REPO } from "./_cli.ts";

Deno.test("scripts/install links r10e into a bin folder; r10e version runs from any folder", async () => {
  const home = await Deno.makeTempDir({ prefix: "r10e-install-" });
  try {
    // A new HOME, the same Deno cache: the modules are not fetched again.
    const denoDir = Deno.env.get("DENO_DIR") ?? `${Deno.env.get("HOME")}/.cache/deno`;
    const env = { HOME: home, PATH: Deno.env.get("PATH") ?? "", DENO_DIR: denoDir };
    const install = await new Deno.Command(`${REPO}/scripts/install`, {
      env,
      clearEnv: true,
      stdout: "piped",
      stderr: "piped",
    }).output();
    const out = new TextDecoder().decode(install.stdout);
    assertEquals(install.code, 0, new TextDecoder().decode(install.stderr));
    assertStringIncludes(out, `Linked ${home}/.local/bin/r10e`);
    assertStringIncludes(out, "is not on PATH: add it");
    const version = await new Deno.Command("r10e", {
      args: ["version"],
      cwd: "/",
      env: { ...env, PATH: `${home}/.local/bin:${env.PATH}` },
      clearEnv: true,
      stdout: "piped",
      stderr: "piped",
    }).output();
    assertEquals(version.code, 0, new TextDecoder().decode(version.stderr));
    assertEquals(
      /^r10e \S+ \(image format \d+\)\n$/.test(new TextDecoder().decode(version.stdout)),
      true,
    );
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("scripts/install refuses an unknown argument, exit 2", async () => {
  const r = await new Deno.Command(`${REPO}/scripts/install`, {
    args: ["--bogus"],
    stderr: "piped",
  })
    .output();
  assertEquals(r.code, 2);
  assertStringIncludes(new TextDecoder().decode(r.stderr), 'unknown argument "--bogus"');
});

Deno.test("scripts/r10e and the installed launcher start deno and no other program", async () => {
  const dir = await Deno.makeTempDir({ prefix: "r10e-wrapper-" });
  const denoDir = Deno.env.get("DENO_DIR") ?? `${Deno.env.get("HOME")}/.cache/deno`;
  try {
    // Once with the usual PATH: the wrapper remembers which deno is the pinned one.
    const warm = await new Deno.Command(`${REPO}/scripts/r10e`, { args: ["version"] }).output();
    assertEquals(warm.code, 0, new TextDecoder().decode(warm.stderr));
    // Then with a PATH that holds bash (for the #! line) and nothing else: a readlink, dirname or
    // deno --version started per call fails.
    await Deno.mkdir(`${dir}/bin`);
    const bash = await new Deno.Command("bash", { args: ["-c", "command -v bash"] }).output();
    await Deno.symlink(new TextDecoder().decode(bash.stdout).trim(), `${dir}/bin/bash`);
    const install = await new Deno.Command(`${REPO}/scripts/install`, {
      args: ["--bin-dir", `${dir}/installed`],
      env: { HOME: dir },
    }).output();
    assertEquals(install.code, 0, new TextDecoder().decode(install.stderr));
    for (const wrapper of [`${REPO}/scripts/r10e`, `${dir}/installed/r10e`]) {
      const r = await new Deno.Command(wrapper, {
        args: ["version"],
        cwd: dir,
        env: { PATH: `${dir}/bin`, HOME: dir, DENO_DIR: denoDir },
        clearEnv: true,
        stdout: "piped",
        stderr: "piped",
      }).output();
      const stderr = new TextDecoder().decode(r.stderr);
      assertEquals([r.code, stderr], [0, ""], wrapper);
      assertStringIncludes(new TextDecoder().decode(r.stdout), "r10e ");
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
