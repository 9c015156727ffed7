/**
 * `go_version` 1.21 through 1.26 each build (as r10edocker's
 * scripts/test_configs.sh loops over them): init resolves each to an exact
 * version, build runs build_cmd with that toolchain (GOTOOLCHAIN: Go downloads
 * it through the module proxy the first time), and the binary says it was built
 * by exactly that version.
 *
 * Kept affordable: one tiny main that imports only `runtime` (so each toolchain
 * compiles little of the standard library), one build per version, Go's caches
 * reused across runs.
 */
import { assertEquals } from "./_assert.ts";
import { r10e } from "./_cli.ts";

const MAIN_GO = `package main

import "runtime"

func main() { println(runtime.Version()) }
`;

Deno.test("build: go_version 1.21 through 1.26 each build with exactly the pinned toolchain", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "r10e-go-versions-" });
  try {
    await Deno.writeTextFile(`${dir}/go.mod`, "module example.com/goversions\n\ngo 1.21\n");
    await Deno.writeTextFile(`${dir}/main.go`, MAIN_GO);
    for (const minor of [21, 22, 23, 24, 25, 26]) {
      await t.step(`go_version "1.${minor}"`, async () => {
        await Deno.remove(`${dir}/r10e-docker`, { recursive: true }).catch(() => {});
        await Deno.writeTextFile(
          `${dir}/config.json`,
          JSON.stringify({
            project_name: "goversions",
            build_cmd: "go build -o build/app .",
            go_version: `1.${minor}`,
            artifacts: [{ src: "build/app", dest: "/app/app" }],
          }),
        );
        const init = await r10e(["init", "-q"], { cwd: dir });
        assertEquals(init.code, 0, init.stderr);
        const pinned = JSON.parse(await Deno.readTextFile(`${dir}/r10e-docker/pins.json`))
          .go_version as string;
        assertEquals(new RegExp(`^1\\.${minor}\\.\\d+$`).test(pinned), true, pinned);
        const build = await r10e(["build", "-q", "--in", "host"], {
          cwd: dir,
          env: { SOURCE_DATE_EPOCH: "0" },
        });
        assertEquals(build.code, 0, build.stderr);
        // The binary itself names the toolchain that built it.
        const run = await new Deno.Command(`${dir}/build/app`, { stderr: "piped" }).output();
        assertEquals(new TextDecoder().decode(run.stderr).trim(), `go${pinned}`);
      });
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
