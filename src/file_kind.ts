/**
 * What a file that is neither a regular file nor a directory is, for messages that refuse it.
 *
 * @module
 */

/** `a FIFO`, `a character device`, `a block device`, `a socket`, else `a special file`. */
export function specialKind(info: Deno.FileInfo): string {
  if (info.isFifo) return "a FIFO";
  if (info.isCharDevice) return "a character device";
  if (info.isBlockDevice) return "a block device";
  if (info.isSocket) return "a socket";
  return "a special file";
}
