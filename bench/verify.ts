/**
 * Benchmark of `r10e verify` on two ~1 GB images of 10,000 files with a
 * few changed (a text file edited, a binary with one byte flipped, a file added),
 * against, in the same run:
 *
 * - the lower bound: `zcat a | sha256sum; zcat b | sha256sum` (read both archives once);
 * - diffoscope (Debian package), capped in time: reported as "> cap" when it does not finish;
 * - diffoci, when installed (`go install github.com/reproducible-containers/diffoci/cmd/diffoci@latest`),
 *   counting the `docker load` of both images it needs first.
 *
 * Target: r10e ≤ 2x the lower bound, peak RSS < 200 MB, faster than both peers.
 *
 * Then, the REF part (target: at most 1.5x): image A pushed with `r10e push` to a
 * docker-registry of the benchmark's own on loopback, and `r10e verify REF@digest X` against
 * `r10e verify a.tar.gz X` in the same run, for X = a.tar.gz (the auditor's case: the same image)
 * and X = b.tar.gz (a few files differ: the data layer is downloaded). `--ref-only` runs this part
 * alone; it is left out when docker-registry is not installed.
 *
 *   deno run -A bench/verify.ts [--rounds N] [--files N] [--file-kb N] [--diffoscope-cap SECONDS]
 *     [--ref-only] [--identical-only] [--no-ref] [--layers none|gzip]
 *
 * Then two byte-identical archives (a.tar.gz and a copy) against `sha256sum` of both: target
 * ≤ 1.5x (`--identical-only` runs this part alone). Exits 1 when a target is missed.
 *
 * `--layers gzip` stores the layers gzipped (r10e's default since format 4): the layer that
 * differs is then inflated on both sides and checked against its diff_id, where the time goes
 * when blobs differ. `--no-ref` leaves out the REF part.
 *
 * The images are r10e-format archives (uncompressed layers inside a gzip outer
 * tar) written with r10e's image writer and compressed with `gzip -6`; file
 * contents are slices of the Go toolchain's binaries and sources, so they
 * compress like real programs. They are kept in bench/out/verify between runs.
 *
 * @module
 */
import { compare, formatRows, measure as measureCommand, type Measurement } from "./_measure.ts";
import type { TarEntry } from "../src/tar/writer.ts";
import { writeImageArchive } from "../src/image/writer.ts";
import { withRegistry } from "./_registry.ts";

const REPO = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
const WORK = `${REPO}/bench/out/verify`;
const GOROOT = "/usr/local/go";

/** CPU seconds (user + sys) of the last run of each contender, by name. */
const cpu = new Map<string, number>();

/** `_measure.ts`'s `measure`, recording the CPU time of each contender's last run. */
async function measure(
  name: string,
  script: string,
  options: { cwd?: string; env?: Record<string, string> } = {},
): Promise<Measurement> {
  const m = await measureCommand(script, options);
  cpu.set(name, m.cpuSeconds ?? 0);
  return m;
}

function arg(name: string, fallback: number): number {
  const at = Deno.args.indexOf(name);
  return at >= 0 ? Number(Deno.args[at + 1]) : fallback;
}

/** About 64 MiB of real program bytes: Go tool binaries and sources. */
async function pool(): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  let size = 0;
  for (const t of ["compile", "link", "vet", "asm", "cgo", "cover"]) {
    const b = await Deno.readFile(`${GOROOT}/pkg/tool/linux_amd64/${t}`);
    parts.push(b);
    size += b.length;
    if (size > 48 << 20) break;
  }
  const text = new TextEncoder().encode(
    (await Deno.readTextFile(`${GOROOT}/src/net/http/server.go`)).repeat(40),
  );
  parts.push(text);
  size += text.length;
  const out = new Uint8Array(size);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/** The file list of one image; `changed` applies the few differences of image B. */
function files(
  data: Uint8Array,
  count: number,
  fileSize: number,
  changed: boolean,
): { small: TarEntry[]; large: TarEntry[] } {
  const enc = new TextEncoder();
  const content = (i: number): Uint8Array => {
    const start = (i * 1_000_003) % (data.length - fileSize);
    const bytes = data.slice(start, start + fileSize);
    bytes.set(enc.encode(`file ${i}\n`), 0); // every file distinct
    if (changed && i === 4242) bytes[fileSize >> 1] ^= 1; // a binary with one byte flipped
    return bytes;
  };
  const dirs = new Set<string>();
  const large: TarEntry[] = [];
  for (let i = 100; i < count; i++) {
    const dir = `data/d${String(i % 100).padStart(2, "0")}`;
    if (!dirs.has(dir)) {
      dirs.add(dir);
      large.push({ name: dir, kind: "dir", mode: 0o755, size: 0 });
    }
    large.push({
      name: `${dir}/f${String(i).padStart(5, "0")}.bin`,
      kind: "file",
      mode: 0o644,
      size: fileSize,
      content: async function* () {
        yield content(i);
      },
    });
  }
  const conf = (b: boolean) =>
    enc.encode(
      Array.from({ length: 200 }, (_, k) => `key_${k} = ${b && k === 120 ? "changed" : k}`)
        .join("\n") + "\n",
    );
  large.push({
    name: "data/app.conf",
    kind: "file",
    mode: 0o644,
    size: conf(changed).length,
    content: async function* () {
      yield conf(changed);
    },
  });
  if (changed) {
    const extra = enc.encode("a file only B has\n");
    large.push({
      name: "data/new.txt",
      kind: "file",
      mode: 0o644,
      size: extra.length,
      content: async function* () {
        yield extra;
      },
    });
  }
  large.push({ name: "data", kind: "dir", mode: 0o755, size: 0 });
  large.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const small: TarEntry[] = [{ name: "app", kind: "dir", mode: 0o755, size: 0 }];
  for (let i = 0; i < 100; i++) {
    small.push({
      name: `app/lib${String(i).padStart(3, "0")}.so`,
      kind: "file",
      mode: 0o755,
      size: fileSize,
      content: async function* () {
        yield content(i);
      },
    });
  }
  return { small, large };
}

/** Writes `name`.tar.gz: r10e's writer for the tar, `gzip -6` for the outer compression. */
async function writeImage(
  name: string,
  entries: { small: TarEntry[]; large: TarEntry[] },
  layerCompression: "none" | "gzip",
) {
  const path = `${WORK}/${name}.tar.gz`;
  const gzip = new Deno.Command("sh", {
    args: ["-c", `gzip -6 > "${path}.tmp"`],
    stdin: "piped",
  }).spawn();
  const writer = gzip.stdin.getWriter();
  await writeImageArchive(
    {
      // Uncompressed layers by default (the only kind before format 4): what this benchmark was
      // made to measure.
      layerCompression,
      repository: "bench",
      tag: "latest",
      created: 1700000000,
      images: [{
        platform: { os: "linux", architecture: "amd64" },
        config: { Env: ["PATH=/usr/bin:/bin"], Entrypoint: ["/app/lib000.so"] },
        layers: [
          { createdBy: "r10e: libs", entries: entries.small },
          { createdBy: "r10e: data", entries: entries.large },
        ],
      }],
    },
    (chunk) => writer.write(chunk),
    { compress: false },
  );
  await writer.close();
  if (!(await gzip.status).success) throw new Error("gzip failed");
  await Deno.rename(`${path}.tmp`, path);
}

async function exists(path: string): Promise<boolean> {
  return await Deno.stat(path).then(() => true, () => false);
}

async function which(cmd: string): Promise<string | null> {
  const out = await new Deno.Command("sh", { args: ["-c", `command -v ${cmd}`], stdout: "piped" })
    .output();
  const path = new TextDecoder().decode(out.stdout).trim();
  return out.success && path ? path : null;
}

if (import.meta.main) {
  const rounds = arg("--rounds", 1);
  const count = arg("--files", 10_000);
  const fileKb = arg("--file-kb", 100);
  const cap = arg("--diffoscope-cap", 600);
  const at = Deno.args.indexOf("--layers");
  const layers = at >= 0 && Deno.args[at + 1] === "gzip" ? "gzip" : "none";
  await Deno.mkdir(WORK, { recursive: true });
  const stamp = `${WORK}/made-${count}-${fileKb}-${layers}`;
  if (!(await exists(stamp))) {
    console.log(
      `making two images of ${count} files of ${fileKb} KB, ${layers} layers, in ${WORK} …`,
    );
    for (const old of await Array.fromAsync(Deno.readDir(WORK))) {
      if (old.name.startsWith("made-")) await Deno.remove(`${WORK}/${old.name}`);
    }
    const data = await pool();
    await writeImage("a", files(data, count, fileKb * 1024, false), layers);
    await writeImage("b", files(data, count, fileKb * 1024, true), layers);
    await Deno.writeTextFile(stamp, "");
  }
  const sizeA = (await Deno.stat(`${WORK}/a.tar.gz`)).size;
  const sizeB = (await Deno.stat(`${WORK}/b.tar.gz`)).size;
  const unpacked = count * fileKb * 1024;
  console.log(
    `verify: two images, ${count} files, ${(unpacked / 1e9).toFixed(2)} GB uncompressed, ` +
      `archives ${(sizeA / 1e6).toFixed(0)} MB and ${(sizeB / 1e6).toFixed(0)} MB, ` +
      `${layers} layers; ` +
      `${rounds} round(s), medians`,
  );

  const env = { PATH: Deno.env.get("PATH") ?? "", HOME: Deno.env.get("HOME") ?? "/" };
  if (Deno.args.includes("--ref-only")) {
    await refPart(rounds, env);
    Deno.exit(0);
  }
  if (Deno.args.includes("--identical-only")) {
    await identicalPart(rounds, env);
    Deno.exit();
  }
  const lower = "zcat a | sha256sum";
  const contenders: Record<string, () => Promise<Measurement>> = {
    [lower]: () =>
      measure(lower, "zcat a.tar.gz | sha256sum; zcat b.tar.gz | sha256sum", { cwd: WORK, env }),
    "r10e verify": () =>
      // as users run it from source (scripts/r10e: --expose-gc); exit 1 = the images differ
      measure(
        "r10e verify",
        `"${REPO}/scripts/r10e" verify -q a.tar.gz b.tar.gz > r10e.txt; test $? -eq 1`,
        { cwd: WORK, env },
      ),
  };
  const skipped: string[] = [];
  if (await which("diffoscope")) {
    contenders[`diffoscope (cap ${cap} s)`] = async () => {
      const t0 = performance.now();
      try {
        return await measure(
          "diffoscope",
          `timeout ${cap} diffoscope --no-progress --text diffoscope.txt a.tar.gz b.tar.gz; ` +
            `s=$?; test $s -eq 1 || test $s -eq 124`,
          // python3-libarchive-c finds the library through ldconfig's cache, which a fresh
          // install may not have updated yet.
          { cwd: WORK, env: { ...env, LIBARCHIVE: "/usr/lib/x86_64-linux-gnu/libarchive.so.13" } },
        );
      } catch (e) {
        skipped.push(`diffoscope failed: ${(e as Error).message.slice(0, 300)}`);
        return { wallSeconds: (performance.now() - t0) / 1000, peakRssMb: 0 };
      }
    };
  } else skipped.push("diffoscope: not installed (apt-get install diffoscope)");
  if (await which("diffoci")) {
    contenders["docker load ×2 + diffoci diff --semantic"] = () =>
      measure(
        "diffoci",
        "docker load -i a.tar.gz >/dev/null && docker load -i b.tar.gz >/dev/null && " +
          "diffoci diff --semantic docker://bench:a docker://bench:b > diffoci.txt; true",
        { cwd: WORK, env: { ...env, DOCKER_HOST: Deno.env.get("DOCKER_HOST") ?? "" } },
      );
  } else {
    skipped.push(
      "diffoci: not installed (go install github.com/reproducible-containers/diffoci/cmd/diffoci@latest)",
    );
  }
  const results = await compare(contenders, rounds);
  console.log(formatRows(results, lower));
  const r = results["r10e verify"];
  console.log(
    `ratio r10e / lower bound: ${(r.wallSeconds / results[lower].wallSeconds).toFixed(2)}x ` +
      `(target ≤ 2x); r10e peak RSS ${r.peakRssMb.toFixed(0)} MB (target < 200 MB)`,
  );
  console.log(
    "CPU seconds (user+sys) of the last round: " +
      [...cpu].map(([name, s]) => `${name} ${s.toFixed(1)} s`).join(", ") +
      `; load average at the end: ${Deno.loadavg().map((l) => l.toFixed(1)).join(" ")}`,
  );
  for (const [name, m] of Object.entries(results)) {
    if (name.startsWith("diffoscope") && m.wallSeconds >= cap - 1) {
      console.log(`${name}: did not finish: > ${cap} s`);
    }
  }
  for (const s of skipped) console.log(s);
  console.log(
    "r10e's report starts with: " +
      (await Deno.readTextFile(`${WORK}/r10e.txt`)).split("\n")[0],
  );
  if (r.wallSeconds / results[lower].wallSeconds > 2 || r.peakRssMb >= 200) Deno.exitCode = 1;
  await identicalPart(rounds, env);
  if (Deno.args.includes("--no-ref")) console.log("REF part: left out (--no-ref)");
  else if (await which("docker-registry")) await refPart(rounds, env);
  else console.log("REF part: docker-registry is not installed (apt-get install docker-registry)");
}

/**
 * Two byte-identical archives (a.tar.gz and a copy): `r10e verify` against `sha256sum` of both,
 * the same proof (target ≤ 1.5x). Identical bytes are identical images: r10e compares them, takes
 * the digest once and reads only the documents (checked to be an image), not the layers.
 */
async function identicalPart(rounds: number, env: Record<string, string>): Promise<void> {
  await Deno.copyFile(`${WORK}/a.tar.gz`, `${WORK}/a-copy.tar.gz`);
  const peer = "sha256sum a.tar.gz a-copy.tar.gz";
  const mine = "r10e verify a.tar.gz a-copy.tar.gz (byte-identical)";
  const results = await compare({
    [peer]: () => measure(peer, `${peer} > /dev/null`, { cwd: WORK, env }),
    [mine]: () =>
      measure(mine, `"${REPO}/scripts/r10e" verify -q a.tar.gz a-copy.tar.gz > /dev/null`, {
        cwd: WORK,
        env,
      }),
  }, Math.max(rounds, 3));
  console.log(`\nverify of two byte-identical archives; ${Math.max(rounds, 3)} rounds, medians`);
  console.log(formatRows(results, peer));
  const ratio = results[mine].wallSeconds / results[peer].wallSeconds;
  console.log(
    `ratio identical verify / sha256sum of both: ${ratio.toFixed(2)}x wall, ${
      (results[mine].cpuSeconds! / results[peer].cpuSeconds!).toFixed(2)
    }x CPU (target ≤ 1.5x); load average ${Deno.loadavg().map((l) => l.toFixed(1)).join(" ")}`,
  );
  if (ratio > 1.5) Deno.exitCode = 1;
}

/** `verify REF@digest X` against `verify a.tar.gz X`, X the same image and the other one. */
async function refPart(rounds: number, env: Record<string, string>): Promise<void> {
  const r10e = `"${REPO}/scripts/r10e"`;
  await Deno.mkdir(`${WORK}/docker`, { recursive: true });
  const refEnv = { ...env, DOCKER_CONFIG: `${WORK}/docker` }; // no credentials: none needed
  await withRegistry(WORK, async (host) => {
    const pushed = await new Deno.Command("sh", {
      args: ["-c", `${r10e} push -q a.tar.gz ${host}/bench:a`],
      cwd: WORK,
      env: refEnv,
      stdout: "piped",
      stderr: "inherit",
    }).output();
    const ref = new TextDecoder().decode(pushed.stdout).trim();
    if (!pushed.success || !ref.includes("@sha256:")) {
      throw new Error("r10e push of a.tar.gz failed");
    }
    console.log(`\nverify REF: a.tar.gz pushed to a loopback docker-registry as ${ref}`);
    const verify = (x: string, y: string, code: number) => () =>
      measure(
        `verify ${x === ref ? "REF" : x} ${y}`,
        `${r10e} verify -q ${x} ${y} > /dev/null; test $? -eq ${code}`,
        { cwd: WORK, env: refEnv },
      );
    const results = await compare({
      "r10e verify a.tar.gz a.tar.gz (same image)": verify("a.tar.gz", "a.tar.gz", 0),
      "r10e verify REF@digest a.tar.gz": verify(ref, "a.tar.gz", 0),
      "r10e verify a.tar.gz b.tar.gz (a few files differ)": verify("a.tar.gz", "b.tar.gz", 1),
      "r10e verify REF@digest b.tar.gz": verify(ref, "b.tar.gz", 1),
    }, rounds);
    console.log(formatRows(results, "r10e verify a.tar.gz a.tar.gz (same image)"));
    const ratio = (x: string, y: string) =>
      (results[x].wallSeconds / results[y].wallSeconds).toFixed(2);
    console.log(
      `ratio REF / archives: same image ${
        ratio("r10e verify REF@digest a.tar.gz", "r10e verify a.tar.gz a.tar.gz (same image)")
      }x, a few files differ ${
        ratio(
          "r10e verify REF@digest b.tar.gz",
          "r10e verify a.tar.gz b.tar.gz (a few files differ)",
        )
      }x (target ≤ 1.5x); load average at the end: ${
        Deno.loadavg().map((l) => l.toFixed(1)).join(" ")
      }`,
    );
  });
}
