/**
 * The compiled binary works like the sources: `init` finds its embedded
 * templates. `deno compile` needs a denort runtime, which cannot be downloaded
 * here: this test runs only when DENORT_BIN names one, and says it skipped otherwise.
 */
import { assertEquals, assertStringIncludes } from "./_assert.ts";
import { REPO } from "./_cli.ts";
import { compileArgs } from "../scripts/compile.ts";

const denort = Deno.env.get("DENORT_BIN");
if (!denort) {
  console.log(
    'skipped: "compile: the single binary runs init and build": DENORT_BIN is not set (deno compile cannot download denort here)',
  );
}

Deno.test({
  name: "compile: the single binary runs init and build",
  ignore: !denort,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "r10e-compile-" });
    try {
      const out = await new Deno.Command(Deno.execPath(), {
        args: compileArgs("linux-x64", `${dir}/r10e`),
        cwd: REPO,
        env: { DENORT_BIN: denort! },
      }).output();
      assertEquals(out.success, true, new TextDecoder().decode(out.stderr));
      await Deno.writeTextFile(
        `${dir}/config.json`,
        JSON.stringify({
          project_name: "c",
          build_cmd: "true",
          artifacts: [{ src: "bin", dest: "/bin" }],
        }),
      );
      const init = await new Deno.Command(`${dir}/r10e`, {
        args: ["init"],
        cwd: dir,
        env: { GOPROXY: "off" },
      })
        .output();
      assertEquals(init.code, 0, new TextDecoder().decode(init.stderr));
      assertStringIncludes(
        await Deno.readTextFile(`${dir}/r10e-docker/Makefile`),
        "r10e-docker/out/c-latest.tar.gz",
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
