/**
 * Text that is safe to show on a terminal. Names inside images (tar entries,
 * labels, build info) are chosen by whoever made the image: an entry named
 * `ESC ]0;…BEL ESC [2J` would set the window title and clear the screen, and a
 * carriage return or a newline could fake a line such as "Images are identical".
 * Every human-readable output passes such text
 * through {@linkcode printable}; `--json` output needs nothing more than
 * `JSON.stringify`, which escapes C0 itself.
 *
 * @module
 */

/** Options of {@linkcode printable}. */
export interface PrintableOptions {
  /**
   * Keep "\n" and "\t" as they are: for multi-line text whose lines the caller
   * made itself (a diff, an error message with one problem a line). Default
   * false: every control character is escaped, newlines included.
   */
  multiline?: boolean;
}

/**
 * What is escaped: C0 (U+0000–U+001F, ESC included), DEL, C1 (U+0080–U+009F,
 * whose CSI U+009B starts escape sequences on some terminals), the line and
 * paragraph separators, the bidirectional overrides and isolates that reorder
 * what is shown (CVE-2021-42574, "Trojan Source"), and lone surrogates (no
 * character at all: terminals show garbage or drop them).
 */
const CONTROLS = "\\x7f-\\x9f\\u2028\\u2029\\u202a-\\u202e\\u2066-\\u2069";
const LONE_SURROGATE =
  "[\\ud800-\\udbff](?![\\udc00-\\udfff])|(?<![\\ud800-\\udbff])[\\udc00-\\udfff]";
// Built from strings: the regexps are about control characters on purpose. No "u" flag, so
// that they see UTF-16 code units and can find lone surrogates.
const UNSAFE = new RegExp(`[\\x00-\\x1f${CONTROLS}]|${LONE_SURROGATE}`, "g");
const UNSAFE_MULTILINE = new RegExp(`[\\x00-\\x08\\x0b-\\x1f${CONTROLS}]|${LONE_SURROGATE}`, "g");

const SHORT: Record<string, string> = { "\n": "\\n", "\t": "\\t", "\r": "\\r" };

function escape(c: string): string {
  const short = SHORT[c];
  if (short) return short;
  const code = c.charCodeAt(0);
  return code < 0x100
    ? `\\x${code.toString(16).padStart(2, "0")}`
    : `\\u${code.toString(16).padStart(4, "0")}`;
}

/**
 * Returns `s` with every character that could drive or fool a terminal written
 * as an escape: `\n`, `\t`, `\r`, `\xHH` (C0, DEL, C1) or `\uHHHH` (separators,
 * bidi controls, lone surrogates). Printable text, including any non-ASCII
 * letter, is returned unchanged; a backslash is left as it is (the output is for
 * people, not to be parsed back: use `--json` for that).
 */
export function printable(s: string, options: PrintableOptions = {}): string {
  const re = options.multiline ? UNSAFE_MULTILINE : UNSAFE;
  re.lastIndex = 0;
  // Fast path: most text has nothing to escape; avoid building a new string.
  if (!re.test(s)) return s;
  re.lastIndex = 0;
  return s.replace(re, escape);
}
