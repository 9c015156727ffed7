/**
 * A many-file image for the many-small-files benchmarks: `count` small files (a few hundred bytes
 * to 2 KB of text-like bytes, every file distinct) in directories of 500, one data layer over
 * a small base layer, written by r10e's writer in its default format (gzip layers). `changed`
 * flips one byte of one file (image B of a verify pair).
 *
 * @module
 */
import type { TarEntry } from "../src/tar/writer.ts";
import { writeImageArchive } from "../src/image/writer.ts";

/** The files of one image; `changed` edits one of them. */
export function manyFiles(count: number, changed: boolean): TarEntry[] {
  const enc = new TextEncoder();
  const entries: TarEntry[] = [{ name: "data", kind: "dir", mode: 0o755, size: 0 }];
  const perDir = 500;
  for (let d = 0; d * perDir < count; d++) {
    const dir = `data/d${String(d).padStart(4, "0")}`;
    entries.push({ name: dir, kind: "dir", mode: 0o755, size: 0 });
    for (let i = d * perDir; i < Math.min(count, (d + 1) * perDir); i++) {
      const line = `file ${i}: ${"lorem ipsum dolor sit amet ".repeat(1 + (i * 7919) % 70)}\n`;
      const bytes = enc.encode(line);
      if (changed && i === Math.floor(count / 2)) bytes[bytes.length >> 1] ^= 1;
      entries.push({
        name: `${dir}/f${String(i).padStart(6, "0")}.txt`,
        kind: "file",
        mode: 0o644,
        size: bytes.length,
        content: async function* () {
          yield bytes;
        },
      });
    }
  }
  return entries;
}

/** Writes the image of `manyFiles(count, changed)` to `path` (a `.tar.gz`). */
export async function writeManyFilesImage(
  path: string,
  what: { count: number; changed: boolean; compress?: boolean },
): Promise<void> {
  using out = await Deno.open(`${path}.tmp`, { write: true, create: true, truncate: true });
  const base: TarEntry[] = [{ name: "etc", kind: "dir", mode: 0o755, size: 0 }];
  const hosts = new TextEncoder().encode("127.0.0.1 localhost\n");
  base.push({
    name: "etc/hosts",
    kind: "file",
    mode: 0o644,
    size: hosts.length,
    content: async function* () {
      yield hosts;
    },
  });
  await writeImageArchive({
    repository: "bench",
    tag: "latest",
    created: 1700000000,
    images: [{
      platform: { os: "linux", architecture: "amd64" },
      config: { Env: ["PATH=/usr/bin:/bin"] },
      layers: [
        { createdBy: "base", entries: base },
        { createdBy: "data", entries: manyFiles(what.count, what.changed) },
      ],
    }],
  }, async (chunk) => {
    let n = 0;
    while (n < chunk.length) n += await out.write(chunk.subarray(n));
  }, { compress: what.compress ?? true });
  await Deno.rename(`${path}.tmp`, path);
}

if (import.meta.main) {
  const [path, count, changed] = Deno.args;
  await writeManyFilesImage(path, { count: Number(count), changed: changed === "changed" });
}
