import { deepStrictEqual as assertEquals, ok } from "node:assert/strict";
import type { ImageInfo, LayerInfo } from "../image/reader.ts";
import { type ImageSpec, writeImageArchive } from "../image/writer.ts";
import type { TarHeader } from "../tar/reader.ts";
import { concatBytes } from "../bytes.ts";
import { fileMeta, INDEX_FIELD, sharedBlobs, verifyImages } from "./verify.ts";

const enc = new TextEncoder();

function image(arch: string, text: string): ImageSpec {
  const bytes = enc.encode(text);
  return {
    platform: { os: "linux", architecture: arch },
    config: { Env: ["PATH=/bin"] },
    layers: [{
      createdBy: "test",
      entries: [
        { name: "etc", kind: "dir", mode: 0o755, size: 0 },
        {
          name: "etc/motd",
          kind: "file",
          mode: 0o644,
          size: bytes.length,
          content: async function* () {
            yield bytes;
          },
        },
      ],
    }],
  };
}

/** Writes an archive of r10e's format (in-process tests only; the cause fixtures use another writer). */
async function write(path: string, images: ImageSpec[], compress = false): Promise<void> {
  const parts: Uint8Array[] = [];
  await writeImageArchive(
    { repository: "t", tag: "latest", created: 0, images },
    (c) => {
      parts.push(c.slice());
    },
    { compress },
  );
  await Deno.writeFile(path, concatBytes(parts));
}

Deno.test("verifyImages", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "r10e-verify-test-" });
  try {
    await write(`${dir}/a.tar`, [image("amd64", "hi\n"), image("arm64", "hi\n")]);
    await write(`${dir}/b.tar.gz`, [image("amd64", "hi\n"), image("arm64", "ho\n")], true);

    await t.step("several platforms: judged by the index digest both are pinned by", async () => {
      await write(`${dir}/a.tar.gz`, [image("amd64", "hi\n"), image("arm64", "hi\n")], true);
      const same = await verifyImages(`${dir}/a.tar`, `${dir}/a.tar.gz`, { tempDir: dir });
      assertEquals([same.identical, same.identity.level, same.identity.equal], [
        true,
        "index",
        true,
      ]);
      assertEquals(same.summary, `identical: the same index digest ${short(same.identity.a)}`);
      // The same manifests listed in another order: another index, the digest people pin.
      await write(`${dir}/c.tar`, [image("arm64", "hi\n"), image("amd64", "hi\n")]);
      const other = await verifyImages(`${dir}/a.tar`, `${dir}/c.tar`, { tempDir: dir });
      assertEquals([other.identical, other.identity.level, other.identity.equal], [
        false,
        "index",
        false,
      ]);
      assertEquals(other.summary, "differ: 1 finding: manifest-encoding (1)");
      assertEquals(other.findings.map((f) => [f.scope, f.field, f.a, f.b]), [
        ["index", INDEX_FIELD, other.identity.a, other.identity.b],
      ]);
      const accepted = await verifyImages(`${dir}/a.tar`, `${dir}/c.tar`, {
        tempDir: dir,
        ignore: { causes: ["manifest-encoding"], paths: [] },
      });
      assertEquals(accepted.identical, true);
      // One platform asked for: its manifest digest is the identity.
      const one = await verifyImages(`${dir}/a.tar`, `${dir}/c.tar`, {
        tempDir: dir,
        platform: "linux/arm64",
      });
      assertEquals([one.identical, one.identity.level], [true, "manifest"]);
      for (const f of ["a.tar.gz", "c.tar"]) await Deno.remove(`${dir}/${f}`);
    });
    await t.step("several platforms are compared pairwise, findings name theirs", async () => {
      const r = await verifyImages(`${dir}/a.tar`, `${dir}/b.tar.gz`, { tempDir: dir });
      assertEquals(r.identical, false);
      assertEquals(
        r.findings.map((f) => [f.platform, f.path, f.field, f.cause]),
        [["linux/arm64", "etc/motd", "content", "content"]],
      );
      assertEquals(r.a.platform, "linux/amd64, linux/arm64");
      ok(r.notes[0].startsWith("outer compression differs (none vs gzip)"), r.notes[0]);
      assertEquals(r.findings[0].detail?.kind, "text");
    });
    await t.step(
      "beyond maxAnalyzed, differing files keep their digests and a note says so",
      async () => {
        const r = await verifyImages(`${dir}/a.tar`, `${dir}/b.tar.gz`, {
          tempDir: dir,
          maxAnalyzed: 0,
        });
        assertEquals(r.findings.map((f) => [f.field, f.cause, f.detail]), [[
          "content",
          "content",
          undefined,
        ]]);
        assertEquals(
          r.notes[0],
          "1 more files differ in content: only the first 0 were looked into (Go build info, diffs)",
        );
      },
    );
    await t.step("--platform picks one", async () => {
      const r = await verifyImages(`${dir}/a.tar`, `${dir}/b.tar.gz`, {
        tempDir: dir,
        platform: "linux/amd64",
      });
      assertEquals([r.identical, r.a.platform], [true, "linux/amd64"]);
      assertEquals(r.summary, `identical: the same manifest digest ${short(r.a.manifestDigest)}`);
      assertEquals(r.identity, {
        level: "manifest",
        equal: true,
        a: r.a.manifestDigest,
        b: r.a.manifestDigest,
      });
    });
    await t.step("progress lines after two seconds, at most one a second", async () => {
      let clock = 0;
      const lines: string[] = [];
      await verifyImages(`${dir}/a.tar`, `${dir}/b.tar.gz`, {
        tempDir: dir,
        now: () => (clock += 700),
        onProgress: (l) => lines.push(l),
      });
      ok(lines.length > 0);
      ok(lines.every((l) => l.startsWith(dir) || l.startsWith("read ")), lines.join("\n"));
    });
    await t.step("an OCI layout directory and a .tar.zst of the same image", async () => {
      await Deno.mkdir(`${dir}/layout`);
      const untar = await new Deno.Command("tar", {
        args: ["-xf", `${dir}/a.tar`, "-C", `${dir}/layout`],
      })
        .output();
      assertEquals(untar.code, 0);
      const zstd = await new Deno.Command("zstd", {
        args: ["-q", `${dir}/a.tar`, "-o", `${dir}/a.tar.zst`],
      })
        .output();
      assertEquals(zstd.code, 0);
      const r = await verifyImages(`${dir}/layout`, `${dir}/a.tar.zst`, { tempDir: dir });
      assertEquals([r.identical, r.a.compression, r.b.compression], [true, "none", "zstd"]);
      assertEquals(r.notes, [
        "outer compression differs (none vs zstd), so the archive files differ; the images inside are compared",
        "one input is a directory, the other an archive: archive entries are not compared",
      ]);
      await Deno.remove(`${dir}/layout`, { recursive: true });
      await Deno.remove(`${dir}/a.tar.zst`);
    });
    await t.step("no temporary files are left", async () => {
      const left = [];
      for await (const e of Deno.readDir(dir)) left.push(e.name);
      assertEquals(left.sort(), ["a.tar", "b.tar.gz"]);
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("fileMeta keeps only PAX records that no field restates", () => {
  const header: TarHeader = {
    name: "./a/b/",
    kind: "dir",
    typeflag: "5",
    mode: 0o755,
    uid: 0,
    gid: 0,
    uname: "",
    gname: "",
    mtime: 1.5,
    size: 0,
    linkname: "",
    devmajor: 0,
    devminor: 0,
    format: "ustar",
    pax: { path: "a/b", mtime: "1.5", atime: "2", "SCHILY.xattr.user.x": "1" },
    xattrs: { "user.x": "1" },
    offset: 0,
    headerOffset: 512,
    dataOffset: 1024,
  };
  const m = fileMeta(header, { index: 3, digest: -1 });
  assertEquals([m.path, m.pax, m.xattrs, m.format, m.index], [
    "a/b",
    { atime: "2" },
    { "user.x": "1" },
    "pax",
    3,
  ]);
});

/** `sha256:` and the first 12 hex digits of a digest, as reports shorten them. */
function short(digest: string): string {
  return digest.slice(0, 19) + "…";
}

Deno.test("sharedBlobs: a layer is shared only with the same blob digest, size and diff_id", () => {
  const layer = (digest: string, size: number, diffId: string): LayerInfo => ({
    index: 0,
    path: `blobs/sha256/${digest}`,
    digest: `sha256:${digest}`,
    mediaType: null,
    size,
    diffId: `sha256:${diffId}`,
    compression: "gzip",
  });
  const image = (layers: LayerInfo[]) => ({ layers }) as unknown as ImageInfo;
  const a = image([layer("1", 10, "d1"), layer("2", 20, "d2"), layer("3", 30, "d3")]);
  assertEquals([...sharedBlobs(a, a)], [0, 1, 2]);
  // Another blob under the same claimed diff_id (re-compressed, or patched and re-compressed):
  // read on both sides; another size or diff_id claimed for the same blob: one side lies.
  const b = image([layer("9", 10, "d1"), layer("2", 21, "d2"), layer("3", 30, "d9")]);
  assertEquals([...sharedBlobs(a, b)], []);
  assertEquals([...sharedBlobs(a, image([layer("1", 10, "d1")]))], [0]);
});
