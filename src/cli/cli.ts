/**
 * What every command of `src/cli/` shares: the {@linkcode Io} it writes through, the
 * {@linkcode Cli} it runs with, and the options several commands take, declared once.
 * Nothing but types and small helpers is loaded here: a command's own modules are imported
 * inside its `run`, so `r10e version` and `--help` load nothing else.
 *
 * @module
 */
import type { ClientOptions } from "../registry/client.ts";
import { UsageError } from "../errors.ts";
import type { CommandDecl, Input, OptionDecl, ProgramDecl } from "./command.ts";

/** Where a command reads and writes: injectable so that tests can run `main` in-process. */
export interface Io {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  /** Raw bytes to standard error (build_cmd output). */
  stderrBytes: (bytes: Uint8Array) => void;
  /**
   * Raw bytes to standard output (for `cp … -`), a stream made when asked for: making one loads
   * Deno's streams, about a third of the start-up of `r10e version`.
   */
  stdoutBytes: () => WritableStream<Uint8Array>;
  env: Record<string, string>;
  /** The directory relative paths of the command line are relative to. */
  cwd: string;
  /**
   * `cwd` is the process's own working directory, so a relative path works as typed and messages
   * name it so (main sets it; a test running main in another folder does not).
   */
  cwdIsProcess?: boolean;
  /** Install signal handlers (Ctrl-C cleanup); false when run in-process by tests. */
  signals: boolean;
  /** Standard output is a terminal (tables, colors). */
  isTerminal: boolean;
  /** The terminal's width, when standard output is one (help is wrapped to it). */
  columns?: number;
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

/** What every command's `run` receives besides its input. */
export interface Cli {
  io: Io;
  state: State;
  /** The global `--verbose`. */
  verbose: boolean;
  /** The global `--color`: auto, always or never. */
  color: string;
  /** The whole command line (completions describe it). */
  program: ProgramDecl<Cli>;
}

/** A command of `src/cli/`: the one shape every command file exports. */
export type Command = CommandDecl<Cli>;

/** Whether to write colors: `--color`, else a terminal without a non-empty NO_COLOR. */
export function useColor(cli: Cli): boolean {
  const when = cli.color;
  if (when === "always") return true;
  if (when === "never") return false;
  return cli.io.isTerminal && !cli.io.env.NO_COLOR;
}

/**
 * `path` as the command uses it: as typed when it is absolute or the process runs in `io.cwd` (so
 * that messages name it as the user wrote it), else in `io.cwd`.
 */
export function userPath(io: Io, path: string): string {
  return io.cwdIsProcess ? path : inFolder(io.cwd, path);
}

/**
 * `path` relative to `folder`, as the system resolves a relative path (its `..` after its
 * symlinks). Not node:path's join: any node: module costs every start-up ~9 ms of CPU.
 */
export function inFolder(folder: string, path: string): string {
  return path.startsWith("/") ? path : `${folder.replace(/\/+$/, "")}/${path}`;
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
export async function projectConfig(cli: Cli, input: Input): Promise<string> {
  const config = input.options.string("config")!;
  if (input.options.given("config")) return config;
  const { findConfig } = await import("../project/root.ts");
  const found = await findConfig(cli.io.cwd);
  if (found !== inFolder(cli.io.cwd, config)) cli.io.stderr(`r10e: using ${found}\n`);
  return found;
}

/** `-c, --config <path>`: the project's config.json. */
export const CONFIG_OPTION: OptionDecl = {
  flags: "-c, --config <path>",
  help:
    "the project's config.json (without -c: the one here, else the nearest above in the module)",
  default: "config.json",
};

/** `--project-dir <dir>`: where the project root is, when not found from config.json. */
export const PROJECT_DIR_OPTION: OptionDecl = {
  flags: "--project-dir <dir>",
  help:
    "the project root (default: the nearest directory at or above config.json with a go.mod, else the working directory)",
};

/** `-q, --quiet`: no progress on standard error. */
export function quietOption(help = "no progress on stderr"): OptionDecl {
  return { flags: "-q, --quiet", help };
}

/** The progress of a command on standard error (loaded when a command runs, not for --help). */
export async function progressBar(io: Io, quiet: boolean) {
  const { Progress } = await import("./progress.ts");
  return new Progress({ write: io.stderr, terminal: io.stderrIsTerminal === true, quiet });
}

/** `--json`: the answer as JSON on standard output. */
export function jsonOption(help: string): OptionDecl {
  return { flags: "--json", help };
}

/** `--platform <os/arch>`: one image of a multi-platform input. */
export function platformOption(help: string): OptionDecl {
  return { flags: "--platform <os/arch>", help };
}

/**
 * The options of a command that talks to a registry, `--ca-file`, `--insecure` and `--timeout`,
 * with the registry named as the command names it; {@linkcode registryOptions} reads them back.
 */
export function registryOptionDecls(
  what = "for a registry reference",
): OptionDecl[] {
  return [
    { flags: "--ca-file <pem>", help: `${what}: trust these CA certificates too` },
    { flags: "--insecure", help: `${what}: allow plain http beyond loopback` },
    {
      flags: "--timeout <seconds>",
      help: "for a registry: end a request that brings no byte for this long (default 60)",
    },
  ];
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
export function registryOptions(cli: Cli, input: Input): ClientOptions {
  const { io } = cli;
  const { options } = input;
  const timeoutMs = parseTimeout(options.string("timeout"));
  const caFile = options.string("caFile");
  return {
    ...(timeoutMs ? { timeoutMs } : {}),
    env: io.env,
    caFile: caFile ? inFolder(io.cwd, caFile) : undefined,
    insecure: options.flag("insecure"),
    onVerbose: cli.verbose ? (line) => io.stderr(`r10e: ${line}\n`) : undefined,
  };
}
