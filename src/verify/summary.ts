/**
 * What `verify` knows about one image after reading it once: the input of the
 * pure comparison (`compare.ts`). Everything here is small: file contents are
 * represented by their sha256, so memory grows with the number of files, never
 * with their size (DESIGN: reading images).
 *
 * @module
 */
import type { Digests } from "../digests.ts";

/** Kind of a tar entry, as the reader reports it. */
export type EntryType =
  | "file"
  | "dir"
  | "symlink"
  | "hardlink"
  | "char"
  | "block"
  | "fifo"
  | "other";

/** One entry of a layer tar: everything its header says, and the sha256 of its content. */
export interface FileMeta {
  /** Normalized name: no leading `./` or `/`, no trailing `/`. */
  path: string;
  type: EntryType;
  /** Permission bits (and setuid/setgid/sticky), without the file type. */
  mode: number;
  uid: number;
  gid: number;
  uname: string;
  gname: string;
  /** Seconds since the epoch (fractions kept when a PAX record has them). */
  mtime: number;
  /** Target of a symlink or hardlink, `""` otherwise. */
  linkname: string;
  size: number;
  /** Index of the content's sha256 in the layer's `digests`, -1 for entries without content. */
  digest: number;
  /** PAX records other than those that restate a field above and xattrs (sorted keys). */
  pax: Record<string, string>;
  /** Extended attributes (`SCHILY.xattr.*` and `LIBARCHIVE.xattr.*` records), by name. */
  xattrs: Record<string, string>;
  /** Position of the entry in its layer tar, from 0. */
  index: number;
  /** Tar header format as detected (`ustar`, `gnu`, `pax`, `v7`): a layer whose bytes differ with same files may differ only here. */
  format?: string;
  /** Offset of the content in the uncompressed layer tar, so that it can be read again without the rest. */
  dataOffset?: number;
}

/** Outer or blob compression, detected by magic bytes. */
export type Compression = "none" | "gzip" | "zstd";

/** One layer of one image. */
export interface LayerSummary {
  /** Digest of the blob as the manifest names it (`sha256:…`). */
  digest: string;
  /** sha256 of the uncompressed tar (`sha256:…`). */
  diffId: string;
  /** Media type from the manifest, `""` when unknown (legacy docker-archive). */
  mediaType: string;
  compression: Compression;
  /** Size of the blob in bytes. */
  size: number;
  /** A compressed layer both images share (same diff_id): its files were not read. */
  notRead?: boolean;
  /** The entry holding the blob (`blobs/sha256/…`, `<id>/layer.tar`), for packaging notes. */
  path?: string;
  files: FileMeta[];
  /** The sha256 of each file's content, by `FileMeta.digest`. */
  digests: Digests;
}

/** One entry of the outer archive (a tar), or of an OCI layout directory. */
export interface ArchiveEntry {
  name: string;
  type: EntryType;
  mode: number;
  uid: number;
  gid: number;
  uname: string;
  gname: string;
  mtime: number;
  size: number;
  /** sha256 hex of a regular file's content, `""` otherwise. */
  sha256: string;
}

/** One image (one platform) of an input, with the archive around it. */
export interface ImageSummary {
  /** The input as the user named it. */
  input: string;
  /** `docker-archive`, `oci`, or `docker-archive+oci` (Docker 25+ and r10e write both). */
  format: string;
  /** Compression of the outer archive; `none` for a plain tar or a directory. */
  outerCompression: Compression;
  /** sha256 of the input file as given (`""` for a directory). */
  archiveSha256: string;
  /** Entries of the outer archive, in archive order. */
  entries: ArchiveEntry[];
  /** `os/architecture[/variant]` of the image. */
  platform: string;
  /** Parsed `index.json`, when the input is an OCI layout. */
  index?: unknown;
  /** The docker-archive `manifest.json` item of this image, when present. */
  dockerManifest?: unknown;
  /** Digest of the OCI manifest (`sha256:…`), `""` for a legacy docker-archive. */
  manifestDigest: string;
  /** Parsed OCI manifest, when there is one. */
  manifest?: unknown;
  /** Config digest: the image ID. */
  configDigest: string;
  /** Parsed image config. */
  config: unknown;
  /** The entry holding the config, and its media type (`""` in a docker-archive). */
  configPath?: string;
  configMediaType?: string;
  layers: LayerSummary[];
}
