import assert from "node:assert/strict";
import type { TarHeader } from "../tar/reader.ts";
import { inflationRefused } from "./limits.ts";

Deno.test("inflationRefused names the entry, what it would inflate to and the limit", () => {
  const header = { name: "big", size: 9 * 2 ** 30 } as TarHeader;
  assert.equal(
    inflationRefused(header, 9 * 2 ** 30, 2 ** 20, "layer"),
    'entry "big" (9.0 GiB decompressed) would take what r10e inflates of it to 9.0 GiB, more ' +
      "than its limit for a 1.0 MiB layer (8.0 GiB: 100 times its size, at least 8.0 GiB)",
  );
});
