/** Helpers of the `r10e check` tests: a committed project, check with its own TMPDIR. */
import { assertEquals } from "./_assert.ts";
import { copyExample, git, r10e, REPO } from "./_cli.ts";

/** A temporary git repository holding a copy of `fixture` (or the example), committed. */
export async function project(fixture?: string): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "r10e-check-test-" });
  if (fixture) {
    for (const name of ["config.json", "go.mod", "go.sum", "main.go", ".gitignore"]) {
      await Deno.copyFile(`${REPO}/tests/fixtures/check/${fixture}/${name}`, `${dir}/${name}`)
        .catch((e) => {
          if (!(e instanceof Deno.errors.NotFound)) throw e;
        });
    }
    const init = await r10e(["init", "-q"], { cwd: dir });
    assertEquals(init.code, 0, init.stderr);
  } else {
    await copyExample(dir);
  }
  await git(dir, "init", "-q");
  await git(dir, "add", ".");
  await git(dir, "commit", "-qm", "init");
  return dir;
}

/** Runs check with its own TMPDIR; asserts that no clone is left there. */
export async function check(dir: string, args: string[] = [], env: Record<string, string> = {}) {
  const tmp = await Deno.makeTempDir({ prefix: "r10e-check-tmp-" });
  try {
    const result = await r10e(["check", ...args], { cwd: dir, env: { ...env, TMPDIR: tmp } });
    const left = (await Array.fromAsync(Deno.readDir(tmp))).map((e) => e.name);
    assertEquals(left, [], "check left temporaries behind");
    return result;
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
}
