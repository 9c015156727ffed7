#!/usr/bin/env bash
# Starts (or stops) a Docker engine and a local registry that work on this kind
# of machine: no iptables, no bridge, vfs storage (no overlayfs in the sandbox).
# Containers must run with `--network none`. Everything lives under one state dir.
#
# Usage:
#   bash scripts/dockerd.sh start   start (or reuse) the engine + registry; prints the env to export
#   bash scripts/dockerd.sh env     print `export DOCKER_HOST=…` and `export R10E_TEST_REGISTRY=…`
#   bash scripts/dockerd.sh stop    stop the processes this script recorded (by pid)
#   bash scripts/dockerd.sh status  exit 0 when the engine answers
#
#   eval "$(bash scripts/dockerd.sh start)"
#
# Environment: R10E_DOCKERD_DIR (default /tmp/r10e-dockerd), R10E_REGISTRY_PORT (default 5555),
# R10E_DOCKERD_STORAGE (default vfs, which works everywhere; overlay2 is much faster
# where the kernel lets the sandbox mount overlayfs: vfs copies a whole image for
# every container).
# Must run as root (dockerd needs it).
set -euo pipefail

STATE="${R10E_DOCKERD_DIR:-/tmp/r10e-dockerd}"
PORT="${R10E_REGISTRY_PORT:-5555}"
SOCK="$STATE/docker.sock"
HOST="unix://$SOCK"
TIMEOUT="${R10E_DOCKERD_TIMEOUT:-60}"
STORAGE="${R10E_DOCKERD_STORAGE:-vfs}"

say() { printf 'dockerd.sh: %s\n' "$*" >&2; }

print_env() {
  printf 'export DOCKER_HOST=%s\n' "$HOST"
  printf 'export R10E_TEST_REGISTRY=127.0.0.1:%s\n' "$PORT"
}

alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

engine_up() { DOCKER_HOST="$HOST" timeout 10 docker version >/dev/null 2>&1; }

registry_up() {
  # /v2/ answers 200 with an empty JSON object when the registry is serving.
  if command -v curl >/dev/null 2>&1; then
    curl -fsS -m 3 "http://127.0.0.1:$PORT/v2/" >/dev/null 2>&1
  else
    (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null
  fi
}

start_engine() {
  if alive "$STATE/dockerd.pid" && engine_up; then
    say "engine already up at $HOST (pid $(cat "$STATE/dockerd.pid"))"
    return
  fi
  mkdir -p "$STATE/data" "$STATE/exec"
  rm -f "$SOCK"
  say "starting dockerd ($STORAGE, no iptables, no bridge) at $HOST"
  # setsid: its own session, so that the caller's Ctrl-C or exit does not reach it;
  # stop uses the pid recorded here.
  setsid dockerd \
    --storage-driver="$STORAGE" \
    --iptables=false --ip6tables=false --bridge=none \
    --data-root="$STATE/data" \
    --exec-root="$STATE/exec" \
    --pidfile="$STATE/dockerd.pid" \
    --host="$HOST" \
    </dev/null >"$STATE/dockerd.log" 2>&1 &
  echo $! >"$STATE/dockerd.launcher.pid"
  local waited=0
  until engine_up; do
    if ! kill -0 "$(cat "$STATE/dockerd.launcher.pid")" 2>/dev/null; then
      say "dockerd exited during start-up; last lines of $STATE/dockerd.log:"
      tail -n 30 "$STATE/dockerd.log" >&2 || true
      exit 1
    fi
    if [ "$waited" -ge "$TIMEOUT" ]; then
      say "dockerd did not answer within ${TIMEOUT}s; last lines of $STATE/dockerd.log:"
      tail -n 30 "$STATE/dockerd.log" >&2 || true
      exit 1
    fi
    sleep 1
    waited=$((waited + 1))
  done
  say "engine up (pid $(cat "$STATE/dockerd.pid"), ${waited}s)"
}

start_registry() {
  if alive "$STATE/registry.pid" && registry_up; then
    say "registry already up at 127.0.0.1:$PORT (pid $(cat "$STATE/registry.pid"))"
    return
  fi
  if registry_up; then
    say "port 127.0.0.1:$PORT is taken by a process this script did not start; set R10E_REGISTRY_PORT"
    exit 1
  fi
  mkdir -p "$STATE/registry"
  # Loopback only; 127.0.0.0/8 is an insecure registry for dockerd by default,
  # so plain HTTP push/pull works without extra daemon configuration.
  cat >"$STATE/registry.yml" <<YML
version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $STATE/registry
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$PORT
YML
  say "starting docker-registry at 127.0.0.1:$PORT"
  setsid /usr/bin/docker-registry serve "$STATE/registry.yml" \
    </dev/null >"$STATE/registry.log" 2>&1 &
  echo $! >"$STATE/registry.pid"
  local waited=0
  until registry_up; do
    if ! alive "$STATE/registry.pid"; then
      say "docker-registry exited during start-up; last lines of $STATE/registry.log:"
      tail -n 30 "$STATE/registry.log" >&2 || true
      exit 1
    fi
    if [ "$waited" -ge 30 ]; then
      say "docker-registry did not answer within 30s; last lines of $STATE/registry.log:"
      tail -n 30 "$STATE/registry.log" >&2 || true
      exit 1
    fi
    sleep 0.5
    waited=$((waited + 1))
  done
  say "registry up (pid $(cat "$STATE/registry.pid"))"
}

stop_pidfile() {
  local name="$1" file="$2"
  if alive "$file"; then
    local pid
    pid="$(cat "$file")"
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 30); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.5
    done
    if kill -0 "$pid" 2>/dev/null; then
      say "$name (pid $pid) did not stop in 15s; sending KILL"
      kill -9 "$pid" 2>/dev/null || true
    fi
    say "stopped $name (pid $pid)"
  fi
  rm -f "$file"
}

case "${1:-}" in
  start)
    if [ "$(id -u)" != "0" ]; then
      say "must run as root (dockerd needs it)"
      exit 1
    fi
    command -v dockerd >/dev/null || { say "dockerd not found: run bash scripts/setup.sh"; exit 1; }
    command -v docker >/dev/null || { say "docker not found: run bash scripts/setup.sh"; exit 1; }
    [ -x /usr/bin/docker-registry ] || { say "/usr/bin/docker-registry not found: run bash scripts/setup.sh"; exit 1; }
    mkdir -p "$STATE"
    start_engine
    start_registry
    print_env
    ;;
  env)
    print_env
    ;;
  status)
    engine_up
    ;;
  stop)
    stop_pidfile registry "$STATE/registry.pid"
    # dockerd writes its own pidfile (the daemon); the launcher pid is the same
    # process under setsid, recorded in case dockerd died before writing it.
    if [ -f "$STATE/dockerd.pid" ]; then
      stop_pidfile dockerd "$STATE/dockerd.pid"
    fi
    stop_pidfile "dockerd launcher" "$STATE/dockerd.launcher.pid"
    ;;
  *)
    echo "usage: bash scripts/dockerd.sh start|stop|env|status" >&2
    exit 2
    ;;
esac
