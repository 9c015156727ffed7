import { assertEquals } from "../tests/_assert.ts";
import { printable } from "./printable.ts";

Deno.test("printable escapes what drives or fools a terminal", async (t) => {
  const cases: [string, string, string][] = [
    ["plain ASCII", "app/server", "app/server"],
    [
      "letters beyond ASCII",
      "caf\u00e9/\u65e5\u672c/\u{1f600}",
      "caf\u00e9/\u65e5\u672c/\u{1f600}",
    ],
    ["backslash stays", "a\\b", "a\\b"],
    ["empty", "", ""],
    ["title and clear screen", "\x1b]0;pwned\x07\x1b[2J", "\\x1b]0;pwned\\x07\\x1b[2J"],
    ["newline, tab, CR", "a\nb\tc\rd", "a\\nb\\tc\\rd"],
    ["NUL and DEL", "\x00\x7f", "\\x00\\x7f"],
    ["C1 (CSI U+009B, U+0080, U+009F)", "\u009b2J\u0080\u009f", "\\x9b2J\\x80\\x9f"],
    ["U+00A0 is printable", "a\u00a0b", "a\u00a0b"],
    ["line and paragraph separators", "a\u2028b\u2029", "a\\u2028b\\u2029"],
    ["bidi override and isolate", "\u202eexe.txt\u2066", "\\u202eexe.txt\\u2066"],
    ["lone high surrogate", "a\ud800b", "a\\ud800b"],
    ["lone low surrogate", "a\udc00b", "a\\udc00b"],
    ["high surrogate at the end", "a\udbff", "a\\udbff"],
    ["surrogate pair kept", "\ud83d\ude00", "\ud83d\ude00"],
    ["two high then low: the first is lone", "\ud800\ud800\udc00", "\\ud800\ud800\udc00"],
  ];
  for (const [name, input, want] of cases) {
    await t.step(name, () => assertEquals(printable(input), want));
  }
});

Deno.test("printable multiline keeps newline and tab only", () => {
  assertEquals(
    printable("line 1\n\tline 2\r\x1b[2J\u009b", { multiline: true }),
    "line 1\n\tline 2\\r\\x1b[2J\\x9b",
  );
});

/** Checked code unit by code unit, independently of the regexps under test. */
function hasControl(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || (c >= 0x7f && c <= 0x9f) || c === 0x2028 || c === 0x2029) return true;
    if ((c >= 0x202a && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069)) return true;
  }
  return false;
}

Deno.test("printable output has no control character left", () => {
  // Every code unit below U+0100 and the separators/bidi range, one at a time and together.
  let all = "";
  for (let c = 0; c < 0x100; c++) all += String.fromCharCode(c);
  for (let c = 0x2000; c < 0x2070; c++) all += String.fromCharCode(c);
  all += "\ud800\udfff";
  for (const s of [all, ...all]) {
    const out = printable(s);
    assertEquals(
      hasControl(out),
      false,
      JSON.stringify(s),
    );
    assertEquals(out.isWellFormed(), true, JSON.stringify(s));
  }
  // Repeated calls give the same answer (the global regexps keep no state between calls).
  assertEquals(printable("\x1b"), printable("\x1b"));
});
