import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { readTar, type TarHeader, type TarSource } from "./reader.ts";
import { type TarEntry, writeTar } from "./writer.ts";
import { sha256Hex } from "../image/digest.ts";
import { concatBytes as concat } from "../bytes.ts";

const FIXTURES = fileURLToPath(new URL("../../tests/fixtures/cp/", import.meta.url));
const LONG_DIR = "d".repeat(120);
const LONG_FILE = "f".repeat(110) + ".txt";
const N150 = "n".repeat(150);

interface Seen {
  header: TarHeader;
  content: string;
}

async function* chunked(bytes: Uint8Array, size: number): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < bytes.length; i += size) yield bytes.slice(i, i + size);
}

async function readAll(bytes: Uint8Array, chunk = 1 << 16, label?: string): Promise<Seen[]> {
  const out: Seen[] = [];
  for await (const e of readTar(chunked(bytes, chunk), { label })) {
    const parts: Uint8Array[] = [];
    for await (const c of e.body) parts.push(c.slice());
    out.push({ header: e.header, content: new TextDecoder().decode(concat(parts)) });
  }
  return out;
}

function summary(s: Seen) {
  const h = s.header;
  return [h.name, h.kind, h.mode.toString(8), h.uid, h.gid, h.size, h.linkname, s.content];
}

async function collect(source: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const c of source) parts.push(c);
  return concat(parts);
}

/** Rewrites bytes of a header block and fixes its checksum. */
function patch(archive: Uint8Array, headerOffset: number, at: number, bytes: number[]): void {
  archive.set(bytes, headerOffset + at);
  const b = archive.subarray(headerOffset, headerOffset + 512);
  b.fill(0x20, 148, 156);
  const sum = b.reduce((n, x) => n + x, 0);
  b.set(new TextEncoder().encode(sum.toString(8).padStart(6, "0") + "\0 "), 148);
}

Deno.test("readTar reads GNU tar archives (gnu and pax formats)", async (t) => {
  const expected = [
    ["dir/", "dir", "750", 1000, 100, 0, "", ""],
    ["dir/café.txt", "file", "644", 1000, 100, 6, "", "café\n"],
    [`dir/${LONG_DIR}/`, "dir", "755", 1000, 100, 0, "", ""],
    [`dir/${LONG_DIR}/${LONG_FILE}`, "file", "644", 1000, 100, 10, "", "deep file\n"],
    ["dir/hard", "file", "640", 1000, 100, 6, "", "hello\n"],
    ["dir/hello.txt", "hardlink", "640", 1000, 100, 0, "dir/hard", ""],
    ["dir/link", "symlink", "777", 1000, 100, 0, "hello.txt", ""],
    ["dir/longlink", "symlink", "777", 1000, 100, 0, `${LONG_DIR}/${LONG_FILE}`, ""],
  ];
  for (const name of ["gnu.tar", "pax.tar"]) {
    await t.step(name, async () => {
      const bytes = await Deno.readFile(FIXTURES + name);
      const seen = await readAll(bytes);
      assert.deepEqual(seen.map(summary), expected);
      for (const s of seen) assert.equal(s.header.mtime, 1700000000);
      assert.equal(seen[0].header.offset, 0);
      assert.equal(seen[0].header.format, name === "gnu.tar" ? "gnu" : "ustar");
      // Offsets point at real headers: the data offset holds the content.
      const file = seen[3];
      assert.equal(
        new TextDecoder().decode(
          bytes.subarray(file.header.dataOffset, file.header.dataOffset + 10),
        ),
        "deep file\n",
      );
      assert.ok(file.header.offset < file.header.headerOffset, "long name has an extra header");
    });
  }
});

Deno.test("readTar reads Python tarfile archives (PAX and GNU)", async (t) => {
  await t.step("python_pax.tar", async () => {
    const seen = await readAll(await Deno.readFile(FIXTURES + "python_pax.tar"));
    assert.deepEqual(seen.map(summary), [
      ["top/", "dir", "755", 1000, 50, 0, "", ""],
      [`top/${N150}/file`, "file", "644", 1000, 50, 3, "", "abc"],
      ["top/xattr", "file", "600", 1000, 50, 2, "", "xy"],
      ["top/big-uid", "file", "644", 3000000, 50, 0, "", ""],
      ["top/sym", "symlink", "644", 1000, 50, 0, "/" + "l".repeat(120), ""],
      ["top/hard", "hardlink", "644", 1000, 50, 0, `top/${N150}/file`, ""],
      ["top/null", "char", "644", 1000, 50, 0, "", ""],
      ["top/blk", "block", "644", 1000, 50, 0, "", ""],
      ["top/fifo", "fifo", "644", 1000, 50, 0, "", ""],
    ]);
    assert.deepEqual(seen[2].header.xattrs, {
      "security.capability": "cap",
      "user.comment": "hi",
    });
    assert.equal(seen[2].header.pax["SCHILY.xattr.user.comment"], "hi");
    // PAX records but no xattr (a long path): the shared empty object, not one per entry.
    assert.ok(hasKeysOf(seen[1].header.pax));
    assert.equal(seen[1].header.xattrs, seen[0].header.xattrs);
    assert.equal(seen[0].header.uname, "alice");
    assert.equal(seen[0].header.gname, "staff");
    assert.deepEqual([seen[6].header.devmajor, seen[6].header.devminor], [1, 3]);
    assert.deepEqual([seen[7].header.devmajor, seen[7].header.devminor], [7, 0]);
  });
  await t.step("python_gnu.tar", async () => {
    const seen = await readAll(await Deno.readFile(FIXTURES + "python_gnu.tar"));
    assert.deepEqual(seen.map((s) => [s.header.name, s.header.kind, s.header.linkname]), [
      ["top/", "dir", ""],
      [`top/${N150}/file`, "file", ""],
      ["top/sym", "symlink", "/" + "l".repeat(120)],
      ["top/hard", "hardlink", `top/${N150}/file`],
      ["top/null", "char", ""],
      ["top/blk", "block", ""],
      ["top/fifo", "fifo", ""],
    ]);
    assert.equal(seen[1].content, "abc");
    assert.equal(seen[1].header.format, "gnu");
  });
});

Deno.test("readTar does not depend on how the input is chunked", async () => {
  const bytes = await Deno.readFile(FIXTURES + "python_pax.tar");
  const big = (await readAll(bytes, 1 << 20)).map(summary);
  for (const size of [1, 7, 511, 512, 513, 4096]) {
    assert.deepEqual((await readAll(bytes, size)).map(summary), big, `chunks of ${size}`);
  }
});

Deno.test("readTar reads back what our writer writes", async () => {
  const big = new Uint8Array(3 * 1024 * 1024 + 17).map((_, i) => (i * 7) & 0xff);
  const entries: TarEntry[] = [
    { name: "a", kind: "dir", mode: 0o755, size: 0 },
    {
      name: "a/big",
      kind: "file",
      mode: 0o644,
      size: big.length,
      content: async function* () {
        yield big.subarray(0, 1000);
        yield big.subarray(1000);
      },
    },
    { name: "a/" + "x".repeat(200) + "/é", kind: "file", mode: 0o755, size: 0 },
    { name: "a/link", kind: "symlink", mode: 0o777, size: 0, linkTarget: "/" + "t".repeat(150) },
  ];
  const bytes = await collect(writeTar(entries, { mtime: 1234 }));
  const seen: [string, string, number, string][] = [];
  for await (const e of readTar(chunked(bytes, 65536))) {
    const content = await collect(e.body);
    seen.push([e.header.name, e.header.kind, e.header.mode, sha256Hex(content)]);
    assert.equal(e.header.mtime, 1234);
    assert.equal(e.header.uid, 0);
    assert.equal(e.header.uname, "");
  }
  assert.deepEqual(seen, [
    ["a/", "dir", 0o755, sha256Hex(new Uint8Array(0))],
    ["a/big", "file", 0o644, sha256Hex(big)],
    ["a/" + "x".repeat(200) + "/é", "file", 0o755, sha256Hex(new Uint8Array(0))],
    ["a/link", "symlink", 0o777, sha256Hex(new Uint8Array(0))],
  ]);
});

Deno.test("readTar errors name the archive, the entry and the offset", async (t) => {
  const gnu = await Deno.readFile(FIXTURES + "gnu.tar");
  await t.step("one corrupt byte in a header", async () => {
    const bytes = gnu.slice();
    bytes[512 + 100] ^= 1; // mode field of the second entry, "dir/café.txt"
    await assert.rejects(
      readAll(bytes, 65536, "gnu.tar"),
      new SyntaxError(
        'Cannot read tar "gnu.tar": entry "dir/café.txt" at offset 512: header checksum is wrong',
      ),
    );
  });
  await t.step("truncated content", async () => {
    const seen = await readAll(gnu, 65536);
    const h = seen[1].header;
    await assert.rejects(
      readAll(gnu.slice(0, h.dataOffset + 3), 65536, "gnu.tar"),
      new SyntaxError('Cannot read tar "gnu.tar": entry "dir/café.txt" at offset 512 is truncated'),
    );
  });
  await t.step("truncated content that is skipped", async () => {
    const consume = async () => {
      for await (const _ of readTar(chunked(gnu.slice(0, 512 + 512 + 3), 100))) {
        // content not read
      }
    };
    await assert.rejects(
      consume(),
      new SyntaxError('Cannot read tar: entry "dir/café.txt" at offset 512 is truncated'),
    );
  });
  await t.step("truncated content that a seeking source skips", async () => {
    const bytes = gnu.slice(0, 512 + 512 + 3);
    let pos = 0;
    const source: TarSource = {
      async *[Symbol.asyncIterator]() {
        while (pos < bytes.length) {
          const chunk = bytes.slice(pos, pos + 512);
          pos += chunk.length;
          yield chunk;
        }
      },
      skip(n: number) {
        const k = Math.min(n, bytes.length - pos);
        pos += k;
        return Promise.resolve(k);
      },
    };
    const consume = async () => {
      for await (const _ of readTar(source)) { /* content not read */ }
    };
    await assert.rejects(
      consume(),
      new SyntaxError('Cannot read tar: entry "dir/café.txt" at offset 512 is truncated'),
    );
  });
  await t.step("truncated header", async () => {
    await assert.rejects(
      readAll(gnu.slice(0, 700), 65536, "x"),
      new SyntaxError('Cannot read tar "x": header at offset 512 is truncated'),
    );
  });
  await t.step("GNU sparse file", async () => {
    const bytes = gnu.slice();
    patch(bytes, 512, 156, [0x53]); // typeflag 'S'
    await assert.rejects(
      readAll(bytes, 65536, "s.tar"),
      {
        name: "UnsupportedEntryError",
        message:
          'Cannot read tar "s.tar": entry "dir/café.txt" at offset 512 is a GNU sparse file: sparse entries are not supported',
      },
    );
  });
  await t.step("a bad number", async () => {
    const bytes = gnu.slice();
    patch(bytes, 512, 124, [0x39]); // size field gets a '9'
    await assert.rejects(
      readAll(bytes, 65536, "n.tar"),
      new SyntaxError(
        'Cannot read tar "n.tar": entry "dir/café.txt" at offset 512: field "size" is not a number',
      ),
    );
  });
});

Deno.test("readTar skips unread content through the source's skip", async () => {
  const bytes = await Deno.readFile(FIXTURES + "pax.tar");
  let skipped = 0;
  let pos = 0;
  const source: TarSource = {
    async *[Symbol.asyncIterator]() {
      while (pos < bytes.length) {
        const chunk = bytes.slice(pos, pos + 512);
        pos += 512;
        yield chunk;
      }
    },
    skip(n: number) {
      const k = Math.min(n, bytes.length - pos);
      skipped += k;
      pos += k;
      return Promise.resolve(k);
    },
  };
  const names: string[] = [];
  let deep = "";
  for await (const e of readTar(source)) {
    names.push(e.header.name);
    if (e.header.name.endsWith(".txt") && e.header.size === 10) {
      deep = new TextDecoder().decode(await collect(e.body));
    }
  }
  assert.equal(names.length, 8);
  assert.equal(deep, "deep file\n");
  // café.txt and hard have a 6-byte body padded to 512: one block each is skipped by the source.
  assert.equal(skipped, 1024);
});

Deno.test("readTar reads a partly consumed body and moves on", async () => {
  const bytes = await Deno.readFile(FIXTURES + "gnu.tar");
  const names: string[] = [];
  for await (const e of readTar(chunked(bytes, 3))) {
    names.push(e.header.name);
    for await (const _ of e.body) break;
  }
  assert.equal(names.length, 8);
});

Deno.test("takeBuffered gives a body at once when its chunk holds it, else null and the body streams", async () => {
  const enc = new TextEncoder();
  const small = enc.encode("small\n");
  const large = new Uint8Array(3000).fill(9);
  const bytes = await collect(writeTar([
    { name: "a", kind: "file", mode: 0o644, size: small.length, content: one(small) },
    { name: "b", kind: "file", mode: 0o644, size: large.length, content: one(large) },
    { name: "c", kind: "file", mode: 0o644, size: small.length, content: one(small) },
  ], { mtime: 0 }));
  const seen: string[] = [];
  // Chunks of 2048 bytes: "a" lies inside the first, "b" spans three, "c" inside the third.
  for await (const e of readTar(chunked(bytes, 2048))) {
    const whole = e.body.takeBuffered?.() ?? null;
    if (e.header.name === "c") {
      seen.push(`c:${whole === null ? "skipped" : "taken"}`);
      continue;
    }
    if (whole) {
      seen.push(`${e.header.name}:whole:${whole.length}`);
      assert.equal(e.body.takeBuffered?.(), null); // once
    } else {
      let n = 0;
      for await (const c of e.body) n += c.length;
      seen.push(`${e.header.name}:streamed:${n}`);
    }
  }
  assert.deepEqual(seen, ["a:whole:6", "b:streamed:3000", "c:taken"]);
});

function one(bytes: Uint8Array) {
  return async function* () {
    yield bytes;
  };
}

function hasKeysOf(o: Record<string, string>): boolean {
  return Object.keys(o).length > 0;
}
