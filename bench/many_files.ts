/**
 * Benchmark of many small files: two images of 200,000 files (`_many_files.ts`; B
 * differs in one byte of one file), each command against its peer in the same run, interleaved:
 *
 * - `r10e cp a.tar.gz /data DIR` against `tar -xzf LAYER -C DIR` (the layer blob holding the
 *   files, taken out of the image beforehand): target ≤ 2x;
 * - `r10e cp a.tar.gz /data - > out.tar` against the same: target ≤ 2x;
 * - `r10e verify a.tar.gz b.tar.gz` against `tar -tzf` of both layers: target ≤ 1.5x;
 * - for each, peak RSS under 200 MB (memory grows with the number of files: about 1 KB a file).
 *
 * Prints each ratio (wall and CPU) and the load average; exits 1 when a target is missed.
 *
 *   deno run -A bench/many_files.ts [--files 200000] [--rounds 1] [--dir /dev/shm/x]
 *
 * @module
 */
import { parseArgs } from "node:util";
import { compare, formatRows, measure } from "./_measure.ts";
import { writeManyFilesImage } from "./_many_files.ts";

const REPO = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
const { values } = parseArgs({
  options: {
    files: { type: "string", default: "200000" },
    rounds: { type: "string", default: "1" },
    dir: { type: "string", default: `${REPO}/bench/out/many_files` },
  },
});
const count = Number(values.files);
const rounds = Number(values.rounds);
const dir = values.dir!;
const r10e = `"${REPO}/scripts/r10e"`;
const log = (s: string) => console.error(`bench/many_files: ${s}`);

async function sh(script: string): Promise<string> {
  const r = await new Deno.Command("sh", { args: ["-c", script], cwd: dir, stdout: "piped" })
    .output();
  if (!r.success) throw new Error(`Benchmark command failed: ${script}`);
  return new TextDecoder().decode(r.stdout);
}

await Deno.mkdir(dir, { recursive: true });
const stamp = `${dir}/made-${count}`;
if (!(await Deno.stat(stamp).then(() => true, () => false))) {
  log(`making two images of ${count} files in ${dir}`);
  await writeManyFilesImage(`${dir}/a.tar.gz`, { count, changed: false });
  await writeManyFilesImage(`${dir}/b.tar.gz`, { count, changed: true });
  for (const x of ["a", "b"]) {
    // The largest blob is the layer of the files.
    const layer = (await sh(`tar -tzvf ${x}.tar.gz | sort -k3 -n | tail -1`)).trim().split(/\s+/)
      .pop();
    await sh(`tar -xzOf ${x}.tar.gz ${layer} > ${x}-layer.tar.gz`);
  }
  await Deno.writeTextFile(stamp, "");
}

const fresh = (d: string) => `rm -rf ${d} && mkdir ${d}`;
const pairs: { name: string; target: number; r10e: string; peer: string; rssMb?: number }[] = [
  {
    name: "cp to a directory",
    target: 2,
    rssMb: 200,
    r10e: `rm -rf out-r10e && ${r10e} cp a.tar.gz /data out-r10e > /dev/null`,
    peer: `${fresh("out-tar")} && tar -xzf a-layer.tar.gz -C out-tar`,
  },
  {
    name: "cp to stdout (-)",
    target: 2,
    rssMb: 200,
    r10e: `${r10e} cp a.tar.gz /data - > out-r10e.tar 2> /dev/null`,
    peer: `${fresh("out-tar")} && tar -xzf a-layer.tar.gz -C out-tar`,
  },
  {
    name: "verify, one file differs",
    target: 1.5,
    rssMb: 200,
    // exit 1: the images differ
    r10e: `${r10e} verify -q a.tar.gz b.tar.gz > verify.txt; test $? -eq 1`,
    peer: "tar -tzf a-layer.tar.gz > /dev/null && tar -tzf b-layer.tar.gz > /dev/null",
  },
];

let failed = 0;
const env = { PATH: Deno.env.get("PATH") ?? "", HOME: Deno.env.get("HOME") ?? "/" };
console.log(`many files: two images of ${count} files; ${rounds} round(s), medians`);
for (const p of pairs) {
  const results = await compare({
    [`r10e ${p.name}`]: () => measure(p.r10e, { cwd: dir, env }),
    [`peer of ${p.name}`]: () => measure(p.peer, { cwd: dir, env }),
  }, rounds);
  const a = results[`r10e ${p.name}`];
  const b = results[`peer of ${p.name}`];
  console.log(formatRows(results, `peer of ${p.name}`));
  const ratio = a.wallSeconds / b.wallSeconds;
  const cpu = (a.cpuSeconds ?? 0) / (b.cpuSeconds || 1);
  const rssOk = p.rssMb === undefined || a.peakRssMb < p.rssMb;
  console.log(
    `${p.name}: ${ratio.toFixed(2)}x wall, ${cpu.toFixed(2)}x CPU (target ≤ ${p.target}x)` +
      (p.rssMb ? `; peak RSS ${a.peakRssMb.toFixed(0)} MB (target < ${p.rssMb} MB)` : "") +
      `; load average ${Deno.loadavg().map((l) => l.toFixed(1)).join(" ")}`,
  );
  if (ratio > p.target || !rssOk) failed++;
}
await sh("rm -rf out-r10e out-tar out-r10e.tar");
if (failed) {
  console.log(`${failed} target(s) missed`);
  Deno.exit(1);
}
