/**
 * How r10e writes a number of bytes for people: one format for messages and progress lines alike,
 * so that a size read in a refusal is the size the progress line showed.
 *
 * @module
 */

/** `100 bytes`, `1.5 KiB`, `9.9 MiB`, `300 MiB`, `8.0 GiB`: binary units, a decimal below 10. */
export function formatBytes(n: number): string {
  const units = ["bytes", "KiB", "MiB", "GiB", "TiB", "PiB"];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  if (i === 0) return `${Math.round(n)} bytes`;
  // 9.96 rounds to "10.0": past 9.95 the unit shows no decimal, as from 10 on.
  return `${v.toFixed(v < 9.95 ? 1 : 0)} ${units[i]}`;
}
