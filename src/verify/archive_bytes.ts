/**
 * Where two archive files that hold the same entries differ (else verify would say
 * "identical" of different bytes): garbage appended after the end-of-archive blocks, a byte
 * flipped in the padding tar readers skip, the archive written twice. The image inside is the
 * same, so this is a note, but the files' sha256 differ and the user is told why and where.
 *
 * Pure: the caller reads the files (`ByteDifference`) and gives the entries' offsets.
 *
 * @module
 */

/** How two files compare byte by byte, as the caller measured it. */
export interface ByteDifference {
  sizeA: number;
  sizeB: number;
  /** Offset of the first differing byte; `min(sizeA, sizeB)` when one is a prefix of the other. */
  first: number;
  /** Differing bytes in the common length. */
  count: number;
  /** When one is a prefix of the other: what the longer one has after it. */
  tail?: "copy" | "zeros" | "other";
}

/** One entry of a plain tar: where its content starts and how long it is. */
export interface TarSpan {
  name: string;
  dataOffset: number;
  size: number;
}

const BLOCK = 512;

function roundUp(n: number): number {
  return Math.ceil(n / BLOCK) * BLOCK;
}

/** Names the place of an offset in a tar: an entry's header, content or padding, the end-of-archive blocks. */
export function placeInTar(offset: number, spans: readonly TarSpan[]): string {
  let start = 0;
  for (const s of spans) {
    const end = s.dataOffset + s.size;
    if (offset < s.dataOffset && offset >= start) return `in the header of "${s.name}"`;
    if (offset >= s.dataOffset && offset < end) return `in the content of "${s.name}"`;
    if (offset >= end && offset < roundUp(end)) {
      return `in the padding after "${s.name}" (tar readers skip it)`;
    }
    start = roundUp(end);
  }
  return "in the end-of-archive blocks (tar readers stop before them)";
}

/**
 * One sentence on where the archives differ, for the note that follows "the archive files
 * differ". `spans` are the entries of A when it is a plain tar (else offsets are only given).
 */
export function describeByteDifference(
  d: ByteDifference,
  spans: readonly TarSpan[] | null,
): string {
  const { sizeA, sizeB, first } = d;
  if (d.count === 0 && sizeA !== sizeB) {
    const [longer, shorter] = sizeA > sizeB ? ["A", "B"] : ["B", "A"];
    const extra = Math.abs(sizeA - sizeB);
    const what = d.tail === "copy"
      ? `a second copy of ${shorter} (the archive written twice; tar readers stop at the first end-of-archive)`
      : d.tail === "zeros"
      ? "zero bytes (tar readers stop at the end-of-archive blocks)"
      : "bytes after the end of the archive (tar readers ignore them)";
    return `${longer} has ${extra} more bytes after offset ${first}, where ${shorter} ends: ${what}`;
  }
  const where = spans ? ` ${placeInTar(first, spans)}` : "";
  const count = d.count === 1 ? "1 byte differs" : `${d.count} bytes differ`;
  const sizes = sizeA === sizeB ? "" : ` (sizes ${sizeA} vs ${sizeB})`;
  return `${count}, the first at offset ${first}${where}${sizes}`;
}
