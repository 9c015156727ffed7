/**
 * Loading config.json from disk.
 *
 * @module
 */
import { ConfigError } from "../errors.ts";
import { LIMITS, type LoadedConfig, parseConfig } from "./schema.ts";

/**
 * Reads and validates a config file: at most `LIMITS.fileBytes` bytes of UTF-8
 * (invalid bytes are an error with their position, not replaced by U+FFFD). Messages name it
 * `name`: the path as the user typed it (relative stays relative), when that is not `path`.
 * @throws {ConfigError} when it cannot be read or is invalid.
 */
export async function loadConfig(path: string, name = path): Promise<LoadedConfig> {
  let bytes: Uint8Array;
  try {
    bytes = await readAtMost(path, LIMITS.fileBytes + 1);
  } catch (error) {
    const why = error instanceof Deno.errors.NotFound
      ? "no such file (pass the config with -c PATH)"
      : error instanceof Deno.errors.IsADirectory
      ? "it is a directory (pass the config file with -c PATH)"
      : (error as Error).message;
    throw new ConfigError(`Cannot read config "${name}": ${why}`);
  }
  if (bytes.length > LIMITS.fileBytes) {
    throw new ConfigError(
      `Cannot read config "${name}": expected at most ${LIMITS.fileBytes} bytes, found more`,
    );
  }
  let text: string;
  try {
    // ignoreBOM: keep a BOM, so that parseConfig names it instead of it vanishing here.
    text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    const at = firstInvalidUtf8(bytes);
    const lines = new TextDecoder().decode(bytes.subarray(0, at)).split(/\r\n|\r|\n/);
    throw new ConfigError(`Invalid config "${name}"`, [{
      file: name,
      line: lines.length,
      column: lines[lines.length - 1].length + 1,
      path: "",
      message: `invalid UTF-8 at byte ${at} (0x${
        (bytes[at] ?? 0).toString(16).padStart(2, "0")
      }): save the file as UTF-8`,
    }]);
  }
  return parseConfig(text, name);
}

/** Reads up to `max` bytes: a larger file is not read to its end; a FIFO is read as it comes. */
async function readAtMost(path: string, max: number): Promise<Uint8Array> {
  using file = await Deno.open(path);
  let buffer = new Uint8Array(Math.min(max, 1 << 16));
  let n = 0;
  while (n < max) {
    if (n === buffer.length) {
      const bigger = new Uint8Array(Math.min(max, buffer.length * 2));
      bigger.set(buffer);
      buffer = bigger;
    }
    const got = await file.read(buffer.subarray(n));
    if (got === null) break;
    n += got;
  }
  return buffer.subarray(0, n);
}

/** Offset of the first byte that does not start a well-formed UTF-8 sequence (RFC 3629). */
export function firstInvalidUtf8(bytes: Uint8Array): number {
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i];
    const need = b < 0x80
      ? 0
      : b >= 0xc2 && b <= 0xdf
      ? 1
      : b >= 0xe0 && b <= 0xef
      ? 2
      : b >= 0xf0 && b <= 0xf4
      ? 3
      : -1;
    if (need < 0) return i;
    // The second byte's range excludes overlong forms, surrogates and code points above U+10FFFF.
    const lo = b === 0xe0 ? 0xa0 : b === 0xf0 ? 0x90 : 0x80;
    const hi = b === 0xed ? 0x9f : b === 0xf4 ? 0x8f : 0xbf;
    for (let k = 1; k <= need; k++) {
      const c = bytes[i + k];
      if (c === undefined || c < (k === 1 ? lo : 0x80) || c > (k === 1 ? hi : 0xbf)) return i;
    }
    i += need + 1;
  }
  return bytes.length;
}
