/**
 * A fixed SBOM input for the golden and schema tests: two Go binaries with a dependency, a
 * replacement and a local replacement, build settings, the CA bundle and two tzdata files.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { parseGoModInfo } from "../gobinary/go_binary.ts";
import type { SbomInput } from "./model.ts";

const TAB = "\t";
/** Module info as `go version -m` prints it (tabs), with a replacement and a local one. */
const MOD_INFO = [
  `path${TAB}example.com/app/cmd/app`,
  `mod${TAB}example.com/app${TAB}(devel)${TAB}`,
  `dep${TAB}github.com/google/uuid${TAB}v1.6.0${TAB}h1:NIvaJDMOsjHA8n1jAhLSgzrAzy1Hgr+hNrb57e+94F0=`,
  `dep${TAB}github.com/BurntSushi/toml${TAB}v1.3.2${TAB}`,
  `=>${TAB}github.com/fork/toml${TAB}v1.3.3-fix${TAB}h1:TIyPZe4MgqvfeYDBFedMoGGpEw/LqOeaOT+nhxU+yHo=`,
  `dep${TAB}example.com/local${TAB}v0.0.0${TAB}`,
  `=>${TAB}../local${TAB}${TAB}`,
  `build${TAB}-trimpath=true`,
  `build${TAB}CGO_ENABLED=0`,
  `build${TAB}GOARCH=amd64`,
  `build${TAB}GOOS=linux`,
  `build${TAB}-ldflags="-s -w"`,
  `build${TAB}vcs=git`,
  `build${TAB}vcs.revision=0123456789abcdef0123456789abcdef01234567`,
  `build${TAB}vcs.modified=false`,
].join("\n") + "\n";

function sha1(s: string): string {
  return createHash("sha1").update(s).digest("hex");
}
/** sha256 hex of a string. */
export function sha256(s: string): string {
  return createHash("sha256").update(s).digest("hex");
}
function file(path: string, content: string) {
  return { path, size: content.length, sha256: sha256(content), sha1: sha1(content) };
}

/** The fixed input (a new object each call). */
export function fixture(): SbomInput {
  const info = { goVersion: "go1.26.8 X:boringcrypto", ...parseGoModInfo(MOD_INFO) };
  const files = [
    file("/usr/share/zoneinfo/UTC", "TZif2 utc"),
    file("/app/app", "\x7fELF app"),
    file("/etc/ssl/certs/ca-certificates.crt", "-----BEGIN CERTIFICATE-----"),
    file("/usr/share/zoneinfo/Europe/Paris", "TZif2 paris"),
    file("/app/tool", "\x7fELF tool"),
  ];
  return {
    image: {
      name: "example/app:v1",
      digest: "sha256:" + "ab".repeat(32),
      digestOf: "manifest",
      created: "2024-05-06T07:08:09Z",
      platform: "linux/amd64",
    },
    files,
    binaries: [
      { path: "/app/tool", sha256: files[4].sha256, info },
      { path: "/app/app", sha256: files[1].sha256, info },
    ],
    tool: { name: "r10e", version: "0.1.0" },
  };
}
