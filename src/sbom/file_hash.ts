/**
 * A file's checksums as the SBOMs give them (sha256 and sha1), and the executables among files
 * whose Go build info the SBOMs read: one reading of a layer's file for both, shared by
 * `r10e sbom` (any image) and build's documents of a base image's files.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { diskFullOr } from "../disk_full.ts";

/** ELF `\x7fELF`; Mach-O 32/64-bit in both byte orders: the executables whose build info is read. */
export function isExecutable(head: Uint8Array): boolean {
  if (head.length < 4) return false;
  if (head[0] === 0x7f && head[1] === 0x45 && head[2] === 0x4c && head[3] === 0x46) return true;
  const m = ((head[0] << 24) | (head[1] << 16) | (head[2] << 8) | head[3]) >>> 0;
  return m === 0xfeedface || m === 0xfeedfacf || m === 0xcefaedfe || m === 0xcffaedfe;
}

/** A file's checksums and size, and where its bytes were spooled if it is an executable. */
export interface FileHashes {
  sha256: string;
  sha1: string;
  size: number;
  /** The spooled copy of an executable (the caller removes it), or null. */
  spooled: string | null;
}

/** Options of `hashFile`. */
export interface HashFileOptions {
  /** Names a new file for an executable's bytes, asked for only when the file is one. */
  spoolTo: () => Promise<string>;
  /** Told the length of each chunk read (memory accounting of the caller). */
  onChunk?: (length: number) => void;
}

/**
 * Hashes a file's bytes as they stream; an executable (by its first bytes) is copied on the way
 * to a file of `spoolTo`, so that its build info can be read at random offsets afterwards.
 * @throws {DiskFullError} when the spool's file system is full.
 */
export async function hashFile(
  body: AsyncIterable<Uint8Array>,
  options: HashFileOptions,
): Promise<FileHashes> {
  const sha256 = createHash("sha256");
  const sha1 = createHash("sha1");
  let size = 0;
  let out: Deno.FsFile | null = null;
  let spooled: string | null = null;
  let first = true;
  try {
    for await (const chunk of body) {
      if (first && chunk.length > 0) {
        first = false;
        if (isExecutable(chunk)) {
          spooled = await options.spoolTo();
          out = await Deno.open(spooled, { write: true, createNew: true, mode: 0o600 });
        }
      }
      sha256.update(chunk);
      sha1.update(chunk);
      size += chunk.length;
      options.onChunk?.(chunk.length);
      let done = 0;
      try {
        while (out && done < chunk.length) done += await out.write(chunk.subarray(done));
      } catch (error) {
        throw diskFullOr(error, spooled ?? "", "TMPDIR");
      }
    }
  } finally {
    out?.close();
  }
  return { sha256: sha256.digest("hex"), sha1: sha1.digest("hex"), size, spooled };
}
