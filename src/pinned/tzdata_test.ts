import { assertEquals, assertThrows } from "../../tests/_assert.ts";
import { checkTzdataPin, loadTzdata, readStoredZip } from "./tzdata.ts";
import { TZDATA_SHA256 } from "./tzdata_pin.ts";

const enc = new TextEncoder();

/** A stored zip made by hand: one local header + data per file, then the central directory. */
function storedZip(files: [string, string][], method = 0): Uint8Array {
  const parts: number[] = [];
  const central: number[] = [];
  const le = (n: number, bytes: number) =>
    Array.from({ length: bytes }, (_, i) => (n >>> (8 * i)) & 0xff);
  for (const [name, text] of files) {
    const n = [...enc.encode(name)];
    const d = [...enc.encode(text)];
    const offset = parts.length;
    parts.push(...le(0x04034b50, 4), ...le(10, 2), 0, 0, ...le(method, 2), 0, 0, 0, 0, 0, 0, 0, 0);
    parts.push(...le(d.length, 4), ...le(d.length, 4), ...le(n.length, 2), 0, 0, ...n, ...d);
    central.push(...le(0x02014b50, 4), ...le(10, 2), ...le(10, 2), 0, 0, ...le(method, 2));
    central.push(
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      ...le(d.length, 4),
      ...le(d.length, 4),
      ...le(n.length, 2),
    );
    central.push(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, ...le(offset, 4), ...n);
  }
  const cdOffset = parts.length;
  const eocd = [...le(0x06054b50, 4), 0, 0, 0, 0, ...le(files.length, 2), ...le(files.length, 2)];
  eocd.push(...le(central.length, 4), ...le(cdOffset, 4), 0, 0);
  return new Uint8Array([...parts, ...central, ...eocd]);
}

Deno.test("readStoredZip: files in name order; compressed, traversing and cut zips refused", async (t) => {
  await t.step("reads stored entries", () => {
    const files = readStoredZip(
      storedZip([["Europe/Paris", "TZif paris"], ["America/New_York", "TZif ny"]]),
    );
    assertEquals(files.map((f) => [f.name, new TextDecoder().decode(f.bytes)]), [
      ["America/New_York", "TZif ny"],
      ["Europe/Paris", "TZif paris"],
    ]);
  });
  await t.step(
    "a deflated entry",
    () =>
      void assertThrows(
        () => readStoredZip(storedZip([["UTC", "x"]], 8)),
        SyntaxError,
        '"UTC" is compressed (method 8)',
      ),
  );
  await t.step("a name with ..", () =>
    void assertThrows(
      () => readStoredZip(storedZip([["../etc/passwd", "x"]])),
      SyntaxError,
      '"../etc/passwd" is not a relative normalized path',
    ));
  await t.step("no end of central directory", () =>
    void assertThrows(
      () => readStoredZip(storedZip([["UTC", "x"]]).subarray(0, 40)),
      SyntaxError,
      "no end of central directory",
    ));
});

Deno.test("loadTzdata: the shipped zip matches its pin and holds the zones Go programs load", async () => {
  const tz = await loadTzdata();
  assertEquals(tz.sha256, TZDATA_SHA256);
  assertEquals(tz.files.length, 598);
  const paris = tz.files.find((f) => f.name === "Europe/Paris")!;
  assertEquals(new TextDecoder().decode(paris.bytes.subarray(0, 4)), "TZif");
  assertEquals(tz.files.some((f) => f.name === "UTC"), true);
});

Deno.test("checkTzdataPin: config, shipped zip and pins.json must agree", () => {
  assertEquals(checkTzdataPin(false, undefined, "pins.json"), null);
  assertEquals(checkTzdataPin(true, TZDATA_SHA256, "pins.json"), null);
  assertEquals(
    checkTzdataPin(true, undefined, "pins.json"),
    'include_tzdata is true but "pins.json" says no tzdata',
  );
  assertEquals(
    checkTzdataPin(false, TZDATA_SHA256, "pins.json"),
    'include_tzdata is false but "pins.json" says tzdata',
  );
  assertEquals(
    checkTzdataPin(true, "0".repeat(64), "pins.json"),
    `the tzdata shipped with this r10e (sha256 ${TZDATA_SHA256}) differs from the one pinned in "pins.json" (sha256 ${
      "0".repeat(64)
    })`,
  );
});
