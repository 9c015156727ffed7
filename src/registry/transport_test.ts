import { assertEquals, assertRejects, assertThrows } from "../../tests/_assert.ts";
import { RegistryError } from "./errors.ts";
import { checkTarget, readCapped, send, StallError, tlsDetail } from "./transport.ts";

Deno.test("checkTarget follows http and https only, never from https down to http", async (t) => {
  const cases: [string, string, string | null][] = [
    ["/v2/a/blobs/uploads/1", "https://r.io/v2/", "https://r.io/v2/a/blobs/uploads/1"],
    ["https://s3.example/b?sig=1", "https://r.io/v2/", "https://s3.example/b?sig=1"],
    ["http://other:5000/x", "http://127.0.0.1:5000/v2/", "http://other:5000/x"],
    ["file:///etc/hostname", "https://r.io/v2/", `a "file:" URL: refused`],
    ["data:application/json,{}", "http://r.io/v2/", `a "data:" URL: refused`],
    ["ftp://r.io/x", "https://r.io/v2/", `a "ftp:" URL: refused`],
    ["http://r.io/v2/x", "https://r.io/v2/", "from https down to plain http"],
  ];
  for (const [target, from, want] of cases) {
    await t.step(target, () => {
      if (want && !want.includes("refused") && !want.includes("down")) {
        assertEquals(checkTarget(target, from, "r.io").href, want);
      } else {
        assertThrows(() => checkTarget(target, from, "r.io"), RegistryError, want!);
      }
    });
  }
});

Deno.test("readCapped reads up to the limit and refuses more without reading on", async () => {
  let pulled = 0;
  const endless = () =>
    new Response(
      new ReadableStream<Uint8Array>({
        pull(c) {
          pulled++;
          c.enqueue(new Uint8Array(1024));
        },
      }, { highWaterMark: 0 }),
    );
  await assertRejects(
    () => readCapped(endless(), 64 * 1024, "The answer"),
    RegistryError,
    "The answer is longer than 64 KiB: refused",
  );
  assertEquals(pulled <= 66, true, `${pulled} chunks read`);
  const declared = new Response("x".repeat(10), { headers: { "content-length": "10" } });
  await assertRejects(() => readCapped(declared, 4, "A manifest"), RegistryError, "has 10 bytes");
  assertEquals((await readCapped(new Response("abc"), 4, "x")).length, 3);
});

Deno.test("a server that sends no byte for the timeout is left with a StallError", async (t) => {
  let release = () => {};
  const released = new Promise<void>((r) => release = r);
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => {
    if (req.url.endsWith("/before")) return released.then(() => new Response("late"));
    return new Response(new ReadableStream({ pull: (c) => released.then(() => c.close()) }));
  });
  const base = `http://127.0.0.1:${server.addr.port}`;
  try {
    await t.step("before the headers", async () => {
      await assertRejects(
        () => send({ method: "GET", url: `${base}/before`, headers: {}, timeoutMs: 200 }),
        StallError,
        "no byte for 0.2 s from GET",
      );
    });
    await t.step("after the headers", async () => {
      const r = await send({ method: "GET", url: `${base}/after`, headers: {}, timeoutMs: 200 });
      await assertRejects(() => r.arrayBuffer(), StallError, "the server stalled");
    });
    await t.step("a streamed body is sent with its Content-Length", async () => {
      release();
      const echo = Deno.serve(
        { hostname: "127.0.0.1", port: 0, onListen: () => {} },
        (req) =>
          new Response(
            `${req.headers.get("content-length")} ${req.headers.get("transfer-encoding")}`,
          ),
      );
      try {
        const r = await send({
          method: "PUT",
          url: `http://127.0.0.1:${echo.addr.port}/`,
          headers: {},
          body: ReadableStream.from([new Uint8Array(5), new Uint8Array(6)]),
          length: 11,
          timeoutMs: 5000,
        });
        assertEquals(await r.text(), "11 null");
      } finally {
        await echo.shutdown();
      }
    });
  } finally {
    release();
    await server.shutdown();
  }
});

Deno.test("tlsDetail names the certificate problem from fetch's cause chain", () => {
  const wrap = (inner: string) =>
    new TypeError("fetch failed", {
      cause: new Error(`client error (Connect): invalid peer certificate: ${inner}`),
    });
  assertEquals(
    tlsDetail(wrap("Other(OtherError(CaUsedAsEndEntity))"))?.includes("CA:TRUE"),
    true,
  );
  assertEquals(tlsDetail(wrap("UnknownIssuer"))?.includes("--ca-file"), true);
  assertEquals(tlsDetail(new TypeError("fetch failed", { cause: new Error("refused") })), null);
});
