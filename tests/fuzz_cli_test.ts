/**
 * The seeded fuzz test: flip bytes in and truncate a valid r10e image
 * (written here by r10e's own writer, as a .tar and a .tar.gz), then run the
 * real CLI's `verify` and `cp` on each mutant and check what must hold under
 * every hostile input:
 *
 * - exit 0 or 1 only for a real answer: verify's `--json` report parses and its
 *   `identical` agrees with the code; cp's DEST exists; cp never exits 1;
 * - exit 2 for a refusal, with an `r10e: ` message and no stack trace or
 *   "Maximum call stack";
 * - nothing written outside DEST, nothing left in TMPDIR;
 * - peak RSS under 300 MB, each run under 60 s.
 *
 * It runs for R10E_FUZZ_SECONDS (default 45, so the test stays within a minute in
 * CI; set more to search longer) from the seed R10E_FUZZ_SEED (default: random).
 * The seed is printed; the same seed replays the same mutants, in order.
 */
import { assertEquals } from "./_assert.ts";
import { writeImageArchive } from "../src/image/writer.ts";
import type { TarEntry } from "../src/tar/writer.ts";
import { dirEntry, fileEntry } from "./_bytes.ts";
import { listAll, spawnR10e } from "./hostile_cli_helpers.ts";

const SECONDS = Number(Deno.env.get("R10E_FUZZ_SECONDS") ?? "45");
const SEED = Number(Deno.env.get("R10E_FUZZ_SEED") ?? Math.floor(Math.random() * 2 ** 31));
const RSS_LIMIT = 300 << 20;
const RUN_LIMIT_MS = 60_000;

/** mulberry32: small, seeded, the same sequence everywhere. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A valid r10e image: two layers, directories, text, a symlink, a larger pseudo-random file. */
async function validImage(path: string, compress: boolean): Promise<void> {
  const blob = new Uint8Array(40_000);
  let x = 1;
  for (let i = 0; i < blob.length; i++) blob[i] = (x = (x * 1103515245 + 12345) >>> 0) >>> 24;
  const data: TarEntry[] = [
    dirEntry("app"),
    dirEntry("app/data"),
    fileEntry("app/data/a.txt", "alpha\n".repeat(50)),
    fileEntry("app/data/b.json", JSON.stringify({ b: [1, 2, 3] })),
    { name: "app/data/link", kind: "symlink", mode: 0o777, size: 0, linkTarget: "a.txt" },
  ];
  const artifacts: TarEntry[] = [dirEntry("app"), fileEntry("app/server", blob, 0o755)];
  using file = await Deno.open(path, { write: true, create: true, truncate: true });
  await writeImageArchive({
    repository: "fuzz",
    tag: "latest",
    created: 1700000000,
    images: [{
      platform: { os: "linux", architecture: "amd64" },
      config: { Env: ["PATH=/bin"], Entrypoint: ["/app/server"] },
      layers: [
        { createdBy: "r10e: extern_data", entries: data },
        { createdBy: "r10e: artifacts", entries: artifacts },
      ],
    }],
  }, async (chunk) => {
    let off = 0;
    while (off < chunk.length) off += await file.write(chunk.subarray(off));
  }, { compress });
}

/** Byte ranges of a plain tar worth aiming at: its headers, and the files no digest covers. */
function targets(tar: Uint8Array): { headers: [number, number][]; unsigned: [number, number][] } {
  const headers: [number, number][] = [];
  const unsigned: [number, number][] = [];
  const dec = new TextDecoder();
  for (let o = 0; o + 512 <= tar.length;) {
    if (tar.subarray(o, o + 512).every((b) => b === 0)) break;
    const name = dec.decode(tar.subarray(o, o + 100)).replace(/\0.*$/s, "");
    const size = parseInt(
      dec.decode(tar.subarray(o + 124, o + 136)).replace(/\0.*$/s, "").trim() || "0",
      8,
    );
    headers.push([o, o + 512]);
    // index.json, manifest.json and oci-layout are read without a digest to check them against.
    if (!name.startsWith("blobs/") && size > 0) unsigned.push([o + 512, o + 512 + size]);
    o += 512 + Math.ceil(size / 512) * 512;
  }
  return { headers, unsigned };
}

/** Rewrites the ustar checksum of the header at `o` (the sum of its bytes, the field as spaces). */
function fixChecksum(tar: Uint8Array, o: number): void {
  tar.fill(0x20, o + 148, o + 156);
  let sum = 0;
  for (let i = o; i < o + 512; i++) sum += tar[i];
  tar.set(new TextEncoder().encode(sum.toString(8).padStart(6, "0") + "\0 "), o + 148);
}

/** One mutant of `bytes` and how it was made (for the failure message). */
function mutate(
  bytes: Uint8Array,
  aims: ReturnType<typeof targets> | null,
  rnd: () => number,
): { bytes: Uint8Array; how: string } {
  const pick = (n: number) => Math.floor(rnd() * n);
  if (rnd() < 0.2) {
    const at = pick(bytes.length);
    return { bytes: bytes.slice(0, at), how: `truncated to ${at} bytes` };
  }
  const out = bytes.slice();
  const flips: string[] = [];
  const n = 1 + pick(8);
  const inRange = (ranges: [number, number][]) => {
    const [a, b] = ranges[pick(ranges.length)];
    return a + pick(b - a);
  };
  for (let i = 0; i < n; i++) {
    // Aimed flips reach the reader's parsing (a digest catches the rest at once); a gzip's are
    // aimed at its first 10 bytes, which no checksum covers.
    const r = rnd();
    const at = aims && r < 0.4
      ? inRange(aims.headers)
      : aims && r < 0.7 && aims.unsigned.length
      ? inRange(aims.unsigned)
      : !aims && r < 0.3
      ? pick(Math.min(10, out.length))
      : pick(out.length);
    const xor = 1 + pick(255);
    out[at] ^= xor;
    flips.push(`${at}^${xor}`);
    // Mostly with the header's checksum made right again, so the flip reaches the fields.
    const header = aims?.headers.find(([a, b]) =>
      at >= a && at < b && (at < a + 148 || at >= a + 156)
    );
    if (header && rnd() < 0.7) {
      fixChecksum(out, header[0]);
      flips[flips.length - 1] += " (checksum fixed)";
    }
  }
  return { bytes: out, how: `flipped ${flips.join(", ")}` };
}

interface Outcome {
  code: number;
  stdout: string;
  stderr: string;
  rss: number;
  ms: number;
}

async function run(args: string[], cwd: string): Promise<Outcome> {
  const start = Date.now();
  const r = spawnR10e(args, { cwd, env: { TMPDIR: `${cwd}/tmp` } });
  const timer = setTimeout(() => {
    try {
      r.child.kill("SIGKILL");
    } catch {
      // ended
    }
  }, RUN_LIMIT_MS);
  const status = await r.child.status;
  clearTimeout(timer);
  const [stdout, stderr] = await Promise.all([r.stdout, r.stderr]);
  return { code: status.code, stdout, stderr, rss: r.peakRss(), ms: Date.now() - start };
}

/** Every property of the issue that must hold for one run; the failures, empty when none. */
function check(what: "verify" | "cp", o: Outcome, destExists: boolean): string[] {
  const bad: string[] = [];
  if (o.ms >= RUN_LIMIT_MS) bad.push(`ran ${o.ms} ms (killed)`);
  if (o.rss >= RSS_LIMIT) bad.push(`peak RSS ${Math.round(o.rss / 1048576)} MB`);
  if (/Maximum call stack|\n\s+at .+:\d+:\d+|error: Uncaught/.test(o.stderr)) {
    bad.push("a stack trace or stack overflow");
  }
  if (o.code === 2) {
    if (!o.stderr.startsWith("r10e: ")) bad.push("exit 2 without an r10e: message");
  } else if (what === "verify" && (o.code === 0 || o.code === 1)) {
    try {
      const report = JSON.parse(o.stdout) as { identical?: unknown };
      if (report.identical !== (o.code === 0)) {
        bad.push(`identical ${report.identical} with exit ${o.code}`);
      }
    } catch {
      bad.push(`exit ${o.code} without a JSON report`);
    }
  } else if (what === "cp" && o.code === 0) {
    if (!destExists) bad.push("exit 0 but DEST was not written");
  } else {
    bad.push(`exit ${o.code}`);
  }
  return bad;
}

Deno.test("fuzz: flipped and truncated archives for verify and cp (seeded)", async () => {
  console.log(
    `fuzz: seed ${SEED}, ${SECONDS} s (replay: R10E_FUZZ_SEED=${SEED} R10E_FUZZ_SECONDS=${SECONDS})`,
  );
  const dir = await Deno.makeTempDir({ prefix: "r10e-fuzz-" });
  try {
    await validImage(`${dir}/valid.tar`, false);
    await validImage(`${dir}/valid.tar.gz`, true);
    const originals = {
      tar: await Deno.readFile(`${dir}/valid.tar`),
      "tar.gz": await Deno.readFile(`${dir}/valid.tar.gz`),
    };
    const aims = targets(originals.tar);
    const rnd = random(SEED);
    const deadline = Date.now() + SECONDS * 1000;
    const failures: string[] = [];
    const counts = { runs: 0, answers: 0, refusals: 0 };
    for (let i = 0; Date.now() < deadline && failures.length === 0; i++) {
      const kind = rnd() < 0.65 ? "tar" : "tar.gz";
      const m = mutate(originals[kind], kind === "tar" ? aims : null, rnd);
      const box = `${dir}/run`;
      await Deno.mkdir(`${box}/tmp`, { recursive: true });
      await Deno.copyFile(`${dir}/valid.${kind}`, `${box}/valid.${kind}`);
      await Deno.writeFile(`${box}/mutant.${kind}`, m.bytes);
      const before = listAll(box);
      for (const what of ["verify", "cp"] as const) {
        const args = what === "verify"
          ? ["verify", "--json", "-q", `valid.${kind}`, `mutant.${kind}`]
          : ["cp", `mutant.${kind}`, "/", "dest"];
        const o = await run(args, box);
        counts.runs++;
        if (o.code === 2) counts.refusals++;
        else counts.answers++;
        const after = listAll(box);
        const bad = check(what, o, after.includes("dest"));
        const outside = after.filter((p) => p !== "dest" && !p.startsWith("dest/"))
          .filter((p) => !before.includes(p));
        if (outside.length) bad.push(`wrote outside DEST: ${outside.slice(0, 5).join(", ")}`);
        const missing = before.filter((p) => !after.includes(p));
        if (missing.length) bad.push(`removed ${missing.join(", ")}`);
        if (listAll(`${box}/tmp`).length) bad.push(`left in TMPDIR: ${listAll(`${box}/tmp`)}`);
        if (bad.length) {
          failures.push(
            `#${i} ${what} of a .${kind} ${m.how}: ${bad.join("; ")}\n` +
              `  exit ${o.code}, stderr: ${o.stderr.slice(0, 600)}`,
          );
          break;
        }
        await Deno.remove(`${box}/dest`, { recursive: true }).catch(() => {});
      }
      await Deno.remove(box, { recursive: true });
    }
    console.log(
      `fuzz: ${counts.runs} runs (${counts.answers} answers, ${counts.refusals} refusals)`,
    );
    assertEquals(failures, [], `seed ${SEED}: replay with R10E_FUZZ_SEED=${SEED}`);
    // The test must have fuzzed: a machine too slow for even a few runs is a failure to report.
    assertEquals(counts.runs >= 4, true, `only ${counts.runs} runs in ${SECONDS} s`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("fuzz: the checks catch what they are for", () => {
  const ok: Outcome = { code: 2, stdout: "", stderr: "r10e: Cannot read image", rss: 1, ms: 1 };
  assertEquals(check("cp", ok, false), []);
  assertEquals(check("cp", { ...ok, code: 1 }, false), ["exit 1"]);
  assertEquals(check("cp", { ...ok, code: 0 }, false), ["exit 0 but DEST was not written"]);
  assertEquals(check("verify", { ...ok, code: 1, stdout: "Images differ" }, false), [
    "exit 1 without a JSON report",
  ]);
  assertEquals(check("verify", { ...ok, code: 0, stdout: '{"identical": false}' }, false), [
    "identical false with exit 0",
  ]);
  assertEquals(
    check("verify", { ...ok, stderr: "RangeError: Maximum call stack size exceeded" }, false),
    [
      "exit 2 without an r10e: message",
      "a stack trace or stack overflow",
    ].reverse(),
  );
  assertEquals(check("cp", { ...ok, rss: 400 << 20, ms: 60_000 }, true), [
    "ran 60000 ms (killed)",
    "peak RSS 400 MB",
  ]);
});
