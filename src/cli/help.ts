/**
 * The help of the program and of each command, made from the tables of command.ts: the usage
 * line, the description, examples, then arguments, options (the program lists its commands
 * first) in two columns wrapped to `width`, then the details as flowing paragraphs. Pure.
 *
 * @module
 */
import type { ArgumentDecl, CommandDecl, OptionDecl, ProgramDecl } from "./command.ts";

const HELP_OPTION: OptionDecl = { flags: "-h, --help", help: "display help for command" };

/** Below this many columns text is not wrapped (a narrow pane reads better unwrapped). */
const MIN_WRAP = 40;

/** The help text of `command`, or of the program when there is none. */
export function helpText<C>(
  program: ProgramDecl<C>,
  command: CommandDecl<C> | undefined,
  width: number,
): string {
  const of = command ?? program;
  const options = [...of.options.filter((o) => !o.hidden), HELP_OPTION].map((
    o,
  ) => [o.flags, optionHelp(o)]);
  const sections: [string, string[][]][] = command
    ? [["Arguments:", command.arguments.map((a) => [a.name, argumentHelp(a)])], [
      "Options:",
      options,
    ]]
    : [
      ["Commands:", [
        ...program.commands.map((c) => [c.name, c.summary]),
        ["help", "display help for command"],
      ]],
      ["Options:", options],
    ];
  const termWidth = Math.max(...sections.flatMap(([, items]) => items.map(([t]) => t.length)));
  const lines = [`Usage: ${usage(program, command)}`, ""];
  if (of.description) lines.push(wrap(of.description, width), "");
  if (of.examples.length) lines.push("Examples:", ...of.examples.map((e) => `  ${e}`), "");
  for (const [heading, items] of sections) {
    if (!items.length) continue;
    lines.push(heading, ...items.map(([t, d]) => item(t, d, termWidth, width)), "");
  }
  const text = lines.join("\n");
  if (!of.details) return text;
  return text.replace(/\n*$/, "\n\n") + flow(of.details.trim(), width) + "\n";
}

function usage<C>(program: ProgramDecl<C>, command: CommandDecl<C> | undefined): string {
  if (!command) return `${program.name} [options] [command]`;
  const args = command.arguments.map((a) => a.required ? `<${a.name}>` : `[${a.name}]`);
  return [program.name, command.name, "[options]", ...args].join(" ");
}

function optionHelp(o: OptionDecl): string {
  const extra = [
    ...(o.choices ? [`choices: ${o.choices.map((c) => JSON.stringify(c)).join(", ")}`] : []),
    ...(o.default !== undefined ? [`default: ${JSON.stringify(o.default)}`] : []),
  ];
  return extra.length ? `${o.help} (${extra.join(", ")})` : o.help;
}

function argumentHelp(a: ArgumentDecl): string {
  return a.choices
    ? `${a.help} (choices: ${a.choices.map((c) => JSON.stringify(c)).join(", ")})`
    : a.help;
}

/** `  term  description`, the description wrapped in its column. */
function item(term: string, description: string, termWidth: number, width: number): string {
  const room = width - termWidth - 4;
  const text = room < MIN_WRAP
    ? description
    : wrap(description, room).replace(/\n/g, "\n" + " ".repeat(termWidth + 2));
  return `  ${term.padEnd(termWidth)}  ${text.replace(/\n/g, "\n  ")}`;
}

/** `text` wrapped at spaces to `width` columns, its own line breaks kept. */
export function wrap(text: string, width: number): string {
  if (width < MIN_WRAP) return text;
  const out: string[] = [];
  for (const line of text.split(/\r?\n/)) {
    const chunks = line.match(/\s*\S+/g);
    if (!chunks) {
      out.push("");
      continue;
    }
    let current = chunks[0];
    for (const chunk of chunks.slice(1)) {
      if (current.length + chunk.length <= width) current += chunk;
      else {
        out.push(current);
        current = chunk.trimStart();
      }
    }
    out.push(current);
  }
  return out.join("\n");
}

/**
 * `text` with each run of lines that do not start with a space joined and wrapped at words to
 * `width`; indented lines (commands, tables) are kept as written.
 */
function flow(text: string, width: number): string {
  const out: string[] = [];
  let run: string[] = [];
  const end = () => {
    if (run.length) out.push(wrap(run.join(" "), width));
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
