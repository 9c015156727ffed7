/**
 * The command line assembled: the global options, every command of `src/cli/`, one layout of
 * help (examples first, then options, then details wrapped to the terminal) and one style of
 * error (`r10e: …`, as every other error).
 *
 * @module
 */
// commander with extra-typings: typed options and arguments; @cliffy/command is JSR-only (STYLE: dependencies).
import { Command, CommanderError, Help, Option } from "@commander-js/extra-typings";
import { printable } from "../printable.ts";
import { type AddCommand, type Cli, helpSectionsOf, type Io, type State, withHelp } from "./cli.ts";
import { addInitCommand } from "./init.ts";
import { addBuildCommand } from "./build.ts";
import { addVerifyCommand } from "./verify.ts";
import { addCpCommand } from "./cp.ts";
import { addPushCommand } from "./push.ts";
import { addCheckCommand } from "./check.ts";
import { addSbomCommand } from "./sbom.ts";
import { addVersionCommand } from "./version.ts";
import { addCompletionsCommand } from "./completions.ts";

/** The commands, in the order `--help` lists them. */
const COMMANDS: AddCommand[] = [
  addInitCommand,
  addBuildCommand,
  addVerifyCommand,
  addCpCommand,
  addPushCommand,
  addCheckCommand,
  addSbomCommand,
  addVersionCommand,
  addCompletionsCommand,
];

/**
 * Parses `args` and runs the command; returns the exit code.
 * @throws what the command throws (main formats it).
 */
export async function runProgram(
  args: string[],
  context: { io: Io; state: State },
): Promise<number> {
  const program = buildProgram(context.io, context.state);
  try {
    await program.parseAsync(args, { from: "user" });
    return context.state.exitCode;
  } catch (error) {
    if (!(error instanceof CommanderError)) throw withNextStep(error);
    return ["commander.helpDisplayed", "commander.help", "commander.version"].includes(error.code)
      ? 0
      : 2;
  }
}

function buildProgram(io: Io, state: State) {
  const program = new Command()
    .name("r10e")
    .description(
      "Bit-for-bit reproducible, minimal container images for Go applications. The same commit " +
        "built on two machines gives byte-identical image archives: run `r10e init` once in a Go " +
        "module, commit config.json and r10e-docker/, then `r10e build`; anyone can rebuild and " +
        "compare with `r10e verify`.",
    )
    // Handled by main before the parser is loaded; declared here for --help and completions.
    .addOption(new Option("-v, --version", "print r10e's version and image format"))
    .option("--verbose", "print the cause chain of errors and more progress")
    .addOption(
      new Option("--color <when>", "colors in reports: auto (a terminal without NO_COLOR)")
        .choices(["auto", "always", "never"] as const).default("auto" as const),
    )
    .configureOutput({
      writeOut: (s) => io.stdout(s),
      writeErr: (s) => io.stderr(printable(s, { multiline: true })),
      outputError: (s, write) => write(commanderMessage(s)),
      getOutHelpWidth: () => helpWidth(io),
      getErrHelpWidth: () => helpWidth(io),
    })
    .configureHelp({
      formatHelp,
      sortSubcommands: false,
      // One line per command, as crane lists its verbs: the name, then the summary.
      subcommandTerm: (command) => command.name(),
    })
    .exitOverride();
  withHelp(program, {
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
  });

  const cli: Cli = {
    io,
    state,
    verbose: () => program.opts().verbose === true,
    color: () => program.opts().color,
  };
  for (const add of COMMANDS) add(program as unknown as Command, cli);
  for (const command of program.commands) {
    command.showHelpAfterError(`(r10e ${command.name()} --help shows its usage)`);
  }
  program.showHelpAfterError("(r10e --help shows the commands)");
  return program;
}

/** Columns of the terminal help is written to; 80 when piped. */
function helpWidth(io: Io): number {
  if (!io.isTerminal) return 80;
  try {
    return Math.max(40, Math.min(120, Deno.consoleSize().columns));
  } catch {
    return 80;
  }
}

/** commander's `error: unknown option '--x'` in r10e's style: `r10e: Unknown option '--x'`. */
export function commanderMessage(text: string): string {
  const body = text.replace(/^error: /, "").replace(/\.?\n?$/, "")
    .replace(/\.?\n\(Did you mean (.*)\)$/, " (did you mean $1)");
  return `r10e: ${body.charAt(0).toUpperCase()}${body.slice(1)}\n`;
}

/** Help: usage, description, examples, arguments and options, commands, then the details. */
function formatHelp(command: Command, helper: Help): string {
  const width = helper.helpWidth ?? 80;
  const base = Help.prototype.formatHelp.call(helper, command, helper);
  const sections = helpSectionsOf(command);
  if (!sections) return base;
  const examples = sections.examples.length
    ? `Examples:\n${sections.examples.map((e) => `  ${e}`).join("\n")}\n\n`
    : "";
  // After the usage line and the description: the first heading of the default layout.
  const at = base.search(/^(Arguments|Options|Commands):$/m);
  const head = at < 0 ? base : base.slice(0, at);
  let tail = at < 0 ? "" : base.slice(at);
  // The top level lists its commands before its options: they are what a newcomer looks for.
  const commands = /^Commands:\n(?: {2}.*\n?)+/m.exec(tail);
  if (commands && tail.startsWith("Options:")) {
    tail = commands[0].replace(/\n?$/, "\n\n") + tail.replace(commands[0], "").replace(/\n+$/, "");
  }
  if (!sections.details) return head + examples + tail;
  return head + examples + tail.replace(/\n*$/, "\n\n") +
    flow(sections.details.trim(), width, helper) +
    "\n";
}

/**
 * `text` with each run of lines that do not start with a space joined and wrapped at words to
 * `width`; indented lines (commands, tables) are kept as written.
 */
function flow(
  text: string,
  width: number,
  helper: { boxWrap(s: string, w: number): string },
): string {
  const out: string[] = [];
  let run: string[] = [];
  const end = () => {
    if (run.length) out.push(helper.boxWrap(run.join(" "), width));
    run = [];
  };
  for (const line of text.split("\n")) {
    if (line === "" || /^\s/.test(line)) {
      end();
      out.push(line);
    } else run.push(line.trim());
  }
  end();
  return out.join("\n");
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
