/**
 * The files `init` writes, run as a user runs them on a fresh project where no builder could be
 * pinned (no engine at init): the Makefile's verify without OTHER= and its clean,
 * build_container.sh, and the generated README's artifact paths.
 */
import { assertEquals, assertStringIncludes } from "./_assert.ts";
import { copyExample, listTree, r10e, REPO } from "./_cli.ts";
import { setPlatforms } from "./_multiplatform.ts";

const R10E = `${REPO}/scripts/r10e`;

/** A copy of the example, `init` run without an engine (no builder pinned). */
async function fresh(platforms?: string[]): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "r10e-templates-" });
  await copyExample(dir);
  if (platforms) await setPlatforms(dir, platforms);
  const init = await r10e(["init", "-q"], {
    cwd: dir,
    env: { GOPROXY: "off", DOCKER_HOST: "unix:///nonexistent/docker.sock" },
  });
  assertEquals(init.code, 0, init.stderr);
  return dir;
}

async function sh(cmd: string[], cwd: string) {
  const out = await new Deno.Command(cmd[0], {
    args: cmd.slice(1),
    cwd,
    env: { R10E, SOURCE_DATE_EPOCH: "1700000000", DOCKER_HOST: "unix:///nonexistent/docker.sock" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

async function outFiles(dir: string): Promise<string[]> {
  try {
    return (await listTree(`${dir}/r10e-docker/out`)).filter((n) => !n.endsWith("/"));
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return [];
    throw e;
  }
}

Deno.test("Makefile: verify without OTHER= says what to pass, before building anything", async () => {
  const dir = await fresh();
  try {
    const r = await sh(["make", "-f", "r10e-docker/Makefile", "verify"], dir);
    assertEquals(r.code, 2, r.stdout + r.stderr);
    assertStringIncludes(r.stderr, "make verify needs OTHER=<archive or registry reference>");
    assertEquals(await outFiles(dir), []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("build_container.sh without a pinned builder builds on the host and says so; README names what is in out/; make clean removes it all", async () => {
  const dir = await fresh();
  try {
    const r = await sh(["bash", "r10e-docker/build_container.sh", "-q"], dir);
    assertEquals(r.code, 0, r.stderr);
    assertStringIncludes(
      r.stderr,
      "build_container.sh: building --in host (no builder image is pinned in r10e-docker/pins.json",
    );
    const files = await outFiles(dir);
    assertEquals(files, [
      "r10e-hello-latest.cdx.json",
      "r10e-hello-latest.provenance.json",
      "r10e-hello-latest.spdx.json",
      "r10e-hello-latest.tar.gz",
    ]);
    const readme = await Deno.readTextFile(`${dir}/r10e-docker/README.md`);
    const named = new Set([...readme.matchAll(/r10e-docker\/out\/([^`\s]+)/g)].map((m) => m[1]));
    for (const f of files) assertEquals(named.has(f), true, `README does not name ${f}`);
    const clean = await sh(["make", "-f", "r10e-docker/Makefile", "clean"], dir);
    assertEquals(clean.code, 0, clean.stderr);
    assertEquals(await outFiles(dir), []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("README and Makefile of two platforms name each platform's SBOMs", async () => {
  const dir = await fresh(["linux/amd64", "linux/arm64"]);
  try {
    const readme = await Deno.readTextFile(`${dir}/r10e-docker/README.md`);
    const makefile = await Deno.readTextFile(`${dir}/r10e-docker/Makefile`);
    for (
      const name of [
        "r10e-hello-latest.linux-amd64.spdx.json",
        "r10e-hello-latest.linux-arm64.cdx.json",
        "r10e-hello-latest.provenance.json",
      ]
    ) {
      assertStringIncludes(readme, `r10e-docker/out/${name}`);
      assertStringIncludes(makefile, name);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
