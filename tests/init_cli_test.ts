/**
 * `r10e init` in a Go module without config.json, run in-process through main's Io: what it
 * writes, what it prints, and what it refuses.
 *
 * @module
 */
import { assertEquals, assertStringIncludes } from "./_assert.ts";
import { listTree, r10eInProcess } from "./_cli.ts";

const HELLO = 'package main\n\nimport "fmt"\n\nfunc main() { fmt.Println("hello from", "%s") }\n';

async function module(dir: string, mains: string[]): Promise<void> {
  await Deno.writeTextFile(`${dir}/go.mod`, "module example.com/shop\n\ngo 1.22\n");
  await Deno.writeTextFile(`${dir}/lib.go`, "package shop\n");
  for (const m of mains) {
    await Deno.mkdir(`${dir}/${m}`, { recursive: true });
    await Deno.writeTextFile(`${dir}/${m}/main.go`, HELLO.replace("%s", m));
  }
}

Deno.test("init without config.json writes one from go list; build then makes a working image", async () => {
  const dir = await Deno.makeTempDir({ prefix: "r10e-init-starter-" });
  try {
    await module(dir, ["cmd/api"]);
    const env = { GOPROXY: "off", GOFLAGS: "-mod=mod" };
    const r = await r10eInProcess(["init"], { cwd: dir, env });
    assertEquals(r.code, 0, r.stderr);
    assertStringIncludes(r.stdout, `Wrote ${dir}/config.json (there was none)`);
    assertStringIncludes(r.stdout, "1 main package (./cmd/api)");
    assertStringIncludes(r.stdout, "entrypoint /app/api");
    const config = await Deno.readTextFile(`${dir}/config.json`);
    assertStringIncludes(config, '"build_cmd": "go build -o r10e-docker/out/bin/ ./cmd/api"');
    assertStringIncludes(config, '"include_ca_bundle": true');

    const b = await r10eInProcess(["build", "--in", "host", "-q"], { cwd: `${dir}/cmd`, env });
    assertEquals(b.code, 0, b.stderr);
    assertStringIncludes(b.stdout, `${dir}/r10e-docker/out/shop-latest.tar.gz`);
    const c = await r10eInProcess(
      ["cp", `${dir}/r10e-docker/out/shop-latest.tar.gz`, "/app/api", `${dir}/api`],
      { cwd: dir },
    );
    assertEquals(c.code, 0, c.stderr);
    const run = await new Deno.Command(`${dir}/api`, { stdout: "piped" }).output();
    assertEquals(new TextDecoder().decode(run.stdout), "hello from cmd/api\n");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("init with no go.mod says so and writes nothing", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "r10e-init-nomod-" });
  try {
    await Deno.writeTextFile(`${dir}/notes.txt`, "not a Go project\n");
    await t.step("in the working directory", async () => {
      const r = await r10eInProcess(["init"], { cwd: dir, env: { GOPROXY: "off" } });
      assertEquals(r.code, 2);
      assertStringIncludes(
        r.stderr,
        `r10e: No config.json and no go.mod in "${dir}" or a folder above it`,
      );
      assertEquals(await listTree(dir), ["notes.txt"]);
    });
    await t.step("with --project-dir", async () => {
      const r = await r10eInProcess(["init", "--project-dir", "."], {
        cwd: dir,
        env: { GOPROXY: "off" },
      });
      assertEquals(r.code, 2);
      assertStringIncludes(r.stderr, `no go.mod in --project-dir "."`);
      assertEquals(await listTree(dir), ["notes.txt"]);
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("init without Go on PATH says how to get it, exit 2, nothing written", async () => {
  const dir = await Deno.makeTempDir({ prefix: "r10e-init-nogo-" });
  try {
    await module(dir, ["."]);
    const r = await r10eInProcess(["init"], {
      cwd: dir,
      env: { GOPROXY: "off", PATH: "/nonexistent" },
    });
    assertEquals(r.code, 2);
    assertStringIncludes(
      r.stderr,
      'r10e: Cannot find "go" on PATH: install Go from https://go.dev/doc/install',
    );
    assertEquals(await listTree(dir), ["go.mod", "lib.go", "main.go"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("init from a folder of the module uses the config.json at its root", async () => {
  const dir = await Deno.makeTempDir({ prefix: "r10e-init-sub-" });
  try {
    await module(dir, ["cmd/a", "cmd/b"]);
    const first = await r10eInProcess(["init", "-q"], { cwd: dir, env: { GOPROXY: "off" } });
    assertEquals(first.code, 0, first.stderr);
    const again = await r10eInProcess(["init"], { cwd: `${dir}/cmd/a`, env: { GOPROXY: "off" } });
    assertEquals(again.code, 0, again.stderr);
    assertEquals(again.stdout.includes("there was none"), false, again.stdout);
    assertStringIncludes(again.stdout, "(0 written, 7 unchanged)");
    assertEquals((await listTree(`${dir}/cmd`)).filter((p) => !p.endsWith(".go")), ["a", "b"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("build with no config.json in the folder or above says where it looked", async () => {
  const dir = await Deno.makeTempDir({ prefix: "r10e-build-noconfig-" });
  try {
    await module(dir, ["cmd/a"]);
    const r = await r10eInProcess(["build"], { cwd: `${dir}/cmd/a`, env: { GOPROXY: "off" } });
    assertEquals(r.code, 2);
    assertStringIncludes(
      r.stderr,
      `r10e: No config.json in "${dir}/cmd/a" or a folder above it up to the module root "${dir}": run r10e init in "${dir}" to write one, or pass -c PATH`,
    );
    assertEquals(await listTree(dir), ["cmd", "cmd/a", "cmd/a/main.go", "go.mod", "lib.go"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("build on the host without Go on PATH says how to get it before build_cmd runs, exit 2", async () => {
  const dir = await Deno.makeTempDir({ prefix: "r10e-build-nogo-" });
  try {
    await module(dir, ["cmd/x"]);
    const init = await r10eInProcess(["init", "-q"], { cwd: dir, env: { GOPROXY: "off" } });
    assertEquals(init.code, 0, init.stderr);
    // /bin for the shell build_cmd would run in, but no go.
    const r = await r10eInProcess(["build", "--in", "host"], {
      cwd: dir,
      env: { GOPROXY: "off", PATH: "/nonexistent:/bin" },
    });
    assertEquals(r.code, 2, r.stderr);
    assertStringIncludes(
      r.stderr,
      'r10e: Cannot find "go" on PATH: install Go from https://go.dev/doc/install',
    );
    assertEquals(r.stderr.includes("Running build_cmd"), false, r.stderr);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
