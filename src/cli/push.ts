/**
 * `r10e push ARCHIVE REF`: options and help only; the work is in src/registry/push.ts
 * (STYLE: one small file per command, like crane's cmd/).
 *
 * @module
 */
import { UsageError } from "../errors.ts";
import { printable } from "../printable.ts";
import type { ImageInput } from "../image/reader.ts";
import type { Input } from "./command.ts";
import {
  type Command,
  inFolder,
  type Io,
  jsonOption,
  progressBar,
  quietOption,
  registryOptionDecls,
  registryOptions,
  userPath,
} from "./cli.ts";

/** `12MiB`, `512k`, `1048576` → bytes. @throws {UsageError} for anything else. */
export function parseSize(text: string): number {
  const m = /^(\d+)\s*([kmg]i?b?|b)?$/i.exec(text.trim());
  const units: Record<string, number> = { k: 1024, m: 1024 ** 2, g: 1024 ** 3 };
  const n = m ? Number(m[1]) * (m[2] ? units[m[2][0].toLowerCase()] ?? 1 : 1) : NaN;
  if (!Number.isSafeInteger(n) || n < 1) {
    throw new UsageError(`Invalid --chunk-size "${text}": expected bytes such as 8MiB or 1048576`);
  }
  return n;
}

/** `r10e push ARCHIVE REF`. */
export const pushCommand: Command = {
  name: "push",
  summary: "upload an image archive to a registry, byte for byte",
  description: "Upload an image archive to a registry, byte for byte: the registry's digest is " +
    "the one `r10e build` printed. Prints REF@sha256:<digest>, the line to deploy with.",
  examples: [
    "r10e push r10e-docker/out/app-latest.tar.gz registry.example.com/team/app:v1.2.0",
    "r10e push out/app.tar localhost:5000/app --json",
    "r10e verify registry.example.com/team/app@sha256:… r10e-docker/out/app-latest.tar.gz",
  ],
  details: `
What happens: every blob is checked (HEAD) and sent only when the registry lacks it, mounted from a --from repository when it has it there, uploaded in one request when small, in chunks otherwise; then the manifests (and index) by digest, the tag last. Nothing is re-compressed or re-encoded.

Then the documents, as OCI 1.1 referrers (\`oras discover\` and \`cosign tree --experimental-oci11\` list them): each platform's SBOMs (SPDX, CycloneDX) are attached to that platform's manifest, the provenance to the pushed digest; with several platforms the index also gets every platform's SBOMs as one artifact per format. They are read beside the archive under the names build gives them (app-latest.spdx.json, app-latest.cdx.json, app-latest.provenance.json; with several platforms app-latest.linux-arm64.spdx.json, …), or from --documents DIR. A missing SBOM is made again from the image (the same bytes); a missing provenance cannot be (it records how the image was built): push says so and attaches none. A document that names another image is an error. Registries without the referrers API get the sha256-<hex> tag schema.

An archive of \`docker save\` before Docker 25 (manifest.json, no index.json) has no manifest: push makes one (OCI, canonical JSON, naming its config and layers as stored), says so, and prints the digest it made. Run it again after an interruption: what is there is not sent again, and a chunked upload resumes where the registry says it stands (upload URLs are kept in $XDG_CACHE_HOME/r10e/uploads, default ~/.cache).

Authentication is docker's: $DOCKER_CONFIG/config.json (default ~/.docker/config.json), its credHelpers, auths and credsStore (docker-credential-* programs); Basic and the Bearer token flow. Use \`docker login\` first. Credentials are never printed, not even with --verbose (which lists each request: method, URL without query, status). TLS uses the system roots plus --ca-file; plain http only for loopback or --insecure. Credentials go only to the registry's own origin and its token realm (docs/registries.md); a request that brings no byte for --timeout seconds (default 60) ends the push.

Exit codes: 0 pushed, 2 bad usage, unreadable archive, or the registry refused (its own message is printed: HTTP 401/403, an unknown media type, …).`,
  arguments: [
    {
      name: "archive",
      help:
        "image: OCI layout as .tar, .tar.gz, .tar.zst or directory (r10e build's output), or a docker save archive",
      required: true,
    },
    {
      name: "ref",
      help:
        "where to: host[:port]/repository[:tag] (tag default latest), or …@sha256:<digest> to push by digest only",
      required: true,
    },
  ],
  options: [
    jsonOption("print {reference, digest, tag, blobs, manifests, referrers} as JSON"),
    {
      flags: "--documents <dir>",
      help:
        "attach the SBOMs and provenance found in DIR (default: beside the archive, by build's names)",
    },
    { flags: "--no-documents", help: "push the image alone, without its SBOMs and provenance" },
    {
      flags: "--from <repository>",
      help:
        "mount blobs the registry already has in this repository instead of uploading them (repeatable)",
      repeatable: true,
    },
    ...registryOptionDecls("for the registry"),
    {
      flags: "--chunk-size <size>",
      help: "blobs larger than this are uploaded in chunks of this size (resumable)",
      default: "64MiB",
    },
    { flags: "--jobs <n>", help: "blobs uploaded at the same time", default: "3" },
    quietOption(),
  ],
  run: async (input, cli) => {
    const { io } = cli;
    const { options } = input;
    const archive = input.args.archive!;
    const { ref, chunkSize, jobs } = await pushSettings(input);
    const registry = registryOptions(cli, input);
    const { openImage } = await import("../image/reader.ts");
    const { push } = await import("../registry/push.ts");
    const cache = io.env.XDG_CACHE_HOME || (io.env.HOME ? inFolder(io.env.HOME, ".cache") : "");
    // Large blobs are hashed as they are sent, not once before (push hashes what it sends).
    await using image = await openImage(userPath(io, archive), { deferBlobHashes: true });
    const bar = await progressBar(io, options.flag("quiet"));
    const result = await push(image, ref, {
      ...registry,
      documents: await documentsToAttach(input, io, image, (line) => bar.line(line)),
      from: options.given("from") ? options.list("from") : undefined,
      chunkSize,
      parallel: jobs,
      stateDir: cache ? inFolder(cache, "r10e/uploads") : undefined,
      onProgress: (line) => bar.line(line),
      onBytes: (done, total) => bar.bytes(done, total),
      onVerbose: registry.onVerbose &&
        ((line) => {
          bar.clear();
          registry.onVerbose!(line);
        }),
    }).finally(() => bar.clear());
    if (result.madeByPush) {
      // Said even with -q: the digest is not one the archive had, and cannot be checked in it.
      io.stderr(
        `r10e: "${printable(archive)}" holds no manifest (docker save before Docker 25 writes ` +
          `manifest.json only): this push made one from its config and layers, so ` +
          `${result.digest} is a digest made by the push, not one the archive had\n`,
      );
    }
    if (options.flag("json")) io.stdout(JSON.stringify(result, null, 2) + "\n");
    else io.stdout(result.reference + "\n");
  },
};

/**
 * The reference, chunk size and parallel uploads of the command line.
 * @throws {UsageError} for a reference, --chunk-size or --jobs that cannot be.
 */
async function pushSettings({ args, options }: Input) {
  const { parseReference } = await import("../registry/reference.ts");
  let ref;
  try {
    ref = parseReference(args.ref!);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const chunkSize = parseSize(options.string("chunkSize")!);
  const jobsText = options.string("jobs")!;
  const jobs = Number(jobsText);
  if (!Number.isSafeInteger(jobs) || jobs < 1 || jobs > 32) {
    throw new UsageError(`Invalid --jobs "${jobsText}": expected a whole number from 1 to 32`);
  }
  return { ref, chunkSize, jobs };
}

/**
 * The SBOMs and provenance to attach: from --documents DIR, else beside the archive under build's
 * names (a missing SBOM made again from the image); none with --no-documents.
 */
async function documentsToAttach(
  { args, options }: Input,
  io: Io,
  image: ImageInput,
  onNote: (line: string) => void,
) {
  const dir = options.raw("documents");
  if (dir === false) return undefined;
  const archive = userPath(io, args.archive!);
  const { findDocuments } = await import("../sbom/push_documents.ts");
  const { sbom } = await import("../sbom/sbom.ts");
  return await findDocuments(archive, image, {
    dir: typeof dir === "string" ? userPath(io, dir) : undefined,
    makeSbom: (format, platform) => sbom(archive, { format, platform }),
    onNote,
  });
}
