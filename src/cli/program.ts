/**
 * The command line assembled: the global options, every command of `src/cli/`, parsed by
 * parse.ts, with help from help.ts. The commands are tables (command.ts), so listing them for
 * `--help` loads none of their work.
 *
 * @module
 */
import type { ProgramDecl } from "./command.ts";
import type { Cli, Io, State } from "./cli.ts";
import { parseCommandLine } from "./parse.ts";
import { helpText } from "./help.ts";
import { initCommand } from "./init.ts";
import { buildCommand } from "./build.ts";
import { verifyCommand } from "./verify.ts";
import { cpCommand } from "./cp.ts";
import { pushCommand } from "./push.ts";
import { checkCommand } from "./check.ts";
import { sbomCommand } from "./sbom.ts";
import { versionCommand } from "./version.ts";
import { completionsCommand } from "./completions.ts";

/** r10e's command line: the global options and the commands, in the order `--help` lists them. */
export const PROGRAM: ProgramDecl<Cli> = {
  name: "r10e",
  description:
    "Bit-for-bit reproducible, minimal container images for Go applications. The same commit " +
    "built on two machines gives byte-identical image archives: run `r10e init` once in a Go " +
    "module, commit config.json and r10e-docker/, then `r10e build`; anyone can rebuild and " +
    "compare with `r10e verify`.",
  // -v is handled by main before the parser is loaded; declared here for --help and completions.
  options: [
    { flags: "-v, --version", help: "print r10e's version and image format" },
    { flags: "--verbose", help: "print the cause chain of errors and more progress" },
    {
      flags: "--color <when>",
      help: "colors in reports: auto (a terminal without NO_COLOR)",
      choices: ["auto", "always", "never"],
      default: "auto",
    },
  ],
  examples: [
    "r10e init                          in a Go module: write config.json and r10e-docker/",
    "r10e build                         build r10e-docker/out/<project_name>-latest.tar.gz",
    "r10e verify a.tar.gz b.tar.gz      why do two images differ?",
    "r10e check                         rebuild HEAD twice under varied conditions, compare",
    "r10e cp app.tar.gz /app/server .   copy a file out of an image",
  ],
  details: `
Exit codes: 0 success (images identical), 1 build failed (images differ), 2 usage, config or input error, and any other error; 130, 143, 129 when stopped by SIGINT, SIGTERM, SIGHUP (children stopped, temporary files removed).

Run r10e COMMAND --help for a command's examples and options.`,
  commands: [
    initCommand,
    buildCommand,
    verifyCommand,
    cpCommand,
    pushCommand,
    checkCommand,
    sbomCommand,
    versionCommand,
    completionsCommand,
  ],
};

/**
 * Parses `args` and runs the command; returns the exit code.
 * @throws {UsageError} for a mistake in the command line, and what the command throws (main
 *   formats it).
 */
export async function runProgram(
  args: string[],
  context: { io: Io; state: State },
): Promise<number> {
  const { io, state } = context;
  const parsed = parseCommandLine(PROGRAM, args);
  if (parsed.kind === "help") {
    const text = helpText(PROGRAM, parsed.command, helpWidth(io));
    if (parsed.toStderr) io.stderr(text);
    else io.stdout(text);
    return 0;
  }
  const cli: Cli = {
    io,
    state,
    verbose: parsed.global.flag("verbose"),
    color: parsed.global.string("color")!,
    program: PROGRAM,
  };
  try {
    await parsed.command.run(parsed.input, cli);
  } catch (error) {
    throw withNextStep(error);
  }
  return state.exitCode;
}

/** Columns of the terminal help is written to, 40 to 120; 80 when piped. */
function helpWidth(io: Io): number {
  if (!io.isTerminal || !io.columns) return 80;
  return Math.max(40, Math.min(120, io.columns));
}

/**
 * `error` with the step that gets the user further, where a mistake is a common one: an image
 * name of the local engine (`myapp:latest`) given where a file or a registry reference goes.
 */
export function withNextStep(error: unknown): unknown {
  if (!(error instanceof Error)) return error;
  const m = /^Cannot read image "([^"]+)": file not found$/.exec(error.message);
  // The name as typed (a relative one may have been joined to the working directory): with a
  // tag and without a folder or file extension, it is what `docker images` lists.
  const name = m?.[1].slice(m[1].lastIndexOf("/") + 1) ?? "";
  if (/^[a-z0-9][a-z0-9._-]*:\w[\w.-]*$/.test(name)) {
    const file = name.replace(":", "-") + ".tar";
    error.message += `; an image of the local Docker engine is read once saved: ` +
      `docker save -o ${file} ${name}, then give ${file}`;
  }
  return error;
}
