/**
 * CycloneDX 1.6 JSON from an {@linkcode SbomInput} (schema: CycloneDX/specification
 * schema/bom-1.6.schema.json). Layout:
 *
 * - `metadata.component` is the image (type container, version = its digest);
 * - each Go binary's main module is an application component; the modules compiled in are
 *   library components (version, purl, `h1:` sum as a SHA-256 hash and as property
 *   `r10e:go:h1`); a replacement carries the module it replaces in `pedigree.ancestors`;
 *   `stdlib` is the toolchain; build settings are `r10e:go:build:<key>` properties;
 * - the CA bundle and tzdata are data components with their files nested;
 * - every other regular file is a file component with SHA-1 and SHA-256;
 * - `dependencies`: the image on each main module, package and file; each main module on its
 *   modules and stdlib.
 *
 * Deterministic: timestamp = the image's creation time, serialNumber a UUID derived from the
 * image digest, every list sorted.
 *
 * @module
 */
import { compareCodePoints } from "../code_point_order.ts";
import {
  binaryModules,
  byPath,
  dataPackages,
  golangPurl,
  h1Hex,
  type ModuleEntry,
  type SbomFile,
  type SbomInput,
  stdlibPurl,
  uuidV5,
} from "./model.ts";

type Obj = Record<string, unknown>;

function byRef(a: Obj, b: Obj): number {
  return compareCodePoints(a["bom-ref"] as string, b["bom-ref"] as string);
}

function properties(list: [string, string][]): Obj[] | undefined {
  if (list.length === 0) return undefined;
  return [...list].sort((a, b) => compareCodePoints(a[0], b[0]) || compareCodePoints(a[1], b[1]))
    .map(([name, value]) => ({ name, value }));
}

function fileComponent(f: SbomFile): Obj {
  return {
    "bom-ref": `file:${f.path}`,
    type: "file",
    name: f.path,
    hashes: [{ alg: "SHA-1", content: f.sha1 }, { alg: "SHA-256", content: f.sha256 }],
  };
}

function moduleRef(m: ModuleEntry): string {
  const base = golangPurl(m.path, m.version) ?? `go-module:${m.path}@${m.version}`;
  return m.replaces ? `${base}#replaces:${m.replaces.path}@${m.replaces.version}` : base;
}

function moduleComponent(m: ModuleEntry, type: string, ref: string): Obj {
  const purl = golangPurl(m.path, m.version);
  const h1 = h1Hex(m.sum);
  return {
    "bom-ref": ref,
    type,
    name: m.path,
    version: m.version || undefined,
    purl: purl ?? undefined,
    hashes: h1 ? [{ alg: "SHA-256", content: h1 }] : undefined,
    pedigree: m.replaces
      ? {
        ancestors: [{
          type: "library",
          name: m.replaces.path,
          version: m.replaces.version || undefined,
          purl: golangPurl(m.replaces.path, m.replaces.version) ?? undefined,
        }],
        notes: "go.mod replace directive: this module replaces the ancestor",
      }
      : undefined,
    properties: properties(m.sum ? [["r10e:go:h1", m.sum]] : []),
  };
}

/** The CycloneDX 1.6 BOM of an image, as a JSON value (serialize with `sortedJson`). */
export function cyclonedxDocument(input: SbomInput): Obj {
  const { image, tool } = input;
  const files = [...input.files].sort(byPath);
  const components = new Map<string, Obj>();
  const deps = new Map<string, Set<string>>();
  const depend = (from: string, to: string) => {
    const set = deps.get(from) ?? new Set<string>();
    set.add(to);
    deps.set(from, set);
  };
  const imageRef = `image:${image.digest}`;

  for (const bin of [...input.binaries].sort(byPath)) {
    const mods = binaryModules(bin.info);
    const main = mods.main ?? { path: bin.info.path || bin.path, version: "", sum: "" };
    const mainRef = `go-main:${bin.path}`;
    const comp = moduleComponent(main, "application", mainRef);
    comp.properties = properties([
      ...mods.settings.map((s): [string, string] => [`r10e:go:build:${s.key}`, s.value]),
      ["r10e:go:binary", bin.path],
      ["r10e:go:binary:sha256", bin.sha256],
      ["r10e:go:package", bin.info.path],
      ["r10e:go:version", bin.info.goVersion],
    ]);
    components.set(mainRef, comp);
    depend(imageRef, mainRef);

    const stdRef = stdlibPurl(mods.goVersion);
    components.set(stdRef, {
      "bom-ref": stdRef,
      type: "library",
      name: "stdlib",
      version: mods.goVersion,
      purl: stdRef,
      description: "Go standard library and runtime (the toolchain that built the binary)",
    });
    depend(mainRef, stdRef);
    for (const dep of mods.deps) {
      const ref = moduleRef(dep);
      components.set(ref, moduleComponent(dep, "library", ref));
      depend(mainRef, ref);
    }
  }

  const packaged = new Set<string>();
  for (const data of dataPackages(files)) {
    const ref = `data:${data.name}`;
    for (const f of data.files) packaged.add(f.path);
    components.set(ref, {
      "bom-ref": ref,
      type: "data",
      name: data.name,
      description: `files under ${data.dir}`,
      hashes: data.sha256 ? [{ alg: "SHA-256", content: data.sha256 }] : undefined,
      components: data.files.map(fileComponent),
      properties: properties(data.source ? [["r10e:source", data.source]] : []),
    });
    depend(imageRef, ref);
  }
  for (const f of files) {
    if (packaged.has(f.path)) continue;
    const c = fileComponent(f);
    components.set(c["bom-ref"] as string, c);
    depend(imageRef, c["bom-ref"] as string);
  }

  const imageHex = image.digest.replace(/^sha256:/, "");
  return {
    bomFormat: "CycloneDX",
    specVersion: "1.6",
    serialNumber: `urn:uuid:${uuidV5(`${tool.name}/${tool.version}/cyclonedx/${image.digest}`)}`,
    version: 1,
    metadata: {
      timestamp: image.created,
      tools: { components: [{ type: "application", name: tool.name, version: tool.version }] },
      component: {
        "bom-ref": imageRef,
        type: "container",
        name: image.name,
        version: image.digest,
        hashes: [{ alg: "SHA-256", content: imageHex }],
        properties: properties([
          ["r10e:image:digest-of", image.digestOf],
          ...(image.platform ? [["r10e:image:platform", image.platform] as [string, string]] : []),
        ]),
      },
    },
    components: [...components.values()].sort(byRef),
    dependencies: [...deps.keys()].sort(compareCodePoints).map((ref) => ({
      ref,
      dependsOn: [...deps.get(ref)!].sort(compareCodePoints),
    })),
  };
}
