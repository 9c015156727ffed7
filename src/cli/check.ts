/**
 * `r10e check [REFERENCE]`: options and help only; the work is in src/check/
 * (STYLE: one small file per command, like crane's cmd/).
 *
 * @module
 */
import { printable } from "../printable.ts";
import {
  type Command,
  CONFIG_OPTION,
  jsonOption,
  PROJECT_DIR_OPTION,
  projectConfig,
  quietOption,
  registryOptionDecls,
  registryOptions,
} from "./cli.ts";

/**
 * The command that runs this r10e again: the compiled binary itself, or Deno with
 * the same main.ts and deno.json (so that the builds use this very r10e).
 */
export function selfCommand(): string[] {
  const exec = Deno.execPath();
  if (!/^deno(\.exe)?$/.test(exec.slice(exec.lastIndexOf("/") + 1))) return [exec];
  const main = new URL("../main.ts", import.meta.url);
  const config = new URL("../../deno.json", import.meta.url);
  return [
    exec,
    "run",
    "--quiet",
    "--allow-all",
    "--unstable-lazy-dynamic-imports",
    "--v8-flags=--expose-gc",
    ...(main.protocol === "file:" ? ["--config", decodeURIComponent(config.pathname)] : []),
    main.protocol === "file:" ? decodeURIComponent(main.pathname) : main.href,
  ];
}

/** `r10e check [REFERENCE]`: exit 0 reproducible, 1 not; an interrupt stops the builds. */
export const checkCommand: Command = {
  name: "check",
  summary: "rebuild HEAD twice under varied conditions and compare",
  description:
    "Rebuild the committed HEAD twice from fresh clones under different conditions (paths, " +
    "clock, file order, hostname, TZ, umask, locale, host and docker mode) and compare: are " +
    "the images identical, and equal to REFERENCE?",
  examples: [
    "r10e check                              two builds of HEAD agree?",
    "r10e check sha256:4f…                   … and give this manifest digest or image ID",
    "r10e check registry.example.com/app:v1  … and equal the published image",
  ],
  details: `
What it does: clones HEAD twice into a temporary folder (objects hard-linked, nothing fetched, on the branch you are on), runs this r10e's \`build\` in each as a child process, B's build_cmd once A's has finished (A: umask 022, TZ=UTC, LC_ALL=C; B: umask 077, TZ=Pacific/Chatham, LC_ALL=tr_TR.UTF-8, a deeper path, its own TMPDIR and HOME, and --in docker when pins.json pins a builder and an engine answers), then compares the two with \`r10e verify\` and their digests strictly.

Build B also varies what the host allows, as reprotest does: build_cmd's clock shifted 3 days (faketime), shuffled directory entries (disorderfs), hostname and domain name (unshare), kernel version and ASLR (setarch), one CPU (taskset); the table says which were applied and why any was not. The Go module cache is shared, so no network is needed. The working copy is never built: uncommitted changes are reported, not checked. The clones are removed at the end, and on SIGINT/SIGTERM/SIGHUP.

REPRODUCIBLE only when the manifest (and index) digests, the image IDs and the archives' sha256 are equal: verify's accepting the same content under other digests is not enough.

Reference: a digest is compared with the manifest digest and the image ID; an archive, layout or registry reference with \`verify\`. Without one, r10e-docker/digests.json (\`r10e build --record\`) is the expectation when it was recorded for HEAD.

Exit codes: 0 reproducible (and equal to the reference), 1 not, 2 could not run (not a git repository, no commit, a build failed, an unreadable reference).`,
  arguments: [{
    name: "reference",
    help: "sha256:<digest> (manifest digest or image ID), an image archive or layout, or a " +
      "registry reference; default: r10e-docker/digests.json when recorded for HEAD",
    required: false,
  }],
  options: [
    CONFIG_OPTION,
    PROJECT_DIR_OPTION,
    {
      flags: "--fresh-gocache",
      help: "give build B an empty Go build cache (slower: std is compiled again)",
    },
    {
      flags: "--in-b <where>",
      help: "where build B runs (default: docker when possible, else host)",
      choices: ["host", "docker"],
    },
    ...registryOptionDecls("for a registry REFERENCE"),
    jsonOption("print the result as JSON on stdout (conditions, digests, verify's report)"),
    quietOption(),
  ],
  run: async (input, cli) => {
    const { io, state } = cli;
    const { options } = input;
    const quiet = options.flag("quiet");
    state.unwinds = true;
    const { check } = await import("../check/check.ts");
    const { checkExitCode, formatCheck } = await import("../check/result.ts");
    const result = await check({
      configPath: await projectConfig(cli, input),
      cwd: io.cwd,
      projectDir: options.string("projectDir"),
      reference: input.args.reference,
      env: io.env,
      self: selfCommand(),
      freshGoCache: options.flag("freshGocache"),
      modeB: options.string("inB") as "host" | "docker" | undefined,
      registry: {
        ...registryOptions(cli, input),
        // The layers of a registry REFERENCE are fetched for verify: a line each (two builds'
        // output may be interleaved with them, so no line redrawn in place).
        onProgress: (line) => quiet || io.stderr(`r10e: check: ${printable(line)}\n`),
      },
      onProgress: (line) => quiet || io.stderr(`r10e: check: ${printable(line)}\n`),
      onWarning: (line) => io.stderr(`r10e: warning: ${printable(line)}\n`),
      onBuildOutput: (line) => cli.verbose && io.stderr(`r10e: ${printable(line)}\n`),
      signal: state.signal,
    });
    // The answer first, set before the report is written (a closed pipe keeps it).
    state.exitCode = checkExitCode(result);
    io.stdout(
      options.flag("json") ? JSON.stringify(result, null, 2) + "\n" : formatCheck(result),
    );
  },
};
