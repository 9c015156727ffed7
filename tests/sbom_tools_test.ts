/**
 * `r10e sbom` against its peers on the same image: the Go module set
 * and versions it lists for each artifact equal what `go version -m` prints for that artifact,
 * what syft's Go binary cataloger finds (syft v1.57.2), and what cyclonedx-gomod v1.10.0 names
 * for the source tree. Two images: an r10e build of tests/fixtures/moddeps in a git repository
 * (two dependencies, and a test-only one), and a ko build of the same source outside git.
 *
 * Where the tools differ, the difference is asserted exactly, with its reason:
 * - syft names the main module of a binary without a version (`(devel)`) `UNKNOWN`;
 * - cyclonedx-gomod adds purl qualifiers (`?goarch=…&goos=…&type=module`), calls the standard
 *   library `std` (purl `pkg:golang/std@go1.26.8`) where r10e and syft say `stdlib`
 *   (`pkg:golang/stdlib@1.26.8`), and in its `mod` mode with `-test` also lists the test-only
 *   github.com/google/go-cmp that go.mod requires and no binary holds.
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { gunzipSync } from "node:zlib";
import { fileSha256, git, r10e, REPO } from "./_cli.ts";
import {
  docker,
  dockerRequired,
  dockerTest,
  findTool,
  importImage,
  pushToLocalRegistry,
  run,
  testRegistry,
} from "./_docker.ts";

const FIXTURE = `${REPO}/tests/fixtures/moddeps`;
const FILES = ["go.mod", "go.sum", "main.go", "main_test.go", "config.json"];
const SDE = { SOURCE_DATE_EPOCH: "1700000000" };

// deno-lint-ignore no-explicit-any
type Json = any;

/** One Go module as a tool names it: `path version`, and the sha256 of its `h1:` sum (hex). */
interface Module {
  name: string;
  version: string;
  sha256: string;
}

/** What one tool says about one Go binary. */
interface GoModules {
  main: { name: string; version: string };
  deps: Module[];
}

/** A Go tool on PATH or in `$(go env GOPATH)/bin` (where scripts/setup.sh installs it). */
async function goTool(t: Deno.TestContext, name: string): Promise<string | undefined> {
  const found = findTool(name);
  if (found) return found;
  const gopath = (await run("go", ["env", "GOPATH"])).stdout.trim();
  try {
    Deno.statSync(`${gopath}/bin/${name}`);
    return `${gopath}/bin/${name}`;
  } catch {
    const reason = `${name} is not installed (bash scripts/setup.sh installs it)`;
    if (dockerRequired()) throw new Error(`R10E_REQUIRE_DOCKER=1 but ${reason}`);
    console.log(`skipped: "${t.name}": ${reason}`);
    return undefined;
  }
}

/** The environment of the peer tools: the host's Go caches, no network, no update checks. */
function toolEnv(): Record<string, string> {
  const env: Record<string, string> = {
    PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
    HOME: Deno.env.get("HOME") ?? "/root",
    GOFLAGS: "",
    GOPROXY: "off",
    CGO_ENABLED: "0",
    SYFT_CHECK_FOR_APP_UPDATE: "false",
  };
  for (const key of ["GOCACHE", "GOMODCACHE", "GOPATH", "DOCKER_HOST"]) {
    const v = Deno.env.get(key);
    if (v !== undefined) env[key] = v;
  }
  return env;
}

function hexOfH1(sum: string): string {
  assert.match(sum, /^h1:[A-Za-z0-9+/]{43}=$/);
  return Buffer.from(sum.slice(3), "base64").toString("hex");
}

function sorted(deps: Module[]): Module[] {
  return [...deps].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** `go version -m BINARY`: the toolchain, the main module and the modules compiled in. */
async function goVersionM(binary: string): Promise<GoModules & { go: string }> {
  const r = await run("go", ["version", "-m", binary]);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.split("\n");
  const go = lines[0].split(": ")[1].trim();
  let main = { name: "", version: "" };
  const deps: Module[] = [];
  for (const line of lines.slice(1)) {
    const [, kind, path, version, sum] = line.split("\t");
    if (kind === "mod") main = { name: path, version };
    if (kind === "dep") deps.push({ name: path, version, sha256: sum ? hexOfH1(sum) : "" });
    // A replacement is what is compiled in: it takes the place of the line above.
    if (kind === "=>") {
      deps[deps.length - 1] = { name: path, version, sha256: sum ? hexOfH1(sum) : "" };
    }
  }
  return { go, main, deps: sorted(deps) };
}

/** What r10e's SPDX document says about the binary at `path`, followed through its relationships. */
function spdxModules(doc: Json, path: string): GoModules & { stdlib: Json; purls: string[] } {
  const file = doc.files.find((f: Json) => f.fileName === path);
  assert.ok(file, `${path} in the SPDX files`);
  const rel = (from: string, type: string) =>
    doc.relationships.filter((r: Json) => r.spdxElementId === from && r.relationshipType === type)
      .map((r: Json) => doc.packages.find((p: Json) => p.SPDXID === r.relatedSpdxElement));
  const [main] = rel(file.SPDXID, "GENERATED_FROM");
  assert.ok(main, `the main module of ${path}`);
  const all = rel(main.SPDXID, "DEPENDS_ON");
  const stdlib = all.find((p: Json) => p.name === "stdlib");
  const deps = all.filter((p: Json) => p !== stdlib);
  const purl = (p: Json) =>
    p.externalRefs?.find((e: Json) => e.referenceType === "purl")
      ?.referenceLocator;
  return {
    main: { name: main.name, version: main.versionInfo },
    deps: sorted(deps.map((p: Json) => ({
      name: p.name,
      version: p.versionInfo,
      sha256: p.checksums?.find((c: Json) => c.algorithm === "SHA256")?.checksumValue ?? "",
    }))),
    stdlib: { version: stdlib.versionInfo, purl: purl(stdlib) },
    purls: [purl(main), ...deps.map(purl)].sort(),
  };
}

/** What syft's Go binary cataloger found in the binary at `path`. */
function syftModules(doc: Json, path: string): GoModules & { stdlib: Json; purls: string[] } {
  const mine = doc.artifacts.filter((a: Json) =>
    a.foundBy === "go-module-binary-cataloger" && a.locations.some((l: Json) => l.path === path)
  );
  const stdlib = mine.find((a: Json) => a.name === "stdlib");
  const main = mine.find((a: Json) => a.metadata?.goBuildSettings !== undefined);
  assert.ok(stdlib && main, JSON.stringify(mine.map((a: Json) => a.name)));
  const deps = mine.filter((a: Json) => a !== stdlib && a !== main);
  return {
    main: { name: main.name, version: main.version },
    deps: sorted(deps.map((a: Json) => ({
      name: a.name,
      version: a.version,
      sha256: a.metadata.h1Digest ? hexOfH1(a.metadata.h1Digest) : "",
    }))),
    stdlib: { version: stdlib.version, purl: stdlib.purl },
    purls: [main.purl, ...deps.map((a: Json) => a.purl)].sort(),
  };
}

/** What cyclonedx-gomod (`app` or `mod`) names for the source tree. */
function cyclonedxGomodModules(doc: Json): GoModules & { std: Json[]; purls: string[] } {
  const main = doc.metadata.component;
  const all: Json[] = [...(main.components ?? []), ...(doc.components ?? [])];
  const std = all.filter((c) => c.name === "std");
  const deps = all.filter((c) => c.name !== "std");
  return {
    main: { name: main.name, version: main.version },
    deps: sorted(deps.map((c) => ({
      name: c.name,
      version: c.version,
      sha256: c.hashes?.find((h: Json) => h.alg === "SHA-256")?.content ?? "",
    }))),
    std: std.map((c) => ({ version: c.version, purl: c.purl })),
    purls: [main.purl, ...deps.map((c) => c.purl)].sort(),
  };
}

async function r10eSbom(image: string): Promise<Json> {
  const r = await r10e(["sbom", image]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, "");
  return JSON.parse(r.stdout);
}

async function syft(syftBin: string, source: string): Promise<Json> {
  const r = await run(syftBin, ["scan", source, "-o", "syft-json", "-q"], { env: toolEnv() });
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout);
}

/** `r10e cp IMAGE PATH DIR`: the binary as the image holds it. */
async function copyOut(image: string, path: string, dir: string): Promise<string> {
  const r = await r10e(["cp", image, path, dir]);
  assert.equal(r.code, 0, r.stderr);
  return `${dir}/${path.split("/").pop()}`;
}

/** The fixture in `dir`, committed in a git repository (Go stamps vcs.* and a pseudo-version). */
async function gitProject(dir: string): Promise<void> {
  await Deno.mkdir(dir, { recursive: true });
  for (const f of FILES) await Deno.copyFile(`${FIXTURE}/${f}`, `${dir}/${f}`);
  await Deno.writeTextFile(`${dir}/.gitignore`, "/build/\n");
  const init = await r10e(["init", "-q"], { cwd: dir, env: SDE });
  assert.equal(init.code, 0, init.stderr);
  await git(dir, "init", "-q");
  await git(dir, "add", "-A");
  await git(dir, "commit", "-q", "-m", "moddeps");
}

/** The module set go.mod's test-only requirement adds (cyclonedx-gomod's `mod` mode lists it). */
async function testOnlyModule(): Promise<Module> {
  const sum = (await Deno.readTextFile(`${FIXTURE}/go.sum`)).split("\n")
    .find((l) => l.startsWith("github.com/google/go-cmp v0.7.0 "));
  assert.ok(sum);
  return {
    name: "github.com/google/go-cmp",
    version: "v0.7.0",
    sha256: hexOfH1(sum.split(" ")[2]),
  };
}

Deno.test("r10e sbom of an r10e image = go version -m = syft = cyclonedx-gomod", async (t) => {
  const syftBin = await goTool(t, "syft");
  const gomod = await goTool(t, "cyclonedx-gomod");
  if (!syftBin || !gomod) return;
  const dir = await Deno.makeTempDir({ prefix: "r10e-sbom-tools-" });
  try {
    await gitProject(`${dir}/src`);
    const b = await r10e(["build", "--in", "host", "-q"], { cwd: `${dir}/src`, env: SDE });
    assert.equal(b.code, 0, b.stderr);
    const archive = `${dir}/src/r10e-docker/out/r10e-moddeps-latest.tar.gz`;
    // syft reads a tar, not a gzip-compressed one: the same archive, uncompressed.
    await Deno.writeFile(`${dir}/image.tar`, gunzipSync(await Deno.readFile(archive)));
    const binary = await copyOut(archive, "/app/moddeps", dir);
    const go = await goVersionM(binary);
    const ours = spdxModules(await r10eSbom(archive), "/app/moddeps");

    await t.step("go version -m: the same main module, modules, versions and sums", () => {
      // The fixture's two dependencies, and Go's pseudo-version of the commit for the main module.
      assert.deepEqual(go.deps.map((m) => `${m.name} ${m.version}`), [
        "github.com/google/uuid v1.6.0",
        "golang.org/x/sync v0.19.0",
      ]);
      assert.match(go.main.version, /^v0\.0\.0-\d{14}-[0-9a-f]{12}$/);
      assert.deepEqual(ours.main, go.main);
      assert.deepEqual(ours.deps, go.deps);
      assert.deepEqual(ours.stdlib, {
        version: go.go,
        purl: `pkg:golang/stdlib@${go.go.slice(2)}`,
      });
    });

    await t.step(
      "syft's Go binary cataloger (oci-archive and docker-archive): the same",
      async () => {
        for (const source of [`oci-archive:${dir}/image.tar`, `docker-archive:${dir}/image.tar`]) {
          const doc = await syft(syftBin, source);
          const theirs = syftModules(doc, "/app/moddeps");
          assert.deepEqual(theirs.main, go.main, source);
          assert.deepEqual(theirs.deps, go.deps, source);
          // syft names the toolchain as r10e does, with the "go" prefix in its version.
          assert.deepEqual(theirs.stdlib, ours.stdlib, source);
          assert.deepEqual(theirs.purls, ours.purls, source);
        }
      },
    );

    await t.step("cyclonedx-gomod app on the source tree: the same modules", async () => {
      const out = `${dir}/app.cdx.json`;
      // Its build constraints come from the environment, as for the image's build.
      const r = await run(gomod, ["app", "-json", "-std", "-output", out, "-main", "."], {
        cwd: `${dir}/src`,
        env: { ...toolEnv(), GOOS: "linux", GOARCH: "amd64" },
      });
      assert.equal(r.code, 0, r.stderr);
      const theirs = cyclonedxGomodModules(JSON.parse(await Deno.readTextFile(out)));
      assert.deepEqual(theirs.main, go.main);
      assert.deepEqual(theirs.deps, go.deps);
      // Its purls carry the build constraints as qualifiers; without them they are r10e's.
      const qualifiers = "?goarch=amd64&goos=linux&type=module";
      assert.deepEqual(theirs.purls, ours.purls.map((p) => p + qualifiers));
      // The standard library is `std` at `go1.26.8` there, `stdlib` at `1.26.8` in r10e and syft.
      assert.deepEqual(theirs.std, [{
        version: go.go,
        purl: `pkg:golang/std@${go.go}${qualifiers}`,
      }]);
    });

    await t.step("cyclonedx-gomod mod: the same; with -test, the test-only one too", async () => {
      const mod = async (...flags: string[]) => {
        const out = `${dir}/mod${flags.join("")}.cdx.json`;
        const r = await run(gomod, ["mod", "-json", ...flags, "-output", out, "."], {
          cwd: `${dir}/src`,
          env: { ...toolEnv(), GOOS: "linux", GOARCH: "amd64" },
        });
        assert.equal(r.code, 0, r.stderr);
        return cyclonedxGomodModules(JSON.parse(await Deno.readTextFile(out)));
      };
      const plain = await mod();
      assert.deepEqual(plain.main, go.main);
      assert.deepEqual(plain.deps, go.deps);
      // Exactly one more than the binary holds: go-cmp, which only main_test.go imports.
      const withTests = await mod("-test");
      assert.deepEqual(withTests.deps, sorted([...go.deps, await testOnlyModule()]));
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

dockerTest("r10e sbom of a ko image = go version -m = syft", async (t) => {
  const syftBin = await goTool(t, "syft");
  const ko = await goTool(t, "ko");
  if (!syftBin || !ko) return;
  const dir = await Deno.makeTempDir({ prefix: "r10e-sbom-ko-" });
  const base = `r10e-sbom-ko-base:${crypto.randomUUID().slice(0, 8)}`;
  try {
    // ko's base image: a one-file image imported here and pushed to the loopback registry.
    await Deno.mkdir(`${dir}/rootfs/etc`, { recursive: true });
    await Deno.writeTextFile(`${dir}/rootfs/etc/os-release`, "ID=r10e-test\n");
    await importImage(`${dir}/rootfs`, base);
    const pinned = await pushToLocalRegistry(base);
    // The source outside git: Go stamps no VCS information, the main module is `(devel)`.
    await Deno.mkdir(`${dir}/src`);
    for (const f of FILES) await Deno.copyFile(`${FIXTURE}/${f}`, `${dir}/src/${f}`);
    const k = await run(ko, [
      "build",
      "--push=false",
      "--platform=linux/amd64",
      `--tarball=${dir}/ko.tar`,
      "--bare",
      ".",
    ], {
      cwd: `${dir}/src`,
      env: {
        ...toolEnv(),
        KO_DEFAULTBASEIMAGE: pinned,
        KO_DOCKER_REPO: "example.com/moddeps",
        ...SDE,
      },
    });
    assert.equal(k.code, 0, k.stderr);
    const binary = await copyOut(`${dir}/ko.tar`, "/ko-app/moddeps", dir);
    const go = await goVersionM(binary);
    const sbom = await r10eSbom(`${dir}/ko.tar`);
    const ours = spdxModules(sbom, "/ko-app/moddeps");
    const theirs = syftModules(
      await syft(syftBin, `docker-archive:${dir}/ko.tar`),
      "/ko-app/moddeps",
    );

    await t.step("the binary r10e read is the one ko built, and its modules are go's", async () => {
      const file = sbom.files.find((f: Json) => f.fileName === "/ko-app/moddeps");
      assert.equal(
        file.checksums.find((c: Json) => c.algorithm === "SHA256").checksumValue,
        await fileSha256(binary),
      );
      assert.deepEqual(go.main, { name: "example.com/moddeps", version: "(devel)" });
      assert.deepEqual(go.deps.map((m) => `${m.name} ${m.version}`), [
        "github.com/google/uuid v1.6.0",
        "golang.org/x/sync v0.19.0",
      ]);
      assert.deepEqual(ours.main, go.main);
      assert.deepEqual(ours.deps, go.deps);
      assert.deepEqual(ours.stdlib.version, go.go);
    });

    await t.step("syft: the same modules; the main module without a version is UNKNOWN", () => {
      assert.deepEqual(theirs.deps, go.deps);
      assert.deepEqual(theirs.stdlib, ours.stdlib);
      // go version -m and r10e say `(devel)`; syft v1.57.2 says UNKNOWN. Both give it no purl
      // version, so the purls are the same.
      assert.deepEqual(theirs.main, { name: go.main.name, version: "UNKNOWN" });
      assert.deepEqual(theirs.purls, ours.purls);
      assert.ok(ours.purls.includes("pkg:golang/example.com/moddeps"), ours.purls.join(" "));
    });
  } finally {
    await docker(["rmi", base, `${testRegistry()}/${base}`], { allowFail: true });
    await Deno.remove(dir, { recursive: true });
  }
});
