/**
 * A project laid out like r10edocker (github.com/syncom/r10edocker): go.mod and
 * config.json at the root, three more configs under testdata/, a build script
 * that cross-builds linux and darwin for amd64 and arm64, testdata/a/b/c/d.txt
 * (config2's extern_data), and r10edocker's own .gitignore, committed in git.
 * The configs are r10edocker's, unchanged (tests/fixtures/r10edocker/).
 *
 * @module
 */
import { git, REPO } from "./_cli.ts";

const FIXTURES = `${REPO}/tests/fixtures/r10edocker`;

/** main.go: prints its platform, or with `cat PATH` the file at PATH (the image has no shell). */
const MAIN_GO = `package main

import (
	"fmt"
	"os"
	"runtime"
)

func main() {
	if len(os.Args) == 3 && os.Args[1] == "cat" {
		b, err := os.ReadFile(os.Args[2])
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Stdout.Write(b)
		return
	}
	fmt.Printf("r10edocker-like %s/%s\\n", runtime.GOOS, runtime.GOARCH)
}
`;

/** As r10edocker's scripts/build-all.sh: four cross builds into build/, from the project root. */
const BUILD_ALL = `#!/usr/bin/env bash
# Build binaries for Linux and macOS (as r10edocker's scripts/build-all.sh).
set -euo pipefail
cd "$(dirname "\${BASH_SOURCE[0]}")/.."
mkdir -p build
for os in linux darwin; do
  for arch in amd64 arm64; do
    GOOS=$os GOARCH=$arch go build -o "build/r10edocker-$os-$arch" .
  done
done
`;

/** A git repository laid out like r10edocker, with r10edocker's own .gitignore (it ignores r10e-docker/). */
export async function r10edockerProject(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "r10e-r10edocker-" });
  await Deno.mkdir(`${dir}/scripts`);
  await Deno.mkdir(`${dir}/testdata/a/b/c`, { recursive: true });
  await Deno.writeTextFile(`${dir}/go.mod`, "module example.com/r10edocker-like\n\ngo 1.21\n");
  await Deno.writeTextFile(`${dir}/main.go`, MAIN_GO);
  await Deno.writeTextFile(`${dir}/scripts/build-all.sh`, BUILD_ALL, { mode: 0o755 });
  await Deno.chmod(`${dir}/scripts/build-all.sh`, 0o755);
  await Deno.writeTextFile(`${dir}/LICENSE`, "MIT License (test copy)\n");
  await Deno.writeTextFile(`${dir}/testdata/a/b/c/d.txt`, "d.txt from testdata/a/b/c\n");
  await Deno.writeTextFile(
    `${dir}/.gitignore`,
    "*.bak\n.DS_Store\nbuild/\nr10e-docker/\n!pkg/r10e-docker/\n",
  );
  await Deno.copyFile(`${FIXTURES}/config.json`, `${dir}/config.json`);
  for (
    const f of [
      "config1_no-optional.json",
      "config2_with-extern-data.json",
      "config3_include-ca-bundle-false.json",
    ]
  ) {
    await Deno.copyFile(`${FIXTURES}/${f}`, `${dir}/testdata/${f}`);
  }
  await git(dir, "init", "-q");
  await git(dir, "add", ".");
  await git(dir, "commit", "-qm", "r10edocker-like");
  return dir;
}
