/**
 * The config loader: hostile and unlucky config files, made by the test.
 * Each is refused with exit 2 and one message at the place of the mistake; none
 * ends in a stack overflow, a silently dropped key or a quadratic wait.
 */
import { assertEquals, assertThrows } from "./_assert.ts";
import { r10e } from "./_cli.ts";
import { ConfigError, formatProblem } from "../src/errors.ts";
import { LIMITS, parseConfig } from "../src/config/schema.ts";
import { firstInvalidUtf8 } from "../src/config/load.ts";

const base = (extra: string) =>
  `{\n  "project_name": "app",\n  "build_cmd": "make",\n  "artifacts": [{"src": "bin/app", "dest": "/app/app"}]${extra}\n}`;

/** `text` as UTF-8 with `byte` inserted at (UTF-16) index `at`. */
function withByte(text: string, at: number, byte: number): Uint8Array {
  const enc = new TextEncoder();
  return new Uint8Array([...enc.encode(text.slice(0, at)), byte, ...enc.encode(text.slice(at))]);
}

function problemsOf(text: string): string[] {
  const error = assertThrows(() => parseConfig(text, "config.json"), ConfigError) as ConfigError;
  return error.problems.map(formatProblem);
}

Deno.test("config: each hostile input is refused at its own position", async (t) => {
  const cases: [string, string, string[]][] = [
    [
      "a duplicate key, at the second one, naming the first",
      base(`,\n  "build_cmd": 3`),
      [
        'config.json:5:3: build_cmd: duplicate key "build_cmd" (first at line 3, column 3): write each key once',
      ],
    ],
    [
      "__proto__ in labels is refused, not dropped",
      base(`,\n  "labels": {"a": "b", "__proto__": "x"}`),
      [
        'config.json:5:24: labels.__proto__: the key "__proto__" is not accepted (no image field or label needs it, and JavaScript objects cannot hold it as data)',
      ],
    ],
    [
      "__proto__ at the top cannot lend its fields to the config",
      `{"__proto__": {"project_name": "app", "build_cmd": "x", "artifacts": [{"src": "a", "dest": "/a"}]}}`,
      [
        'config.json:1:2: __proto__: the key "__proto__" is not accepted (no image field or label needs it, and JavaScript objects cannot hold it as data)',
      ],
    ],
    [
      "a dest named like a whiteout marker",
      base(`,\n  "extern_data": [{"src": "d", "dest": "/app/.wh.secret"}]`),
      [
        'config.json:5:40: extern_data[0].dest: expected a path without whiteout names, found "/app/.wh.secret": a name starting with ".wh." (".wh.secret") marks a deleted file in an image layer',
      ],
    ],
    [
      "a whiteout directory in the middle of a dest",
      base("").replace('"/app/app"', '"/.wh..wh..opq/app"'),
      [
        'config.json:4:44: artifacts[0].dest: expected a path without whiteout names, found "/.wh..wh..opq/app": a name starting with ".wh." (".wh..wh..opq") marks a deleted file in an image layer',
      ],
    ],
    [
      "a user with a newline",
      base(`,\n  "user": "root\\nUSER x"`),
      [
        'config.json:5:11: user: expected a user such as "65534" or "65534:65534" (a name or uid, optionally ":" and a group, without spaces or control characters), found "root\\nUSER x"',
      ],
    ],
    [
      "a 70,000-byte label",
      base(`,\n  "labels": {"a": "${"x".repeat(70000)}"}`),
      ["config.json:5:19: labels.a: expected at most 65536 bytes, found 70000 bytes"],
    ],
    [
      "a 300-byte project_name",
      base("").replace('"app"', `"${"a".repeat(300)}"`),
      ["config.json:2:19: project_name: expected at most 255 bytes, found 300 bytes"],
    ],
    [
      "a build_cmd too long for one argument of /bin/sh",
      base("").replace('"make"', `"${"m".repeat(200000)}"`),
      [
        "config.json:3:16: build_cmd: expected a command of at most 131056 bytes, found 200000 bytes: the system passes at most 131072 bytes in one argument or variable to /bin/sh (put the commands in a script and call it)",
      ],
    ],
    [
      "a name longer than a filesystem holds",
      base("").replace('"/app/app"', `"/app/${"n".repeat(256)}"`),
      [
        `config.json:4:44: artifacts[0].dest: expected names of at most 255 bytes, found one of 256 bytes: "${
          "n".repeat(56)
        }..."`,
      ],
    ],
    [
      "a BOM is named",
      "\ufeff" + base(""),
      [
        "config.json:1:1: the file starts with a byte order mark (U+FEFF, bytes EF BB BF): save it as UTF-8 without a BOM",
      ],
    ],
    [
      "CR-only line ends give real line numbers",
      `{\r  "project_name": "app",\r  "build_cmd": 3,\r  "artifacts": [{"src": "bin/app", "dest": "/app/app"}]\r}`,
      ["config.json:3:16: build_cmd: expected a command, found 3"],
    ],
    [
      "CRLF line ends count once",
      `{\r\n  "project_name": "app",\r\n  "build_cmd": 3,\r\n  "artifacts": [{"src": "bin/app", "dest": "/app/app"}]\r\n}`,
      ["config.json:3:16: build_cmd: expected a command, found 3"],
    ],
    [
      "nested 5,000 deep in an unknown field",
      `{"x": ${"[".repeat(5000)}${"]".repeat(5000)}, ` + base("").slice(1),
      ["config.json:1:70: invalid JSON: nested deeper than 64 levels"],
    ],
    [
      "nested 100,000 deep, unterminated",
      "[".repeat(100000),
      ["config.json:1:65: invalid JSON: nested deeper than 64 levels"],
    ],
    [
      "brackets inside strings and comments do not count",
      base(
        `,\n  // ${"[".repeat(100)}\n  /* ${"{".repeat(100)} */\n  "labels": {"a": "${
          "[".repeat(100)
        }\\""}`,
      ),
      [],
    ],
  ];
  for (const [name, text, want] of cases) {
    await t.step(name, () => {
      if (want.length === 0) parseConfig(text, "config.json");
      else assertEquals(problemsOf(text), want);
    });
  }
});

Deno.test("config: __proto__-free labels keep every key, including Object.prototype names", () => {
  const { config } = parseConfig(
    base(`,\n  "labels": {"constructor": "c", "toString": "t", "hasOwnProperty": "h"}`),
    "config.json",
  );
  assertEquals(Object.keys(config.labels).sort(), ["constructor", "hasOwnProperty", "toString"]);
  assertEquals(config.labels["toString"] as unknown, "t");
});

Deno.test("config: checking dests grows linearly with their number (50,000 took 19 s)", () => {
  const text = (n: number) => {
    const arts = Array.from(
      { length: n },
      (_, i) => `{"src": "a${i}", "dest": "/app/d${i % 100}/f${i}"}`,
    ).join(",\n");
    return `{"project_name": "a", "build_cmd": "m", "artifacts": [${arts}]}`;
  };
  const time = (n: number) => {
    const t = text(n);
    const start = performance.now();
    const { config } = parseConfig(t, "config.json");
    assertEquals(config.artifacts.length, n);
    return performance.now() - start;
  };
  time(2000); // warm up the JIT
  // A ratio, not a time: 10x the dests must cost far less than the 100x of a quadratic check.
  const small = Math.min(time(5000), time(5000));
  const large = time(50000);
  assertEquals(large / small < 40, true, `5,000 dests: ${small} ms; 50,000: ${large} ms`);
});

Deno.test("config: firstInvalidUtf8 finds the first bad byte", () => {
  const enc = new TextEncoder();
  const cat = (...p: (string | number[])[]) =>
    new Uint8Array(p.flatMap((x) => typeof x === "string" ? [...enc.encode(x)] : x));
  assertEquals(firstInvalidUtf8(cat("ok \u00e9\u20ac\u{1f600}")), 12);
  assertEquals(firstInvalidUtf8(cat("ab", [0xff], "c")), 2);
  assertEquals(firstInvalidUtf8(cat("ab", [0xc0, 0x80])), 2); // overlong NUL
  assertEquals(firstInvalidUtf8(cat("a", [0xed, 0xa0, 0x80])), 1); // a surrogate
  assertEquals(firstInvalidUtf8(cat("a", [0xf4, 0x90, 0x80, 0x80])), 1); // above U+10FFFF
  assertEquals(firstInvalidUtf8(cat("abc", [0xe2, 0x82])), 3); // truncated at the end
});

Deno.test("config: the CLI refuses bad bytes, a BOM, deep nesting and a huge file with exit 2", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "r10e-hostile-config-" });
  try {
    const enc = new TextEncoder();
    const cases: [string, Uint8Array, string][] = [
      [
        "invalid UTF-8 is an error, not replaced",
        withByte(base(""), base("").indexOf("make") + 2, 0xff),
        `r10e: Invalid config "${dir}/c.json"\n  ${dir}/c.json:3:19: invalid UTF-8 at byte 45 (0xff): save the file as UTF-8\n`,
      ],
      [
        "a BOM",
        enc.encode("\ufeff" + base("")),
        `r10e: Invalid config "${dir}/c.json"\n  ${dir}/c.json:1:1: the file starts with a byte order mark (U+FEFF, bytes EF BB BF): save it as UTF-8 without a BOM\n`,
      ],
      [
        "nested 5,000 deep",
        enc.encode(`{"x": ${"[".repeat(5000)}${"]".repeat(5000)}}`),
        `r10e: Invalid config "${dir}/c.json"\n  ${dir}/c.json:1:70: invalid JSON: nested deeper than 64 levels\n`,
      ],
      [
        "nested 100,000 deep",
        enc.encode(`{"x": ${'{"a":'.repeat(100000)}1${"}".repeat(100000)}}`),
        `r10e: Invalid config "${dir}/c.json"\n  ${dir}/c.json:1:322: invalid JSON: nested deeper than 64 levels\n`,
      ],
      [
        "a 10 MB project_name (the file is over the limit)",
        enc.encode(base("").replace('"app"', `"${"a".repeat(10_000_000)}"`)),
        `r10e: Cannot read config "${dir}/c.json": expected at most ${LIMITS.fileBytes} bytes, found more\n`,
      ],
    ];
    for (const [name, bytes, want] of cases) {
      await t.step(name, async () => {
        await Deno.writeFile(`${dir}/c.json`, bytes);
        const r = await r10e(["build", "-c", `${dir}/c.json`], { cwd: dir });
        assertEquals(r.code, 2, r.stderr);
        assertEquals(r.stderr, want);
        assertEquals(r.stdout, "");
      });
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
