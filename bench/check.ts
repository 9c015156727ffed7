/**
 * `r10e check` on examples/hello with warm Go caches against one `r10e build` of the same
 * project in the same run: at most 3x (B runs after A, so that their clocks differ). Both run through the same entry point
 * (scripts/r10e); the rounds alternate so that load on the machine hits both alike.
 *
 *   deno run -A bench/check.ts [--rounds 3]
 *
 * Exits 1 when the median ratio is above 3.
 *
 * @module
 */
import { measure, median } from "./_measure.ts";

const LIMIT = 3;
const at = Deno.args.indexOf("--rounds");
const rounds = at >= 0 ? Number(Deno.args[at + 1]) : 3;
const repo = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
const r10e = `${repo}/scripts/r10e`;

const dir = await Deno.makeTempDir({ prefix: "r10e-bench-check-" });
try {
  const sh = async (script: string) => {
    const out = await new Deno.Command("sh", { args: ["-c", script], cwd: dir }).output();
    if (!out.success) throw new Error(`${script}: ${new TextDecoder().decode(out.stderr)}`);
  };
  await sh(
    `cp -r "${repo}/examples/hello/." . && rm -rf build r10e-docker/out && git init -q && ` +
      `git add -A && git -c user.name=b -c user.email=b@e commit -qm bench`,
  );
  // Warm the Go build cache, the toolchain download and Deno's module cache.
  await sh(`"${r10e}" build -q > /dev/null && "${r10e}" check -q > /dev/null`);
  const build: number[] = [];
  const check: number[] = [];
  const cpu: [number[], number[]] = [[], []];
  for (let i = 0; i < rounds; i++) {
    const b = await measure(`"${r10e}" build -q`, { cwd: dir });
    const c = await measure(`"${r10e}" check -q`, { cwd: dir });
    build.push(b.wallSeconds);
    check.push(c.wallSeconds);
    cpu[0].push(b.cpuSeconds ?? 0);
    cpu[1].push(c.cpuSeconds ?? 0);
    console.log(
      `round ${i + 1}: build ${b.wallSeconds.toFixed(2)} s, check ${c.wallSeconds.toFixed(2)} s`,
    );
  }
  const ratio = median(check) / median(build);
  console.log(
    `check (2 clones, 2 builds, verify) ${median(check).toFixed(2)} s vs one build ` +
      `${median(build).toFixed(2)} s (median of ${rounds}): ${ratio.toFixed(2)}x ` +
      `(CPU ${median(cpu[1]).toFixed(1)} s vs ${median(cpu[0]).toFixed(1)} s); limit ${LIMIT}x`,
  );
  if (ratio > LIMIT) {
    console.log(`FAIL: check takes more than ${LIMIT}x one build`);
    Deno.exitCode = 1;
  }
} finally {
  await Deno.remove(dir, { recursive: true });
}
