/**
 * Pushing the documents attached to an image (r10e's SBOMs and provenance: OCI 1.1 artifact
 * manifests whose `subject` is the image manifest) so that referrer listings find them
 * (distribution-spec v1.1, "Pushing Manifests with Subject" and "Listing Referrers"):
 *
 * 1. each artifact manifest is PUT by digest (after its blobs, before nothing else: the image
 *    it refers to is already there); one already present (HEAD 200) is not sent again;
 * 2. a registry that implements the referrers API (the PUT answered with `OCI-Subject`, or
 *    `GET /v2/<name>/referrers/<digest>` answers 200 with an index) lists them itself: done;
 * 3. else the referrers tag schema: the index tagged `sha256-<hex of the subject>` (absent:
 *    an empty one) gets a descriptor for each new artifact (with its `artifactType`) and is
 *    PUT back; nothing is PUT when it lists them all already.
 *
 * @module
 */
import { canonicalJsonBytes } from "../image/canonical_json.ts";
import type { RegistryClient } from "./client.ts";
import { RegistryError } from "./errors.ts";
import { INDEX_TYPES } from "./media.ts";
import { isObject } from "../json_object.ts";
import { MANIFEST_LIMIT, readCappedText } from "./transport.ts";
import { plural } from "../plural.ts";

/** The OCI image index media type (the referrers list is one). */
const INDEX = "application/vnd.oci.image.index.v1+json";

/** An artifact manifest to push, with the subject it refers to. */
export interface ReferrerItem {
  mediaType: string;
  digest: string;
  size: number;
  artifactType: string;
  /** The manifest's own annotations, copied into the referrers list (the spec asks for it). */
  annotations?: Record<string, string>;
  /** The subject's digest (`sha256:…`). */
  subject: string;
  bytes: Uint8Array;
}

/** What happened to one artifact. */
export interface ReferrerResult {
  digest: string;
  artifactType: string;
  subject: string;
  /** `present`: the registry had the manifest; `pushed` by this run. */
  action: "present" | "pushed";
  /** How referrer listings find it: the registry's referrers API, or the tag schema's index. */
  listedBy: "referrers API" | "tag schema";
}

/** Options of `pushReferrers`. */
export interface ReferrersOptions {
  scopes: string[];
  onProgress?: (line: string) => void;
}

/** The referrers tag of a subject digest: `sha256-<hex>`. */
export function referrersTag(subject: string): string {
  return subject.replace(":", "-");
}

/**
 * Reads an artifact manifest: its artifactType (or its config's media type, as the spec falls
 * back to), annotations and subject digest; null when it has no subject (not a referrer).
 * @throws {SyntaxError} naming `where` for a manifest that is not JSON.
 */
export function readReferrer(
  bytes: Uint8Array,
  where: string,
): { artifactType: string; subject: string; annotations?: Record<string, string> } | null {
  let doc: unknown;
  try {
    doc = JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    throw new SyntaxError(`${where} is not valid JSON`);
  }
  if (!isObject(doc) || !isObject(doc.subject) || typeof doc.subject.digest !== "string") {
    return null;
  }
  const configType = isObject(doc.config) && typeof doc.config.mediaType === "string"
    ? doc.config.mediaType
    : "";
  const annotations = isObject(doc.annotations)
    ? Object.fromEntries(
      Object.entries(doc.annotations).filter((e): e is [string, string] =>
        typeof e[1] === "string"
      ),
    )
    : undefined;
  return {
    artifactType: typeof doc.artifactType === "string" ? doc.artifactType : configType,
    subject: doc.subject.digest,
    ...(annotations ? { annotations } : {}),
  };
}

/**
 * Pushes `items` to `repo` and makes them listed as referrers of their subjects.
 * @throws {RegistryError} for a refusal (the registry's own words), or a referrers tag that
 * holds something other than an index (it is left as it is).
 */
export async function pushReferrers(
  client: RegistryClient,
  repo: string,
  items: readonly ReferrerItem[],
  options: ReferrersOptions,
): Promise<ReferrerResult[]> {
  const progress = options.onProgress ?? (() => {});
  const results: ReferrerResult[] = [];
  const subjects = [...new Set(items.map((i) => i.subject))];
  for (const subject of subjects) {
    const mine = items.filter((i) => i.subject === subject);
    let apiSaid = false;
    const actions = new Map<string, ReferrerResult["action"]>();
    for (const item of mine) {
      if (await manifestExists(client, repo, item.digest, options.scopes)) {
        actions.set(item.digest, "present");
        continue;
      }
      const response = await client.request("PUT", `/v2/${repo}/manifests/${item.digest}`, {
        scopes: options.scopes,
        headers: { "content-type": item.mediaType },
        body: item.bytes,
        expect: [200, 201, 202],
        what: `store ${item.artifactType} artifact ${item.digest} (subject ${subject})`,
      });
      await response.body?.cancel();
      const said = response.headers.get("docker-content-digest");
      if (said && said !== item.digest) {
        throw new RegistryError(
          `Registry "${client.registry}" stored manifest ${item.digest} under another digest, ${said}`,
        );
      }
      if (response.headers.get("oci-subject") === subject) apiSaid = true;
      actions.set(item.digest, "pushed");
    }
    const api = apiSaid || await referrersApi(client, repo, subject, options.scopes);
    if (!api) await updateReferrersTag(client, repo, subject, mine, options.scopes, progress);
    for (const item of mine) {
      results.push({
        digest: item.digest,
        artifactType: item.artifactType,
        subject,
        action: actions.get(item.digest)!,
        listedBy: api ? "referrers API" : "tag schema",
      });
    }
  }
  return results;
}

async function manifestExists(
  client: RegistryClient,
  repo: string,
  digest: string,
  scopes: string[],
): Promise<boolean> {
  const head = await client.request("HEAD", `/v2/${repo}/manifests/${digest}`, {
    scopes,
    headers: { accept: INDEX + ", application/vnd.oci.image.manifest.v1+json" },
    expect: [200, 404],
    what: `check manifest ${digest}`,
  });
  await head.body?.cancel();
  return head.status === 200;
}

/**
 * Whether the registry implements the referrers API: it answers the listing with 200 and an
 * index (one that does not MUST NOT answer 404, the spec says; distribution 2.x answers 404).
 */
async function referrersApi(
  client: RegistryClient,
  repo: string,
  subject: string,
  scopes: string[],
): Promise<boolean> {
  const response = await client.request("GET", `/v2/${repo}/referrers/${subject}`, {
    scopes,
    headers: { accept: INDEX },
    expect: [200, 404, 400, 405],
    what: `list the referrers of ${subject}`,
  });
  if (response.status !== 200) {
    await response.body?.cancel();
    return false;
  }
  const type = (response.headers.get("content-type") ?? "").split(";")[0].trim();
  const body = await readCappedText(
    response,
    MANIFEST_LIMIT,
    `The referrers of ${subject} in "${repo}"`,
  );
  try {
    const doc = JSON.parse(body);
    return INDEX_TYPES.has(type) || (isObject(doc) && Array.isArray(doc.manifests));
  } catch {
    return false;
  }
}

/** The tag schema fallback: the subject's referrers index, with `items` added when missing. */
async function updateReferrersTag(
  client: RegistryClient,
  repo: string,
  subject: string,
  items: readonly ReferrerItem[],
  scopes: string[],
  progress: (line: string) => void,
): Promise<void> {
  const tag = referrersTag(subject);
  const response = await client.request("GET", `/v2/${repo}/manifests/${tag}`, {
    scopes,
    headers: { accept: INDEX },
    expect: [200, 404],
    what: `read the referrers index "${tag}"`,
  });
  let index: Record<string, unknown> = { schemaVersion: 2, mediaType: INDEX, manifests: [] };
  if (response.status === 200) {
    const type = (response.headers.get("content-type") ?? "").split(";")[0].trim();
    let doc: unknown = null;
    try {
      doc = JSON.parse(
        await readCappedText(response, MANIFEST_LIMIT, `The referrers index "${repo}:${tag}"`),
      );
    } catch {
      // reported below
    }
    if (!isObject(doc) || !Array.isArray(doc.manifests) || (type && !INDEX_TYPES.has(type))) {
      throw new RegistryError(
        `Cannot list the attached documents in "${repo}:${tag}": that tag holds ${
          type || "something"
        } that is not an image index (the referrers tag schema expects one); left as it is`,
      );
    }
    index = doc;
  } else {
    await response.body?.cancel();
  }
  const listed = index.manifests as unknown[];
  const have = new Set(
    listed.map((m) => (isObject(m) && typeof m.digest === "string" ? m.digest : "")),
  );
  const added = items.filter((i) => !have.has(i.digest));
  if (added.length === 0) return;
  const updated = {
    ...index,
    mediaType: INDEX,
    manifests: [
      ...listed,
      ...added.map((i) => ({
        mediaType: i.mediaType,
        digest: i.digest,
        size: i.size,
        artifactType: i.artifactType,
        ...(i.annotations && Object.keys(i.annotations).length
          ? { annotations: i.annotations }
          : {}),
      })),
    ],
  };
  const put = await client.request("PUT", `/v2/${repo}/manifests/${tag}`, {
    scopes,
    headers: { "content-type": INDEX },
    body: canonicalJsonBytes(updated),
    expect: [200, 201, 202],
    what: `store the referrers index "${tag}"`,
  });
  await put.body?.cancel();
  progress(
    `listed ${plural(added.length, "attached document")} of ${subject.slice(0, 19)} in "${tag}"`,
  );
}

/** A document attached to a subject, as a referrer listing gives it. */
export interface ListedReferrer {
  digest: string;
  artifactType: string;
}

/**
 * The referrers of `subject` in `repo`: from the referrers API, else from the tag schema's index
 * (`sha256-<hex>`); empty when neither lists any.
 * @throws {RegistryError} for a refusal other than "not there".
 */
export async function listReferrers(
  client: RegistryClient,
  repo: string,
  subject: string,
  scopes: string[],
): Promise<ListedReferrer[]> {
  for (const path of [`referrers/${subject}`, `manifests/${referrersTag(subject)}`]) {
    const response = await client.request("GET", `/v2/${repo}/${path}`, {
      scopes,
      headers: { accept: INDEX },
      expect: [200, 404, 400, 405],
      what: `list the referrers of ${subject}`,
    });
    if (response.status !== 200) {
      await response.body?.cancel();
      continue;
    }
    let doc: unknown = null;
    try {
      doc = JSON.parse(
        await readCappedText(response, MANIFEST_LIMIT, `The referrers of ${subject}`),
      );
    } catch {
      continue; // not an index: as if none were listed
    }
    if (!isObject(doc) || !Array.isArray(doc.manifests)) continue;
    const listed = doc.manifests.flatMap((m) =>
      isObject(m) && typeof m.digest === "string" && typeof m.artifactType === "string"
        ? [{ digest: m.digest, artifactType: m.artifactType }]
        : []
    );
    if (listed.length) return listed;
  }
  return [];
}
