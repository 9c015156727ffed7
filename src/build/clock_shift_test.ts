import assert from "node:assert/strict";
import { dateShiftPrefix, offsetSeconds } from "./clock_shift.ts";

Deno.test("dateShiftPrefix: date in the shell that follows prints the clock shifted; -d passes through", async () => {
  assert.equal(offsetSeconds("+3d"), 259200);
  assert.equal(offsetSeconds("-90m"), -5400);
  assert.equal(dateShiftPrefix(undefined), "");
  const tmp = await Deno.makeTempDir({ prefix: "r10e-date-shift-" });
  try {
    const script = dateShiftPrefix("+3d") +
      "date -u +%s && date -u -d @0 +%F";
    const before = Math.floor(Date.now() / 1000);
    // dash, and BusyBox's shell, which runs its own date applet before PATH (builder images).
    for (const shell of ["/bin/sh", "/bin/busybox"]) {
      const out = await new Deno.Command(shell, {
        args: [...(shell.endsWith("busybox") ? ["sh"] : []), "-c", script],
        env: { TMPDIR: tmp, PATH: "/usr/bin:/bin" },
        clearEnv: true,
      }).output();
      assert.ok(out.success, new TextDecoder().decode(out.stderr));
      const [shifted, given] = new TextDecoder().decode(out.stdout).trim().split("\n");
      const delta = Number(shifted) - before;
      assert.ok(delta >= 259200 && delta < 259200 + 60, `${shell}: shifted by ${delta} s`);
      assert.equal(given, "1970-01-01");
    }
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});
