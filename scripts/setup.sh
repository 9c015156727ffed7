#!/usr/bin/env bash
# Installs what r10e's tests and CI need on a fresh Debian machine, run as root.
# Idempotent: each step checks first and does nothing when already satisfied.
#   - Deno, pinned, from the npm registry (the only registry that ships it here)
#   - docker.io (engine + CLI), skopeo, umoci, docker-registry, busybox-static from Debian
#   - apache2-utils (htpasswd), openssl, curl: the registry tests' TLS, Basic auth, start-up probe
#   - Go tools, pinned, through the Go module proxy (go_tool lines below: crane, ko, actionlint, …)
# Usage: bash scripts/setup.sh
set -euo pipefail

DENO_VERSION="2.9.6"

say() { printf 'setup: %s\n' "$*" >&2; }

# ── Deno ────────────────────────────────────────────────────────────────────
current_deno=""
if command -v deno >/dev/null 2>&1; then
  current_deno="$(deno --version 2>/dev/null | awk 'NR==1 {print $2}')"
fi
if [ "$current_deno" = "$DENO_VERSION" ]; then
  say "deno $DENO_VERSION present"
else
  if ! command -v npm >/dev/null 2>&1; then
    say "npm is missing: install Node.js and npm first (Deno is installed through npm)"
    exit 1
  fi
  say "installing deno $DENO_VERSION through npm (found: ${current_deno:-none})"
  npm install -g --no-fund --no-audit --loglevel=error "deno@$DENO_VERSION" >/dev/null
  hash -r
  got="$(deno --version 2>/dev/null | awk 'NR==1 {print $2}')"
  if [ "$got" != "$DENO_VERSION" ]; then
    say "deno --version says '${got:-nothing}' after install, expected $DENO_VERSION (is another deno earlier in PATH?)"
    exit 1
  fi
fi

# ── Debian packages ─────────────────────────────────────────────────────────
# package name → a file that proves it is installed
declare -A wanted=(
  [docker.io]=/usr/sbin/dockerd
  [skopeo]=/usr/bin/skopeo
  [umoci]=/usr/bin/umoci
  [docker-registry]=/usr/bin/docker-registry
  [busybox-static]=/bin/busybox
  [apache2-utils]=/usr/bin/htpasswd
  [openssl]=/usr/bin/openssl
  [curl]=/usr/bin/curl
  [zsh]=/usr/bin/zsh
  [fish]=/usr/bin/fish
  # arm64 images run under qemu (tests/multiplatform_docker_test.ts registers binfmt_misc)
  [qemu-user-static]=/usr/bin/qemu-aarch64-static
  # the layer_compression pull tests pull and run both kinds of image with podman
  [podman]=/usr/bin/podman
  # r10e check varies build B's clock (faketime) and directory order (disorderfs, a FUSE mount)
  [faketime]=/usr/bin/faketime
  [disorderfs]=/usr/bin/disorderfs
  [fuse]=/usr/bin/fusermount
  # tests/archive_tools_test.ts imports the archive with containerd's ctr; the generated Makefile
  # is run by tests/init_templates_test.ts
  [containerd]=/usr/bin/ctr
  [make]=/usr/bin/make
  # tests/cgo_base_docker_test.ts builds a cgo program on the host (gcc, libc6's headers)
  [gcc]=/usr/bin/gcc
  [libc6-dev]=/usr/include/stdio.h
  # tests/base_image_shapes_test.ts compresses a base layer with zstd
  [zstd]=/usr/bin/zstd
)
missing=()
for pkg in docker.io skopeo umoci docker-registry busybox-static apache2-utils openssl curl zsh fish \
  qemu-user-static podman faketime disorderfs fuse containerd make gcc libc6-dev zstd; do
  if dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" \
    && [ -e "${wanted[$pkg]}" ]; then
    :
  else
    missing+=("$pkg")
  fi
done
if [ "${#missing[@]}" -eq 0 ]; then
  say "Debian packages present: ${!wanted[*]}"
else
  say "installing from Debian: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  say "installed: ${missing[*]}"
fi
# ── Go tools, pinned, through the Go module proxy ─────────────────────────────
gobin="$( (command -v go >/dev/null 2>&1 && go env GOPATH) || echo "$HOME/go")/bin"

# go_tool NAME PACKAGE VERSION: installs PACKAGE@VERSION with go install unless
# the NAME binary found (PATH, then GOPATH/bin) was built from that module version
# (read from the binary's own build info with `go version -m`, the same for every tool).
go_tool() {
  local name="$1" package="$2" version="$3" bin have
  bin="$(command -v "$name" 2>/dev/null || echo "$gobin/$name")"
  have=""
  if [ -x "$bin" ] && command -v go >/dev/null 2>&1; then
    have="$(go version -m "$bin" 2>/dev/null | awk '$1 == "mod" { print $3; exit }')"
  fi
  if [ "$have" = "$version" ]; then
    say "$name $version present"
    return
  fi
  if ! command -v go >/dev/null 2>&1; then
    say "go is missing: install Go first ($name is installed with go install)"
    exit 1
  fi
  say "installing $name $version with go install (found: ${have:-none}; into $gobin)"
  GOFLAGS= go install "$package@$version"
}

# crane: the registry tests compare digests with it
go_tool crane github.com/google/go-containerregistry/cmd/crane v0.22.1
# ko: verify's tests compare two ko builds
go_tool ko github.com/google/ko v0.18.1
# actionlint: the workflow template init writes is checked with it
go_tool actionlint github.com/rhysd/actionlint/cmd/actionlint v1.7.12
# syft and cyclonedx-gomod: tests/sbom_tools_test.ts compares r10e sbom's Go modules with theirs
go_tool syft github.com/anchore/syft/cmd/syft v1.57.2
go_tool cyclonedx-gomod github.com/CycloneDX/cyclonedx-gomod/cmd/cyclonedx-gomod v1.10.0
# oras: tests/push_documents_test.ts lists (oras discover) and pulls (oras pull) the referrers push attaches
go_tool oras oras.land/oras/cmd/oras v1.3.6
# cosign: tests/sbom_push_test.ts lists the referrers push attaches with cosign tree (a long build)
go_tool cosign github.com/sigstore/cosign/v2/cmd/cosign v2.6.5

# Debian's docker-registry package enables a system service on :5000 on some
# machines; r10e starts its own on another port (scripts/dockerd.sh), so it is left alone.
say "ok"

