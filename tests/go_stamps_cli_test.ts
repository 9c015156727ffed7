/**
 * `r10e verify` on two images that differ only by a Go binary stamped with
 * `-ldflags -X main.buildTime=$(date +%s%N)`: the report names
 * the variable with both values, the cause and its fix, for ELF and for a
 * stripped darwin/arm64 binary (its printable strings). `--json` carries the
 * same as data (docs/verify-json.md).
 */
// node:assert/strict stands in for @std/assert, which is JSR only (STYLE: dependencies).
import assert from "node:assert/strict";
import { rawTar, runR10e, writeTestImage } from "./cp_images.ts";
import { copyStamp, goBuild, goVersion } from "./fixtures/go/build.ts";

const GO = await goVersion();

function clockNs(): string {
  return (BigInt(Date.now()) * 1_000_000n + BigInt(Math.floor(Math.random() * 1e6))).toString();
}

Deno.test({
  name: "verify: -ldflags -X stamps are named with the symbol, both values, cause and fix",
  ignore: GO === null,
  fn: async (t) => {
    const dir = await Deno.makeTempDir({ prefix: "r10e-stamps-cli-" });
    try {
      await copyStamp(`${dir}/src`);
      const cases = [
        { label: "linux/amd64", env: {} as Record<string, string>, ldflags: "" },
        {
          label: "darwin/arm64 -s -w",
          env: { GOOS: "darwin", GOARCH: "arm64" },
          ldflags: "-s -w ",
        },
      ];
      for (const c of cases) {
        await t.step(c.label, async () => {
          const t1 = clockNs();
          let t2 = clockNs();
          while (t2 === t1) t2 = clockNs();
          for (const [side, value] of [["a", t1], ["b", t2]]) {
            const bin = `${dir}/${side}.bin`;
            await goBuild(`${dir}/src`, bin, {
              flags: ["-trimpath", `-ldflags=${c.ldflags}-X main.buildTime=${value}`],
              env: c.env,
            });
            const content = await Deno.readFile(bin);
            await writeTestImage(`${dir}/${side}.tar`, [
              rawTar([{ name: "app/server", content, mode: 0o755 }]),
            ]);
          }
          const text = await runR10e(["verify", "a.tar", "b.tar"], dir);
          assert.equal(text.code, 1, text.stderr);
          assert.match(text.stdout, /^Images differ: 1 finding: go-ldflags-x \(1\)/);
          assert.ok(
            text.stdout.includes(
              "go-ldflags-x (1): a value stamped at link time (-ldflags -X) → derive it from vcs.time, a tag or SOURCE_DATE_EPOCH, not the clock",
            ),
            text.stdout,
          );
          if (c.ldflags === "") {
            assert.ok(
              text.stdout.includes(
                `main.buildTime: "${t1}" → "${t2}" (-ldflags -X) → derive it from vcs.time or SOURCE_DATE_EPOCH, not the clock`,
              ),
              text.stdout,
            );
            assert.ok(text.stdout.includes("Go binary (ELF)"), text.stdout);
          } else {
            assert.ok(text.stdout.includes(`strings that differ: "${t1}" → "${t2}"`), text.stdout);
            assert.ok(text.stdout.includes("Go binary (Mach-O)"), text.stdout);
          }
          assert.ok(
            text.stdout.includes(
              "build ID parts that differ: actionID(binary), contentID(binary): link only",
            ),
          );
          const json = await runR10e(["verify", "--json", "a.tar", "b.tar"], dir);
          assert.equal(json.code, 1, json.stderr);
          const report = JSON.parse(json.stdout);
          const finding = report.findings.find((f: { cause: string }) =>
            f.cause === "go-ldflags-x"
          );
          assert.ok(finding, json.stdout);
          assert.equal(finding.path, "app/server");
          if (c.ldflags === "") {
            assert.deepEqual(
              finding.detail.stamps.map((
                s: { symbol: string; a: string; b: string },
              ) => [s.symbol, s.a, s.b]),
              [
                ["main.buildTime", t1, t2],
              ],
            );
          } else {
            assert.deepEqual(finding.detail.strings, { a: [t1], b: [t2] });
          }
          assert.equal(finding.detail.buildIdParts.verdict, "link");
        });
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
