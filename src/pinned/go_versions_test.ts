import { assertEquals, assertThrows } from "../../tests/_assert.ts";
import { parseToolchainList, resolveGoVersion } from "./go_versions.ts";

Deno.test("resolveGoVersion: minor → newest patch, exact stays, unknown fails", async (t) => {
  const listed = ["1.26.0", "1.26.8", "1.26.10", "1.25.3"];
  await t.step(
    "newest listed patch",
    () => assertEquals(resolveGoVersion("1.26", listed), "1.26.11"),
  );
  await t.step("exact listed", () => assertEquals(resolveGoVersion("1.26.8", listed), "1.26.8"));
  await t.step("table when offline", () => assertEquals(resolveGoVersion("1.24", null), "1.24.13"));
  await t.step("default", () => assertEquals(resolveGoVersion(undefined, null), "1.26.11"));
  await t.step(
    "exact not listed",
    () =>
      void assertThrows(
        () => resolveGoVersion("1.26.99", listed),
        RangeError,
        'unknown Go version "1.26.99" (not listed by the Go module proxy',
      ),
  );
  await t.step(
    "unknown minor offline",
    () =>
      void assertThrows(
        () => resolveGoVersion("1.99", null),
        RangeError,
        'unknown Go version "1.99" (the Go module proxy was not reachable',
      ),
  );
  await t.step(
    "too old",
    () =>
      void assertThrows(
        () => resolveGoVersion("1.19", null),
        RangeError,
        "expected Go 1.21 or later",
      ),
  );
});

Deno.test("parseToolchainList keeps releases only", () => {
  assertEquals(
    parseToolchainList(
      "v0.0.1-go1.26.8.linux-amd64\nv0.0.1-go1.26rc1.linux-amd64\nv0.0.1-go1.26.8.darwin-arm64\nv0.0.1-go1.25.0.windows-386\n",
    ).sort(),
    ["1.25.0", "1.26.8"],
  );
});
