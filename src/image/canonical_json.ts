/**
 * Canonical JSON: object keys sorted by code point, no whitespace. The bytes are
 * hashed exactly as written (DESIGN: image format), so the serializer must not
 * depend on insertion order.
 *
 * @module
 */
import { compareCodePoints } from "../code_point_order.ts";

/** A JSON value. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/**
 * Serializes a JSON value with sorted keys and no whitespace.
 * @throws {TypeError} for values JSON cannot hold (undefined, functions, non-finite numbers).
 */
export function canonicalJson(value: unknown): string {
  if (value === null) return "null";
  switch (typeof value) {
    case "boolean":
      return value ? "true" : "false";
    case "number":
      if (!Number.isFinite(value)) throw new TypeError(`Cannot encode number "${value}" as JSON`);
      return JSON.stringify(value);
    case "string":
      return JSON.stringify(value);
    case "object": {
      if (Array.isArray(value)) return "[" + value.map(canonicalJson).join(",") + "]";
      const obj = value as Record<string, unknown>;
      const keys = Object.keys(obj).filter((k) => obj[k] !== undefined).sort(compareCodePoints);
      return "{" + keys.map((k) => JSON.stringify(k) + ":" + canonicalJson(obj[k])).join(",") + "}";
    }
    default:
      throw new TypeError(`Cannot encode ${typeof value} as JSON`);
  }
}

/** UTF-8 bytes of the canonical JSON of a value. */
export function canonicalJsonBytes(value: unknown): Uint8Array {
  return new TextEncoder().encode(canonicalJson(value));
}
