import { assertEquals, assertThrows } from "../../tests/_assert.ts";
import { formatPlatform, parsePlatform, platformMatches, readPlatform } from "./platform.ts";

Deno.test("parsePlatform and formatPlatform: os/arch[/variant], both ways", () => {
  assertEquals(parsePlatform("linux/amd64"), { os: "linux", architecture: "amd64" });
  assertEquals(parsePlatform("linux/arm/v7"), { os: "linux", architecture: "arm", variant: "v7" });
  for (const text of ["linux/amd64", "linux/arm/v7", "windows/arm64/v8"]) {
    assertEquals(formatPlatform(parsePlatform(text)), text);
  }
});

Deno.test("parsePlatform refuses another shape, naming it", () => {
  for (const text of ["linux", "linux/", "/amd64", "linux/arm/", "linux/arm/v7/x", ""]) {
    assertThrows(() => parsePlatform(text), RangeError, `Bad platform "${text}"`);
  }
});

Deno.test("platformMatches: a variant asked for must be there; none asked takes any", () => {
  const v7 = parsePlatform("linux/arm/v7");
  assertEquals(platformMatches(v7, parsePlatform("linux/arm")), true);
  assertEquals(platformMatches(v7, parsePlatform("linux/arm/v7")), true);
  assertEquals(platformMatches(v7, parsePlatform("linux/arm/v6")), false);
  assertEquals(platformMatches(parsePlatform("linux/arm"), v7), false);
  assertEquals(platformMatches(v7, parsePlatform("linux/arm64")), false);
  assertEquals(platformMatches(v7, parsePlatform("darwin/arm")), false);
});

Deno.test("readPlatform: os and architecture strings, a variant when it is one", () => {
  assertEquals(readPlatform({ os: "linux", architecture: "arm", variant: "v6", x: 1 }), {
    os: "linux",
    architecture: "arm",
    variant: "v6",
  });
  assertEquals(readPlatform({ os: "linux", architecture: "amd64", variant: 7 }), {
    os: "linux",
    architecture: "amd64",
  });
  assertEquals(readPlatform({ os: "linux" }), null);
  assertEquals(readPlatform({ os: "linux", architecture: null }), null);
  assertEquals(readPlatform(null), null);
  assertEquals(readPlatform("linux/amd64"), null);
});
