/**
 * The one test for a JSON object (not null, not an array), for code that reads parsed JSON.
 *
 * @module
 */

/** True for a JSON object: not null, not an array. */
export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
