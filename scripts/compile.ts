/**
 * `deno task compile`: the single r10e binary for each supported platform, in
 * dist/. templates/ is embedded (`init` reads it); the CA bundle is a module.
 *
 *   deno task compile                 all four targets
 *   deno task compile linux-x64       one target
 *
 * `deno compile` downloads its `denort` runtime for each target unless
 * DENORT_BIN names one (then only the matching target can be built).
 *
 * @module
 */

/** Target name → Rust target triple Deno expects. */
export const TARGETS: Readonly<Record<string, string>> = {
  "linux-x64": "x86_64-unknown-linux-gnu",
  "linux-arm64": "aarch64-unknown-linux-gnu",
  "darwin-x64": "x86_64-apple-darwin",
  "darwin-arm64": "aarch64-apple-darwin",
};

/** The `deno compile` arguments for one target. */
export function compileArgs(target: string, output: string): string[] {
  const triple = TARGETS[target];
  if (!triple) {
    throw new RangeError(
      `Unknown target "${target}": expected one of ${Object.keys(TARGETS).join(", ")}`,
    );
  }
  return [
    "compile",
    "--allow-all",
    "--no-check",
    // Lets the gzip workers free their buffers early (peak RSS), as scripts/r10e does.
    "--v8-flags=--expose-gc",
    // Workers are loaded by URL at run time: embed them.
    "--include",
    "src/image/gzip_worker.ts",
    "--include",
    "src/image/_hash_worker.ts",
    "--include",
    "templates",
    // main.ts imports the command line by a computed name (so that `r10e version` does not load
    // it): embed it and what it imports.
    "--include",
    "src/cli/program.ts",
    "--target",
    triple,
    "--output",
    output,
    "src/main.ts",
  ];
}

if (import.meta.main) {
  const root = new URL("..", import.meta.url).pathname;
  const wanted = Deno.args.length ? Deno.args : Object.keys(TARGETS);
  let failed = 0;
  for (const target of wanted) {
    const output = `dist/r10e-${target}`;
    console.error(`compile: ${output}`);
    const status = await new Deno.Command(Deno.execPath(), {
      args: compileArgs(target, output),
      cwd: root,
    })
      .spawn().status;
    if (!status.success) failed++;
  }
  Deno.exit(failed ? 1 : 0);
}
