/**
 * What every command of `src/cli/` shares: the {@linkcode Io} it writes through, the
 * {@linkcode Cli} it is added with, and the options several commands take, declared once.
 * Only commander and types are loaded here: a command's own modules are imported inside its
 * action, so `r10e version` and `--help` load nothing else.
 *
 * @module
 */
import { type Command, Option, type OptionValues } from "@commander-js/extra-typings";
import { isAbsolute, join } from "node:path";
import type { ClientOptions } from "../registry/client.ts";
import { UsageError } from "../errors.ts";

/** Where a command reads and writes: injectable so that tests can run `main` in-process. */
export interface Io {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  /** Raw bytes to standard error (build_cmd output). */
  stderrBytes: (bytes: Uint8Array) => void;
  /** Raw bytes to standard output (for `cp … -`). */
  stdoutBytes: WritableStream<Uint8Array>;
  env: Record<string, string>;
  cwd: string;
  /** Install signal handlers (Ctrl-C cleanup); false when run in-process by tests. */
  signals: boolean;
  /** Standard output is a terminal (tables, colors). */
  isTerminal: boolean;
  /** Standard error is a terminal (progress lines redrawn in place). */
  stderrIsTerminal?: boolean;
}

/** Mutable result of a command's action: actions set a non-zero exit code here instead of exiting. */
export interface State {
  exitCode: number;
  /** Aborted on SIGINT, SIGTERM or SIGHUP: commands that take it stop and clean up. */
  signal: AbortSignal;
  /** Set by a command that stops by itself on `signal` (build): the interrupt waits for it. */
  unwinds: boolean;
}

/** What each `add<Command>` receives besides the program. */
export interface Cli {
  io: Io;
  state: State;
  /** Whether the global `--verbose` was given (known once the command line is parsed). */
  verbose: () => boolean;
  /** The global `--color`: auto, always or never. */
  color: () => string | undefined;
}

/** The one signature of the files in `src/cli/`: adds a command to `program`. */
export type AddCommand = (program: Command, cli: Cli) => void;

/** What a command's help shows besides its options: examples first, then the details. */
export interface HelpSections {
  /** One example a line, `r10e …` then two or more spaces and what it does. */
  examples: string[];
  /**
   * Paragraphs separated by blank lines. Lines that do not start with a space are one flowing
   * text, wrapped to the terminal at words; indented lines are kept as they are.
   */
  details?: string;
}

const SECTIONS = new WeakMap<object, HelpSections>();

/** Gives `command` its examples and details (see `program.ts`, which lays out the help). */
export function withHelp<C extends object>(command: C, sections: HelpSections): C {
  SECTIONS.set(command, sections);
  return command;
}

/** The sections `withHelp` gave `command`. */
export function helpSectionsOf(command: object): HelpSections | undefined {
  return SECTIONS.get(command);
}

/** Whether to write colors: `--color`, else a terminal without a non-empty NO_COLOR. */
export function useColor(cli: Cli): boolean {
  const when = cli.color();
  if (when === "always") return true;
  if (when === "never") return false;
  return cli.io.isTerminal && !cli.io.env.NO_COLOR;
}

/**
 * `path` as the command uses it: as typed when it is absolute or relative to the process's own
 * directory (so that messages name it as the user wrote it), else joined to `io.cwd`.
 */
export function userPath(io: Io, path: string): string {
  return isAbsolute(path) || io.cwd === Deno.cwd() ? path : join(io.cwd, path);
}

/**
 * An image input as the command uses it: `userPath`, except that a registry reference that is no
 * path under `io.cwd` stays as typed (joined to a directory, it would read as a missing file).
 */
export async function imagePath(io: Io, input: string): Promise<string> {
  const path = userPath(io, input);
  if (path === input) return path;
  const { looksLikeReference } = await import("../registry/reference.ts");
  const exists = await Deno.lstat(path).then(() => true, () => false);
  return !exists && looksLikeReference(input) ? input : path;
}

/**
 * The config a command uses: `-c` as given; without it ./config.json, else the nearest one above
 * in the module (so that a command works from any folder of the project).
 * @throws {ConfigError} naming where it looked, when there is none.
 */
export async function projectConfig(
  cli: Cli,
  given: { command: { getOptionValueSource(key: string): string | undefined }; config: string },
): Promise<string> {
  const { command, config } = given;
  if (command.getOptionValueSource("config") !== "default") return config;
  const { findConfig } = await import("../project/root.ts");
  const found = await findConfig(cli.io.cwd);
  if (found !== join(cli.io.cwd, config)) cli.io.stderr(`r10e: using ${found}\n`);
  return found;
}

/** `-c, --config <path>`: the project's config.json. */
export function configOption() {
  return new Option(
    "-c, --config <path>",
    "the project's config.json (without -c: the one here, else the nearest above in the module)",
  ).default("config.json");
}

/** `--project-dir <dir>`: where the project root is, when not found from config.json. */
export function projectDirOption() {
  return new Option(
    "--project-dir <dir>",
    "the project root (default: the nearest directory at or above config.json with a go.mod, else the working directory)",
  );
}

/** `-q, --quiet`: no progress on standard error. */
export function quietOption(what = "no progress on stderr") {
  return new Option("-q, --quiet", what);
}

/** The progress of a command on standard error (loaded when a command runs, not for --help). */
export async function progressBar(io: Io, quiet: boolean) {
  const { Progress } = await import("./progress.ts");
  return new Progress({ write: io.stderr, terminal: io.stderrIsTerminal === true, quiet });
}

/** `--json`: the answer as JSON on standard output. */
export function jsonOption(what: string) {
  return new Option("--json", what);
}

/** `--platform <os/arch>`: one image of a multi-platform input. */
export function platformOption(what: string) {
  return new Option("--platform <os/arch>", what);
}

/** `--ca-file <pem>`: trust these CA certificates too, for a registry. */
export function caFileOption(what = "for a registry reference: trust these CA certificates too") {
  return new Option("--ca-file <pem>", what);
}

/** `--insecure`: allow plain http to a registry beyond loopback. */
export function insecureOption(
  what = "for a registry reference: allow plain http beyond loopback",
) {
  return new Option("--insecure", what);
}

/** `--timeout <seconds>`: how long a registry may go without sending a byte. */
export function timeoutOption() {
  return new Option(
    "--timeout <seconds>",
    "for a registry: end a request that brings no byte for this long (default 60)",
  );
}

/**
 * Adds `--ca-file`, `--insecure` and `--timeout` with their default help, the options of a
 * command that reads an image from a registry; {@linkcode registryOptions} reads them back.
 */
export function withRegistryInput<
  A extends unknown[],
  O extends OptionValues,
  G extends OptionValues,
>(command: Command<A, O, G>) {
  return command.addOption(caFileOption()).addOption(insecureOption()).addOption(timeoutOption());
}

/** `--timeout`'s value in ms. @throws {UsageError} for anything but a positive number. */
export function parseTimeout(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!/^\d+(\.\d+)?$/.test(text.trim()) || !(n > 0) || n > 86_400) {
    throw new UsageError(
      `Invalid --timeout "${text}": expected seconds, a number above 0 and at most 86400`,
    );
  }
  return Math.round(n * 1000);
}

/** Help of the commands that read an image from a path or a registry. */
export const REGISTRY_INPUT_HELP = `
An input that is not an existing path and reads as a registry reference
(host[:port]/repo[:tag] or …@sha256:<digest>) is read from the registry: the
manifest and the config, then only the layers the command reads, streamed and
each checked against its digest.`;

/**
 * Client options from the environment and a command's `--ca-file`/`--insecure`/`--timeout`.
 * @throws {UsageError} for a --timeout that is not a number of seconds.
 */
export function registryOptions(
  cli: Cli,
  opts: { caFile?: string; insecure?: boolean; timeout?: string },
): ClientOptions {
  const { io } = cli;
  const timeoutMs = parseTimeout(opts.timeout);
  return {
    ...(timeoutMs ? { timeoutMs } : {}),
    env: io.env,
    caFile: opts.caFile
      ? (isAbsolute(opts.caFile) ? opts.caFile : join(io.cwd, opts.caFile))
      : undefined,
    insecure: opts.insecure === true,
    onVerbose: cli.verbose() ? (line) => io.stderr(`r10e: ${line}\n`) : undefined,
  };
}
