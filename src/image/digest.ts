/**
 * sha256 digests. `node:crypto` hashes incrementally, so a layer or a file is
 * never held in memory to be hashed (STYLE: dependencies).
 *
 * @module
 */
import { createHash, type Hash } from "node:crypto";

/** An incremental sha256. */
export class Sha256 {
  #hash: Hash = createHash("sha256");
  #size = 0;

  /** Adds bytes. */
  update(chunk: Uint8Array): void {
    this.#hash.update(chunk);
    this.#size += chunk.length;
  }

  /** How many bytes were added. */
  get size(): number {
    return this.#size;
  }

  /** The hex digest; the hash cannot be updated afterwards. */
  hex(): string {
    return this.#hash.digest("hex");
  }
}

/** sha256 of bytes, as lowercase hex. */
export function sha256Hex(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}
