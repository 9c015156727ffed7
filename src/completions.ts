/**
 * Shell completion scripts (`r10e completions bash|zsh|fish`), made from a plain
 * description of the commands and their options, which src/cli/completions.ts takes
 * from the tables the parser reads, so a new option is completed without editing
 * this file. Pure: a description in, a script out.
 *
 * @module
 */

/** One option of a command. */
export interface OptionSpec {
  /** `-c`, when it has one. */
  short?: string;
  /** `--config`. */
  long: string;
  description: string;
  /** Whether it takes a value (`--config <path>`). */
  takesValue: boolean;
  /** Whether that value is a file or directory (completed with paths). */
  valueIsPath?: boolean;
  /** The values it accepts, when they are a fixed list (`--in auto|host|docker`). */
  choices?: readonly string[];
}

/** One command. */
export interface CommandSpec {
  name: string;
  description: string;
  options: OptionSpec[];
  /** Whether it takes file or image arguments (verify, cp). */
  takesFiles: boolean;
  /** Fixed words its first argument can be (`completions bash|zsh|fish`). */
  argumentChoices?: readonly string[];
}

/** The whole command line. */
export interface ProgramSpec {
  name: string;
  globalOptions: OptionSpec[];
  commands: CommandSpec[];
}

/** The shells r10e writes completion scripts for. */
export const SHELLS = ["bash", "zsh", "fish"] as const;

/** A shell of {@linkcode SHELLS}. */
export type Shell = typeof SHELLS[number];

/** The completion script for `shell`. */
export function completionScript(spec: ProgramSpec, shell: Shell): string {
  switch (shell) {
    case "bash":
      return bashScript(spec);
    case "zsh":
      return zshScript(spec);
    case "fish":
      return fishScript(spec);
  }
}

/** The first sentence of a description, on one line, at most about 70 characters. */
function short(description: string): string {
  const line = description.replace(/\s+/g, " ").trim();
  const end = line.search(/\.(?:\s|$)/);
  const sentence = end === -1 ? line : line.slice(0, end);
  if (sentence.length <= 72) return sentence;
  const cut = sentence.lastIndexOf(" ", 70);
  return sentence.slice(0, cut > 20 ? cut : 70) + "…";
}

function flagsOf(o: OptionSpec): string[] {
  return o.short ? [o.short, o.long] : [o.long];
}

/** A bash identifier made from a command name. */
function ident(name: string): string {
  return name.replace(/[^A-Za-z0-9_]/g, "_");
}

function bashScript(spec: ProgramSpec): string {
  const fn = `_${ident(spec.name)}`;
  const global = spec.globalOptions.flatMap(flagsOf);
  const lines: string[] = [
    `# bash completion for ${spec.name}. Install: ${spec.name} completions bash > /etc/bash_completion.d/${spec.name}`,
    `# or add to ~/.bashrc: source <(${spec.name} completions bash)`,
    `${fn}() {`,
    `  local cur="\${COMP_WORDS[COMP_CWORD]}" prev="\${COMP_WORDS[COMP_CWORD-1]}" cmd="" i`,
    `  COMPREPLY=()`,
    `  for ((i = 1; i < COMP_CWORD; i++)); do`,
    `    case "\${COMP_WORDS[i]}" in`,
    `    -*) ;;`,
    `    *) cmd="\${COMP_WORDS[i]}"; break ;;`,
    `    esac`,
    `  done`,
    `  if [[ -z "$cmd" ]]; then`,
    `    COMPREPLY=($(compgen -W "${
      [...spec.commands.map((c) => c.name), ...global].join(" ")
    }" -- "$cur"))`,
    `    return 0`,
    `  fi`,
    `  case "$cmd" in`,
  ];
  for (const c of spec.commands) {
    lines.push(`  ${c.name})`);
    const valued = c.options.filter((o) => o.takesValue);
    if (valued.length) {
      lines.push(`    case "$prev" in`);
      for (const o of valued) {
        lines.push(
          `    ${flagsOf(o).join(" | ")})`,
          o.choices
            ? `      COMPREPLY=($(compgen -W "${o.choices.join(" ")}" -- "$cur"))`
            : o.valueIsPath
            ? `      COMPREPLY=($(compgen -f -- "$cur"))`
            : `      COMPREPLY=()`,
          `      return 0`,
          `      ;;`,
        );
      }
      lines.push(`    esac`);
    }
    const words = [...c.options.flatMap(flagsOf), "--help"].join(" ");
    lines.push(`    if [[ "$cur" == -* ]]; then`);
    lines.push(`      COMPREPLY=($(compgen -W "${words}" -- "$cur"))`);
    if (c.argumentChoices) {
      lines.push(`    else`);
      lines.push(`      COMPREPLY=($(compgen -W "${c.argumentChoices.join(" ")}" -- "$cur"))`);
    } else if (c.takesFiles) {
      lines.push(`    else`);
      lines.push(`      COMPREPLY=($(compgen -f -- "$cur"))`);
    }
    lines.push(`    fi`, `    ;;`);
  }
  lines.push(`  esac`, `  return 0`, `}`, `complete -o filenames -F ${fn} ${spec.name}`, ``);
  return lines.join("\n");
}

/** Text inside a zsh single-quoted `_arguments` spec: no quotes, brackets or colons unescaped. */
function zshText(text: string): string {
  return short(text).replace(/'/g, "'\\''").replace(/\[/g, "(").replace(/\]/g, ")")
    .replace(/:/g, "\\:");
}

function zshOption(o: OptionSpec): string {
  const desc = zshText(o.description);
  const value = o.takesValue ? o.choices ? `:value:(${o.choices.join(" ")})` : `:path:_files` : "";
  if (o.short) {
    return `'(${o.short} ${o.long})'{${o.short},${o.long}}'[${desc}]${value}'`;
  }
  return `'${o.long}[${desc}]${value}'`;
}

function zshScript(spec: ProgramSpec): string {
  const fn = `_${ident(spec.name)}`;
  const lines: string[] = [
    `#compdef ${spec.name}`,
    `# zsh completion for ${spec.name}. Install: ${spec.name} completions zsh > "\${fpath[1]}/_${spec.name}"`,
    `# or add to ~/.zshrc (after compinit): source <(${spec.name} completions zsh)`,
    `${fn}() {`,
    `  local -a commands`,
    `  commands=(`,
    ...spec.commands.map((c) => `    '${c.name}:${zshText(c.description)}'`),
    `  )`,
    `  local curcontext="$curcontext" state line`,
    `  _arguments -C \\`,
    ...spec.globalOptions.map((o) => `    ${zshOption(o)} \\`),
    `    '1: :->command' \\`,
    `    '*:: :->args'`,
    `  case $state in`,
    `  command)`,
    `    _describe -t commands 'r10e command' commands`,
    `    ;;`,
    `  args)`,
    `    case $line[1] in`,
  ];
  for (const c of spec.commands) {
    const args = c.argumentChoices
      ? [`'1:shell:(${c.argumentChoices.join(" ")})'`]
      : c.takesFiles
      ? [`'*:file:_files'`]
      : [];
    lines.push(
      `    ${c.name})`,
      `      _arguments \\`,
      ...[...c.options.map(zshOption), `'--help[show help]'`, ...args].map((a, i, all) =>
        `        ${a}${i === all.length - 1 ? "" : " \\"}`
      ),
      `      ;;`,
    );
  }
  lines.push(
    `    esac`,
    `    ;;`,
    `  esac`,
    `}`,
    `if [[ "\${zsh_eval_context[-1]}" == loadautofunc ]]; then`,
    `  ${fn} "$@"`,
    `else`,
    `  compdef ${fn} ${spec.name}`,
    `fi`,
    ``,
  );
  return lines.join("\n");
}

/** Text inside a fish single-quoted string. */
function fishText(text: string): string {
  return short(text).replace(/\\/g, "\\\\").replace(/'/g, "\\'");
}

function fishScript(spec: ProgramSpec): string {
  const n = spec.name;
  const lines: string[] = [
    `# fish completion for ${n}. Install: ${n} completions fish > ~/.config/fish/completions/${n}.fish`,
    `complete -c ${n} -f`,
  ];
  const none = `__fish_use_subcommand`;
  for (const o of spec.globalOptions) {
    lines.push(
      `complete -c ${n} -n ${none} ${fishFlags(o)} -d '${fishText(o.description)}'`,
    );
  }
  for (const c of spec.commands) {
    lines.push(`complete -c ${n} -n ${none} -a ${c.name} -d '${fishText(c.description)}'`);
  }
  for (const c of spec.commands) {
    const when = `'__fish_seen_subcommand_from ${c.name}'`;
    for (const o of c.options) {
      const value = o.takesValue ? o.choices ? ` -x -a '${o.choices.join(" ")}'` : " -r -F" : "";
      lines.push(
        `complete -c ${n} -n ${when} ${fishFlags(o)}${value} -d '${fishText(o.description)}'`,
      );
    }
    if (c.argumentChoices) {
      lines.push(`complete -c ${n} -n ${when} -x -a '${c.argumentChoices.join(" ")}'`);
    } else if (c.takesFiles) lines.push(`complete -c ${n} -n ${when} -F`);
  }
  lines.push(``);
  return lines.join("\n");
}

function fishFlags(o: OptionSpec): string {
  return (o.short ? `-s ${o.short.slice(1)} ` : "") + `-l ${o.long.slice(2)}`;
}
