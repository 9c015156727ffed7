/**
 * `deno task bench [build|build_platforms|sbom|cp|verify|push|go_symbols|ko|check|sbom_read|startup|many_files …]`: runs the benchmarks (all by default),
 * one after another, each comparing r10e with another tool in the same run.
 * Options after `--` go to every benchmark, e.g. `deno task bench cp -- --runs 1`.
 *
 * @module
 */
const BENCHES = [
  "build",
  "build_platforms",
  "sbom",
  "cp",
  "verify",
  "push",
  "go_symbols",
  "ko",
  "check",
  "sbom_read",
  "startup",
  "many_files",
] as const;

const dash = Deno.args.indexOf("--");
const names = dash >= 0 ? Deno.args.slice(0, dash) : Deno.args;
const extra = dash >= 0 ? Deno.args.slice(dash + 1) : [];
const unknown = names.filter((n) => !(BENCHES as readonly string[]).includes(n));
if (unknown.length) {
  console.error(
    `bench: unknown benchmark ${unknown.map((n) => `"${n}"`).join(", ")}: expected ${
      BENCHES.join(", ")
    }`,
  );
  Deno.exit(2);
}
let failed = 0;
for (const name of names.length ? names : BENCHES) {
  console.log(`\n== bench/${name}.ts ${extra.join(" ")}`);
  const status = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", new URL(`./${name}.ts`, import.meta.url).pathname, ...extra],
  }).spawn().status;
  if (!status.success) failed++;
}
Deno.exit(failed ? 1 : 0);
