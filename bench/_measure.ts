/**
 * Measuring commands for the benchmarks: wall time and peak RSS of a whole
 * process tree, through GNU time (`/usr/bin/time -f`). A pipeline runs under
 * `sh -c`; its peak RSS is the largest of its processes (GNU time reports the
 * maximum over the waited-for children).
 *
 * @module
 */

/** One measured run. */
export interface Measurement {
  wallSeconds: number;
  peakRssMb: number;
  /** User + system CPU seconds: on a loaded machine, the work done rather than the cores got. */
  cpuSeconds?: number;
}

/**
 * Runs `sh -c script` under GNU time and returns wall time and peak RSS.
 * @throws {Error} when the command fails.
 */
export async function measure(
  script: string,
  options: { cwd?: string; env?: Record<string, string> } = {},
): Promise<Measurement> {
  const out = await new Deno.Command("/usr/bin/time", {
    args: ["-f", "R10E_TIME %e %M %U %S", "sh", "-c", script],
    cwd: options.cwd,
    env: options.env,
    stdout: "null",
    stderr: "piped",
  }).output();
  const err = new TextDecoder().decode(out.stderr);
  const m = /R10E_TIME ([\d.]+) (\d+) ([\d.]+) ([\d.]+)/.exec(err);
  if (!out.success || !m) {
    throw new Error(`Benchmark command failed: ${script}\n${err.slice(-2000)}`);
  }
  return {
    wallSeconds: Number(m[1]),
    peakRssMb: Number(m[2]) / 1024,
    cpuSeconds: Number(m[3]) + Number(m[4]),
  };
}

/** Median of numbers. */
export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/**
 * Runs each contender `rounds` times, interleaved (A B A B …) so that machine
 * noise hits both alike, and returns the median wall time and max peak RSS of each.
 */
export async function compare(
  contenders: Record<string, () => Promise<Measurement>>,
  rounds = 3,
): Promise<Record<string, Measurement>> {
  const runs: Record<string, Measurement[]> = {};
  for (let i = 0; i < rounds; i++) {
    for (const [name, fn] of Object.entries(contenders)) {
      (runs[name] ??= []).push(await fn());
    }
  }
  return Object.fromEntries(
    Object.entries(runs).map(([name, ms]) => [name, {
      wallSeconds: median(ms.map((m) => m.wallSeconds)),
      peakRssMb: Math.max(...ms.map((m) => m.peakRssMb)),
      cpuSeconds: median(ms.map((m) => m.cpuSeconds ?? 0)),
    }]),
  );
}

/** A table row: name, wall, RSS, ratio to the baseline. */
export function formatRows(results: Record<string, Measurement>, baseline: string): string {
  const base = results[baseline];
  return Object.entries(results).map(([name, m]) =>
    `${name.padEnd(44)} ${m.wallSeconds.toFixed(2).padStart(7)} s  ${
      m.peakRssMb.toFixed(0).padStart(5)
    } MB  ${(m.wallSeconds / base.wallSeconds).toFixed(2)}x`
  ).join("\n");
}
