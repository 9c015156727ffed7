// node:assert/strict stands in for @std/assert, which is JSR only (STYLE: dependencies).
import assert from "node:assert/strict";
import { fixture, sha256 } from "./_fixture.ts";
import { cyclonedxDocument } from "./cyclonedx.ts";
import {
  golangPurl,
  h1Hex,
  normalizeCreated,
  RUNTIME_ROOT_PACKAGE,
  sortedJson,
  stdlibPurl,
  uuidV5,
} from "./model.ts";
import { RUNTIME_ROOT_FILES } from "../pinned/runtime_root.ts";
import { createHash } from "node:crypto";
import { spdxDocument } from "./spdx.ts";

Deno.test("golden: SPDX and CycloneDX bytes of a fixed input", async (t) => {
  // A changed digest is a change in what users get: say so in the commit.
  const want = {
    spdx: "12928f6bb7f289eb667c2524e56501c14dfb0027760dbc861a4810e00908eb18",
    cyclonedx: "52ce7a4f24ffcdf26a54d6c31955b26418ee983caa999eb12bc67683ef0100d4",
  };
  for (
    const [format, make] of [["spdx", spdxDocument], ["cyclonedx", cyclonedxDocument]] as const
  ) {
    await t.step(format, () => {
      assert.equal(sha256(sortedJson(make(fixture()))), want[format]);
    });
  }
});

Deno.test("the input's order does not change the bytes", () => {
  const a = fixture();
  const b = fixture();
  b.files.reverse();
  b.binaries.reverse();
  b.binaries[0].info = { ...b.binaries[0].info, deps: [...b.binaries[0].info.deps].reverse() };
  assert.equal(sortedJson(spdxDocument(a)), sortedJson(spdxDocument(b)));
  assert.equal(sortedJson(cyclonedxDocument(a)), sortedJson(cyclonedxDocument(b)));
});

Deno.test("SPDX: modules, replacements, toolchain, settings, data packages", async (t) => {
  const doc = spdxDocument(fixture()) as {
    packages: Record<string, unknown>[];
    relationships: {
      spdxElementId: string;
      relationshipType: string;
      relatedSpdxElement: string;
    }[];
    files: { fileName: string }[];
    documentNamespace: string;
    creationInfo: { created: string };
  };
  const byName = (n: string) => doc.packages.filter((p) => p.name === n);
  const purl = (p: Record<string, unknown>) =>
    (p.externalRefs as { referenceLocator: string }[] | undefined)?.[0]?.referenceLocator;
  await t.step("created and namespace come from the image", () => {
    assert.equal(doc.creationInfo.created, "2024-05-06T07:08:09Z");
    assert.match(doc.documentNamespace, /^urn:uuid:[0-9a-f-]{36}$/);
  });
  await t.step("a dependency has its version, h1 sum as SHA256 and purl", () => {
    const [uuid] = byName("github.com/google/uuid");
    assert.equal(uuid.versionInfo, "v1.6.0");
    assert.deepEqual(uuid.checksums, [{
      algorithm: "SHA256",
      // base64 -d of the h1: sum, by `base64 -d | xxd -p`.
      checksumValue: "348bda24330eb231c0f27d630212d2833ac0cf2d4782bfa136b6f9edefbde05d",
    }]);
    assert.equal(purl(uuid), "pkg:golang/github.com/google/uuid@v1.6.0");
    assert.match(uuid.sourceInfo as string, /h1:NIvaJDMOsjHA8n1jAhLSgzrAzy1Hgr\+hNrb57e\+94F0=/);
  });
  await t.step("a replacement is a package VARIANT_OF what it replaces", () => {
    const [fork] = byName("github.com/fork/toml");
    const [orig] = byName("github.com/BurntSushi/toml");
    assert.equal(fork.versionInfo, "v1.3.3-fix");
    assert.equal(orig.versionInfo, "v1.3.2");
    assert.equal(orig.checksums, undefined);
    assert.ok(
      doc.relationships.some((r) =>
        r.spdxElementId === fork.SPDXID && r.relationshipType === "VARIANT_OF" &&
        r.relatedSpdxElement === orig.SPDXID
      ),
    );
    const [local] = byName("../local");
    assert.equal(purl(local), undefined, "a local path has no purl");
  });
  await t.step("the toolchain is pkg:golang/stdlib, once for two binaries", () => {
    const std = byName("stdlib");
    assert.equal(std.length, 1);
    assert.equal(std[0].versionInfo, "go1.26.8");
    assert.equal(purl(std[0]), "pkg:golang/stdlib@1.26.8");
  });
  await t.step("one main module per binary, with settings as annotations", () => {
    const mains = byName("example.com/app");
    assert.equal(mains.length, 2);
    const comments = (mains[0].annotations as { comment: string }[]).map((a) => a.comment);
    assert.ok(comments.includes("go build setting GOOS=linux"));
    assert.ok(comments.includes("go build setting CGO_ENABLED=0"));
    assert.ok(comments.includes("go build setting -ldflags=-s -w"));
    assert.match(mains[0].sourceInfo as string, /vcs revision 0123456789abcdef/);
  });
  await t.step("CA bundle and tzdata are packages with their files", () => {
    const [tz] = byName("tzdata");
    assert.equal((tz.hasFiles as string[]).length, 2);
    assert.equal(tz.checksums, undefined, "two files: no single sha256");
    const [ca] = byName("ca-certificates");
    assert.deepEqual(ca.checksums, [{
      algorithm: "SHA256",
      checksumValue: sha256("-----BEGIN CERTIFICATE-----"),
    }]);
  });
  await t.step("every file is listed, sorted", () => {
    const names = doc.files.map((f) => f.fileName);
    assert.deepEqual(names, [...names].sort());
    assert.equal(names.length, 5);
  });
});

Deno.test("CycloneDX: components, pedigree, properties, dependencies", async (t) => {
  const doc = cyclonedxDocument(fixture()) as {
    serialNumber: string;
    metadata: { timestamp: string; component: Record<string, unknown> };
    components: Record<string, unknown>[];
    dependencies: { ref: string; dependsOn: string[] }[];
  };
  const byName = (n: string) => doc.components.filter((c) => c.name === n);
  await t.step("serial number and timestamp come from the image", () => {
    assert.match(doc.serialNumber, /^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab]/);
    assert.equal(doc.metadata.timestamp, "2024-05-06T07:08:09Z");
    assert.equal(doc.metadata.component.type, "container");
  });
  await t.step("a replacement names its ancestor", () => {
    const [fork] = byName("github.com/fork/toml");
    assert.deepEqual((fork.pedigree as { ancestors: unknown[] }).ancestors, [{
      type: "library",
      name: "github.com/BurntSushi/toml",
      version: "v1.3.2",
      purl: "pkg:golang/github.com/BurntSushi/toml@v1.3.2",
    }]);
    assert.deepEqual(fork.hashes, [{
      alg: "SHA-256",
      content: "4c8c8f65ee0c82abdf7980c115e74ca061a9130fcba8e79a393fa787153ec87a",
    }]);
  });
  await t.step("each main module depends on its modules and stdlib", () => {
    const dep = doc.dependencies.find((d) => d.ref === "go-main:/app/app")!;
    assert.ok(dep.dependsOn.includes("pkg:golang/stdlib@1.26.8"));
    assert.ok(dep.dependsOn.includes("pkg:golang/github.com/google/uuid@v1.6.0"));
    assert.equal(dep.dependsOn.length, 4);
    const refs = new Set(doc.components.map((c) => c["bom-ref"]));
    for (const d of doc.dependencies) for (const r of d.dependsOn) assert.ok(refs.has(r), r);
  });
  await t.step("build settings are properties", () => {
    const [main] = byName("example.com/app");
    const props = main.properties as { name: string; value: string }[];
    assert.ok(props.some((p) => p.name === "r10e:go:build:GOARCH" && p.value === "amd64"));
  });
});

Deno.test("helpers", async (t) => {
  await t.step("purl encodes segments and +incompatible", () => {
    assert.equal(
      golangPurl("github.com/a/b", "v2.0.0+incompatible"),
      "pkg:golang/github.com/a/b@v2.0.0%2Bincompatible",
    );
    assert.equal(golangPurl("example.com/x", "(devel)"), "pkg:golang/example.com/x");
    assert.equal(golangPurl("./x", "v1"), null);
    assert.equal(stdlibPurl("go1.22.1"), "pkg:golang/stdlib@1.22.1");
  });
  await t.step("h1 sums only", () => {
    assert.equal(h1Hex("h2:abc"), null);
    assert.equal(h1Hex(""), null);
  });
  await t.step("UUID v5 of a known name (by python3 uuid.uuid5(uuid.NAMESPACE_URL, ...))", () => {
    assert.equal(uuidV5("http://python.org/"), "4c565f0d-3f5a-5890-b41b-20cf47701c5e");
  });
  await t.step("created: fractions dropped, zone to UTC, epoch when absent", () => {
    assert.equal(normalizeCreated("2024-01-02T03:04:05.987654321+02:00"), "2024-01-02T01:04:05Z");
    assert.equal(normalizeCreated(undefined), "1970-01-01T00:00:00Z");
    assert.equal(normalizeCreated("yesterday"), "1970-01-01T00:00:00Z");
  });
});

Deno.test("familiarName: Docker's short form of io.containerd.image.name", async () => {
  const { familiarName } = await import("./scan.ts");
  assert.equal(familiarName("docker.io/library/app:latest"), "app:latest");
  assert.equal(familiarName("docker.io/team/app:v1"), "team/app:v1");
  assert.equal(
    familiarName("registry.example.com/team/app:v1"),
    "registry.example.com/team/app:v1",
  );
  assert.equal(familiarName("127.0.0.1:5000/app:v1"), "127.0.0.1:5000/app:v1");
});

Deno.test("SPDX downloadLocation: NOASSERTION where no download exists, the module proxy where one does", () => {
  const input = fixture();
  // The main module as Go 1.24+ stamps it from the commit: a pseudo-version never published.
  const main = { path: "example.com/app", version: "v0.0.0-20240506070809-0123456789ab", sum: "" };
  input.binaries[1] = { ...input.binaries[1], info: { ...input.binaries[1].info, main } };
  const doc = spdxDocument(input) as { packages: Record<string, unknown>[] };
  const where = (name: string, version: string) =>
    doc.packages.find((p) => p.name === name && p.versionInfo === version)?.downloadLocation;
  assert.equal(where("example.com/app", main.version), "NOASSERTION");
  // Replaced by ../local: neither the directory nor what it stands for can be downloaded.
  assert.equal(where("example.com/local", "v0.0.0"), "NOASSERTION");
  assert.equal(
    where("github.com/google/uuid", "v1.6.0"),
    "https://proxy.golang.org/github.com/google/uuid/@v/v1.6.0.zip",
  );
  // Replaced by a published fork: both exist on the proxy.
  assert.equal(
    where("github.com/BurntSushi/toml", "v1.3.2"),
    "https://proxy.golang.org/github.com/!burnt!sushi/toml/@v/v1.3.2.zip",
  );
});

Deno.test("r10e's runtime root is a package of its three files, only with r10e's bytes", async (t) => {
  const file = (path: string, text: string) => ({
    path,
    size: text.length,
    sha256: sha256(text),
    sha1: createHash("sha1").update(text).digest("hex"),
  });
  const withRoot = fixture();
  withRoot.files.push(...Object.entries(RUNTIME_ROOT_FILES).map(([p, text]) => file(p, text)));
  await t.step("SPDX: a package with the files, contained in the image", () => {
    const doc = spdxDocument(withRoot) as {
      packages: { name: string; hasFiles?: string[]; SPDXID: string; sourceInfo?: string }[];
      files: { SPDXID: string; fileName: string }[];
    };
    const [pkg] = doc.packages.filter((p) => p.name === RUNTIME_ROOT_PACKAGE);
    const names = pkg.hasFiles!.map((id) => doc.files.find((f) => f.SPDXID === id)!.fileName);
    assert.deepEqual(names.sort(), ["/etc/group", "/etc/nsswitch.conf", "/etc/passwd"]);
    assert.match(pkg.sourceInfo!, /r10e's runtime root/);
  });
  await t.step("CycloneDX: a data component with the files nested", () => {
    const doc = cyclonedxDocument(withRoot) as {
      components: { name: string; type: string; components?: { name: string }[] }[];
    };
    const [c] = doc.components.filter((x) => x.name === RUNTIME_ROOT_PACKAGE);
    assert.equal(c.type, "data");
    assert.equal(c.components!.length, 3);
  });
  await t.step("another /etc/passwd is a file of the image, not r10e's package", () => {
    const other = fixture();
    other.files.push(
      ...Object.entries(RUNTIME_ROOT_FILES).map(([p, text]) =>
        file(p, p === "/etc/passwd" ? text + "app:x:1000:1000::/:/bin/sh\n" : text)
      ),
    );
    const doc = spdxDocument(other) as { packages: { name: string }[] };
    assert.equal(doc.packages.some((p) => p.name === RUNTIME_ROOT_PACKAGE), false);
  });
});
