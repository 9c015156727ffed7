import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { writeImageArchive } from "../image/writer.ts";
import { fileEntry, type TarEntry } from "../tar/writer.ts";
import { readTar } from "../tar/reader.ts";
import { cp } from "./cp.ts";
import { rawTar, writeTestImage } from "../../tests/cp_images.ts";

const enc = new TextEncoder();

const file = fileEntry;

function sha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/**
 * 150 small files over two layers, one large file (read in place when its layer is stored
 * uncompressed), an empty file, a read-only file and a symlink: enough files that cp reads
 * layers in one pass and spools the small files of a `-` stream.
 */
function contents(): Map<string, Uint8Array> {
  const files = new Map<string, Uint8Array>();
  for (let i = 0; i < 150; i++) {
    files.set(`d/s${i % 3}/f${String(i).padStart(3, "0")}`, enc.encode(`file ${i}\n`.repeat(i)));
  }
  const big = new Uint8Array(3 << 20);
  for (let i = 0; i < big.length; i++) big[i] = (i * 31) >> 7;
  files.set("d/big.bin", big);
  files.set("d/ro.txt", enc.encode("read only\n"));
  return files;
}

async function image(path: string, layerCompression: "gzip" | "none"): Promise<void> {
  const files = contents();
  const names = [...files.keys()].sort();
  const half = names.filter((_, i) => i % 2 === 0);
  const rest = names.filter((_, i) => i % 2 === 1);
  const layer = (list: string[]): TarEntry[] => {
    const dirs = new Set<string>();
    for (const n of list) {
      const parts = n.split("/");
      for (let i = 1; i < parts.length; i++) dirs.add(parts.slice(0, i).join("/"));
    }
    return [
      ...[...dirs].map((name): TarEntry => ({ name, kind: "dir", mode: 0o755, size: 0 })),
      ...list.map((n) => file(n, files.get(n)!, n === "d/ro.txt" ? 0o444 : 0o644)),
    ].sort((a, b) => (a.name < b.name ? -1 : 1));
  };
  const top = layer(rest);
  top.push({ name: "d/link", kind: "symlink", mode: 0o777, size: 0, linkTarget: "big.bin" });
  top.push(file("d/empty", new Uint8Array(0)));
  top.sort((a, b) => (a.name < b.name ? -1 : 1));
  using out = await Deno.open(path, { write: true, create: true });
  await writeImageArchive({
    layerCompression,
    repository: "t",
    tag: "latest",
    created: 0,
    images: [{
      platform: { os: "linux", architecture: "amd64" },
      config: { Env: [] },
      layers: [{ createdBy: "a", entries: layer(half) }, { createdBy: "b", entries: top }],
    }],
  }, async (chunk) => {
    let n = 0;
    while (n < chunk.length) n += await out.write(chunk.subarray(n));
  }, { compress: false });
}

Deno.test("cp of many files, to a directory and to a tar stream, from either kind of layer", async (t) => {
  const dir = await Deno.makeTempDir();
  try {
    const want = contents();
    want.set("d/empty", new Uint8Array(0));
    for (const compression of ["none", "gzip"] as const) {
      const img = `${dir}/${compression}.tar`;
      await image(img, compression);
      await t.step(`${compression}: to a directory`, async () => {
        const result = await cp(img, { src: "/d", dest: `${dir}/${compression}-out` });
        assert.equal(result.files.length, want.size);
        for (const f of result.files) {
          const rel = f.path.slice(`${dir}/${compression}-out/`.length);
          const bytes = await Deno.readFile(f.path);
          assert.deepEqual(bytes, want.get(`d/${rel}`), rel);
          assert.equal(f.sha256, sha256(bytes));
        }
        assert.equal((await Deno.stat(`${dir}/${compression}-out/ro.txt`)).mode! & 0o777, 0o444);
        assert.equal(await Deno.readLink(`${dir}/${compression}-out/link`), "big.bin");
      });
      await t.step(`${compression}: to a tar stream`, async () => {
        const chunks: Uint8Array[] = [];
        const stdout = new WritableStream<Uint8Array>({
          write: (c) => void chunks.push(c.slice()),
        });
        const result = await cp(img, { src: "/d", dest: "-" }, { stdout, tempDir: dir });
        const got = new Map<string, Uint8Array>();
        const order: string[] = [];
        for await (const e of readTar(ReadableStream.from(chunks))) {
          order.push(e.header.name);
          if (e.header.kind !== "file") continue;
          const bytes = new Uint8Array(e.header.size);
          let at = 0;
          for await (const c of e.body) {
            bytes.set(c, at);
            at += c.length;
          }
          got.set(e.header.name, bytes);
        }
        assert.deepEqual(got, want);
        assert.deepEqual(order, [...order].sort());
        assert.deepEqual(
          result.files.map((f) => [f.path, f.sha256]),
          [...got].map(([name, bytes]) => [name, sha256(bytes)]),
        );
      });
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("cp of a plain tar checks the layers it reads against their digests, not the others", async (t) => {
  const dir = await Deno.makeTempDir();
  try {
    const big = new Uint8Array(2 << 20).fill(7);
    const other = new Uint8Array(1 << 20).fill(9);
    const img = `${dir}/img.tar`;
    {
      using out = await Deno.open(img, { write: true, create: true });
      const result = await writeImageArchive({
        layerCompression: "none",
        repository: "t",
        tag: "latest",
        created: 0,
        images: [{
          platform: { os: "linux", architecture: "amd64" },
          config: { Env: [] },
          layers: [
            { createdBy: "a", entries: [file("big.bin", big)] },
            {
              createdBy: "b",
              entries: [
                { name: "b", kind: "dir", mode: 0o755, size: 0 },
                file("b/other.bin", other),
                file("b/small.txt", enc.encode("small\n")),
              ],
            },
          ],
        }],
      }, async (chunk) => {
        let n = 0;
        while (n < chunk.length) n += await out.write(chunk.subarray(n));
      }, { compress: false });
      // One byte of big.bin's content in the first layer's blob is changed.
      const blob = `blobs/sha256/${result.images[0].layers[0].digest.slice(7)}`;
      let at = -1;
      for await (const e of readTar((await Deno.open(img)).readable)) {
        if (e.header.name === blob) at = e.header.dataOffset + 512 + 4096;
      }
      assert.ok(at > 0);
      using f = await Deno.open(img, { read: true, write: true });
      await f.seek(at, Deno.SeekMode.Start);
      await f.write(new Uint8Array([8]));
    }
    await t.step("a file of the other layer is copied", async () => {
      const r = await cp(img, { src: "/b/small.txt", dest: `${dir}/small.txt` });
      assert.equal(r.files[0].sha256, sha256(enc.encode("small\n")));
    });
    await t.step("a file of the changed layer is refused before anything is written", async () => {
      await assert.rejects(
        cp(img, { src: "/big.bin", dest: `${dir}/big.bin` }),
        (e: Error) => {
          assert.match(
            e.message,
            /^Cannot read image ".*img\.tar": blob "blobs\/sha256\/[0-9a-f]{64}" does not match its digest$/,
          );
          return true;
        },
      );
      assert.deepEqual([...Deno.readDirSync(dir)].map((d) => d.name).sort(), [
        "img.tar",
        "small.txt",
      ]);
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("cp from gzip layers: files kept by the first pass and files read again give the same copy", async (t) => {
  const dir = await Deno.makeTempDir();
  try {
    // Layer 0 holds /app and /lib; layer 1 replaces a file, deletes one, links one to /lib and
    // adds /current -> app, so that SRC reached through the link is not what the pass keeps.
    const img = `${dir}/img.tar`;
    await writeTestImage(img, [
      rawTar([
        { name: "app/", type: "dir", mode: 0o755 },
        { name: "app/a.txt", content: "old a\n" },
        { name: "app/gone.txt", content: "gone\n" },
        { name: "app/keep.txt", content: "keep\n" },
        { name: "lib/", type: "dir", mode: 0o755 },
        { name: "lib/shared.so", content: "shared\n" },
      ]),
      rawTar([
        { name: "app/a.txt", content: "new a\n" },
        { name: "app/.wh.gone.txt" },
        { name: "app/shared.so", type: "hardlink", linkname: "lib/shared.so" },
        { name: "current", type: "symlink", linkname: "app" },
      ]),
    ], { layerCompression: "gzip" });
    const want = { "a.txt": "new a\n", "keep.txt": "keep\n", "shared.so": "shared\n" };
    for (const src of ["/app", "/current/.", "/current"]) {
      await t.step(`${src} to a directory and to a tar stream`, async () => {
        const out = `${dir}/out-${src.replaceAll("/", "_")}`;
        await Deno.mkdir(out);
        const result = await cp(img, { src, dest: `${out}/copy` });
        const got: Record<string, string> = {};
        for (const f of result.files) {
          got[f.path.slice(`${out}/copy/`.length)] = await Deno.readTextFile(f.path);
        }
        assert.deepEqual(got, want);
        const chunks: Uint8Array[] = [];
        const stdout = new WritableStream<Uint8Array>({
          write: (c) => void chunks.push(c.slice()),
        });
        await cp(img, { src, dest: "-" }, { stdout, tempDir: dir });
        const streamed: Record<string, string> = {};
        for await (const e of readTar(ReadableStream.from(chunks))) {
          let text = "";
          for await (const c of e.body) text += new TextDecoder().decode(c);
          if (e.header.kind === "file") streamed[e.header.name.replace(/^[^/]*\//, "")] = text;
        }
        assert.deepEqual(streamed, want);
      });
    }
    await t.step("one file, through the link", async () => {
      const result = await cp(img, { src: "/current/shared.so", dest: `${dir}/one` });
      assert.equal(result.source, "/app/shared.so");
      assert.equal(await Deno.readTextFile(`${dir}/one`), "shared\n");
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
