/**
 * `r10e sbom` end to end: on r10e images of a real Go project with a real dependency
 * (github.com/google/uuid through the Go module proxy), on an image r10e did not build
 * (docker import + docker save), and on bad input.
 */
// node:assert/strict stands in for @std/assert, which is JSR only (STYLE: dependencies).
import assert from "node:assert/strict";
import { fileSha256, git, r10eInProcess, REPO } from "./_cli.ts";
import { docker, dockerTest, importImage } from "./_docker.ts";
import { schemaProblems } from "./_sbom_schema.ts";

const SDE = { SOURCE_DATE_EPOCH: "1700000000" };

/** A committed copy of tests/fixtures/uuid-app with the CA bundle and tzdata, built on the host. */
async function buildUuidApp(): Promise<{ dir: string; archive: string; record: string }> {
  const dir = await Deno.makeTempDir({ prefix: "r10e-sbom-uuid-" });
  for (const f of ["go.mod", "go.sum", "main.go", "config.json"]) {
    await Deno.copyFile(`${REPO}/tests/fixtures/uuid-app/${f}`, `${dir}/${f}`);
  }
  const config = JSON.parse(await Deno.readTextFile(`${dir}/config.json`));
  await Deno.writeTextFile(
    `${dir}/config.json`,
    JSON.stringify({ ...config, include_ca_bundle: true, include_tzdata: true }, null, 2) + "\n",
  );
  await Deno.writeTextFile(`${dir}/.gitignore`, "/build/\n");
  const init = await r10eInProcess(["init", "-q"], { cwd: dir, env: SDE });
  assert.equal(init.code, 0, init.stderr);
  await git(dir, "init", "-q");
  await git(dir, "add", "-A");
  await git(dir, "commit", "-q", "-m", "uuid-app");
  const build = await r10eInProcess(["build", "--in", "host", "-q", "--json"], {
    cwd: dir,
    env: SDE,
  });
  assert.equal(build.code, 0, build.stderr);
  return {
    dir,
    archive: `${dir}/r10e-docker/out/r10e-uuid-app-latest.tar.gz`,
    record: build.stdout,
  };
}

/** What `go version -m` prints for a binary: toolchain, main module, modules, settings. */
async function goVersionM(binary: string) {
  const out = await new Deno.Command("go", { args: ["version", "-m", binary], stdout: "piped" })
    .output();
  assert.ok(out.success, `go version -m ${binary} failed`);
  const lines = new TextDecoder().decode(out.stdout).split("\n");
  const go = lines[0].split(": ")[1].trim();
  const modules: string[] = [];
  const sums: string[] = [];
  const settings: string[] = [];
  for (const line of lines.slice(1)) {
    const [, kind, a, b, c] = line.split("\t");
    if (kind === "mod" || kind === "dep" || kind === "=>") modules.push(`${a} ${b}`);
    if ((kind === "dep" || kind === "=>") && c) sums.push(c);
    if (kind === "build") {
      const eq = a.indexOf("=");
      settings.push(`${a.slice(0, eq)}=${a.slice(eq + 1).replace(/^"(.*)"$/, "$1")}`);
    }
  }
  return { go, modules: modules.sort(), sums: sums.sort(), settings: settings.sort() };
}

// deno-lint-ignore no-explicit-any
type Doc = any;

/** The Go modules an SPDX document lists (name and version), without stdlib. */
function spdxModules(doc: Doc): string[] {
  return doc.packages
    .filter((p: Doc) => /^SPDXRef-Package-go-(main|module)-/.test(p.SPDXID))
    .filter((p: Doc) => p.comment === undefined) // not the replaced originals
    .map((p: Doc) => `${p.name} ${p.versionInfo}`).sort();
}

async function sbom(args: string[]): Promise<string> {
  const r = await r10eInProcess(["sbom", ...args]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, "");
  return r.stdout;
}

Deno.test("r10e sbom of an r10e image with a real dependency", async (t) => {
  const a = await buildUuidApp();
  const b = await buildUuidApp();
  try {
    const spdx = JSON.parse(await sbom([a.archive]));
    const cdx = JSON.parse(await sbom(["--format", "cyclonedx", a.archive]));
    const want = await goVersionM(`${a.dir}/build/uuid-app`);

    await t.step("the modules and versions are those `go version -m` prints", () => {
      assert.ok(want.modules.some((m) => m.startsWith("github.com/google/uuid v1.6.0")));
      assert.deepEqual(spdxModules(spdx), want.modules);
      const cdxModules = cdx.components
        .filter((c: Doc) => c.purl?.startsWith("pkg:golang/") && c.name !== "stdlib")
        .map((c: Doc) => `${c.name} ${c.version}`).sort();
      assert.deepEqual(cdxModules, want.modules);
    });

    await t.step("the h1 sums, toolchain and build settings are there", () => {
      const text = JSON.stringify(spdx);
      for (const sum of want.sums) assert.ok(text.includes(sum), sum);
      const std = spdx.packages.find((p: Doc) => p.name === "stdlib");
      assert.equal(std.versionInfo, want.go);
      const main = cdx.components.find((c: Doc) => c.type === "application");
      const props = main.properties
        .filter((p: Doc) => p.name.startsWith("r10e:go:build:"))
        .map((p: Doc) => `${p.name.slice("r10e:go:build:".length)}=${p.value}`).sort();
      assert.deepEqual(props, want.settings);
    });

    await t.step("both documents validate against the official schemas", () => {
      assert.deepEqual(schemaProblems("spdx", spdx), []);
      assert.deepEqual(schemaProblems("cyclonedx", cdx), []);
    });

    await t.step("the CA bundle and tzdata are packages, with the image's bytes", async () => {
      const out = await Deno.makeTempDir({ prefix: "r10e-sbom-cp-" });
      try {
        const cp = await r10eInProcess([
          "cp",
          a.archive,
          "/etc/ssl/certs/ca-certificates.crt",
          out,
        ]);
        assert.equal(cp.code, 0, cp.stderr);
        const ca = spdx.packages.find((p: Doc) => p.name === "ca-certificates");
        assert.deepEqual(ca.checksums, [{
          algorithm: "SHA256",
          checksumValue: await fileSha256(`${out}/ca-certificates.crt`),
        }]);
        const tz = await r10eInProcess(["cp", "--json", a.archive, "/usr/share/zoneinfo", out]);
        assert.equal(tz.code, 0, tz.stderr);
        const zones = JSON.parse(tz.stdout) as unknown[];
        const pkg = spdx.packages.find((p: Doc) => p.name === "tzdata");
        assert.ok(zones.length > 100);
        assert.equal(pkg.hasFiles.length, zones.length);
      } finally {
        await Deno.remove(out, { recursive: true });
      }
    });

    await t.step("created and the identifiers come from the image", () => {
      assert.equal(spdx.creationInfo.created, "2023-11-14T22:13:20Z");
      assert.equal(cdx.metadata.timestamp, "2023-11-14T22:13:20Z");
      assert.notEqual(spdx.documentNamespace, cdx.serialNumber);
    });

    await t.step("two reproducible builds give byte-identical SBOMs", async () => {
      assert.notEqual(a.archive, b.archive);
      for (const format of ["spdx", "cyclonedx"]) {
        assert.equal(
          await sbom(["--format", format, b.archive]),
          await sbom(["--format", format, a.archive]),
        );
      }
    });

    await t.step(
      "provenance: subjects, commit, clean tree; the same bytes for both builds",
      async () => {
        const texts: string[] = [];
        for (const x of [a, b]) {
          // The record lives outside the tree: inside it, it would make the tree dirty.
          const record = await Deno.makeTempFile({ prefix: "r10e-sbom-build-", suffix: ".json" });
          await Deno.writeTextFile(record, x.record);
          texts.push(await sbom(["--format", "provenance", "--build", record, x.archive]));
          await Deno.remove(record);
        }
        assert.equal(texts[1], texts[0]);
        const doc = JSON.parse(texts[0]);
        const rec = JSON.parse(a.record);
        assert.deepEqual(doc.subject, [
          { name: "r10e-uuid-app:latest", digest: { sha256: rec.manifestDigest.slice(7) } },
          {
            name: "/app/uuid-app",
            digest: { sha256: await fileSha256(`${a.dir}/build/uuid-app`) },
          },
        ]);
        const head = (await git(a.dir, "rev-parse", "HEAD")).trim();
        const commit = doc.predicate.buildDefinition.resolvedDependencies
          .find((d: Doc) => d.digest?.gitCommit);
        assert.deepEqual(commit.digest, { gitCommit: head });
        assert.equal(commit.annotations.clean, true);
        assert.equal(doc.predicate.buildDefinition.externalParameters.mode, "host");
        assert.equal(
          doc.predicate.buildDefinition.externalParameters.build_cmd,
          "go build -o build/uuid-app .",
        );
      },
    );

    await t.step("provenance of another image's record is refused", async () => {
      const record = `${a.dir}/../${a.dir.split("/").pop()}.json`;
      await Deno.writeTextFile(
        record,
        JSON.stringify({ ...JSON.parse(a.record), manifestDigest: "sha256:" + "0".repeat(64) }),
      );
      try {
        const r = await r10eInProcess([
          "sbom",
          "--format",
          "provenance",
          "--build",
          record,
          a.archive,
        ]);
        assert.equal(r.code, 2);
        assert.match(r.stderr, /is of image sha256:0{64}, not of this one/);
      } finally {
        await Deno.remove(record);
      }
    });

    await t.step("-o writes the same bytes, and nothing on stdout", async () => {
      const file = `${a.dir}/sbom.spdx.json`;
      const r = await r10eInProcess(["sbom", "-o", file, a.archive]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, "");
      assert.equal(await Deno.readTextFile(file), JSON.stringify(spdx, null, 2) + "\n");
    });
  } finally {
    await Deno.remove(a.dir, { recursive: true });
    await Deno.remove(b.dir, { recursive: true });
  }
});

Deno.test("r10e sbom: unreadable input exits 2 and writes nothing", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "r10e-sbom-bad-" });
  try {
    await Deno.writeTextFile(`${dir}/junk.tar`, "not an image\n");
    await t.step("not a tar", async () => {
      const r = await r10eInProcess(["sbom", "-o", `${dir}/out.json`, `${dir}/junk.tar`]);
      assert.equal(r.code, 2);
      assert.equal(r.stdout, "");
      assert.match(r.stderr, /^r10e: Cannot read image ".*junk\.tar": not a valid tar archive/);
      assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["junk.tar"]);
    });
    await t.step("missing", async () => {
      const r = await r10eInProcess(["sbom", `${dir}/missing.tar`]);
      assert.equal(r.code, 2);
      assert.match(r.stderr, /Cannot read image ".*missing\.tar": file not found/);
    });
    await t.step("unknown format", async () => {
      const r = await r10eInProcess(["sbom", "--format", "swid", `${dir}/junk.tar`]);
      assert.equal(r.code, 2);
      assert.match(r.stderr, /Allowed choices are spdx, cyclonedx/);
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

dockerTest("r10e sbom of an image r10e did not build (docker import, docker save)", async (t) => {
  const { dir } = await buildUuidApp();
  const tag = `r10e-sbom-test-${crypto.randomUUID().slice(0, 8)}:v1`;
  try {
    const root = `${dir}/rootfs`;
    await Deno.mkdir(`${root}/usr/local/bin`, { recursive: true });
    await Deno.copyFile(`${dir}/build/uuid-app`, `${root}/usr/local/bin/uuid-app`);
    await Deno.chmod(`${root}/usr/local/bin/uuid-app`, 0o755);
    await Deno.writeTextFile(`${root}/hello.txt`, "hello\n");
    await importImage(root, tag);
    await docker(["save", "-o", `${dir}/saved.tar`, tag]);
    const want = await goVersionM(`${dir}/build/uuid-app`);
    for (const format of ["spdx", "cyclonedx"] as const) {
      await t.step(format, async () => {
        const doc = JSON.parse(await sbom(["--format", format, `${dir}/saved.tar`]));
        assert.deepEqual(schemaProblems(format, doc), []);
        if (format === "spdx") {
          assert.deepEqual(spdxModules(doc), want.modules);
          const files = doc.files.map((f: Doc) => f.fileName);
          assert.deepEqual(files, ["/hello.txt", "/usr/local/bin/uuid-app"]);
        } else {
          const bin = doc.components.find((c: Doc) =>
            c["bom-ref"] === "file:/usr/local/bin/uuid-app"
          );
          const sha = bin.hashes.find((h: Doc) => h.alg === "SHA-256").content;
          assert.equal(sha, await fileSha256(`${dir}/build/uuid-app`));
        }
      });
    }
  } finally {
    await docker(["rmi", "-f", tag], { allowFail: true });
    await Deno.remove(dir, { recursive: true });
  }
});
