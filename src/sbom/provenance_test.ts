// node:assert/strict stands in for @std/assert, which is JSR only (STYLE: dependencies).
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { sortedJson } from "./model.ts";
import { type ProvenanceInput, provenanceStatement } from "./provenance.ts";

function input(): ProvenanceInput {
  return {
    build: {
      manifestDigest: "sha256:" + "cd".repeat(32),
      artifacts: [
        { src: "build/tool", dest: "/app/tool", sha256: "11".repeat(32) },
        { src: "build/app", dest: "/app/app", sha256: "22".repeat(32) },
      ],
      created: 1700000000,
      createdFrom: "SOURCE_DATE_EPOCH",
      goVersion: "1.26.8",
      mode: "docker",
      dirty: [],
      revision: "0123456789abcdef0123456789abcdef01234567",
    },
    imageName: "example-app:latest",
    config: { project_name: "example-app", build_cmd: "go build -o build/app .", artifacts: [] },
    pins: {
      go_version: "1.26.8",
      go_version_requested: "1.26",
      platform: "linux/amd64",
      ca_bundle_sha256: "33".repeat(32),
      builder_image: "golang:1.26.8@sha256:" + "44".repeat(32),
      image_format: 2,
      r10e_version: "0.1.0",
      generated: { Dockerfile: "55".repeat(32) },
    },
    sourceUri: "https://example.com/app.git",
    r10eVersion: "0.1.0",
  };
}

// deno-lint-ignore no-explicit-any
type Doc = any;

Deno.test("provenance: golden bytes of a fixed input", () => {
  // A changed digest is a change in what users get: say so in the commit.
  const text = sortedJson(provenanceStatement(input()));
  assert.equal(
    createHash("sha256").update(text).digest("hex"),
    "35ba1c549e2b0da51a261f9797607faa76b9fdb70731a82d3ddc7de7f42557dd",
  );
});

Deno.test("provenance: subjects, build definition, run details", async (t) => {
  const doc: Doc = provenanceStatement(input());
  await t.step("in-toto Statement v1 with a SLSA v1 predicate", () => {
    assert.equal(doc._type, "https://in-toto.io/Statement/v1");
    assert.equal(doc.predicateType, "https://slsa.dev/provenance/v1");
  });
  await t.step("subjects: the manifest, then the artifacts by path", () => {
    assert.deepEqual(doc.subject.map((s: Doc) => [s.name, s.digest.sha256]), [
      ["example-app:latest", "cd".repeat(32)],
      ["/app/app", "22".repeat(32)],
      ["/app/tool", "11".repeat(32)],
    ]);
  });
  await t.step("the commit with a clean tree, the builder image digest, the pins", () => {
    const deps = doc.predicate.buildDefinition.resolvedDependencies;
    const commit = deps.find((d: Doc) => d.digest?.gitCommit);
    assert.equal(commit.uri, "git+https://example.com/app.git@" + input().build.revision);
    assert.equal(commit.annotations.clean, true);
    const builder = deps.find((d: Doc) => d.uri?.startsWith("docker://"));
    assert.deepEqual(builder, {
      uri: "docker://golang:1.26.8",
      digest: { sha256: "44".repeat(32) },
    });
    const ext = doc.predicate.buildDefinition.externalParameters;
    assert.equal(ext.build_cmd, "go build -o build/app .");
    assert.equal(ext.mode, "docker");
    const pins = doc.predicate.buildDefinition.internalParameters.pins;
    assert.equal(pins.generated, undefined, "init's file hashes are no build input");
    assert.equal(pins.ca_bundle_sha256, "33".repeat(32));
    assert.deepEqual(doc.predicate.runDetails.builder.version, { r10e: "0.1.0" });
  });
  await t.step("a dirty tree is not clean; host mode names no builder image", () => {
    const i = input();
    i.build.dirty = ["main.go"];
    i.build.mode = "host";
    const d: Doc = provenanceStatement(i);
    const deps = d.predicate.buildDefinition.resolvedDependencies;
    assert.equal(deps.find((x: Doc) => x.digest?.gitCommit).annotations.clean, false);
    assert.equal(deps.some((x: Doc) => x.uri?.startsWith("docker://")), false);
  });
  await t.step("the artifacts' order does not change the bytes", () => {
    const i = input();
    i.build.artifacts.reverse();
    assert.equal(sortedJson(provenanceStatement(i)), sortedJson(provenanceStatement(input())));
  });
  await t.step("a malformed manifest digest is refused", () => {
    const i = input();
    i.build.manifestDigest = "sha256:xyz";
    assert.throws(() => provenanceStatement(i), /Invalid manifest digest "sha256:xyz"/);
  });
});

Deno.test("provenance: the base image is a resolved dependency, by the digest the build used", async (t) => {
  const digest = "66".repeat(32);
  const deps = (i: ProvenanceInput) =>
    (provenanceStatement(i) as Doc).predicate.buildDefinition.resolvedDependencies.filter(
      (d: { annotations?: { role?: string } }) => d.annotations?.role === "base image",
    );
  await t.step("pinned in config.json", () => {
    const i = input();
    i.config = { ...i.config, base_image: `r.example/base@sha256:${digest}` };
    assert.deepEqual(deps(i), [{
      uri: "oci://r.example/base",
      digest: { sha256: digest },
      annotations: { role: "base image" },
    }]);
  });
  await t.step("a tag: the digest init pinned", () => {
    const i = input();
    i.config = { ...i.config, base_image: "r.example/base:12" };
    i.pins = {
      ...i.pins,
      base_image: { requested: "r.example/base:12", pinned: `r.example/base@sha256:${digest}` },
    };
    assert.deepEqual(deps(i)[0].digest, { sha256: digest });
  });
  await t.step("none without a base", () => assert.deepEqual(deps(input()), []));
});
