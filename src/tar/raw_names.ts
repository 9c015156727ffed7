/**
 * Lossless names: tar names are bytes, usually but not always UTF-8 (two entries
 * whose names differ only in invalid bytes must stay two entries). Decoding maps every byte
 * that is not part of a valid UTF-8 sequence to the lone surrogate U+DC00 + byte (U+DC80 to
 * U+DCFF), as Python's `surrogateescape` does. Valid UTF-8 never decodes to a lone surrogate,
 * so the mapping is one to one and {@linkcode encodeRawName} gives the original bytes back.
 *
 * ```ts
 * decodeRawName(new Uint8Array([0x61, 0xff])); // "a\udcff"
 * hasRawBytes("a\udcff");                      // true: not writable as a host path from Deno
 * ```
 *
 * Pure.
 *
 * @module
 */

const strict = new TextDecoder("utf-8", { fatal: true });
const encoder = new TextEncoder();

/** Bytes as a string: UTF-8 where valid, each other byte as U+DC00 + byte. */
export function decodeRawName(bytes: Uint8Array): string {
  // Short ASCII (most names, every uname and gname): no decoder call.
  if (bytes.length <= 64) {
    let ascii = true;
    for (let i = 0; i < bytes.length && ascii; i++) ascii = bytes[i] < 0x80;
    // One call makes a flat string (appending char by char makes a rope, flattened later).
    if (ascii) return String.fromCharCode.apply(null, bytes as unknown as number[]);
  }
  try {
    return strict.decode(bytes);
  } catch {
    return decodeSlow(bytes);
  }
}

function decodeSlow(b: Uint8Array): string {
  let out = "";
  let i = 0;
  while (i < b.length) {
    const n = validSequence(b, i);
    if (n === 0) {
      out += String.fromCharCode(0xdc00 + b[i]);
      i++;
    } else {
      out += strict.decode(b.subarray(i, i + n));
      i += n;
    }
  }
  return out;
}

/** Length of the valid UTF-8 sequence at `i` (RFC 3629: no overlongs, no surrogates), or 0. */
function validSequence(b: Uint8Array, i: number): number {
  const c = b[i];
  if (c < 0x80) return 1;
  const cont = (k: number, lo = 0x80, hi = 0xbf) =>
    i + k < b.length && b[i + k] >= lo && b[i + k] <= hi;
  if (c >= 0xc2 && c <= 0xdf) return cont(1) ? 2 : 0;
  if (c === 0xe0) return cont(1, 0xa0) && cont(2) ? 3 : 0;
  if (c === 0xed) return cont(1, 0x80, 0x9f) && cont(2) ? 3 : 0;
  if (c >= 0xe1 && c <= 0xef) return cont(1) && cont(2) ? 3 : 0;
  if (c === 0xf0) return cont(1, 0x90) && cont(2) && cont(3) ? 4 : 0;
  if (c >= 0xf1 && c <= 0xf3) return cont(1) && cont(2) && cont(3) ? 4 : 0;
  if (c === 0xf4) return cont(1, 0x80, 0x8f) && cont(2) && cont(3) ? 4 : 0;
  return 0;
}

/** Whether a decoded name holds bytes that are not UTF-8 (escaped as U+DC80 to U+DCFF). */
export function hasRawBytes(name: string): boolean {
  for (let i = 0; i < name.length; i++) {
    const u = name.charCodeAt(i);
    if (u >= 0xdc80 && u <= 0xdcff && !(i > 0 && isHigh(name.charCodeAt(i - 1)))) return true;
  }
  return false;
}

function isHigh(u: number): boolean {
  return u >= 0xd800 && u <= 0xdbff;
}

/** The bytes a decoded name came from. */
export function encodeRawName(name: string): Uint8Array {
  if (!hasRawBytes(name)) return encoder.encode(name);
  const parts: number[] = [];
  let run = "";
  const flush = () => {
    for (const x of encoder.encode(run)) parts.push(x);
    run = "";
  };
  for (let i = 0; i < name.length; i++) {
    const u = name.charCodeAt(i);
    if (u >= 0xdc80 && u <= 0xdcff && !(i > 0 && isHigh(name.charCodeAt(i - 1)))) {
      flush();
      parts.push(u - 0xdc00);
    } else run += name[i];
  }
  flush();
  return new Uint8Array(parts);
}
