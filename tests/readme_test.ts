/**
 * The README's quick start and the config examples of README.md and docs/config.md run as
 * written: the quick start in bash with `r10e` on PATH (scripts/r10e), each config example
 * built in a Go module with the packages and data folders it names.
 *
 * @module
 */
import { assertEquals, assertStringIncludes } from "./_assert.ts";
import { r10eInProcess, REPO } from "./_cli.ts";
// The examples are JSONC, as config.json may be: comments allowed.
import { parse as parseJsonc } from "jsonc-parser";

/** The fenced blocks of `lang` in `markdown`, with the heading they are under. */
function blocks(markdown: string, lang: string): { heading: string; text: string }[] {
  const out: { heading: string; text: string }[] = [];
  let heading = "";
  const lines = markdown.split("\n");
  for (let i = 0; i < lines.length; i++) {
    if (lines[i].startsWith("#")) heading = lines[i].replace(/^#+\s*/, "");
    if (lines[i] === "```" + lang) {
      const end = lines.indexOf("```", i + 1);
      out.push({ heading, text: lines.slice(i + 1, end).join("\n") });
      i = end;
    }
  }
  return out;
}

const MAIN = 'package main\n\nimport "fmt"\n\nfunc main() { fmt.Println("hello") }\n';

/** A Go module at `dir` with a main package at each of `packages` (`./cmd/x`, `.`). */
async function goModule(dir: string, name: string, packages: string[]): Promise<void> {
  await Deno.mkdir(dir, { recursive: true });
  await Deno.writeTextFile(`${dir}/go.mod`, `module example.com/${name}\n\ngo 1.22\n`);
  for (const p of packages) {
    await Deno.mkdir(`${dir}/${p}`, { recursive: true });
    await Deno.writeTextFile(`${dir}/${p}/main.go`, MAIN);
  }
}

const GO_ENV: Record<string, string> = {};
for (const k of ["HOME", "GOPATH", "GOCACHE", "GOMODCACHE", "DENO_DIR"]) {
  const v = Deno.env.get(k);
  if (v !== undefined) GO_ENV[k] = v;
}

Deno.test("README: the quick start runs as written and the two builds are identical", async () => {
  const readme = await Deno.readTextFile(`${REPO}/README.md`);
  const quick = blocks(readme, "sh").find((b) => b.heading.startsWith("Quick start"));
  assertEquals(quick !== undefined, true, "README has a sh block under Quick start");
  const dir = await Deno.makeTempDir({ prefix: "r10e-readme-" });
  try {
    await goModule(`${dir}/myapp`, "myapp", ["."]);
    await Deno.mkdir(`${dir}/bin`);
    await Deno.symlink(`${REPO}/scripts/r10e`, `${dir}/bin/r10e`);
    const out = await new Deno.Command("bash", {
      args: ["-euo", "pipefail", "-c", quick!.text],
      cwd: dir,
      env: { ...GO_ENV, PATH: `${dir}/bin:${Deno.env.get("PATH")}`, GOPROXY: "off", NO_COLOR: "1" },
      clearEnv: true,
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stdout = new TextDecoder().decode(out.stdout);
    assertEquals(out.code, 0, new TextDecoder().decode(out.stderr) + stdout);
    assertStringIncludes(stdout, "Wrote");
    assertStringIncludes(stdout, "identical");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("README and docs/config.md: every config example builds", async (t) => {
  for (const file of ["README.md", "docs/config.md"]) {
    const markdown = await Deno.readTextFile(`${REPO}/${file}`);
    for (const { heading, text } of [...blocks(markdown, "jsonc"), ...blocks(markdown, "json")]) {
      if (!text.includes('"project_name"')) continue;
      await t.step(`${file}: ${heading}`, async () => {
        const config = parseJsonc(text);
        const dir = await Deno.makeTempDir({ prefix: "r10e-readme-config-" });
        try {
          const packages = [...config.build_cmd.matchAll(/\s(\.\/[\w/.-]+|\.)(?=\s|$)/g)].map((m) =>
            m[1]
          );
          await goModule(dir, config.project_name, packages);
          for (const d of config.extern_data ?? []) {
            await Deno.mkdir(`${dir}/${d.src}`, { recursive: true });
            await Deno.writeTextFile(`${dir}/${d.src}/index.html`, "hello\n");
          }
          await Deno.writeTextFile(`${dir}/config.json`, text);
          const env = { GOPROXY: "off" };
          const init = await r10eInProcess(["init", "-q"], { cwd: dir, env });
          assertEquals(init.code, 0, init.stderr);
          const build = await r10eInProcess(["build", "--in", "host", "-q"], { cwd: dir, env });
          assertEquals(build.code, 0, build.stderr);
          assertStringIncludes(build.stdout, `${config.project_name}-latest.tar.gz`);
        } finally {
          await Deno.remove(dir, { recursive: true });
        }
      });
    }
  }
});
