# Sourced by scripts/r10e and scripts/test: sets DENO to a deno of the pinned
# version, installing it through npm into .tools/ (inside this checkout, no root
# needed) when the one on PATH is missing or another version. Nothing is fetched
# from outside the npm registry.
R10E_DENO_VERSION="2.9.6"
# Sourced by absolute path (readlink -f): the checkout is the folder above scripts/.
r10e_repo="${BASH_SOURCE[0]%/scripts/_deno.sh}"
DENO=""
r10e_deno_remembered=""
# The deno found good is remembered by path: asking `deno --version` costs about 0.3 s, on every
# call. The memory holds while that file is not newer than it (a replaced deno is asked again).
r10e_deno_memo="$r10e_repo/.tools/deno-$R10E_DENO_VERSION"
if [ -f "$r10e_deno_memo" ]; then
  IFS= read -r DENO <"$r10e_deno_memo" || true
  if [ -z "$DENO" ] || [ ! -x "$DENO" ] || [ "$DENO" -nt "$r10e_deno_memo" ]; then DENO=""; fi
fi
if [ -n "$DENO" ]; then
  r10e_deno_remembered=1
elif command -v deno >/dev/null 2>&1 &&
  [ "$(deno --version 2>/dev/null | awk 'NR==1 {print $2}')" = "$R10E_DENO_VERSION" ]; then
  DENO="$(command -v deno)"
elif [ -x "$r10e_repo/.tools/node_modules/.bin/deno" ]; then
  DENO="$r10e_repo/.tools/node_modules/.bin/deno"
else
  if ! command -v npm >/dev/null 2>&1; then
    echo "r10e: Deno $R10E_DENO_VERSION is needed and is installed through npm, but npm is missing: install Node.js first" >&2
    exit 2
  fi
  echo "r10e: installing Deno $R10E_DENO_VERSION through npm into $r10e_repo/.tools (once)" >&2
  mkdir -p "$r10e_repo/.tools"
  npm install --prefix "$r10e_repo/.tools" --no-fund --no-audit --loglevel=error \
    "deno@$R10E_DENO_VERSION" >&2
  DENO="$r10e_repo/.tools/node_modules/.bin/deno"
fi
if [ -z "$r10e_deno_remembered" ]; then
  # Best effort: a read-only checkout asks again next time.
  { mkdir -p "$r10e_repo/.tools" && printf '%s\n' "$DENO" >"$r10e_deno_memo"; } 2>/dev/null || true
fi
export DENO
