/**
 * Benchmark of the SBOMs' cost: what the SBOMs and the provenance add to a build. The
 * tree of bench/build.ts (four 36 MB binaries, 5,000 small files, about 229 MB), built with
 * `r10e build --no-build-cmd` with them (the default) and without them
 * (`R10E_BENCH_SKIP_SBOM=1`), alternately, in the same run. Target: under 10% more wall time.
 *
 *   deno run -A bench/sbom.ts [--rounds N]
 *
 * @module
 */
import { compare, formatRows } from "./_measure.ts";
import { r10eBuild, setup } from "./build.ts";

const REPO = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
const WORK = `${Deno.env.get("TMPDIR") ?? "/tmp"}/r10e-bench-build-${REPO.replaceAll("/", "_")}`;

if (import.meta.main) {
  const roundsAt = Deno.args.indexOf("--rounds");
  const rounds = roundsAt >= 0 ? Number(Deno.args[roundsAt + 1]) : 3;
  const { bytes, files } = await setup();
  console.log(
    `sbom: staged tree of ${files} files, ${
      (bytes / 1e6).toFixed(0)
    } MB; ${rounds} rounds, medians`,
  );
  const WITHOUT = "r10e build, no SBOM or provenance";
  const WITH = "r10e build (SPDX + CycloneDX + provenance)";
  const results = await compare({
    [WITHOUT]: () => r10eBuild({ R10E_BENCH_SKIP_SBOM: "1" }),
    [WITH]: () => r10eBuild({}),
  }, rounds);
  console.log(formatRows(results, WITHOUT));
  const [a, b] = [results[WITH], results[WITHOUT]];
  const wall = (a.wallSeconds / b.wallSeconds - 1) * 100;
  const cpu = (a.cpuSeconds! / b.cpuSeconds! - 1) * 100;
  const out = `${WORK}/project/r10e-docker/out`;
  const sizes = [];
  for (const s of ["spdx.json", "cdx.json", "provenance.json"]) {
    sizes.push(`${s} ${((await Deno.stat(`${out}/bench-latest.${s}`)).size / 1e6).toFixed(2)} MB`);
  }
  console.log(
    `SBOM + provenance overhead: ${wall.toFixed(1)}% wall, ${
      cpu.toFixed(1)
    }% CPU (target < 10%); peak RSS ${a.peakRssMb.toFixed(0)} MB vs ${
      b.peakRssMb.toFixed(0)
    } MB; documents: ${sizes.join(", ")}`,
  );
}
