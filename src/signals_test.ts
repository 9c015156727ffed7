import assert from "node:assert/strict";
import { untilAborted } from "./signals.ts";

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
