/**
 * `r10e completions SHELL`: the completion script, made from the parser's own description of
 * the commands (src/completions.ts writes it).
 *
 * @module
 */
import { Argument, type Command } from "@commander-js/extra-typings";
import type { ProgramSpec } from "../completions.ts";
import { type Cli, withHelp } from "./cli.ts";

/** Adds `completions` to the program. */
export function addCompletionsCommand(program: Command, cli: Cli): void {
  withHelp(program.command("completions"), {
    examples: [
      "source <(r10e completions bash)                              this shell",
      "r10e completions bash > ~/.local/share/bash-completion/completions/r10e",
      'r10e completions zsh > "${fpath[1]}/_r10e"',
      "r10e completions fish > ~/.config/fish/completions/r10e.fish",
    ],
  })
    .summary("print a shell completion script (bash, zsh, fish)")
    .description("Print a shell completion script for commands and options")
    .addArgument(new Argument("<shell>", "the shell").choices(["bash", "zsh", "fish"] as const))
    .action(async (shell) => {
      const { completionScript } = await import("../completions.ts");
      cli.io.stdout(completionScript(programSpec(program), shell));
    });
}

/** The command line as completion scripts need it, read from the parser itself. */
function programSpec(program: Command<unknown[], Record<string, unknown>>): ProgramSpec {
  interface Opt {
    flags: string;
    short?: string;
    long?: string;
    description: string;
    required: boolean;
    optional: boolean;
    hidden: boolean;
    argChoices?: string[];
  }
  interface Arg {
    argChoices?: string[];
  }
  const option = (o: Opt) => ({
    ...(o.short ? { short: o.short } : {}),
    long: o.long!,
    description: o.description,
    takesValue: o.required || o.optional,
    valueIsPath: /<(?:path|dir|file)>/.test(o.flags),
    ...(o.argChoices ? { choices: o.argChoices } : {}),
  });
  const options = (c: { options: readonly unknown[] }) =>
    (c.options as Opt[]).filter((o) => o.long && !o.hidden).map(option);
  return {
    name: program.name(),
    globalOptions: [
      ...options(program),
      { long: "--help", short: "-h", description: "show help", takesValue: false },
    ],
    commands: program.commands.map((c) => {
      const args = (c as unknown as { registeredArguments: Arg[] }).registeredArguments;
      const choices = args[0]?.argChoices;
      return {
        name: c.name(),
        description: c.description(),
        options: options(c),
        takesFiles: args.length > 0 && !choices,
        ...(choices ? { argumentChoices: choices } : {}),
      };
    }),
  };
}
