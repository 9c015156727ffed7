/**
 * The runtime root (`"runtime": "nonroot"` or `"root"` in config.json): what a Go service
 * expects of the root filesystem beyond its own files, as distroless's `static` image gives it
 * (and ko by default): users and groups for `os/user`, an nsswitch.conf for the resolver, a
 * world-writable /tmp for `os.CreateTemp`, and a home for the `nonroot` user (65532).
 *
 * Its bytes are r10e's, fixed by the image format: no file of the host or of a package goes in,
 * so the layer is the same on every machine. Pure.
 *
 * @module
 */
import { compareNames, fileEntry, headerName, type TarEntry } from "../tar/writer.ts";

/** The values of `runtime` in config.json: distroless's `static:nonroot` and `static` tags. */
export type RuntimeRoot = "nonroot" | "root";

/** The uid and gid of `nonroot`, distroless's and ko's (Kubernetes' runAsNonRoot needs a number). */
export const NONROOT_ID = 65532;

/** The image's User with `"runtime": "nonroot"`: numeric, so that runAsNonRoot can check it. */
export const NONROOT_USER = `${NONROOT_ID}`;

/** `/etc/passwd`: root, nobody and nonroot, with distroless's homes and no login shell. */
export const PASSWD = "root:x:0:0:root:/root:/sbin/nologin\n" +
  "nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n" +
  `nonroot:x:${NONROOT_ID}:${NONROOT_ID}:nonroot:/home/nonroot:/sbin/nologin\n`;

/** `/etc/group`: the groups of the three users. */
export const GROUP = "root:x:0:\nnobody:x:65534:\n" + `nonroot:x:${NONROOT_ID}:\n`;

/**
 * `/etc/nsswitch.conf`: files before DNS for hosts, so Go's resolver reads /etc/hosts first
 * (without the file glibc and Go's pure resolver disagree on the order).
 */
export const NSSWITCH = "passwd:         files\n" +
  "group:          files\n" +
  "shadow:         files\n" +
  "hosts:          files dns\n" +
  "networks:       files\n" +
  "protocols:      files\n" +
  "services:       files\n";

/** The files of the layer, by path in the image: what the SBOM lists as its package. */
export const RUNTIME_ROOT_FILES: Readonly<Record<string, string>> = {
  "/etc/group": GROUP,
  "/etc/nsswitch.conf": NSSWITCH,
  "/etc/passwd": PASSWD,
};

function dir(name: string, mode: number, owner = 0): TarEntry {
  return { name, kind: "dir", mode, size: 0, ...(owner ? { uid: owner, gid: owner } : {}) };
}

/**
 * The sorted entries of the runtime root layer. The same for both values of `runtime`: only
 * the image's User differs, so the layer is shared between a root and a nonroot image.
 */
export function runtimeRootEntries(): TarEntry[] {
  const entries = [
    dir("etc", 0o755),
    ...Object.entries(RUNTIME_ROOT_FILES).map(([path, text]) => fileEntry(path.slice(1), text)),
    dir("home", 0o755),
    // Private homes, as distroless has them; the sticky, world-writable /tmp of every Unix.
    dir("home/nonroot", 0o700, NONROOT_ID),
    dir("root", 0o700),
    dir("tmp", 0o1777),
  ];
  return entries.sort((a, b) => compareNames(headerName(a), headerName(b)));
}

/** The image's default User for a runtime root, when config.json names none. */
export function runtimeUser(runtime: RuntimeRoot | undefined): string | undefined {
  return runtime === "nonroot" ? NONROOT_USER : undefined;
}
