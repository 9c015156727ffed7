import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { Progress, progressLine } from "./progress.ts";

Deno.test("progressLine: percentage, bytes and rate", () => {
  assertEquals(
    progressLine(52 * 1024 * 1024, 115 * 1024 * 1024, 2),
    "   45% 52 MiB of 115 MiB, 26 MiB/s",
  );
  assertEquals(progressLine(0, 0, 0), "    0% 0 bytes of 0 bytes");
});

Deno.test("Progress: lines when piped, a redrawn line on a terminal, nothing with -q", async (t) => {
  const run = (terminal: boolean, quiet: boolean) => {
    let out = "";
    let clock = 0;
    const p = new Progress({ write: (s) => out += s, terminal, quiet, now: () => clock });
    p.step("Compressing layer 1 of 2");
    clock = 1000;
    p.bytes(1024, 2048);
    clock = 1050;
    p.bytes(1536, 2048); // within 100 ms: not redrawn
    clock = 2000;
    p.step("Writing archive");
    return out;
  };
  await t.step("piped", () => {
    assertEquals(run(false, false), "r10e: Compressing layer 1 of 2\nr10e: Writing archive\n");
  });
  await t.step("terminal", () => {
    assertEquals(
      run(true, false),
      "r10e: Compressing layer 1 of 2\n\r\x1b[K   50% 1.0 KiB of 2.0 KiB, 1.0 KiB/s\r\x1b[Kr10e: Writing archive\n",
    );
  });
  await t.step("quiet", () => assertEquals(run(true, true), ""));
});

Deno.test("Progress.fetched: downloads of two inputs summed in one line, drawn once bytes come", () => {
  let out = "";
  let clock = 0;
  const p = new Progress({
    write: (s) => out += s,
    terminal: true,
    quiet: false,
    now: () => clock,
  });
  p.fetched(0, 1024);
  p.fetched(0, 3072);
  assertEquals(out, "");
  clock = 1000;
  p.fetched(1024, 0);
  clock = 2000;
  p.fetched(1024, 0);
  assertEquals(
    out,
    "\r\x1b[K   25% 1.0 KiB of 4.0 KiB, 1.0 KiB/s\r\x1b[K   50% 2.0 KiB of 4.0 KiB, 1.0 KiB/s",
  );
});

Deno.test("Progress.registryHooks: a registry's line escaped, its bytes counted", () => {
  let out = "";
  const p = new Progress({ write: (s) => out += s, terminal: false, quiet: false, now: () => 0 });
  const hooks = p.registryHooks();
  hooks.onProgress("fetching evil\x1b[2Jname");
  assertEquals(out, "r10e: fetching evil\\x1b[2Jname\n");
  hooks.onFetched(10, 20);
});
