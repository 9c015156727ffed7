import { deepStrictEqual as assertEquals, throws } from "node:assert/strict";
import type { CommandDecl, ProgramDecl } from "./command.ts";
import { parseCommandLine, suggestion } from "./parse.ts";
import { helpText } from "./help.ts";
import { UsageError } from "../errors.ts";

const copy: CommandDecl = {
  name: "copy",
  summary: "copy a file",
  description: "Copy a file somewhere.",
  examples: ["t copy a b   copies a to b"],
  details: "Exit codes: 0 copied.",
  arguments: [
    { name: "from", help: "the file", required: true },
    { name: "to", help: "where", required: false },
  ],
  options: [
    { flags: "-c, --config <path>", help: "the config", default: "config.json" },
    { flags: "--in <where>", help: "where", choices: ["host", "docker"], default: "host" },
    { flags: "-q, --quiet", help: "no progress" },
    { flags: "-f, --force", help: "overwrite" },
    { flags: "--ignore <what>", help: "ignore", repeatable: "comma" },
    { flags: "--from <repo>", help: "mount from", repeatable: true },
    { flags: "--no-build-cmd", help: "skip it" },
    { flags: "--documents <dir>", help: "documents" },
    { flags: "--no-documents", help: "none" },
    { flags: "--quiet-ly <x>", help: "for children", hidden: true },
  ],
  run: () => {},
};
const shell: CommandDecl = {
  name: "shell",
  summary: "a script",
  description: "",
  examples: [],
  arguments: [{ name: "shell", help: "the shell", required: true, choices: ["bash", "zsh"] }],
  options: [],
  run: () => {},
};
const program: ProgramDecl = {
  name: "t",
  description: "A tool.",
  examples: [],
  options: [
    { flags: "--verbose", help: "more" },
    { flags: "--color <when>", help: "colors", choices: ["auto", "never"], default: "auto" },
  ],
  commands: [copy, shell],
};

function run(args: string[]) {
  const parsed = parseCommandLine(program, args);
  if (parsed.kind !== "run") throw new Error(`not a run: ${JSON.stringify(parsed)}`);
  return parsed;
}

function usageError(args: string[]): string {
  let message = "";
  throws(() => parseCommandLine(program, args), (e: unknown) => {
    message = (e as Error).message;
    return e instanceof UsageError;
  });
  return message;
}

Deno.test("parse: options before, between and after arguments, in every spelling", () => {
  const p = run([
    "--verbose",
    "copy",
    "-qc",
    "x.json",
    "a",
    "--in=docker",
    "b",
    "--color",
    "never",
  ]);
  assertEquals(p.command.name, "copy");
  assertEquals(p.input.args, { from: "a", to: "b" });
  const o = p.input.options;
  assertEquals([o.string("config"), o.string("in"), o.flag("quiet"), o.flag("force")], [
    "x.json",
    "docker",
    true,
    false,
  ]);
  assertEquals([p.global.flag("verbose"), p.global.string("color")], [true, "never"]);
  assertEquals(run(["copy", "-cy.json", "a"]).input.options.string("config"), "y.json");
});

Deno.test("parse: defaults, given, negations, repeatable values, --", () => {
  const plain = run(["copy", "a"]).input;
  assertEquals(plain.args, { from: "a", to: undefined });
  const o = plain.options;
  assertEquals([o.string("config"), o.given("config"), o.flag("buildCmd")], [
    "config.json",
    false,
    true,
  ]);
  // --no-documents beside --documents DIR: neither default is set.
  assertEquals(o.raw("documents"), undefined);
  const p = run([
    "copy",
    "--no-build-cmd",
    "--no-documents",
    "--ignore",
    "a,b",
    "--ignore=c",
    "--from",
    "r1",
    "--from",
    "r2,x",
    "-c",
    "config.json",
    "--",
    "-file",
  ]).input;
  assertEquals(p.options.flag("buildCmd"), false);
  assertEquals(p.options.raw("documents"), false);
  assertEquals(p.options.list("ignore"), ["a", "b", "c"]);
  assertEquals(p.options.list("from"), ["r1", "r2,x"]);
  assertEquals(p.options.given("config"), true);
  assertEquals(p.args.from, "-file");
  assertEquals(run(["copy", "-", "-"]).input.args, { from: "-", to: "-" });
});

Deno.test("parse: help anywhere, help COMMAND, and no command is the program's help on stderr", () => {
  assertEquals(parseCommandLine(program, ["copy", "--bad", "-h"]), {
    kind: "help",
    command: copy,
    toStderr: false,
  });
  assertEquals(parseCommandLine(program, ["--help", "copy"]).kind, "help");
  assertEquals(parseCommandLine(program, ["help", "copy"]), {
    kind: "help",
    command: copy,
    toStderr: false,
  });
  assertEquals(parseCommandLine(program, ["help"]), {
    kind: "help",
    command: undefined,
    toStderr: false,
  });
  assertEquals(parseCommandLine(program, []), { kind: "help", toStderr: true });
  assertEquals(parseCommandLine(program, ["--verbose"]), { kind: "help", toStderr: true });
});

Deno.test("parse: mistakes are usage errors that name the mistake, then where the usage is", () => {
  const cases: [string[], string][] = [
    [["copy", "--quite"], "Unknown option '--quite' (did you mean --quiet?)"],
    [
      ["copy", "a", "b", "c"],
      "Too many arguments for 'copy'. Expected 2 arguments but got 3: a, b, c",
    ],
    [["copy"], "Missing required argument 'from'"],
    [["cpy"], "Unknown command 'cpy' (did you mean copy?)"],
    [
      ["copy", "--in", "vm"],
      "Option '--in <where>' argument 'vm' is invalid. Allowed choices are host, docker",
    ],
    [["copy", "a", "-c"], "Option '-c, --config <path>' argument missing"],
    [["copy", "a", "--quiet=1"], "Unknown option '--quiet=1' (did you mean --quiet?)"],
    [
      ["shell", "tcsh"],
      "Command-argument value 'tcsh' is invalid for argument 'shell'. Allowed choices are bash, zsh",
    ],
    [["-x"], "Unknown option '-x'"],
  ];
  for (const [args, first] of cases) {
    const [line, hint] = usageError(args).split("\n");
    assertEquals(line, first);
    assertEquals(
      hint,
      args[0] === "copy"
        ? "(t copy --help shows its usage)"
        : args[0] === "shell"
        ? "(t shell --help shows its usage)"
        : "(t --help shows the commands)",
    );
  }
});

Deno.test("suggestion: the closest names, none when nothing is alike", () => {
  assertEquals(suggestion("--hepl", ["--help", "--json"]), " (did you mean --help?)");
  assertEquals(suggestion("verfy", ["verify", "version"]), " (did you mean verify?)");
  assertEquals(suggestion("zzz", ["verify", "version"]), "");
  assertEquals(suggestion("--ab", ["--ac", "--ad"]), " (did you mean one of --ac, --ad?)");
});

Deno.test("help: usage, description, examples, arguments and options aligned, then the details", () => {
  assertEquals(
    helpText(program, shell, 80),
    [
      "Usage: t shell [options] <shell>",
      "",
      "Arguments:",
      '  shell       the shell (choices: "bash", "zsh")',
      "",
      "Options:",
      "  -h, --help  display help for command",
      "",
    ].join("\n"),
  );
  const top = helpText(program, undefined, 80);
  assertEquals(top.startsWith("Usage: t [options] [command]\n\nA tool.\n\nCommands:\n"), true, top);
  assertEquals(
    top.includes('  --color <when>  colors (choices: "auto", "never", default: "auto")'),
    true,
    top,
  );
  const text = helpText(program, copy, 40);
  assertEquals(text.includes("--quiet-ly"), false, text);
  assertEquals(run(["copy", "a", "--quiet-ly", "1"]).input.options.string("quietLy"), "1");
  assertEquals(
    text.includes("\nExamples:\n  t copy a b   copies a to b\n\nArguments:\n"),
    true,
    text,
  );
  assertEquals(text.endsWith("\n\nExit codes: 0 copied.\n"), true, text);
  // Too narrow a column for the options' help: not wrapped at all.
  assertEquals(
    text.includes('  --in <where>         where (choices: "host", "docker", default: "host")'),
    true,
    text,
  );
  for (const line of helpText(program, copy, 66).split("\n")) {
    assertEquals(line.length <= 66, true, line);
  }
});
