/**
 * Benchmark of verify's explanations: what mapping the differing bytes of two Go
 * binaries to symbols, stamped strings and printable strings adds to
 * `compareGoBinaries` (the pass verify makes over a differing Go binary).
 * Target: under 1 s added for a 50 MB binary.
 *
 *   deno run -A bench/go_symbols.ts [--rounds N] [--mb N] [--funcs N]
 *
 * The program is generated: `--funcs` functions (each with a string of its
 * own, so the symbol table and pclntab are large) and `--mb` MB of
 * pseudo-random bytes embedded with `//go:embed` (in `.rodata`). It is built
 * twice with `-ldflags=-X main.buildTime=…` of different lengths, so the
 * read-only data after the stamp moves and a large part of the file differs
 * with and without `-s -w`; a third case flips one byte in every 4 KiB of
 * the file (every section differs: the worst case for the mapping). Both
 * comparisons run in the same process, alternating, and the report gives
 * the median of each and their ratio. Binaries are kept in
 * bench/out/go_symbols between runs.
 *
 * @module
 */
import { compareGoBinaries } from "../src/gobinary/go_binary.ts";
import { fileRandomAccess } from "../src/gobinary/random_access.ts";

const REPO = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
const WORK = `${REPO}/bench/out/go_symbols`;

function flag(name: string, fallback: number): number {
  const i = Deno.args.indexOf(`--${name}`);
  return i >= 0 ? Number(Deno.args[i + 1]) : fallback;
}

const rounds = flag("rounds", 3);
const mb = flag("mb", 44);
const funcs = flag("funcs", 3000);

async function run(cmd: string, args: string[], cwd: string, env: Record<string, string> = {}) {
  const out = await new Deno.Command(cmd, {
    args,
    cwd,
    env: { GOFLAGS: "", GOTOOLCHAIN: "local", CGO_ENABLED: "0", GOPROXY: "off", ...env },
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) {
    throw new Error(`${cmd} ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

/** Writes the generated program once. */
async function writeProgram(dir: string): Promise<void> {
  const stamp = `${dir}/.written-${mb}-${funcs}`;
  if (await exists(stamp)) return;
  await Deno.mkdir(dir, { recursive: true });
  await Deno.writeTextFile(`${dir}/go.mod`, "module example.com/big\n\ngo 1.26\n");
  const data = new Uint8Array(mb << 20);
  let x = 0x9e3779b9;
  for (let i = 0; i < data.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    data[i] = x & 0xff;
  }
  await Deno.writeFile(`${dir}/blob.bin`, data);
  let src = 'package main\n\nimport _ "embed"\n\n//go:embed blob.bin\nvar blob string\n\n' +
    'var buildTime = "unknown"\n\nvar sink int\n\n';
  for (let i = 0; i < funcs; i++) {
    src +=
      `//go:noinline\nfunc f${i}(n int) int {\n\ts := "function number ${i} of the benchmark"\n` +
      `\tfor j := 0; j < n; j++ {\n\t\tsink += len(s) * j ^ ${i}\n\t}\n\treturn sink + len(s)\n}\n\n`;
  }
  src += "func main() {\n\tt := 0\n";
  for (let i = 0; i < funcs; i++) src += `\tt += f${i}(len(buildTime))\n`;
  src += "\tprintln(t, len(blob), buildTime)\n}\n";
  await Deno.writeTextFile(`${dir}/main.go`, src);
  await Deno.writeTextFile(stamp, "");
}

async function build(dir: string, out: string, ldflags: string): Promise<void> {
  if (await exists(out)) return;
  await run("go", ["build", "-trimpath", `-ldflags=${ldflags}`, "-o", out, "."], dir);
}

async function compare(a: string, b: string, symbols: boolean) {
  using fa = await Deno.open(a);
  using fb = await Deno.open(b);
  const start = performance.now();
  const diff = await compareGoBinaries(
    fileRandomAccess(fa, (await fa.stat()).size),
    fileRandomAccess(fb, (await fb.stat()).size),
    { symbols },
  );
  return { ms: performance.now() - start, diff };
}

function median(xs: number[]): number {
  const s = [...xs].sort((p, q) => p - q);
  return s[Math.floor(s.length / 2)];
}

const dir = `${WORK}/src`;
await writeProgram(dir);
const short = "1";
const long = "1796136880176925075".repeat(6);
console.log(
  `Go binaries: ${funcs} functions, ${mb} MB embedded, -X main.buildTime of 1 vs ${long.length} bytes`,
);
const cases = [
  { label: "with symbol table", stripped: false, flipped: false },
  { label: "stripped (-s -w)", stripped: true, flipped: false },
  { label: "worst case: one byte flipped every 4 KiB of the file", stripped: false, flipped: true },
];
for (const { label, stripped, flipped } of cases) {
  const extra = stripped ? "-s -w " : "";
  const a = `${WORK}/a${stripped ? "-stripped" : ""}-${mb}-${funcs}`;
  let b = `${WORK}/b${stripped ? "-stripped" : ""}-${mb}-${funcs}`;
  await build(dir, a, `${extra}-X main.buildTime=${short}`);
  await build(dir, b, `${extra}-X main.buildTime=${long}`);
  if (flipped) {
    b = `${WORK}/a-flipped-${mb}-${funcs}`;
    const bytes = await Deno.readFile(a);
    for (let i = 4096; i < bytes.length; i += 4096) bytes[i] ^= 0xff;
    await Deno.writeFile(b, bytes);
  }
  const without: number[] = [];
  const withSymbols: number[] = [];
  let last = (await compare(a, b, true)).diff; // warm up the JIT and the page cache
  for (let i = 0; i < rounds; i++) {
    without.push((await compare(a, b, false)).ms);
    const r = await compare(a, b, true);
    withSymbols.push(r.ms);
    last = r.diff;
  }
  const size = (await Deno.stat(a)).size;
  const m0 = median(without);
  const m1 = median(withSymbols);
  console.log(
    `${label}: ${(size / 1e6).toFixed(1)} MB, ` +
      `${last.symbols.count} differing symbols (${last.symbols.source}), ` +
      `${last.stamps.length} stamps, ${last.strings.a.length + last.strings.b.length} strings`,
  );
  console.log(
    `  compare without mapping: ${m0.toFixed(0)} ms, with: ${m1.toFixed(0)} ms, ` +
      `added ${(m1 - m0).toFixed(0)} ms (ratio ${(m1 / m0).toFixed(2)}), median of ${rounds}`,
  );
  if (last.stamps.length) {
    const s = last.stamps[0];
    console.log(`  ${s.symbol}: ${JSON.stringify(s.a)} → ${JSON.stringify(s.b).slice(0, 40)}…`);
  }
}
