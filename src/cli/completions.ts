/**
 * `r10e completions SHELL`: the completion script, made from the tables of the commands
 * (src/completions.ts writes it).
 *
 * @module
 */
import type { OptionSpec, ProgramSpec, Shell } from "../completions.ts";
import { type OptionDecl, optionParts } from "./command.ts";
import type { Cli, Command } from "./cli.ts";

/** `r10e completions SHELL`. */
export const completionsCommand: Command = {
  name: "completions",
  summary: "print a shell completion script (bash, zsh, fish)",
  description: "Print a shell completion script for commands and options",
  examples: [
    "source <(r10e completions bash)                              this shell",
    "r10e completions bash > ~/.local/share/bash-completion/completions/r10e",
    'r10e completions zsh > "${fpath[1]}/_r10e"',
    "r10e completions fish > ~/.config/fish/completions/r10e.fish",
  ],
  arguments: [
    { name: "shell", help: "the shell", required: true, choices: ["bash", "zsh", "fish"] },
  ],
  options: [],
  run: async (input, cli) => {
    const { completionScript } = await import("../completions.ts");
    cli.io.stdout(completionScript(programSpec(cli.program), input.args.shell as Shell));
  },
};

/** The command line as completion scripts need it, read from the same tables as the parser. */
export function programSpec(program: Cli["program"]): ProgramSpec {
  const option = (o: OptionDecl): OptionSpec => {
    const { short, long, takesValue } = optionParts(o);
    return {
      ...(short ? { short } : {}),
      long,
      description: o.help,
      takesValue,
      valueIsPath: /<(?:path|dir|file)>/.test(o.flags),
      ...(o.choices ? { choices: o.choices } : {}),
    };
  };
  return {
    name: program.name,
    globalOptions: [
      ...program.options.filter((o) => !o.hidden).map(option),
      { long: "--help", short: "-h", description: "show help", takesValue: false },
    ],
    commands: program.commands.map((c) => {
      const choices = c.arguments[0]?.choices;
      return {
        name: c.name,
        description: c.description,
        options: c.options.filter((o) => !o.hidden).map(option),
        takesFiles: c.arguments.length > 0 && !choices,
        ...(choices ? { argumentChoices: choices } : {}),
      };
    }),
  };
}
