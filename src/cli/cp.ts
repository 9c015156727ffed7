/**
 * `r10e cp IMAGE SRC DEST`: options and help only; the work is in src/cp/ (STYLE: one small
 * file per command, like crane's cmd/).
 *
 * @module
 */
import { printable } from "../printable.ts";
import {
  type Command,
  imagePath,
  jsonOption,
  platformOption,
  progressBar,
  quietOption,
  REGISTRY_INPUT_HELP,
  registryOptionDecls,
  registryOptions,
  userPath,
} from "./cli.ts";

/** `r10e cp IMAGE SRC DEST`. */
export const cpCommand: Command = {
  name: "cp",
  summary: "copy a file or directory out of an image, like docker cp -L",
  description:
    "Copy a file or directory out of an image archive, like `docker create` + `docker cp -L`, " +
    "without a daemon. SRC is an absolute path in the image's merged filesystem; symlinks " +
    "are followed inside the image root. Prints name(sha256:<hex>) for each file copied.",
  examples: [
    "r10e cp out/app-latest.tar.gz /app/server ./bin/    writes ./bin/server",
    "r10e cp image.tar /etc/ssl/certs/. ./certs          the directory's contents into ./certs",
    "r10e cp image.tar /app - | tar -t                   a tar stream on stdout",
    "r10e cp --platform linux/arm64 app.tar.gz /app/server ./arm64/",
  ],
  details: `
Exit codes: 0 copied, 2 the image cannot be read, SRC is missing or the destination is refused. A multi-platform image needs --platform (without it: exit 2, naming its platforms).
${REGISTRY_INPUT_HELP}`,
  arguments: [
    {
      name: "image",
      help: "image: docker-archive or OCI layout (.tar, .tar.gz, .tar.zst or directory)",
      required: true,
    },
    {
      name: "src",
      help: "path in the image, e.g. /app/server; end a directory with /. to copy its contents",
      required: true,
    },
    {
      name: "dest",
      help:
        "host path (docker cp rules: an existing directory receives SRC inside it), or - for a tar stream on stdout",
      required: true,
    },
  ],
  options: [
    platformOption("the image of this platform in a multi-platform input (e.g. linux/arm64)"),
    jsonOption("print a JSON list of {path, size, sha256} instead"),
    quietOption("no progress on stderr (fetching a registry's layers)"),
    ...registryOptionDecls(),
  ],
  run: async (input, cli) => {
    const { io } = cli;
    const { options } = input;
    const { image, src, dest } = input.args as Record<"image" | "src" | "dest", string>;
    const toStdout = dest === "-";
    const { cp } = await import("../cp/cp.ts");
    const bar = await progressBar(io, options.flag("quiet"));
    const result = await cp(await imagePath(io, image), {
      src,
      dest: toStdout ? dest : userPath(io, dest),
    }, {
      platform: options.string("platform"),
      stdout: toStdout ? io.stdoutBytes() : undefined,
      registry: {
        ...registryOptions(cli, input),
        ...bar.registryHooks(),
      },
    }).catch((error) => {
      // A bare OS error (read-only DEST, full disk, name too long) says what cp was doing.
      if (osErrorCode(error) === null) throw error;
      throw new Error(`Cannot copy "${src}" from "${image}" to "${dest}"`, { cause: error });
    }).finally(() => bar.clear());
    // With `-`, stdout carries the tar stream: the list goes to stderr.
    const print = toStdout ? io.stderr : io.stdout;
    if (options.flag("json")) {
      const files = result.files.map((f) => ({ path: f.path, size: f.size, sha256: f.sha256 }));
      print(JSON.stringify(files, null, 2) + "\n");
    } else {
      // Names come from the image: escaped, so that they cannot drive the terminal. Printed a
      // few thousand lines at a time: one text of 200,000 lines is some 50 MB more at the peak.
      const files = result.files;
      for (let i = 0; i < files.length; i += 4096) {
        const lines = files.slice(i, i + 4096);
        print(lines.map((f) => `${printable(f.path)}(sha256:${f.sha256})\n`).join(""));
      }
    }
  },
};

/** The code (`EROFS`, `ENOSPC`…) of the OS error at the bottom of `error`'s cause chain, or null. */
function osErrorCode(error: unknown): string | null {
  let code: string | null = null;
  for (let e = error; e instanceof Error; e = e.cause) {
    const c = (e as { code?: unknown }).code;
    if (typeof c === "string" && /^E[A-Z0-9]+$/.test(c)) code = c;
  }
  return code;
}
