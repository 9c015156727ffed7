import { equal } from "node:assert/strict";
import { formatBytes } from "./byte_size.ts";

Deno.test("formatBytes: bytes below 1 KiB, one decimal below 10 units, none from 10 on", () => {
  equal(formatBytes(0), "0 bytes");
  equal(formatBytes(100), "100 bytes");
  equal(formatBytes(500.4), "500 bytes");
  equal(formatBytes(1536), "1.5 KiB");
  equal(formatBytes(9.96 * 2 ** 20), "10 MiB");
  equal(formatBytes(300 * 2 ** 20), "300 MiB");
  equal(formatBytes(8 * 2 ** 30), "8.0 GiB");
});
