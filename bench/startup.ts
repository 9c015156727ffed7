/**
 * Start-up: `r10e version` and `r10e --help` through scripts/r10e (what users run) against
 * `deno run` of a one-line script, run in turn, A B A B, and compared pair by pair so that the
 * machine's drift cancels. The judged figure is the median of the pairs' CPU ratios (user +
 * system, the work done; wall time on a shared machine mostly measures the queue); wall is
 * printed beside it. Exits 1 past the target.
 *
 *   deno run -A bench/startup.ts [--runs 15] [--target 2]
 *
 * @module
 */
import { median } from "./_measure.ts";

/** Wall and CPU seconds of `sh -c script`, in milliseconds' precision (bash's `time`). */
async function measure(script: string, options: { cwd: string }) {
  const out = await new Deno.Command("bash", {
    args: ["-c", `TIMEFORMAT="R10E_TIME %3R %3U %3S"; time (${script} >/dev/null 2>&1)`],
    cwd: options.cwd,
    stdout: "null",
    stderr: "piped",
  }).output();
  const m = /R10E_TIME ([\d.]+) ([\d.]+) ([\d.]+)/.exec(new TextDecoder().decode(out.stderr));
  if (!m) throw new Error(`Cannot time "${script}"`);
  return { wallSeconds: Number(m[1]), cpuSeconds: Number(m[2]) + Number(m[3]) };
}

const args = Deno.args;
const option = (name: string, fallback: number) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const runs = option("--runs", 15);
const target = option("--target", 2);

const repo = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
const dir = await Deno.makeTempDir({ prefix: "r10e-bench-startup-" });
let failed = false;
try {
  await Deno.writeTextFile(`${dir}/one.ts`, 'console.log("r10e 0.1.0");\n');
  const baseline = `deno run --quiet --allow-all ${dir}/one.ts`;
  for (const command of ["version", "--help"]) {
    const a = `${repo}/scripts/r10e ${command}`;
    // Warm-up: Deno's code cache and the wrapper's memory of the pinned deno.
    await measure(a, { cwd: dir });
    await measure(baseline, { cwd: dir });
    const cpu: number[] = [];
    const wall: number[] = [];
    const aCpu: number[] = [];
    const bCpu: number[] = [];
    for (let i = 0; i < runs; i++) {
      const ma = await measure(a, { cwd: dir });
      const mb = await measure(baseline, { cwd: dir });
      cpu.push(ma.cpuSeconds / Math.max(mb.cpuSeconds, 0.001));
      wall.push(ma.wallSeconds / Math.max(mb.wallSeconds, 0.001));
      aCpu.push(ma.cpuSeconds);
      bCpu.push(mb.cpuSeconds);
    }
    const ratio = median(cpu);
    const ok = ratio <= target;
    failed ||= !ok;
    console.log(
      `r10e ${command}: CPU ${median(aCpu).toFixed(3)} s against ${
        median(bCpu).toFixed(3)
      } s for deno run of one line: ${ratio.toFixed(2)}x (target ${target}x, ${
        ok ? "met" : "MISSED"
      }); wall ratio ${median(wall).toFixed(2)}x; ${runs} pairs`,
    );
  }
} finally {
  await Deno.remove(dir, { recursive: true });
}
Deno.exit(failed ? 1 : 0);
