/**
 * The command line read against the tables of command.ts: which command, its arguments and
 * options, or a request for help. Pure: arguments in, a result out, a {@linkcode UsageError}
 * (exit 2) for a mistake, worded as the rest of r10e's errors and ending with where the usage is.
 *
 * Accepted: options before or after the arguments, `--long value`, `--long=value`, `-s value`,
 * `-svalue`, `-ab` for two flags, `--` before arguments that start with `-`; the global options
 * anywhere; `-h`/`--help` anywhere (and `help COMMAND`) for help.
 *
 * @module
 */
import { UsageError } from "../errors.ts";
import {
  type CommandDecl,
  type Input,
  type OptionDecl,
  type OptionParts,
  optionParts,
  type ProgramDecl,
  Values,
} from "./command.ts";

/** What the command line asks for. */
export type Parsed<C> =
  | {
    kind: "help";
    /** The command whose help is wanted; none for the program's. */
    command?: CommandDecl<C>;
    /** Help shown because no command was given goes to standard error. */
    toStderr: boolean;
  }
  | { kind: "run"; command: CommandDecl<C>; input: Input; global: Values };

type Option = OptionDecl & OptionParts;

/** The options of one level, found by flag. */
class OptionTable {
  readonly options: Option[];
  constructor(decls: OptionDecl[]) {
    this.options = decls.map((d) => ({ ...d, ...optionParts(d) }));
  }
  find(flag: string): Option | undefined {
    return this.options.find((o) => o.long === flag || o.short === flag);
  }
  /** Values with the defaults filled in: a default, or true for a `--no-x` without an `--x`. */
  withDefaults(values: Map<string, string | boolean | string[]>) {
    for (const o of this.options) {
      if (values.has(o.key)) continue;
      if (o.default !== undefined) values.set(o.key, o.default);
      else if (o.negates && !this.options.some((p) => p.key === o.key && !p.negates)) {
        values.set(o.key, true);
      }
    }
    return values;
  }
}

const HELP_FLAGS = ["-h", "--help"];

/**
 * Reads `args` (without the program's name) against `program`.
 * @throws {UsageError} for an unknown command or option, a missing or refused value, or a
 *   wrong number of arguments.
 */
export function parseCommandLine<C>(program: ProgramDecl<C>, args: string[]): Parsed<C> {
  const globals = new OptionTable(program.options);
  const globalValues = new Map<string, string | boolean | string[]>();
  const globalGiven = new Set<string>();
  let command: CommandDecl<C> | undefined;
  let local: OptionTable | undefined;
  const values = new Map<string, string | boolean | string[]>();
  const given = new Set<string>();
  const operands: string[] = [];
  let helpAsked = false;
  let helpCommand = false;
  let unknown: string | undefined;
  let onlyOperands = false;
  const hint = () =>
    command
      ? `(${program.name} ${command.name} --help shows its usage)`
      : `(${program.name} --help shows the commands)`;
  const fail = (message: string): never => {
    throw new UsageError(`${message}\n${hint()}`);
  };

  const queue = [...args];
  while (queue.length) {
    const arg = queue.shift()!;
    if (onlyOperands || arg === "-" || !arg.startsWith("-")) {
      if (command || helpCommand) operands.push(arg);
      else if (arg === "help") helpCommand = true;
      else {
        command = program.commands.find((c) => c.name === arg);
        if (!command) {
          // The rest cannot be read without the command; only a request for help still counts.
          if (queue.some((a) => HELP_FLAGS.includes(a))) return { kind: "help", toStderr: false };
          fail(`Unknown command '${arg}'${suggestion(arg, [...commandNames(program), "help"])}`);
        }
        local = new OptionTable(command!.options);
      }
      continue;
    }
    if (arg === "--") {
      onlyOperands = true;
      continue;
    }
    if (HELP_FLAGS.includes(arg)) {
      helpAsked = true;
      continue;
    }
    // `--name=value`, `-svalue` and `-ab` are taken apart into a flag and what follows it.
    let flag = arg;
    let attached: string | undefined;
    if (arg.startsWith("--")) {
      const eq = arg.indexOf("=");
      if (eq > 0) [flag, attached] = [arg.slice(0, eq), arg.slice(eq + 1)];
    } else if (arg.length > 2) [flag, attached] = [arg.slice(0, 2), arg.slice(2)];
    const inCommand = local?.find(flag);
    const option = inCommand ?? globals.find(flag);
    if (!option || (attached !== undefined && flag.startsWith("--") && !option.takesValue)) {
      unknown ??= arg;
      continue;
    }
    const [into, intoGiven] = inCommand ? [values, given] : [globalValues, globalGiven];
    intoGiven.add(option.key);
    if (!option.takesValue) {
      into.set(option.key, !option.negates);
      // `-ab`: the flags after the first are read as an option of their own.
      if (attached !== undefined) queue.unshift(`-${attached}`);
      continue;
    }
    storeValue(option, attached ?? queue.shift(), into, fail);
  }

  if (helpCommand) {
    const named = program.commands.find((c) => c.name === operands[0]);
    if (named || operands.length === 0) return { kind: "help", command: named, toStderr: false };
    return { kind: "help", toStderr: true };
  }
  if (helpAsked) return { kind: "help", command, toStderr: false };
  if (unknown !== undefined) fail(unknownOption(unknown, [local, globals]));
  if (!command) return { kind: "help", toStderr: true };
  return {
    kind: "run",
    command,
    input: {
      args: bindOperands(command, operands, fail),
      options: new Values(local!.withDefaults(values), given),
    },
    global: new Values(globals.withDefaults(globalValues), globalGiven),
  };
}

/** An option's value checked against its choices and stored (added to, when it repeats). */
function storeValue(
  option: Option,
  value: string | undefined,
  into: Map<string, string | boolean | string[]>,
  fail: (message: string) => never,
): void {
  if (value === undefined) fail(`Option '${option.flags}' argument missing`);
  if (option.choices && !option.choices.includes(value!)) {
    fail(
      `Option '${option.flags}' argument '${value}' is invalid. Allowed choices are ${
        option.choices.join(", ")
      }`,
    );
  }
  if (option.repeatable) {
    const previous = into.get(option.key);
    const added = option.repeatable === "comma" ? value!.split(",") : [value!];
    into.set(option.key, [...(Array.isArray(previous) ? previous : []), ...added]);
  } else into.set(option.key, value!);
}

/** The message for an unknown option, with the closest visible long option of `tables`. */
function unknownOption(unknown: string, tables: (OptionTable | undefined)[]): string {
  const candidates = tables.flatMap((t) => [
    ...(t?.options ?? []).filter((o) => !o.hidden).map((o) => o.long),
    "--help",
  ]);
  return `Unknown option '${unknown}'${
    unknown.startsWith("--") ? suggestion(unknown, candidates) : ""
  }`;
}

/** The command's operands by argument name: none missing, none too many, each of its choices. */
function bindOperands<C>(
  command: CommandDecl<C>,
  operands: string[],
  fail: (message: string) => never,
): Record<string, string | undefined> {
  const declared = command.arguments;
  const missing = declared.find((a, i) => a.required && i >= operands.length);
  if (missing) fail(`Missing required argument '${missing.name}'`);
  if (operands.length > declared.length) {
    const s = declared.length === 1 ? "" : "s";
    fail(
      `Too many arguments for '${command.name}'. Expected ${declared.length} argument${s} but ` +
        `got ${operands.length}: ${operands.join(", ")}`,
    );
  }
  const named: Record<string, string | undefined> = {};
  declared.forEach((a, i) => {
    const value = operands[i];
    if (value !== undefined && a.choices && !a.choices.includes(value)) {
      fail(
        `Command-argument value '${value}' is invalid for argument '${a.name}'. Allowed choices are ${
          a.choices.join(", ")
        }`,
      );
    }
    named[a.name] = value;
  });
  return named;
}

function commandNames<C>(program: ProgramDecl<C>): string[] {
  return program.commands.map((c) => c.name);
}

/**
 * ` (did you mean X?)` for the candidates closest to `word` (at most 3 edits, and more alike than
 * not), or nothing: the suggestion people know from git and commander.
 */
export function suggestion(word: string, candidates: string[]): string {
  const dashes = word.startsWith("--");
  const bare = dashes ? word.slice(2) : word;
  let best = 3;
  let similar: string[] = [];
  for (const candidate of new Set(candidates)) {
    const name = dashes ? candidate.replace(/^--/, "") : candidate;
    if (name.length <= 1) continue;
    const distance = editDistance(bare, name);
    const length = Math.max(bare.length, name.length);
    if ((length - distance) / length <= 0.4) continue;
    if (distance < best) [best, similar] = [distance, [candidate]];
    else if (distance === best) similar.push(candidate);
  }
  similar.sort((a, b) => a.localeCompare(b));
  if (similar.length > 1) return ` (did you mean one of ${similar.join(", ")}?)`;
  return similar.length === 1 ? ` (did you mean ${similar[0]}?)` : "";
}

/** Edits (insert, delete, replace, swap two neighbours) from `a` to `b`; large when far apart. */
function editDistance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 3) return Math.max(a.length, b.length);
  const d: number[][] = [];
  for (let i = 0; i <= a.length; i++) d[i] = [i];
  for (let j = 0; j <= b.length; j++) d[0][j] = j;
  for (let j = 1; j <= b.length; j++) {
    for (let i = 1; i <= a.length; i++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.length][b.length];
}
