import { deepStrictEqual as assertEquals, throws as assertThrows } from "node:assert/strict";
import { parseConfig } from "../config/schema.ts";
import { binaryName, imageName, starterConfig } from "./starter.ts";

const GO_MOD = "module example.com/Team/My_App/v2\n\ngo 1.22\n";

Deno.test("starterConfig: one main package gets an entrypoint, and the config is valid", () => {
  const s = starterConfig([
    { name: "lib", importPath: "example.com/Team/My_App/v2", dir: "." },
    { name: "main", importPath: "example.com/Team/My_App/v2/cmd/server", dir: "cmd/server" },
  ], { goMod: GO_MOD, defaultGoMinor: "1.26" });
  assertEquals(s.packages, ["./cmd/server"]);
  assertEquals(s.entrypoint, ["/app/server"]);
  assertEquals(s.projectName, "my_app");
  assertEquals(s.goVersion, "1.26");
  const { config } = parseConfig(s.text, "config.json");
  assertEquals(config.build_cmd, "go build -o r10e-docker/out/bin/ ./cmd/server");
  assertEquals(config.artifacts, [{ src: "r10e-docker/out/bin/server", dest: "/app/server" }]);
  assertEquals(config.include_ca_bundle, true);
});

Deno.test("starterConfig: several main packages, sorted, no entrypoint; go.mod's newer Go wins", () => {
  const s = starterConfig([
    { name: "main", importPath: "example.com/m/cmd/b", dir: "cmd/b" },
    { name: "main", importPath: "example.com/m", dir: "." },
  ], { goMod: "module example.com/m\ngo 1.27.1\n", defaultGoMinor: "1.26" });
  assertEquals(s.packages, [".", "./cmd/b"]);
  assertEquals(s.binaries, ["/app/m", "/app/b"]);
  assertEquals(s.entrypoint, null);
  assertEquals(s.goVersion, "1.27");
  assertEquals(parseConfig(s.text, "config.json").config.entrypoint, undefined);
});

Deno.test("starterConfig: no main package, or two binaries of one name, say what to do", () => {
  assertThrows(
    () =>
      starterConfig([{ name: "lib", importPath: "example.com/m", dir: "." }], {
        goMod: GO_MOD,
        defaultGoMinor: "1.26",
      }),
    /no main package/,
  );
  assertThrows(
    () =>
      starterConfig([
        { name: "main", importPath: "example.com/m/a/tool", dir: "a/tool" },
        { name: "main", importPath: "example.com/m/b/tool", dir: "b/tool" },
      ], { goMod: GO_MOD, defaultGoMinor: "1.26" }),
    /"\.\/a\/tool" and "\.\/b\/tool" both build a binary named "tool"/,
  );
});

Deno.test("binaryName and imageName", async (t) => {
  for (
    const [input, bin, image] of [
      ["example.com/m", "m", "m"],
      ["example.com/m/v3", "m", "m"],
      ["v2", "v2", "v2"],
      ["github.com/x/Hello World", "Hello World", "hello-world"],
      ["example.com/__", "__", "app"],
    ]
  ) {
    await t.step(input, () => {
      assertEquals(binaryName(input), bin);
      assertEquals(imageName(binaryName(input)), image);
    });
  }
});
