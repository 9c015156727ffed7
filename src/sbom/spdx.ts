/**
 * SPDX 2.3 JSON from an {@linkcode SbomInput} (spec: spdx.github.io/spdx-spec/v2.3, schema
 * schemas/spdx-schema.json). Layout:
 *
 * - the image is the described package (`DOCUMENT DESCRIBES SPDXRef-Image`, purpose CONTAINER);
 * - every regular file is a File with SHA1 and SHA256, which the image CONTAINS;
 * - each Go binary's main module is a package (APPLICATION) the binary file is GENERATED_FROM,
 *   which DEPENDS_ON every module compiled in (version, `h1:` sum as a SHA256 checksum and in
 *   `sourceInfo`, purl) and on `stdlib` (the toolchain); a replacement is its own package,
 *   VARIANT_OF the module it replaces; build settings are annotations of the main module;
 * - the CA bundle and tzdata are packages with their files (`hasFiles`, verification code).
 *
 * Deterministic: created is the image's creation time, the namespace a UUID derived from the
 * image digest, every list sorted.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { compareCodePoints } from "../code_point_order.ts";
import {
  binaryModules,
  byPath,
  dataPackages,
  golangPurl,
  h1Hex,
  type ModuleEntry,
  moduleKey,
  type SbomBinary,
  type SbomInput,
  setting,
  shortHash,
  stdlibPurl,
  uuidV5,
} from "./model.ts";

type Obj = Record<string, unknown>;

function spdxId(kind: string, name: string, key: string): string {
  const clean = name.replace(/[^A-Za-z0-9.-]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 80);
  return `SPDXRef-${kind}-${clean ? clean + "-" : ""}${shortHash(key)}`;
}

/** The packages and relationships of a document, gathered phase by phase. */
interface Graph {
  packages: Map<string, Obj>;
  relationships: [string, string, string][];
}

const fileId = (path: string) => spdxId("File", path, "file\0" + path);

/** The SPDX 2.3 document of an image, as a JSON value (serialize with `sortedJson`). */
export function spdxDocument(input: SbomInput): Obj {
  const { image, tool } = input;
  const toolName = `Tool: ${tool.name}-${tool.version}`;
  const files = [...input.files].sort(byPath);
  const graph: Graph = { packages: new Map(), relationships: [] };
  graph.packages.set("SPDXRef-Image", imagePackage(image));
  graph.relationships.push(["SPDXRef-DOCUMENT", "DESCRIBES", "SPDXRef-Image"]);
  for (const f of files) graph.relationships.push(["SPDXRef-Image", "CONTAINS", fileId(f.path)]);
  for (const bin of [...input.binaries].sort(byPath)) {
    addBinary(graph, bin, (comment) => ({
      annotationDate: image.created,
      annotationType: "OTHER",
      annotator: toolName,
      comment,
    }));
  }
  for (const data of dataPackages(files)) {
    const id = spdxId("Package-data", data.name, "data\0" + data.name);
    graph.packages.set(id, dataPackage(data, id));
    graph.relationships.push(["SPDXRef-Image", "CONTAINS", id]);
  }

  const uniq = [...new Map(graph.relationships.map((r) => [r.join("\0"), r])).values()]
    .sort((a, b) => compareCodePoints(a.join("\0"), b.join("\0")));
  return {
    spdxVersion: "SPDX-2.3",
    dataLicense: "CC0-1.0",
    SPDXID: "SPDXRef-DOCUMENT",
    name: `${image.name}@${image.digest}`,
    documentNamespace: `urn:uuid:${uuidV5(`${tool.name}/${tool.version}/spdx/${image.digest}`)}`,
    creationInfo: { created: image.created, creators: [toolName] },
    documentDescribes: undefined,
    packages: [...graph.packages.keys()].sort(compareCodePoints).map((k) => graph.packages.get(k)!),
    files: files.map((f) => ({
      SPDXID: fileId(f.path),
      fileName: f.path,
      checksums: [
        { algorithm: "SHA1", checksumValue: f.sha1 },
        { algorithm: "SHA256", checksumValue: f.sha256 },
      ],
    })),
    relationships: uniq.map(([a, type, b]) => ({
      spdxElementId: a,
      relationshipType: type,
      relatedSpdxElement: b,
    })),
  };
}

/** The described package: the image, by its digest. */
function imagePackage(image: SbomInput["image"]): Obj {
  return {
    SPDXID: "SPDXRef-Image",
    name: image.name,
    versionInfo: image.digest,
    downloadLocation: "NOASSERTION",
    filesAnalyzed: false,
    primaryPackagePurpose: "CONTAINER",
    supplier: "NOASSERTION",
    checksums: [{ algorithm: "SHA256", checksumValue: image.digest.replace(/^sha256:/, "") }],
    comment: `sha256 of the image ${image.digestOf}` +
      (image.platform ? `; platform ${image.platform}` : ""),
    releaseDate: image.created,
  };
}

/**
 * A Go module as a package. `published`: a download exists. Not for a main module (its
 * pseudo-version is stamped from the commit, never published) nor for a module replaced by a
 * local directory (no sum) or what such a replacement stands for: NOASSERTION there, as syft
 * writes.
 */
function modulePackage(m: ModuleEntry, purpose: string, id: string, published: boolean): Obj {
  const purl = golangPurl(m.path, m.version);
  const h1 = h1Hex(m.sum);
  const notes = [
    m.sum ? `go.sum ${m.sum}` : "",
    m.replaces ? `replaces ${m.replaces.path} ${m.replaces.version}`.trimEnd() : "",
  ].filter(Boolean);
  return {
    SPDXID: id,
    name: m.path,
    versionInfo: m.version || undefined,
    downloadLocation: published && purl && m.version && m.version !== "(devel)"
      ? `https://proxy.golang.org/${escapeModulePath(m.path)}/@v/${escapeModulePath(m.version)}.zip`
      : "NOASSERTION",
    filesAnalyzed: false,
    primaryPackagePurpose: purpose,
    supplier: "NOASSERTION",
    checksums: h1 ? [{ algorithm: "SHA256", checksumValue: h1 }] : undefined,
    externalRefs: purl
      ? [{ referenceCategory: "PACKAGE-MANAGER", referenceType: "purl", referenceLocator: purl }]
      : undefined,
    sourceInfo: notes.length ? notes.join("; ") : undefined,
  };
}

/**
 * One Go binary: its main module (GENERATED_FROM, build settings as annotations), the toolchain
 * (`stdlib`) and every module compiled in (DEPENDS_ON), a replacement VARIANT_OF what it replaces.
 */
function addBinary(graph: Graph, bin: SbomBinary, annotate: (comment: string) => Obj): void {
  const { packages, relationships } = graph;
  const mods = binaryModules(bin.info);
  const main = mods.main ?? { path: bin.info.path || bin.path, version: "", sum: "" };
  const mainId = spdxId("Package-go-main", main.path, "main\0" + bin.path);
  const mainPkg = modulePackage(main, "APPLICATION", mainId, false);
  const revision = setting(mods, "vcs.revision");
  const modified = setting(mods, "vcs.modified");
  mainPkg.sourceInfo = [
    `main module of ${bin.path} (package ${bin.info.path || "unknown"})`,
    revision ? `vcs revision ${revision}` + (modified ? ` (modified: ${modified})` : "") : "",
  ].filter(Boolean).join("; ");
  mainPkg.annotations = mods.settings.map((s) => annotate(`go build setting ${s.key}=${s.value}`));
  packages.set(mainId, mainPkg);
  relationships.push([fileId(bin.path), "GENERATED_FROM", mainId]);
  relationships.push(["SPDXRef-Image", "CONTAINS", mainId]);

  const stdId = spdxId("Package-go-stdlib", mods.goVersion, "stdlib\0" + mods.goVersion);
  packages.set(stdId, {
    SPDXID: stdId,
    name: "stdlib",
    versionInfo: mods.goVersion,
    downloadLocation: `https://go.dev/dl/${mods.goVersion}.src.tar.gz`,
    filesAnalyzed: false,
    primaryPackagePurpose: "LIBRARY",
    supplier: "Organization: Go",
    externalRefs: [{
      referenceCategory: "PACKAGE-MANAGER",
      referenceType: "purl",
      referenceLocator: stdlibPurl(mods.goVersion),
    }],
    sourceInfo: `Go toolchain ${bin.info.goVersion}`,
  });
  relationships.push([mainId, "DEPENDS_ON", stdId]);

  for (const dep of mods.deps) {
    const id = spdxId("Package-go-module", `${dep.path}-${dep.version}`, moduleKey(dep));
    packages.set(id, modulePackage(dep, "LIBRARY", id, dep.sum !== ""));
    relationships.push([mainId, "DEPENDS_ON", id]);
    if (dep.replaces) {
      const orig: ModuleEntry = { path: dep.replaces.path, version: dep.replaces.version, sum: "" };
      const origId = spdxId(
        "Package-go-module",
        `${orig.path}-${orig.version}`,
        "replaced\0" + moduleKey(orig),
      );
      const pkg = modulePackage(orig, "LIBRARY", origId, dep.sum !== "");
      pkg.comment = "replaced (go.mod replace directive); not compiled in";
      packages.set(origId, pkg);
      relationships.push([id, "VARIANT_OF", origId]);
    }
  }
}

/** The CA bundle or tzdata as a package with its files (`hasFiles`, verification code). */
function dataPackage(data: ReturnType<typeof dataPackages>[number], id: string): Obj {
  return {
    SPDXID: id,
    name: data.name,
    downloadLocation: "NOASSERTION",
    filesAnalyzed: true,
    hasFiles: data.files.map((f) => fileId(f.path)).sort(compareCodePoints),
    packageVerificationCode: { packageVerificationCodeValue: verificationCode(data.files) },
    primaryPackagePurpose: "OTHER", // SPDX 2.3 has no DATA purpose
    supplier: "NOASSERTION",
    checksums: data.sha256 ? [{ algorithm: "SHA256", checksumValue: data.sha256 }] : undefined,
    sourceInfo: data.source ?? undefined,
    comment: `files under ${data.dir}`,
    licenseConcluded: "NOASSERTION",
    licenseDeclared: "NOASSERTION",
    licenseInfoFromFiles: ["NOASSERTION"],
    copyrightText: "NOASSERTION",
  };
}

/** SPDX 2.3 clause 7.9: SHA1 of the sorted SHA1s of the package's files, concatenated. */
function verificationCode(files: { sha1: string }[]): string {
  const sums = files.map((f) => f.sha1).sort();
  return createHash("sha1").update(sums.join("")).digest("hex");
}

/** The Go module proxy's case encoding: `!x` for each capital letter (golang.org/x/mod/module). */
function escapeModulePath(path: string): string {
  return path.replace(/[A-Z]/g, (c) => "!" + c.toLowerCase());
}
