/**
 * The two images the layer_compression pull tests use: the
 * example project built by the real CLI once with `layer_compression: "gzip"`
 * (the default) and once with `"none"`, under a unique name so that tests on
 * the shared engine and registry never meet another test's images.
 *
 * @module
 */
import { assertEquals } from "./_assert.ts";
import { copyExample, r10e } from "./_cli.ts";
import { suffix } from "./_registry.ts";

/** The output of `r10e build --json` that the pull tests check against. */
export interface BuiltImage {
  kind: "gzip" | "none";
  /** Unique image name (project_name), also the repository pushed to. */
  name: string;
  archive: string;
  imageId: string;
  manifestDigest: string;
  layers: { digest: string; size: number }[];
  /** The first line the image prints when run: its own greeting (examples/hello/main.go reads it). */
  greeting: string;
}

/** The media type a manifest gives each layer of `kind`. */
export function layerMediaType(kind: BuiltImage["kind"]): string {
  return kind === "gzip"
    ? "application/vnd.oci.image.layer.v1.tar+gzip"
    : "application/vnd.oci.image.layer.v1.tar";
}

/**
 * Builds the example with each layer compression in `dir` (a temporary folder the
 * caller removes) and returns both, gzip first.
 * @throws {Error} when a build fails
 */
export async function buildBoth(dir: string): Promise<BuiltImage[]> {
  const id = suffix();
  const out: BuiltImage[] = [];
  for (const kind of ["gzip", "none"] as const) {
    const project = `${dir}/${kind}`;
    await copyExample(project);
    const name = `r10e-lc-${kind}-${id}`;
    const config = (await Deno.readTextFile(`${project}/config.json`))
      .replace('"project_name": "r10e-hello"', `"project_name": "${name}"`)
      .replace(/\}\s*$/, `,\n  "layer_compression": "${kind}"\n}\n`);
    await Deno.writeTextFile(`${project}/config.json`, config);
    // A greeting of its own: the data layer is new to the engine, so nothing is reused from a cache.
    const greeting = `Hello from ${name} (layer_compression ${kind})!`;
    await Deno.writeTextFile(`${project}/data/greeting.txt`, greeting + "\n");
    const built = await r10e(["build", "--json", "-q"], {
      cwd: project,
      env: { SOURCE_DATE_EPOCH: "1700000000" },
    });
    assertEquals(built.code, 0, built.stderr);
    const result = JSON.parse(built.stdout);
    out.push({
      kind,
      name,
      archive: result.archivePath,
      imageId: result.imageId,
      manifestDigest: result.manifestDigest,
      layers: result.layers,
      greeting,
    });
  }
  return out;
}
