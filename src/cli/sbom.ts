/**
 * `r10e sbom IMAGE`: options and help only; the work is in src/sbom/ (STYLE: one small file per
 * command, like crane's cmd/).
 *
 * @module
 */
import {
  type Command,
  imagePath,
  platformOption,
  progressBar,
  quietOption,
  REGISTRY_INPUT_HELP,
  registryOptionDecls,
  registryOptions,
  userPath,
} from "./cli.ts";

/**
 * Writes `text` to `path` atomically: a temporary file beside it, renamed over it, so that a
 * reader never sees half a document and a failure leaves what was there.
 */
export async function writeAtomically(path: string, text: string): Promise<void> {
  const { writeFilesAtomically } = await import("../atomic_write.ts");
  const { DiskFullError } = await import("../disk_full.ts");
  try {
    await writeFilesAtomically([{ path, data: text }], "sbom");
  } catch (e) {
    if (e instanceof DiskFullError) throw e;
    throw new Error(`Cannot write "${path}"`, { cause: e });
  }
}

/** `r10e sbom IMAGE`. */
export const sbomCommand: Command = {
  name: "sbom",
  summary: "the SBOM of any image, read from its Go binaries",
  description:
    "Print the SBOM of an image, read from the files and Go binaries inside it: a table on a " +
    "terminal, SPDX 2.3 JSON when piped, or CycloneDX 1.6 JSON. Works for any image, " +
    "whoever built it.",
  examples: [
    "r10e sbom r10e-docker/out/app-latest.tar.gz",
    "r10e sbom --format cyclonedx -o app.cdx.json app.tar",
    "r10e sbom localhost:5000/team/app:v1 --platform linux/arm64",
    "r10e build --json > build.json && r10e sbom --format provenance --build build.json r10e-docker/out/app-latest.tar.gz",
  ],
  details: `
What it lists: the image (its manifest digest; the config digest for a docker-archive without a manifest), every regular file with its SHA1 and SHA256, and for each Go binary (found by ELF or Mach-O magic, then its build info, what \`go version -m\` prints): the main module (version, vcs revision), every module compiled in (version, h1: sum, purl pkg:golang/…), replacements as such, the toolchain (pkg:golang/stdlib), and the build settings (GOOS, GOARCH, CGO_ENABLED, -ldflags, …). The CA bundle under /etc/ssl/certs and tzdata under /usr/share/zoneinfo are packages of their own.

--format provenance prints an in-toto Statement v1 with a SLSA Provenance v1 predicate instead: subjects = the manifest digest and each artifact's sha256; the config, build_cmd, mode, pins, the commit (and whether the tree was clean), the builder image digest; r10e's version. It needs the build record (--build FILE, the output of \`r10e build --json\`, which must name this image's manifest digest) and reads config.json and r10e-docker/pins.json from the record's project root.

The same image gives the same bytes: the time is the image's creation time, the document namespace (SPDX) and serial number (CycloneDX) are derived from its digest, everything is sorted.

Exit codes: 0 written, 2 bad usage, unreadable image or unreachable registry.
${REGISTRY_INPUT_HELP}`,
  arguments: [{
    name: "image",
    help:
      "docker-archive or OCI layout (.tar, .tar.gz, .tar.zst or directory), or a registry reference",
    required: true,
  }],
  options: [
    {
      flags: "--format <format>",
      help: "document format (default: a table on a terminal, else spdx)",
      choices: ["spdx", "cyclonedx", "provenance", "table"],
    },
    {
      flags: "--build <file>",
      help: "for --format provenance: what `r10e build --json` printed for this image",
    },
    {
      flags: "-o, --output <file>",
      help: "write the document to FILE (atomically) instead of stdout",
    },
    platformOption("which image of a multi-platform input"),
    quietOption("no progress on stderr (fetching a registry's layers)"),
    ...registryOptionDecls(),
  ],
  run: async (input, cli) => {
    const { io } = cli;
    const { options } = input;
    const image = input.args.image!;
    const output = options.string("output");
    const build = options.string("build");
    const where = (p: string) => userPath(io, p);
    const { sbom } = await import("../sbom/sbom.ts");
    const bar = await progressBar(io, options.flag("quiet"));
    // On a terminal a table people read, as syft prints; the document when piped or asked for.
    const format = (options.string("format") ?? (io.isTerminal && !output ? "table" : "spdx")) as
      | "spdx"
      | "cyclonedx"
      | "provenance"
      | "table";
    const text = await sbom(await imagePath(io, image), {
      format: format === "table" ? "spdx" : format,
      platform: options.string("platform"),
      registry: {
        ...registryOptions(cli, input),
        ...bar.registryHooks(),
      },
      onWarning: (line) => {
        bar.clear();
        io.stderr(`r10e: warning: ${line}\n`);
      },
      buildJson: build ? where(build) : undefined,
    }).finally(() => bar.clear());
    if (format === "table") {
      const { sbomTable } = await import("./sbom_table.ts");
      const table = sbomTable(JSON.parse(text));
      if (output) await writeAtomically(where(output), table);
      else io.stdout(table);
      return;
    }
    if (output) await writeAtomically(where(output), text);
    else for (const piece of pieces(text, 1 << 20)) io.stdout(piece);
  },
};

/**
 * `text` in pieces of about `size` UTF-16 units, never between the two halves of a surrogate
 * pair: printed piece by piece, a 6 MB document is never encoded to bytes all at once.
 */
export function* pieces(text: string, size: number): Generator<string> {
  for (let at = 0; at < text.length;) {
    let end = Math.min(at + size, text.length);
    const unit = text.charCodeAt(end - 1);
    if (end < text.length && unit >= 0xd800 && unit <= 0xdbff) end++;
    yield text.slice(at, end);
    at = end;
  }
}
