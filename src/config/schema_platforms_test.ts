// `platforms`: the list, its checks and the artifact placeholders.
import { assertEquals, assertThrows } from "../../tests/_assert.ts";
import { ConfigError, formatProblem } from "../errors.ts";
import { expandPlatform, parseConfig, platformProblem } from "./schema.ts";

const config = (fields: string, src = "build/{os}-{arch}/server") =>
  `{\n  "project_name": "app",\n  "build_cmd": "make",\n  "artifacts": [{"src": ${
    JSON.stringify(src)
  }, "dest": "/app/server"}],\n${fields}\n}`;

function problemsOf(text: string): string[] {
  const error = assertThrows(() => parseConfig(text, "config.json"), ConfigError) as ConfigError;
  return error.problems.map(formatProblem);
}

Deno.test("platforms: the list in config order; platform is its first; one-platform form unchanged", () => {
  const several = parseConfig(
    config(`  "platforms": ["linux/arm64", "linux/amd64", "linux/arm/v7", "linux/386"]`),
    "config.json",
  ).config;
  assertEquals(several.platforms, ["linux/arm64", "linux/amd64", "linux/arm/v7", "linux/386"]);
  assertEquals(several.platform, "linux/arm64");
  const one = parseConfig(config(`  "platform": "linux/arm64"`, "bin/app"), "config.json").config;
  assertEquals([one.platform, one.platforms], ["linux/arm64", ["linux/arm64"]]);
  const none = parseConfig(config(`  "labels": {}`, "bin/app"), "config.json").config;
  assertEquals([none.platform, none.platforms], ["linux/amd64", ["linux/amd64"]]);
  // One entry in platforms is the one-platform form: a src without placeholder is fine.
  const single = parseConfig(config(`  "platforms": ["linux/amd64"]`, "bin/app"), "config.json");
  assertEquals(single.config.platforms, ["linux/amd64"]);
});

Deno.test("platforms: both forms, duplicates, bad entries and empty lists are errors at line:column", () => {
  assertEquals(
    problemsOf(
      config(`  "platform": "linux/amd64",\n  "platforms": ["linux/amd64", "linux/arm64"]`),
    ),
    [
      'config.json:6:16: platforms: expected either "platform" (one platform) or "platforms" (several), found both: remove "platform"',
    ],
  );
  assertEquals(
    problemsOf(config(`  "platforms": ["linux/amd64", "linux/arm64", "linux/amd64"]`)),
    ['config.json:5:47: platforms[2]: duplicate platform "linux/amd64": also at platforms[0]'],
  );
  assertEquals(
    problemsOf(config(`  "platforms": ["linux/amd64", "darwin/arm64", "linux/amd64/v3", 7]`)),
    [
      'config.json:5:32: platforms[1]: expected a Linux platform like "linux/amd64", "linux/arm64" or "linux/arm/v7" (os/arch[/variant]), found "darwin/arm64"',
      'config.json:5:48: platforms[2]: expected a Linux platform like "linux/amd64", "linux/arm64" or "linux/arm/v7" (os/arch[/variant]), found "linux/amd64/v3"',
      'config.json:5:66: platforms[3]: expected a platform like "linux/amd64", found 7',
    ],
  );
  assertEquals(problemsOf(config(`  "platforms": []`)), [
    'config.json:5:16: platforms: expected at least one platform like "linux/amd64", found an empty array',
  ]);
});

Deno.test("platforms: an artifact src without placeholder, or the same path for two platforms, names the artifact", () => {
  assertEquals(
    problemsOf(config(`  "platforms": ["linux/amd64", "linux/arm64"]`, "build/server")),
    [
      'config.json:4:25: artifacts[0].src: expected a path with {os}, {arch} or {variant} (e.g. "build/{os}-{arch}/server"), found "build/server": with 2 platforms it would put the same file in every platform\'s image',
    ],
  );
  assertEquals(
    problemsOf(config(`  "platforms": ["linux/arm/v6", "linux/arm/v7"]`, "build/{arch}/server")),
    [
      'config.json:4:25: artifacts[0].src: expected a different path for each platform, found "build/{arch}/server": it is "build/arm/server" for both "linux/arm/v6" and "linux/arm/v7" (add {variant})',
    ],
  );
});

Deno.test("platformProblem: variants only where Go has them", () => {
  const cases: [string, boolean][] = [
    ["linux/amd64", true],
    ["linux/arm64", true],
    ["linux/arm64/v8", true],
    ["linux/arm/v7", true],
    ["linux/arm/v5", true],
    ["linux/arm", true],
    ["linux/386", true],
    ["linux/riscv64", true],
    ["linux/arm/v8", false],
    ["linux/386/v7", false],
    ["linux", false],
    ["windows/amd64", false],
    ["linux/amd64 ", false],
  ];
  assertEquals(cases.map(([p]) => [p, platformProblem(p) === null]), cases);
});

Deno.test("expandPlatform: {os}, {arch}, {variant} (empty without one)", () => {
  assertEquals(
    expandPlatform("build/{os}-{arch}{variant}/server", "linux/arm/v7"),
    "build/linux-armv7/server",
  );
  assertEquals(
    expandPlatform("build/{os}-{arch}{variant}/server", "linux/amd64"),
    "build/linux-amd64/server",
  );
  assertEquals(expandPlatform("bin/app", "linux/arm64"), "bin/app");
});
