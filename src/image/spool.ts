/**
 * A temporary file for the compressed layers the image writer cannot keep in
 * memory between its hash pass and its write pass (writer.ts: `LayerSpool`).
 * The writer stays pure: this file is the I/O `build` gives it. Without one,
 * such layers are compressed a second time instead (about as long again).
 *
 * @module
 */
import { diskFullOr } from "../disk_full.ts";
import { registerTemporary, removeTemporary } from "../signals.ts";
import type { LayerSpool } from "./writer.ts";

/**
 * A spool at `path`, created (never overwritten) at the first write and
 * registered as a temporary, so that a signal removes it; `await using`
 * removes it when done. Nothing is created when nothing is written.
 * @throws {Deno.errors.AlreadyExists} at the first write, when `path` exists
 */
export function openLayerSpool(
  path: string | (() => Promise<string>),
): LayerSpool & AsyncDisposable {
  let file: Deno.FsFile | undefined;
  let size = 0;
  return {
    get size() {
      return size;
    },
    async write(chunk: Uint8Array) {
      if (!file) {
        if (typeof path !== "string") {
          path = await path();
          registerTemporary(path);
          file = await Deno.open(path, { read: true, write: true });
        } else {
          registerTemporary(path);
          file = await Deno.open(path, { read: true, write: true, createNew: true, mode: 0o600 });
        }
      }
      await file.seek(size, Deno.SeekMode.Start);
      let off = 0;
      try {
        while (off < chunk.length) off += await file.write(chunk.subarray(off));
      } catch (error) {
        throw diskFullOr(error, path as string, "TMPDIR");
      }
      size += chunk.length;
    },
    async *read(offset: number, length: number) {
      if (!file) throw new RangeError(`Cannot read the layer spool "${path}": nothing was written`);
      const buffer = new Uint8Array(1 << 20);
      for (let at = offset; at < offset + length;) {
        await file.seek(at, Deno.SeekMode.Start);
        const n = await file.read(
          buffer.subarray(0, Math.min(buffer.length, offset + length - at)),
        );
        if (n === null) throw new RangeError(`Cannot read the layer spool "${path}": it was cut`);
        at += n;
        // A copy: the buffer is reused, and the consumer may keep the chunk.
        yield buffer.slice(0, n);
      }
    },
    async [Symbol.asyncDispose]() {
      if (!file) return;
      file.close();
      await removeTemporary(path as string);
    },
  };
}

/**
 * A spool in a new temporary file of TMPDIR (the CLI's per-process folder, which a
 * signal removes, and the next run when a SIGKILL left it), made at the first write.
 */
export function tempLayerSpool(): LayerSpool & AsyncDisposable {
  return openLayerSpool(() => Deno.makeTempFile({ prefix: "r10e-layers-" }));
}
