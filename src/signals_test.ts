import assert from "node:assert/strict";
import { spawnGroup, untilAborted } from "./signals.ts";

Deno.test("untilAborted: the promise's outcome, or the signal's reason at once", async (t) => {
  await t.step("not aborted: the value", async () => {
    assert.equal(await untilAborted(Promise.resolve(7), new AbortController().signal), 7);
    assert.equal(await untilAborted(Promise.resolve(8), undefined), 8);
  });
  await t.step("aborted while the work goes on: the reason, without waiting", async () => {
    const controller = new AbortController();
    const work = Promise.withResolvers<number>();
    const waiting = untilAborted(work.promise, controller.signal);
    controller.abort(new Error("Interrupted by SIGTERM"));
    await assert.rejects(waiting, /^Error: Interrupted by SIGTERM$/);
    // The abandoned work failing later is no unhandled rejection (the test would fail).
    work.reject(new Error("the files were removed"));
    await new Promise((r) => setTimeout(r, 10));
  });
  await t.step("aborted before: the reason", async () => {
    const controller = new AbortController();
    controller.abort(new Error("Interrupted by SIGINT"));
    await assert.rejects(
      untilAborted(new Promise(() => {}), controller.signal),
      /^Error: Interrupted by SIGINT$/,
    );
  });
});

Deno.test("spawnGroup: aborted before the child made its group, the command never runs on", async () => {
  // An abort that comes while setsid is still starting finds no group to signal: the child
  // itself must be stopped, or the command runs its 30 s.
  for (let i = 0; i < 5; i++) {
    const controller = new AbortController();
    controller.abort();
    const started = Date.now();
    const { status } = await spawnGroup(
      ["sh", "-c", "sleep 30"],
      {
        cwd: "/",
        env: { PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin" },
        signal: controller.signal,
      },
      async (child) => {
        await child.stdout.cancel();
        await child.stderr.cancel();
      },
    );
    assert.equal(status.success, false);
    assert.ok(Date.now() - started < 10_000, `round ${i}: ended after ${Date.now() - started} ms`);
  }
});
