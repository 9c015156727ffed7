import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { InputError } from "../errors.ts";
import { collectBytes } from "../bytes.ts";
import type { TarHeader } from "../tar/reader.ts";
import {
  collapse,
  EntryStore,
  namedDigest,
  normalize,
  type OuterEntry,
  type Stored,
} from "./entries.ts";
import { JSON_MAX } from "./limits.ts";

const encode = (s: string) => new TextEncoder().encode(s);
const sha256 = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

function file(path: string, bytes: Uint8Array): OuterEntry {
  return {
    name: path,
    path,
    header: null,
    kind: "file",
    size: bytes.length,
    sha256: sha256(bytes),
  };
}

function link(path: string, kind: "symlink" | "hardlink", linkname: string): OuterEntry {
  const header = { name: path, kind, linkname } as TarHeader;
  return { name: path, path, header, kind, size: 0, sha256: null };
}

Deno.test("namedDigest: the hex of blobs/sha256/<64 lowercase hex>, null for another name", () => {
  const hex = "0123456789abcdef".repeat(4);
  assert.equal(namedDigest(`blobs/sha256/${hex}`), hex);
  assert.equal(namedDigest(`blobs/sha256/${hex.toUpperCase()}`), null);
  assert.equal(namedDigest(`blobs/sha256/${hex}.json`), null);
  assert.equal(namedDigest(`blobs/sha512/${hex}${hex}`), null);
  assert.equal(namedDigest(`${hex}.json`), null);
});

Deno.test("normalize and collapse: names inside the input", () => {
  assert.equal(normalize("./a//b/"), "a/b");
  assert.equal(collapse("a/b/../../../c/./d"), "c/d");
});

Deno.test("EntryStore finds entries through symlinks (relative) and hardlinks (from the top)", async () => {
  const layer = encode("layer bytes");
  const entries = [
    file("aa/layer.tar", layer),
    link("bb/layer.tar", "symlink", "../aa/layer.tar"),
    link("cc", "hardlink", "./aa/layer.tar"),
    link("loop", "symlink", "loop"),
  ];
  const stored = new Map<string, Stored>([["aa/layer.tar", { kind: "memory", bytes: layer }]]);
  const store = new EntryStore({
    path: "x.tar",
    kind: "archive",
    compression: "none",
    entries,
    stored,
    spool: null,
  });
  assert.equal(store.entry("./bb//layer.tar")?.path, "aa/layer.tar");
  assert.equal(store.entry("cc")?.path, "aa/layer.tar");
  assert.equal(store.entry("loop"), undefined);
  assert.equal(store.storedKind("bb/layer.tar"), "memory");
  assert.equal(store.storedKind("nothing"), undefined);
  assert.equal(new TextDecoder().decode(await collectBytes(store.readEntry("cc", 6))), "bytes");
  assert.equal(new TextDecoder().decode(await store.readBytes("bb/layer.tar")), "layer bytes");
  await assert.rejects(
    store.readBytes("nothing", 'config "nothing"'),
    (e: Error) =>
      e instanceof InputError &&
      e.message === 'Cannot read image "x.tar": config "nothing" is missing',
  );
  assert.throws(() => store.readEntry("aa/layer.tar", 5, 10), RangeError);
});

Deno.test("EntryStore.readBytes checks an unhashed blob against its name, and refuses a large one", async () => {
  const bytes = encode("{}");
  const name = `blobs/sha256/${"0".repeat(64)}`;
  const big = { ...file("big.json", bytes), size: JSON_MAX + 1 };
  const store = new EntryStore({
    path: "x.tar",
    kind: "archive",
    compression: "none",
    entries: [{ ...file(name, bytes), sha256: "0".repeat(64) }, big],
    stored: new Map<string, Stored>([[name, { kind: "memory", bytes }]]),
    spool: null,
    unhashed: new Set([name]),
  });
  await assert.rejects(
    store.readBytes(name),
    /blob "blobs\/sha256\/0{64}" does not match its digest/,
  );
  await assert.rejects(
    store.readBytes("big.json"),
    /is too large \(4194305 bytes; r10e reads JSON/,
  );
  let closed = 0;
  const closing = new EntryStore({
    path: "r",
    kind: "registry",
    compression: "none",
    entries: [],
    stored: new Map(),
    spool: null,
    onClose: () => Promise.resolve(void closed++),
  });
  await closing.close();
  await closing.close();
  assert.equal(closed, 1);
});
