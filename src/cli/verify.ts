/**
 * `r10e verify A B`: options and help only; the work is in src/verify/ (STYLE: one small file
 * per command, like crane's cmd/).
 *
 * @module
 */
import { UsageError } from "../errors.ts";
import { printable } from "../printable.ts";
import {
  type Command,
  imagePath,
  jsonOption,
  platformOption,
  progressBar,
  quietOption,
  REGISTRY_INPUT_HELP,
  registryOptionDecls,
  registryOptions,
  useColor,
} from "./cli.ts";

/** `r10e verify A B`. */
export const verifyCommand: Command = {
  name: "verify",
  summary: "say why two images differ, with causes and fixes",
  description: "Compare two image archives and say why they differ: archive, index, manifest, " +
    "config field by field, layers by position, files (mode, owner, mtime, content…), " +
    "Go build info of changed binaries; each finding with its likely cause and fix.",
  examples: [
    "r10e verify a/out/app-latest.tar.gz b/out/app-latest.tar.gz   why do two builds differ?",
    "r10e verify --json a.tar.gz b.tar.gz                          the findings as data",
    "r10e verify registry.example.com/team/app@sha256:… out/app-latest.tar.gz   production = commit?",
    "docker save -o local.tar myapp:latest && r10e verify local.tar out/app-latest.tar.gz",
  ],
  details: `
Exit codes: 0 identical, 1 the images differ, 2 an input cannot be read, lies about its content (a layer that is not its diff_id), or bad usage.

Identical means the same manifest digest (the same image ID, every layer checked against its diff_id, when one input is a docker-archive), or byte-identical archive files; the first line says which. The same content under other digests (re-compressed layers, a re-encoded config) is a difference: --ignore compression,config-encoding accepts it. See docs/verify.md.

Several platforms (an image index): every platform is compared with the same platform of the other input, and a platform only one input has is a difference (exit 1); --platform linux/arm64 compares that platform's images only.
${REGISTRY_INPUT_HELP} verify fetches no layer the other image has.`,
  arguments: [
    {
      name: "a",
      help: "image: docker-archive or OCI layout (.tar, .tar.gz, .tar.zst or directory)",
      required: true,
    },
    { name: "b", help: "image to compare with", required: true },
  ],
  options: [
    jsonOption("print the findings as JSON (schema: docs/verify-json.md)"),
    {
      flags: "--ignore <what>",
      help:
        "ignore expected differences: timestamps, owner, order, compression, config-encoding, manifest-encoding (repeatable, or comma-separated)",
      repeatable: "comma",
    },
    {
      flags: "--ignore-path <glob>",
      help: "ignore differences in files matching GLOB (repeatable)",
      repeatable: "comma",
    },
    platformOption("compare the image of this platform (e.g. linux/arm64)"),
    { flags: "--full", help: "list every finding instead of folding many alike ones" },
    quietOption(),
    ...registryOptionDecls(),
  ],
  run: async (input, cli) => {
    const { io, state } = cli;
    const { options } = input;
    const a = input.args.a!;
    const b = input.args.b!;
    const { IGNORABLE } = await import("../verify/causes.ts");
    const { globRegExp } = await import("../verify/glob.ts");
    const causes = options.list("ignore").map((w) => {
      const cause = IGNORABLE[w.trim()];
      if (!cause) {
        throw new UsageError(
          `Unknown --ignore value "${w}": expected ${Object.keys(IGNORABLE).join(", ")}`,
        );
      }
      return cause;
    });
    const ignorePath = options.list("ignorePath");
    for (const g of ignorePath) {
      try {
        globRegExp(g);
      } catch (e) {
        throw new UsageError((e as Error).message);
      }
    }
    const { verifyImages } = await import("../verify/verify.ts");
    const { formatReport } = await import("../verify/report.ts");
    const bar = await progressBar(io, options.flag("quiet"));
    const report = await verifyImages(await imagePath(io, a), await imagePath(io, b), {
      ignore: { causes, paths: ignorePath },
      platform: options.string("platform"),
      onProgress: (line) => bar.line(printable(line)),
      registry: {
        ...registryOptions(cli, input),
        ...bar.registryHooks(),
      },
    }).finally(() => bar.clear());
    // Inputs are shown as the user typed them.
    report.a.input = a;
    report.b.input = b;
    // The answer first: `r10e verify a b | head -1` still exits 1 when they differ.
    state.exitCode = report.identical ? 0 : 1;
    if (options.flag("json")) io.stdout(JSON.stringify(report, null, 2) + "\n");
    else io.stdout(formatReport(report, { color: useColor(cli), full: options.flag("full") }));
  },
};
