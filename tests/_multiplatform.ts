/**
 * Helpers for the multi-platform tests: the example project with
 * `platforms` and a build_cmd that writes one binary per platform.
 *
 * @module
 */
import { copyExample, r10e } from "./_cli.ts";
import { collectBytes } from "../src/bytes.ts";

/** The example's archive, relative to the project. */
export const ARCHIVE = "r10e-docker/out/r10e-hello-latest.tar.gz";

/** A copy of the example that builds `platforms` (one-platform form for one), initialized. */
export async function multiplatformProject(
  platforms: string[],
  options: { buildCmd?: string; src?: string } = {},
): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "r10e-multiplatform-" });
  await copyExample(dir);
  await setPlatforms(dir, platforms, options);
  const init = await r10e(["init"], { cwd: dir });
  if (init.code !== 0) throw new Error(`r10e init failed: ${init.stderr}`);
  return dir;
}

/**
 * Writes config.json of a copy of the example for `platforms`, one field a line
 * (artifacts on line 7), so that tests can name positions.
 */
export async function setPlatforms(
  dir: string,
  platforms: string[],
  options: { buildCmd?: string; src?: string; both?: boolean } = {},
): Promise<void> {
  const field = platforms.length === 1 && !options.both
    ? `"platform": ${JSON.stringify(platforms[0])}`
    : `${options.both ? `"platform": "linux/amd64", ` : ""}"platforms": ${
      JSON.stringify(platforms)
    }`;
  const buildCmd = options.buildCmd ??
    "go build -o build/$R10E_OS-$R10E_ARCH$R10E_VARIANT/hello .";
  const src = options.src ?? "build/{os}-{arch}{variant}/hello";
  await Deno.writeTextFile(
    `${dir}/config.json`,
    [
      "{",
      `  "project_name": "r10e-hello",`,
      `  "build_cmd": ${JSON.stringify(buildCmd)},`,
      `  "maintainers": ["r10e"],`,
      `  "go_version": "1.26.8",`,
      `  ${field},`,
      `  "artifacts": [{ "src": ${JSON.stringify(src)}, "dest": "/app/hello" }],`,
      `  "extern_data": [{ "src": "data", "dest": "/app/data" }, { "src": "LICENSE", "dest": "/LICENSE" }],`,
      `  "include_ca_bundle": true,`,
      `  "entrypoint": ["/app/hello"],`,
      `  "source": "https://example.com/r10e-hello"`,
      "}",
      "",
    ].join("\n"),
  );
}

/** `r10e build --json --in host` with a fixed creation time; the parsed result. */
export async function buildJson(dir: string, args: string[] = []) {
  const r = await r10e(["build", "--json", "-q", "--in", "host", ...args], {
    cwd: dir,
    env: { SOURCE_DATE_EPOCH: "1700000000" },
  });
  if (r.code !== 0) throw new Error(`r10e build failed (exit ${r.code}): ${r.stderr}`);
  return JSON.parse(r.stdout) as {
    archivePath: string;
    imageId: string;
    manifestDigest: string;
    indexDigest?: string;
    images: {
      platform: string;
      imageId: string;
      manifestDigest: string;
      layers: { createdBy: string; digest: string; size: number }[];
      artifacts: { src: string; dest: string; sha256: string }[];
    }[];
    audit: { platform?: string; status: string }[] | null;
  };
}

/** The entries of an archive's outer tar, by name, as bytes (small archives only). */
export async function archiveEntries(path: string): Promise<Map<string, Uint8Array>> {
  const { readTar } = await import("../src/tar/reader.ts");
  const { gunzipSync } = await import("node:zlib");
  const bytes = gunzipSync(await Deno.readFile(path));
  const out = new Map<string, Uint8Array>();
  for await (
    const e of readTar((async function* () {
      yield new Uint8Array(bytes);
    })())
  ) {
    out.set(e.header.name, await collectBytes(e.body));
  }
  return out;
}
