/**
 * `include_tzdata`: a zoneinfo tree at /usr/share/zoneinfo,
 * where Go's `time.LoadLocation` looks first on Linux, from the one source r10e
 * ships (Go's `lib/time/zoneinfo.zip`, see scripts/update_tzdata.ts), pinned
 * by sha256 in pins.json like the CA bundle. Never the build host's
 * /usr/share/zoneinfo: it differs between machines.
 *
 * The zip's entries are stored uncompressed, so reading it is a walk over its
 * central directory. Pure, except `loadTzdata`, which imports the data module
 * (half a megabyte, loaded only when the config asks for it).
 *
 * @module
 */
import { sha256Hex } from "../image/digest.ts";
import { TZDATA_SHA256, TZDATA_SOURCE } from "./tzdata_pin.ts";

/** Where the tree lands in the image. */
export const TZDATA_DIR = "/usr/share/zoneinfo";

/** One zone file of the zip. */
export interface ZoneFile {
  /** `Europe/Paris` */
  name: string;
  bytes: Uint8Array;
}

/** The shipped tzdata. */
export interface Tzdata {
  files: ZoneFile[];
  sha256: string;
  source: string;
}

function u16(b: Uint8Array, at: number): number {
  return b[at] | (b[at + 1] << 8);
}

function u32(b: Uint8Array, at: number): number {
  return (b[at] | (b[at + 1] << 8) | (b[at + 2] << 16) | (b[at + 3] << 24)) >>> 0;
}

/**
 * The files of a zip whose entries are all stored (method 0), in name order.
 * @throws {SyntaxError} for a zip that is malformed, compressed, or names a path that leaves the tree
 */
export function readStoredZip(zip: Uint8Array): ZoneFile[] {
  // End of central directory: 22 bytes plus a comment of at most 64 KiB, at the end.
  let eocd = -1;
  for (let i = zip.length - 22; i >= Math.max(0, zip.length - 22 - 0xffff); i--) {
    if (u32(zip, i) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new SyntaxError("Cannot read the zoneinfo zip: no end of central directory");
  const count = u16(zip, eocd + 10);
  let at = u32(zip, eocd + 16);
  const files: ZoneFile[] = [];
  const dec = new TextDecoder("utf-8", { fatal: true });
  for (let i = 0; i < count; i++) {
    if (at + 46 > zip.length || u32(zip, at) !== 0x02014b50) {
      throw new SyntaxError(
        `Cannot read the zoneinfo zip: central directory entry ${i} is malformed`,
      );
    }
    const method = u16(zip, at + 10);
    const size = u32(zip, at + 20);
    const stored = method === 0 && u32(zip, at + 24) === size;
    const nameLen = u16(zip, at + 28);
    const next = at + 46 + nameLen + u16(zip, at + 30) + u16(zip, at + 32);
    const name = dec.decode(zip.subarray(at + 46, at + 46 + nameLen));
    const local = u32(zip, at + 42);
    at = next;
    if (name.endsWith("/")) continue;
    if (!stored) {
      throw new SyntaxError(
        `Cannot read the zoneinfo zip: "${name}" is compressed (method ${method})`,
      );
    }
    if (name.startsWith("/") || name.split("/").some((p) => p === "" || p === "." || p === "..")) {
      throw new SyntaxError(
        `Cannot read the zoneinfo zip: "${name}" is not a relative normalized path`,
      );
    }
    if (local + 30 > zip.length || u32(zip, local) !== 0x04034b50) {
      throw new SyntaxError(
        `Cannot read the zoneinfo zip: the local header of "${name}" is malformed`,
      );
    }
    const data = local + 30 + u16(zip, local + 26) + u16(zip, local + 28);
    if (data + size > zip.length) {
      throw new SyntaxError(`Cannot read the zoneinfo zip: "${name}" runs past the end`);
    }
    files.push({ name, bytes: zip.subarray(data, data + size) });
  }
  return files.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/**
 * The shipped tzdata, checked against its pinned sha256.
 * @throws {Error} when the embedded zip does not match its pin (a broken r10e build)
 */
export async function loadTzdata(): Promise<Tzdata> {
  const { TZDATA_ZIP_BASE64 } = await import("./tzdata_data.ts");
  const zip = decodeBase64(TZDATA_ZIP_BASE64);
  const sha256 = sha256Hex(zip);
  if (sha256 !== TZDATA_SHA256) {
    throw new Error(
      `The tzdata shipped with r10e does not match its pin: expected sha256 "${TZDATA_SHA256}", found "${sha256}"`,
    );
  }
  return { files: readStoredZip(zip), sha256, source: TZDATA_SOURCE };
}

/** The sha256 pins.json records for a config: the pinned zip's when include_tzdata, else none. */
export function tzdataPin(includeTzdata: boolean): string | undefined {
  return includeTzdata ? TZDATA_SHA256 : undefined;
}

/**
 * What is wrong between the config, this r10e and pins.json about tzdata, or null.
 * For `checkPins`.
 */
export function checkTzdataPin(
  includeTzdata: boolean,
  pinned: string | null | undefined,
  file: string,
): string | null {
  const want = tzdataPin(includeTzdata);
  const have = pinned ?? undefined;
  if (want === have) return null;
  if (want === undefined || have === undefined) {
    return `include_tzdata is ${includeTzdata} but "${file}" says ${
      have === undefined ? "no tzdata" : "tzdata"
    }`;
  }
  return `the tzdata shipped with this r10e (sha256 ${want}) differs from the one pinned in "${file}" (sha256 ${have})`;
}

/** Base64 of bytes (for the generator script). */
export function encodeBase64(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(s);
}

function decodeBase64(text: string): Uint8Array {
  const s = atob(text);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}
