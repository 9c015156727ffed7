import { assertEquals, assertThrows } from "../../tests/_assert.ts";
import { ConfigError, formatProblem } from "../errors.ts";
import { checkImagePath, checkProjectPath, parseConfig } from "./schema.ts";

const COMPAT = new URL("../../tests/fixtures/r10edocker/", import.meta.url);

Deno.test("parseConfig: every r10edocker config in tests/fixtures/r10edocker loads unchanged", async (t) => {
  for await (const entry of Deno.readDir(COMPAT)) {
    if (!entry.name.endsWith(".json")) continue;
    await t.step(entry.name, async () => {
      const text = await Deno.readTextFile(new URL(entry.name, COMPAT));
      const { config, warnings } = parseConfig(text, entry.name);
      const raw = JSON.parse(text);
      assertEquals(warnings, []);
      assertEquals(config.project_name, raw.project_name);
      assertEquals(config.build_cmd, raw.build_cmd);
      assertEquals(config.artifacts, raw.artifacts);
      assertEquals(config.extern_data, raw.extern_data ?? []);
      assertEquals(config.include_ca_bundle, raw.include_ca_bundle ?? false);
      assertEquals(config.maintainers, raw.maintainers ?? []);
      assertEquals(config.platform, "linux/amd64");
    });
  }
});

/** The problems of an invalid config, formatted as users see them. */
function problemsOf(text: string): string[] {
  const error = assertThrows(() => parseConfig(text, "config.json"), ConfigError) as ConfigError;
  return error.problems.map(formatProblem);
}

const base = (extra: string) =>
  `{\n  "project_name": "app",\n  "build_cmd": "make",\n  "artifacts": [{"src": "bin/app", "dest": "/app/app"}]${extra}\n}`;

Deno.test("parseConfig: each mistake has its exact message with line:column and JSON path", async (t) => {
  const cases: [string, string, string[]][] = [
    [
      "empty project_name",
      `{"project_name": "", "build_cmd": "make", "artifacts": [{"src": "a", "dest": "/a"}]}`,
      [
        "config.json:1:18: project_name: expected a lowercase image name, found an empty or blank string",
      ],
    ],
    [
      "blank build_cmd",
      `{"project_name": "app", "build_cmd": "  ", "artifacts": [{"src": "a", "dest": "/a"}]}`,
      [
        "config.json:1:38: build_cmd: expected a command, found an empty or blank string",
      ],
    ],
    [
      "uppercase project_name",
      `{"project_name": "My App", "build_cmd": "make", "artifacts": [{"src": "a", "dest": "/a"}]}`,
      [
        'config.json:1:18: project_name: expected a lowercase image name (a-z, 0-9, separators . _ - and /, starting and ending with a letter or digit), found "My App"',
      ],
    ],
    ["missing artifacts", `{"project_name": "app", "build_cmd": "make"}`, [
      'config.json:1:1: artifacts: expected a non-empty array of {"src", "dest"}, found nothing (the field is missing)',
    ]],
    ["empty artifacts", `{"project_name": "app", "build_cmd": "make", "artifacts": []}`, [
      'config.json:1:59: artifacts: expected at least one artifact {"src", "dest"}, found an empty array',
    ]],
    ["relative dest", base(`,\n  "extern_data": [{"src": "LICENSE", "dest": "LICENSE"}]`), [
      'config.json:5:46: extern_data[0].dest: expected an absolute path in the image, found "LICENSE"',
    ]],
    ["dest not normalized", base(`,\n  "extern_data": [{"src": "a", "dest": "/x/../y"}]`), [
      'config.json:5:40: extern_data[0].dest: expected a normalized absolute path (no "//", "." or ".." parts), found "/x/../y"',
    ]],
    ["dest is the root", base(`,\n  "extern_data": [{"src": "a", "dest": "/"}]`), [
      'config.json:5:40: extern_data[0].dest: expected a path below "/", found "/": the image root cannot be replaced',
    ]],
    [
      "artifact dest with trailing slash",
      `{"project_name": "app", "build_cmd": "make", "artifacts": [{"src": "a", "dest": "/app/"}]}`,
      [
        'config.json:1:81: artifacts[0].dest: expected a normalized absolute path (no "//", "." or ".." parts, no trailing slash), found "/app/"',
      ],
    ],
    ["src leaves the project", base(`,\n  "extern_data": [{"src": "../secrets", "dest": "/s"}]`), [
      'config.json:5:27: extern_data[0].src: expected a path inside the project, found "../secrets", which leaves it through ".."',
    ]],
    ["absolute src", base(`,\n  "extern_data": [{"src": "/etc/passwd", "dest": "/p"}]`), [
      'config.json:5:27: extern_data[0].src: expected a path relative to the project root, found the absolute path "/etc/passwd"',
    ]],
    ["duplicate dests", base(`,\n  "extern_data": [{"src": "x", "dest": "/app/app"}]`), [
      'config.json:5:40: extern_data[0].dest: duplicate dest "/app/app": also at artifacts[0].dest',
    ]],
    [
      "dest under an artifact file",
      base(`,\n  "extern_data": [{"src": "x", "dest": "/app/app/x"}]`),
      [
        'config.json:5:40: extern_data[0].dest: expected a path outside "/app/app", found "/app/app/x": "/app/app" is an artifact file (artifacts[0].dest)',
      ],
    ],
    ["malformed go_version", base(`,\n  "go_version": "go1.26"`), [
      'config.json:5:17: go_version: expected a Go version like "1.26" or "1.26.8", found "go1.26"',
    ]],
    ["wrong type", base(`,\n  "include_ca_bundle": "yes"`), [
      'config.json:5:24: include_ca_bundle: expected true or false, found "yes"',
    ]],
    ["invalid JSON", `{"project_name": "app",,}`, [
      "config.json:1:24: invalid JSON: expected a property name in double quotes",
    ]],
  ];
  for (const [name, text, want] of cases) {
    await t.step(name, () => assertEquals(problemsOf(text), want));
  }
});

Deno.test("parseConfig: all problems are reported at once", () => {
  const problems = problemsOf(
    `{"project_name": "A", "build_cmd": "", "artifacts": [{"src": "../a", "dest": "a"}]}`,
  );
  assertEquals(problems.length, 4);
});

Deno.test("parseConfig: comments and trailing commas are allowed; unknown fields are warnings", () => {
  const { config, warnings } = parseConfig(
    `// r10e config\n{\n  "project_name": "app", /* inline */\n  "build_cmd": "make",\n  "artifacts": [{"src": "a", "dest": "/a"},],\n  "colour": "blue",\n}`,
    "config.json",
  );
  assertEquals(config.project_name, "app");
  assertEquals(warnings.map(formatProblem), [
    'config.json:6:3: colour: unknown field "colour" is ignored',
  ]);
});

Deno.test("parseConfig: extensions", () => {
  const { config } = parseConfig(
    base(`,
  "entrypoint": ["/app/app"], "cmd": ["--serve"], "env": {"B": "2", "A": "1"},
  "workdir": "/app", "user": "65534", "labels": {"x": "y"}, "platform": "linux/arm64"`),
    "config.json",
  );
  assertEquals(
    [
      config.entrypoint,
      config.cmd,
      config.env,
      config.workdir,
      config.user,
      config.labels,
      config.platform,
    ],
    [["/app/app"], ["--serve"], { B: "2", A: "1" }, "/app", "65534", { x: "y" }, "linux/arm64"],
  );
});

Deno.test("checkImagePath and checkProjectPath", () => {
  assertEquals(checkImagePath("/app/x"), null);
  assertEquals(checkImagePath("/app/x/", true), null);
  assertEquals(checkImagePath("/a//b") !== null, true);
  assertEquals(checkProjectPath("build/x"), null);
  assertEquals(checkProjectPath("a/../../b") !== null, true);
  assertEquals(checkProjectPath(".") !== null, true);
});

Deno.test("parseConfig: source is a URL without credentials; r10e's own labels are not settable", async (t) => {
  assertEquals(
    parseConfig(base(`,\n  "source": "https://github.com/org/repo"`), "config.json").config.source,
    "https://github.com/org/repo",
  );
  assertEquals(
    parseConfig(base(`,\n  "source": "ssh://git@github.com/org/repo.git"`), "config.json").config
      .source,
    "ssh://git@github.com/org/repo.git",
  );
  const cases: [string, string, string[]][] = [
    ["user:password in an https URL", `,\n  "source": "https://bob:hunter2@github.com/org/repo"`, [
      'config.json:5:13: source: expected a URL without credentials (it becomes a public label), found one with "user:password@": remove the part before "@"',
    ]],
    ["a token as the user", `,\n  "source": "https://ghp_abc@github.com/org/repo"`, [
      'config.json:5:13: source: expected a URL without credentials (it becomes a public label), found one with "user@": remove the part before "@"',
    ]],
    ["not a URL", `,\n  "source": "github.com/org/repo"`, [
      'config.json:5:13: source: expected a URL such as "https://github.com/org/repo", found "github.com/org/repo"',
    ]],
    [
      "credentials in the source label",
      `,\n  "labels": {"org.opencontainers.image.source": "https://u:p@h/r"}`,
      [
        'config.json:5:49: labels["org.opencontainers.image.source"]: expected a URL without credentials (it becomes a public label), found one with "user:password@": remove the part before "@"',
      ],
    ],
    ["the revision label", `,\n  "labels": {"org.opencontainers.image.revision": "abc"}`, [
      'config.json:5:51: labels["org.opencontainers.image.revision"]: expected no label "org.opencontainers.image.revision": r10e sets it from git HEAD',
    ]],
  ];
  for (const [name, extra, want] of cases) {
    await t.step(name, () => {
      const problems = problemsOf(base(extra));
      assertEquals(problems, want);
      // The password never appears in the message.
      assertEquals(problems.join("").includes("hunter2"), false);
    });
  }
});

Deno.test("parseConfig: an unknown field near a known one says which was meant", async (t) => {
  const cases: [string, string][] = [
    ["entrypiont", ': did you mean "entrypoint"?'],
    ["Build_Cmd", ': did you mean "build_cmd"?'],
    ["extern-data", ': did you mean "extern_data"?'],
    ["go_versoin", ': did you mean "go_version"?'],
    ["artifact", ': did you mean "artifacts"?'],
    ["colour", ""],
  ];
  for (const [field, hint] of cases) {
    await t.step(field, () => {
      const { warnings } = parseConfig(
        `{"project_name": "app", "build_cmd": "make", "artifacts": [{"src": "a", "dest": "/a"}],\n "${field}": 1}`,
        "config.json",
      );
      assertEquals(warnings.map(formatProblem), [
        `config.json:2:2: ${
          field.includes("-") ? `["${field}"]` : field
        }: unknown field "${field}" is ignored${hint}`,
      ]);
    });
  }
});

Deno.test("parseConfig: unknown fields of artifacts and extern_data entries are warnings too", () => {
  const { warnings } = parseConfig(
    `{"project_name": "app", "build_cmd": "make",\n "artifacts": [{"src": "a", "dest": "/a", "Dest": "/b"}],\n "extern_data": [{"src": "d", "dest": "/d", "mode": 1}]}`,
    "config.json",
  );
  assertEquals(warnings.map(formatProblem), [
    'config.json:2:43: artifacts[0].Dest: unknown field "Dest" is ignored: did you mean "dest"?',
    'config.json:3:45: extern_data[0].mode: unknown field "mode" is ignored',
  ]);
});
