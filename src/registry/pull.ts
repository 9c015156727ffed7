/**
 * Reading from a registry: the manifest or index of a reference, the config and layers of the
 * image(s) asked for, and nothing else, streamed to disk as an OCI layout directory that the
 * image reader opens like any other input. Every blob is checked against its digest and size
 * while it streams; a dropped download resumes with a `Range` request where the registry
 * allows it.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { type ClientOptions, RegistryClient } from "./client.ts";
import { RegistryError } from "./errors.ts";
import { ACCEPT, type Descriptor, readDocument } from "./media.ts";
import { formatReference, type Reference } from "./reference.ts";
import { backoff, DEFAULT_RETRY, retriableError } from "./retry.ts";

/** Options of `pullToLayout`. */
export interface PullOptions extends ClientOptions {
  /** `os/arch[/variant]`: of an index, fetch only this platform's image. */
  platform?: string;
  onProgress?: (line: string) => void;
}

/** What was fetched. */
export interface PullResult {
  /** The digest of the reference's manifest or index. */
  digest: string;
  mediaType: string;
  /** The image manifests written to index.json. */
  manifests: Descriptor[];
}

const MANIFEST_MAX = 4 * 1024 * 1024;

/**
 * Writes the image of `ref` as an OCI layout into `dir` (which must exist and be empty):
 * `oci-layout`, `index.json` naming each image manifest with its platform, `blobs/sha256/…`.
 * @throws {RegistryError} for an unreachable registry, a refusal, a missing platform, or a blob
 * that does not match its digest.
 */
export async function pullToLayout(
  ref: Reference,
  dir: string,
  options: PullOptions,
): Promise<PullResult> {
  using client = new RegistryClient(ref.registry, options);
  const name = formatReference(ref);
  const scopes = [`repository:${ref.repository}:pull`];
  await Deno.mkdir(`${dir}/blobs/sha256`, { recursive: true });
  const top = await fetchManifest(client, ref, ref.digest ?? ref.tag ?? "latest", scopes, dir);
  const images: Descriptor[] = [];
  const want = options.platform ? parsePlatformText(options.platform) : null;
  const visit = async (d: Descriptor, bytes: Uint8Array, depth: number): Promise<void> => {
    const doc = readOrFail(bytes, d, name);
    if (doc.kind === "manifest") {
      images.push(d);
      return;
    }
    if (depth > 4) throw new RegistryError(`Cannot read "${name}": indexes nest too deeply`);
    for (const child of doc.children) {
      // BuildKit's attestations are manifests too, but not images to run.
      if (child.annotations?.["vnd.docker.reference.type"] === "attestation-manifest") continue;
      if (want && child.platform && !matches(child.platform, want)) continue;
      const got = await fetchManifest(client, ref, child.digest, scopes, dir, child);
      await visit({ ...got.descriptor, platform: child.platform }, got.bytes, depth + 1);
    }
  };
  await visit(top.descriptor, top.bytes, 0);
  if (images.length === 0) {
    throw new RegistryError(
      `Cannot read "${name}": no image${want ? ` for platform "${options.platform}"` : ""} in it`,
    );
  }
  const progress = options.onProgress ?? (() => {});
  const entries: Descriptor[] = [];
  for (const image of images) {
    const bytes = await Deno.readFile(blobFile(dir, image.digest));
    const doc = readOrFail(bytes, image, name);
    for (const blob of doc.children) {
      await fetchBlob(client, ref, blob, scopes, dir, progress);
    }
    let platform = image.platform;
    if (!platform) {
      // The platform of a single manifest is in its config, as the image writer puts it in index.json.
      const config = JSON.parse(await Deno.readTextFile(blobFile(dir, doc.children[0].digest)));
      if (typeof config?.os === "string" && typeof config?.architecture === "string") {
        platform = {
          os: config.os,
          architecture: config.architecture,
          ...(typeof config.variant === "string" ? { variant: config.variant } : {}),
        };
      }
    }
    entries.push({
      mediaType: image.mediaType,
      digest: image.digest,
      size: image.size,
      ...(platform ? { platform } : {}),
    });
  }
  await Deno.writeTextFile(`${dir}/oci-layout`, JSON.stringify({ imageLayoutVersion: "1.0.0" }));
  await Deno.writeTextFile(
    `${dir}/index.json`,
    JSON.stringify({
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.index.v1+json",
      manifests: entries,
    }),
  );
  return { digest: top.descriptor.digest, mediaType: top.descriptor.mediaType, manifests: entries };
}

function readOrFail(bytes: Uint8Array, d: Descriptor, name: string) {
  try {
    return readDocument(bytes, `manifest ${d.digest} of "${name}"`, d.mediaType);
  } catch (e) {
    throw new RegistryError(`Cannot read "${name}": ${(e as Error).message}`, { cause: e });
  }
}

function blobFile(dir: string, digest: string): string {
  return `${dir}/blobs/sha256/${digest.slice("sha256:".length)}`;
}

async function fetchManifest(
  client: RegistryClient,
  ref: Reference,
  reference: string,
  scopes: string[],
  dir: string,
  expected?: Descriptor,
): Promise<{ descriptor: Descriptor; bytes: Uint8Array }> {
  const name = formatReference(ref);
  const response = await client.request("GET", `/v2/${ref.repository}/manifests/${reference}`, {
    scopes,
    headers: { accept: ACCEPT },
    expect: [200],
    what: `fetch manifest "${reference}" of "${ref.repository}"`,
  });
  const length = Number(response.headers.get("content-length") ?? "0");
  if (length > MANIFEST_MAX) {
    await response.body?.cancel();
    throw new RegistryError(
      `Cannot read "${name}": its manifest has ${length} bytes (limit 4 MiB)`,
    );
  }
  const bytes = new Uint8Array(await response.arrayBuffer());
  if (bytes.length > MANIFEST_MAX) {
    throw new RegistryError(`Cannot read "${name}": its manifest is larger than 4 MiB`);
  }
  const digest = "sha256:" + createHash("sha256").update(bytes).digest("hex");
  const want = expected?.digest ?? (reference.startsWith("sha256:") ? reference : undefined);
  if (want && digest !== want) {
    throw new RegistryError(
      `Cannot read "${name}": the registry sent a manifest whose digest is ${digest}, not ${want}`,
    );
  }
  if (expected && bytes.length !== expected.size) {
    throw new RegistryError(
      `Cannot read "${name}": manifest ${digest} has ${bytes.length} bytes, its descriptor says ${expected.size}`,
    );
  }
  const type = (response.headers.get("content-type") ?? "").split(";")[0].trim();
  let mediaType = expected?.mediaType || "";
  if (!mediaType) {
    try {
      mediaType = readDocument(bytes, "manifest", type === "application/json" ? "" : type)
        .mediaType;
    } catch (e) {
      throw new RegistryError(`Cannot read "${name}": ${(e as Error).message}`, { cause: e });
    }
  }
  await Deno.writeFile(blobFile(dir, digest), bytes);
  return { descriptor: { mediaType, digest, size: bytes.length }, bytes };
}

/** Streams one blob to disk, hashing as it goes; resumes a dropped download with Range. */
async function fetchBlob(
  client: RegistryClient,
  ref: Reference,
  blob: Descriptor,
  scopes: string[],
  dir: string,
  progress: (line: string) => void,
): Promise<void> {
  const final = blobFile(dir, blob.digest);
  try {
    await Deno.stat(final);
    return; // shared by two platforms: fetched once
  } catch {
    // not yet
  }
  const name = formatReference(ref);
  const part = final + ".part";
  using file = await Deno.open(part, { write: true, create: true, truncate: true });
  let hash = createHash("sha256");
  let got = 0;
  let failures = 0;
  let lastShown = Date.now();
  const retry = { ...DEFAULT_RETRY, ...client.retryPolicy };
  for (;;) {
    const headers: Record<string, string> = got > 0 ? { range: `bytes=${got}-` } : {};
    const response = await client.request("GET", `/v2/${ref.repository}/blobs/${blob.digest}`, {
      scopes,
      headers,
      expect: got > 0 ? [200, 206] : [200],
      what: `fetch blob ${blob.digest} of "${ref.repository}"`,
    });
    if (got > 0 && response.status === 200) {
      // The registry ignored the Range: start again from the first byte.
      await file.truncate(0);
      await file.seek(0, Deno.SeekMode.Start);
      hash = createHash("sha256");
      got = 0;
    }
    try {
      for await (const chunk of response.body ?? new ReadableStream<Uint8Array>()) {
        got += chunk.length;
        if (got > blob.size) {
          throw new RegistryError(
            `Cannot read "${name}": blob ${blob.digest} has more bytes than its descriptor's ${blob.size}`,
          );
        }
        hash.update(chunk);
        let off = 0;
        while (off < chunk.length) off += await file.write(chunk.subarray(off));
        if (blob.size > 50e6 && Date.now() - lastShown > 2000) {
          lastShown = Date.now();
          progress(
            `fetching ${blob.digest.slice(0, 19)}: ${(got / 1e6).toFixed(1)} of ${
              (blob.size / 1e6).toFixed(1)
            } MB`,
          );
        }
      }
      break;
    } catch (e) {
      if (e instanceof RegistryError || !retriableError(e) || ++failures >= retry.attempts) {
        await Deno.remove(part).catch(() => {});
        if (e instanceof RegistryError) throw e;
        throw new RegistryError(
          `Cannot fetch blob ${blob.digest} of "${name}": ${(e as Error).message}`,
          { cause: e },
        );
      }
      await retry.sleep(backoff(retry, failures));
    }
  }
  const digest = "sha256:" + hash.digest("hex");
  if (got !== blob.size || digest !== blob.digest) {
    await Deno.remove(part).catch(() => {});
    throw new RegistryError(
      `Cannot read "${name}": blob ${blob.digest} does not match its digest (the registry sent ${got} bytes hashing to ${digest})`,
    );
  }
  await Deno.rename(part, final);
}

function parsePlatformText(text: string): { os: string; architecture: string; variant?: string } {
  const [os, architecture, variant] = text.split("/");
  if (!os || !architecture) {
    throw new RegistryError(`Invalid platform "${text}": expected os/arch[/variant]`);
  }
  return { os, architecture, ...(variant ? { variant } : {}) };
}

function matches(
  have: { os: string; architecture: string; variant?: string },
  want: { os: string; architecture: string; variant?: string },
): boolean {
  return have.os === want.os && have.architecture === want.architecture &&
    (!want.variant || have.variant === want.variant);
}
