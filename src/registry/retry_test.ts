import { assertEquals, assertRejects } from "../../tests/_assert.ts";
import { backoff, DEFAULT_RETRY, withRetries } from "./retry.ts";

function policy(waits: number[]) {
  return { ...DEFAULT_RETRY, sleep: (ms: number) => (waits.push(ms), Promise.resolve()) };
}

Deno.test("withRetries retries 5xx, 429 and dropped connections with doubling waits, then returns", async () => {
  const waits: number[] = [];
  const answers: (number | Error)[] = [503, new TypeError("connection reset"), 429, 200];
  let calls = 0;
  const response = await withRetries(policy(waits), () => {
    const a = answers[calls++];
    return a instanceof Error
      ? Promise.reject(a)
      : Promise.resolve(new Response(null, { status: a }));
  });
  assertEquals([response.status, calls, waits], [200, 4, [250, 500, 1000]]);
});

Deno.test("withRetries does not retry 4xx and gives up after the attempts", async () => {
  const waits: number[] = [];
  let calls = 0;
  const r404 = await withRetries(
    policy(waits),
    () => (calls++, Promise.resolve(new Response(null, { status: 404 }))),
  );
  assertEquals([r404.status, calls], [404, 1]);
  calls = 0;
  const r500 = await withRetries(
    policy(waits),
    () => (calls++, Promise.resolve(new Response(null, { status: 500 }))),
  );
  assertEquals([r500.status, calls], [500, 5]);
  calls = 0;
  await assertRejects(
    () => withRetries(policy([]), () => (calls++, Promise.reject(new TypeError("refused")))),
    TypeError,
    "refused",
  );
  assertEquals(calls, 5);
});

Deno.test("backoff honours Retry-After up to the longest wait", () => {
  assertEquals(
    [
      backoff(DEFAULT_RETRY, 1, "2"),
      backoff(DEFAULT_RETRY, 1, "600"),
      backoff(DEFAULT_RETRY, 3, null),
    ],
    [2000, 8000, 1000],
  );
});
