/**
 * The one order of names and keys in everything r10e writes: by Unicode code
 * point, which is UTF-8 byte order (DESIGN: sort everything that becomes bytes).
 * JavaScript's `<` compares UTF-16 code units, which differs for characters
 * beyond U+FFFF against U+E000–U+FFFF.
 *
 * @module
 */

/** Compares two strings by code point (= UTF-8 bytes), without allocating. */
export function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return codePointRank(x) - codePointRank(y);
  }
  return a.length - b.length;
}

/** Surrogates (U+D800–U+DFFF, halves of code points above U+FFFF) rank after U+E000–U+FFFF. */
function codePointRank(unit: number): number {
  if (unit < 0xd800) return unit;
  return unit < 0xe000 ? unit + 0x2000 : unit - 0x800;
}
