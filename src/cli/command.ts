/**
 * How a command of `src/cli/` is declared: one table (name, summary, arguments, options with
 * their choices and defaults, help) and one function that runs it. The parser (parse.ts), the
 * help (help.ts) and the completion scripts are all made from these tables. Types and small
 * pure helpers only: nothing here loads a module, so `r10e --help` stays cheap.
 *
 * @module
 */

/** One option as help shows it and the parser reads it. */
export interface OptionDecl {
  /** `-c, --config <path>`, `--json`, `--no-build-cmd`: a short flag, a long one, a value. */
  flags: string;
  help: string;
  /** The only values it accepts. */
  choices?: readonly string[];
  /** The value when it is not given (help shows it). */
  default?: string;
  /** Given again, it adds a value instead of replacing it; "comma" also splits each at commas. */
  repeatable?: true | "comma";
  /** Read, but not in the help, the completions or the suggestions: for r10e's own children. */
  hidden?: boolean;
}

/** One positional argument: `<name>` when required, `[name]` when not. */
export interface ArgumentDecl {
  name: string;
  help: string;
  required: boolean;
  choices?: readonly string[];
}

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

/** What a command's `run` gets: the values of the command line, parsed and checked. */
export interface Input {
  /** The positional arguments by name; an optional one not given is missing. */
  args: Record<string, string | undefined>;
  /** The options by key (`--project-dir` is `projectDir`, `--no-build-cmd` is `buildCmd`). */
  options: Values;
}

/** A command: its table and what it does, the one shape of every file in `src/cli/`. */
export interface CommandDecl<C = unknown> extends HelpSections {
  name: string;
  /** One line in `r10e --help`'s list. */
  summary: string;
  /** The paragraph under the usage line of `r10e NAME --help`. */
  description: string;
  arguments: ArgumentDecl[];
  options: OptionDecl[];
  /** Runs the command; `cli` is what every command gets (cli.ts). */
  run(input: Input, cli: C): Promise<void> | void;
}

/** The whole command line: its global options and its commands, in the order help lists them. */
export interface ProgramDecl<C = unknown> extends HelpSections {
  name: string;
  description: string;
  options: OptionDecl[];
  commands: CommandDecl<C>[];
}

/** An option's parts, read from its flags. */
export interface OptionParts {
  short?: string;
  long: string;
  /** The name in {@linkcode Values}: the long name without `no-`, camelCased. */
  key: string;
  takesValue: boolean;
  /** `--no-x`: sets `x` to false. */
  negates: boolean;
}

/** The parts of `option.flags`. @throws {Error} for flags without a long name (a bug). */
export function optionParts(option: OptionDecl): OptionParts {
  const m = /^(?:(-\w), )?(--[\w-]+)( <[^>]+>)?$/.exec(option.flags);
  if (!m) throw new Error(`Option flags "${option.flags}" are not "-s, --long <value>"`);
  const [, short, long, value] = m;
  const negates = long.startsWith("--no-");
  const name = negates ? long.slice(5) : long.slice(2);
  return {
    ...(short ? { short } : {}),
    long,
    key: name.replace(/-(\w)/g, (_, c: string) => c.toUpperCase()),
    takesValue: value !== undefined,
    negates,
  };
}

/** The option values of one command line, read by type. */
export class Values {
  readonly #values: ReadonlyMap<string, string | boolean | string[]>;
  readonly #given: ReadonlySet<string>;

  constructor(
    values: ReadonlyMap<string, string | boolean | string[]>,
    given: ReadonlySet<string>,
  ) {
    this.#values = values;
    this.#given = given;
  }

  /** The value of an option that takes one (its default when not given). */
  string(key: string): string | undefined {
    const v = this.#values.get(key);
    return typeof v === "string" ? v : undefined;
  }

  /** Whether a flag is on; a `--no-x` option's key is on unless it was given. */
  flag(key: string): boolean {
    return this.#values.get(key) === true;
  }

  /** The values of a repeatable option, in the order given. */
  list(key: string): string[] {
    const v = this.#values.get(key);
    return Array.isArray(v) ? v : [];
  }

  /** The raw value: a string, a boolean, a list, or undefined. */
  raw(key: string): string | boolean | string[] | undefined {
    return this.#values.get(key);
  }

  /** Whether the option was on the command line (not only its default). */
  given(key: string): boolean {
    return this.#given.has(key);
  }
}
