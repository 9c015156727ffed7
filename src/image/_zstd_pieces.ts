/**
 * Cuts a zstd stream (RFC 8878) into pieces that each inflate to a bounded size, by reading
 * the frame and block headers only. fzstd's `Decompress.push` inflates every complete block of
 * what it is given before it returns, and an RLE block inflates 4 bytes to 128 KiB: a 320 KiB
 * push of them is 10 GiB in memory at once. Fed piece by piece, it holds at most
 * {@linkcode PIECE_OUTPUT} and a block or two of output between two reads of its output.
 *
 * @module
 */

/** Declared output of the blocks of one piece, beyond which the next block starts a new piece. */
export const PIECE_OUTPUT = 1 << 20;
/** Block_Maximum_Size: no block inflates to more (RFC 8878, 3.1.1.2.3). */
const BLOCK_MAX = 128 << 10;
/**
 * The largest window accepted: zstd's own decoder refuses more unless told `--long=31`, and
 * fzstd allocates the window (or a single-segment frame's whole content) up front.
 */
export const WINDOW_MAX = 128 << 20;

const MAGIC = 0xfd2fb528;

/** Splits a zstd stream into pieces; feed the chunks in order, then call {@linkcode end}. */
export class ZstdPieces {
  /** Bytes of the current structure still to pass over (block content, checksum, skippable). */
  #skip = 0;
  /** The header being read (frame header up to 18 bytes, block header 3). */
  #head = new Uint8Array(18);
  #have = 0;
  #want = 8;
  #phase: "frame" | "block" = "frame";
  #checksum = false;
  /** Output declared by the blocks of the current piece. */
  #output = 0;
  /** Position in the whole stream, for messages. */
  #offset = 0;

  /**
   * The pieces of `chunk` (subarrays), in order.
   * @throws {RangeError} for a block or window beyond zstd's limits, or what is not zstd.
   */
  cut(chunk: Uint8Array): Uint8Array[] {
    const pieces: Uint8Array[] = [];
    let start = 0;
    let pos = 0;
    while (pos < chunk.length) {
      if (this.#skip > 0) {
        const k = Math.min(this.#skip, chunk.length - pos);
        pos += k;
        this.#skip -= k;
        continue;
      }
      if (this.#have === 0 && this.#phase === "block" && this.#output >= PIECE_OUTPUT) {
        if (pos > start) pieces.push(chunk.subarray(start, pos));
        start = pos;
        this.#output = 0;
      }
      const k = Math.min(this.#want - this.#have, chunk.length - pos);
      this.#head.set(chunk.subarray(pos, pos + k), this.#have);
      this.#have += k;
      pos += k;
      if (this.#have === this.#want) this.#parse(this.#offset + pos - this.#have);
    }
    if (pos > start) pieces.push(chunk.subarray(start, pos));
    this.#offset += chunk.length;
    return pieces;
  }

  /** @throws {RangeError} when the stream ended inside a frame. */
  end(): void {
    if (this.#skip > 0 || this.#have > 0 || this.#phase === "block") {
      throw new RangeError(`zstd stream ends inside a frame, at offset ${this.#offset}`);
    }
  }

  /** Reads the header collected in #head; may ask for more of it (a longer frame header). */
  #parse(at: number): void {
    const h = this.#head;
    if (this.#phase === "block") {
      const b = h[0] | (h[1] << 8) | (h[2] << 16);
      const last = (b & 1) === 1;
      const type = (b >> 1) & 3;
      const size = b >>> 3;
      if (type === 3) throw new RangeError(`zstd block at offset ${at} has the reserved type 3`);
      if (size > BLOCK_MAX) {
        throw new RangeError(`zstd block at offset ${at} is larger than 128 KiB (${size} bytes)`);
      }
      this.#output += type === 2 ? BLOCK_MAX : size;
      this.#skip = (type === 1 ? 1 : size) + (last && this.#checksum ? 4 : 0);
      this.#have = 0;
      if (last) {
        this.#phase = "frame";
        this.#want = 8;
      } else this.#want = 3;
      return;
    }
    if (this.#want === 8 && this.#have === 8) {
      const magic = (h[0] | (h[1] << 8) | (h[2] << 16) | (h[3] << 24)) >>> 0;
      if ((magic & 0xfffffff0) >>> 0 === 0x184d2a50) {
        // A skippable frame: its 4-byte size, then that many bytes of anything.
        this.#skip = (h[4] | (h[5] << 8) | (h[6] << 16) | (h[7] << 24)) >>> 0;
        this.#have = 0;
        return;
      }
      if (magic !== MAGIC) throw new RangeError(`no zstd frame at offset ${at}`);
      const fhd = h[4];
      const single = (fhd >> 5) & 1;
      const fcsBytes = [single, 2, 4, 8][fhd >> 6];
      const dictBytes = [0, 1, 2, 4][fhd & 3];
      const full = 5 + (single ? 0 : 1) + dictBytes + fcsBytes;
      if (full > 8) {
        this.#want = full;
        return;
      }
      this.#frame(full, at);
      return;
    }
    this.#frame(this.#want, at);
  }

  /** A complete frame header of `size` bytes is in #head: the blocks follow it. */
  #frame(size: number, at: number): void {
    const h = this.#head;
    const fhd = h[4];
    const single = (fhd >> 5) & 1;
    let window: number;
    if (single) {
      // The window is the content size, whose field ends the header.
      const fcsBytes = [1, 2, 4, 8][fhd >> 6];
      let fcs = 0;
      for (let i = fcsBytes - 1; i >= 0; i--) fcs = fcs * 256 + h[size - fcsBytes + i];
      window = fcsBytes === 2 ? fcs + 256 : fcs;
    } else {
      const base = 2 ** (10 + (h[5] >> 3));
      window = base + (base / 8) * (h[5] & 7);
    }
    if (window > WINDOW_MAX) {
      throw new RangeError(
        `zstd frame at offset ${at} needs a window of ${window} bytes, more than zstd's ` +
          `default limit of ${WINDOW_MAX}`,
      );
    }
    this.#checksum = ((fhd >> 2) & 1) === 1;
    // Bytes of the header read beyond its end belong to the first block header.
    const extra = this.#have - size;
    this.#phase = "block";
    this.#want = 3;
    this.#head.copyWithin(0, size, size + extra);
    this.#have = extra;
    if (this.#have === 3) this.#parse(at + size);
  }
}
