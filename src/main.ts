/**
 * The command line: argv → command. The only place that reads `Deno.env`,
 * prints, and exits (STYLE: shape). Everything below takes values and returns
 * values or throws.
 *
 * @module
 */
// commander with extra-typings: typed options and arguments; @cliffy/command is JSR-only (STYLE: dependencies).
import { Command, CommanderError } from "@commander-js/extra-typings";
import { exitCodeOf, UsageError } from "./errors.ts";
import { VERSION } from "./version.ts";

/** Where a command writes: injectable so that tests can run `main` in-process. */
export interface Io {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  /** Raw bytes to standard output (for `cp … -`). */
  stdoutBytes: WritableStream<Uint8Array>;
  env: Record<string, string>;
  cwd: string;
  isTerminal: boolean;
}

/** Mutable result of a command's action: actions set a non-zero exit code here instead of exiting. */
interface State {
  exitCode: number;
}

function buildProgram(io: Io, state: State) {
  const program = new Command()
    .name("r10e")
    .description(
      "Bit-for-bit reproducible, minimal container images for Go applications.\n\n" +
        "The same commit built on two machines gives byte-identical image archives.\n" +
        "Run `r10e init` once in a Go project that has a config.json, commit r10e-docker/,\n" +
        "then `r10e build`; anyone can rebuild and compare with `r10e verify`.",
    )
    .version(VERSION, "-V, --version")
    .option("--verbose", "print the cause chain of errors and more progress")
    .configureOutput({
      writeOut: (s) => io.stdout(s),
      writeErr: (s) => io.stderr(s),
    })
    .exitOverride()
    .showHelpAfterError("(run with --help for usage)");

  program.addHelpText(
    "after",
    `
Exit codes: 0 success (images identical), 1 build failed (images differ), 2 usage, config or input error.

Examples:
  r10e init                      write r10e-docker/ from ./config.json
  r10e build                     build r10e-docker/out/<project_name>-latest.tar.gz
  r10e verify a.tar.gz b.tar.gz  why do two images differ?
  r10e cp image.tar.gz /app/server ./out/`,
  );

  // ── init ─────────────────────────────────────────────────────────────────
  // (owned by the build pipeline)

  // ── build ────────────────────────────────────────────────────────────────
  // (owned by the build pipeline)

  // ── verify ───────────────────────────────────────────────────────────────
  // (owned by issue 4: verify)

  // ── cp ───────────────────────────────────────────────────────────────────
  // (owned by issue 5: cp)

  void state;
  return program;
}

/**
 * Runs the CLI with `args` and returns the exit code. Does not call `Deno.exit`,
 * so tests can run it in-process.
 */
export async function main(args: string[], io: Io): Promise<number> {
  const state = { exitCode: 0 };
  const program = buildProgram(io, state);
  try {
    await program.parseAsync(args, { from: "user" });
    return state.exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.code === "commander.helpDisplayed" || error.code === "commander.version") return 0;
      if (error.code === "commander.help") return 0;
      return 2;
    }
    const verbose = program.opts().verbose === true;
    io.stderr(formatError(error, verbose) + "\n");
    return exitCodeOf(error);
  }
}

/** `r10e: message`, with the cause chain (and stack traces) only when verbose. */
export function formatError(error: unknown, verbose: boolean): string {
  const lines: string[] = [];
  let current: unknown = error;
  let first = true;
  while (current) {
    const message = current instanceof Error ? current.message : String(current);
    lines.push(first ? `r10e: ${message}` : `  caused by: ${message}`);
    if (verbose && current instanceof Error && current.stack && !(current instanceof UsageError)) {
      lines.push(current.stack.split("\n").slice(1).join("\n"));
    }
    first = false;
    current = current instanceof Error ? current.cause : undefined;
    if (!verbose && current) {
      // Without --verbose, show only the innermost cause: it says what went wrong at the bottom.
      while (current instanceof Error && current.cause) current = current.cause;
      const inner = current instanceof Error ? current.message : String(current);
      if (!lines[0].includes(inner)) lines.push(`  caused by: ${inner}`);
      break;
    }
  }
  return lines.join("\n");
}

if (import.meta.main) {
  const code = await main(Deno.args, {
    stdout: (s) => Deno.stdout.writeSync(new TextEncoder().encode(s)),
    stderr: (s) => Deno.stderr.writeSync(new TextEncoder().encode(s)),
    stdoutBytes: Deno.stdout.writable,
    env: Deno.env.toObject(),
    cwd: Deno.cwd(),
    isTerminal: Deno.stdout.isTerminal(),
  });
  Deno.exit(code);
}
