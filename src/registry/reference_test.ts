import { assertEquals, assertThrows } from "../../tests/_assert.ts";
import { isLoopback, looksLikeReference, parseReference } from "./reference.ts";

Deno.test("parseReference applies docker's defaults and reads host:port, tag and digest", async (t) => {
  const hex = "a".repeat(64);
  const cases: [string, Record<string, string>][] = [
    ["alpine", { registry: "docker.io", repository: "library/alpine" }],
    ["alpine:3.20", { registry: "docker.io", repository: "library/alpine", tag: "3.20" }],
    ["team/app", { registry: "docker.io", repository: "team/app" }],
    ["index.docker.io/team/app", { registry: "docker.io", repository: "team/app" }],
    ["localhost/app", { registry: "localhost", repository: "app" }],
    ["127.0.0.1:5000/a/b:v1", { registry: "127.0.0.1:5000", repository: "a/b", tag: "v1" }],
    [`ghcr.io/o/app@sha256:${hex}`, {
      registry: "ghcr.io",
      repository: "o/app",
      digest: `sha256:${hex}`,
    }],
    [`r.io:443/app:v1@sha256:${hex}`, {
      registry: "r.io:443",
      repository: "app",
      tag: "v1",
      digest: `sha256:${hex}`,
    }],
    ["[::1]:5000/app", { registry: "[::1]:5000", repository: "app" }],
  ];
  for (const [text, want] of cases) {
    await t.step(text, () => assertEquals({ ...parseReference(text) }, want));
  }
});

Deno.test("parseReference names what is invalid", async (t) => {
  const cases: [string, string][] = [
    ["Host.io/App", '"App" is not a valid repository component'],
    ["r.io/app@sha256:abc", '"sha256:abc" is not sha256:<64 lowercase hex digits>'],
    ["r.io/app:-x", '"-x" is not a valid tag'],
    ["r.io/a//b", '"" is not a valid repository component'],
    [":v1", "the repository name is empty"],
  ];
  for (const [text, part] of cases) {
    await t.step(text, () => {
      assertThrows(() => parseReference(text), SyntaxError, part);
    });
  }
});

Deno.test("looksLikeReference: a host or a digest makes a reference, a bare name or a file name does not", async (t) => {
  const hex = "0".repeat(64);
  const cases: [string, boolean][] = [
    ["127.0.0.1:5555/app:v1", true],
    ["registry.example.com/team/app", true],
    [`app@sha256:${hex}`, true],
    ["localhost:5000/app", true],
    ["docker.io/library/alpine:3", true],
    ["out/app-latest.tar.gz", false],
    ["app-latest.tar.gz", false],
    ["app:latest", false],
    ["./r10e-docker/out/app.tar", false],
    ["/tmp/x.tar", false],
  ];
  for (const [text, want] of cases) {
    await t.step(text, () => assertEquals(looksLikeReference(text), want));
  }
});

Deno.test("isLoopback", () => {
  assertEquals(
    [
      "127.0.0.1:5000",
      "localhost",
      "[::1]:80",
      "127.9.9.9",
      "10.0.0.1:5000",
      "r.io",
      "localhost.evil.io",
    ]
      .map(isLoopback),
    [true, true, true, true, false, false, false],
  );
});
