#!/usr/bin/env bash
# Starts a private Docker engine for circuit's docker tests (SPEC §12 A30) and prints
# `DOCKER_HOST=unix://<dir>/docker.sock` as its last line.
#
# Usage: scripts/dockerd.sh [DIR]      (DIR defaults to $CIRCUIT_DOCKER_DIR, then /tmp/circuit-docker)
#
# Idempotent: installs docker.io and busybox-static only when missing, reuses an engine that
# already answers on DIR's socket, and imports the `circuit-test:latest` image only when absent.
# The engine gets no bridge, no iptables rules and a proxy on a closed loopback port, so it
# never touches the host's network nor reaches a registry.
set -euo pipefail

DIR="${1:-${CIRCUIT_DOCKER_DIR:-/tmp/circuit-docker}}"
SOCK="$DIR/docker.sock"
IMAGE="circuit-test:latest"

log() { echo "dockerd.sh: $*" >&2; }

# Another apt-get/dpkg (e.g. a concurrent install) holds these locks; installing meanwhile fails.
wait_for_apt() {
  local i
  for i in $(seq 1 600); do
    if ! fuser /var/lib/dpkg/lock-frontend /var/lib/dpkg/lock /var/lib/apt/lists/lock >/dev/null 2>&1; then
      return 0
    fi
    sleep 1
  done
  log "apt locks still held after 600 s"
  return 1
}

ensure_packages() {
  local missing=()
  [ -x /usr/sbin/dockerd ] || [ -x /usr/bin/dockerd ] || missing+=(docker.io)
  busybox_static_installed || missing+=(busybox-static)
  [ ${#missing[@]} -eq 0 ] && return 0
  log "installing ${missing[*]}"
  wait_for_apt
  # Re-check: the lock holder may have been installing the very same packages.
  if [ -x /usr/sbin/dockerd ] && busybox_static_installed; then
    return 0
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y --no-install-recommends "${missing[@]}" >&2 ||
    { apt-get update >&2 && apt-get install -y --no-install-recommends "${missing[@]}" >&2; }
}

# The image has no libc, so only busybox-static's /bin/busybox (not busybox's dynamic one) runs in it.
busybox_static_installed() {
  [ "$(dpkg-query -W -f '${Status}' busybox-static 2>/dev/null)" = "install ok installed" ]
}

ping_engine() {
  curl -fsS --max-time 2 --unix-socket "$SOCK" http://localhost/_ping >/dev/null 2>&1
}

start_engine() {
  mkdir -p "$DIR/data" "$DIR/exec"
  local dockerd
  dockerd="$(command -v dockerd || echo /usr/sbin/dockerd)"
  # A stale pid file from a killed engine makes dockerd refuse to start.
  if [ -f "$DIR/docker.pid" ] && ! kill -0 "$(cat "$DIR/docker.pid")" 2>/dev/null; then
    rm -f "$DIR/docker.pid"
  fi
  log "starting $dockerd on $SOCK"
  HTTP_PROXY=http://127.0.0.1:9 HTTPS_PROXY=http://127.0.0.1:9 NO_PROXY= \
    setsid "$dockerd" --iptables=false --bridge=none --ip-masq=false \
    -H "unix://$SOCK" --data-root "$DIR/data" --exec-root "$DIR/exec" --pidfile "$DIR/docker.pid" \
    </dev/null >"$DIR/dockerd.log" 2>&1 &
  local i
  # dockerd also starts its own containerd; on a cold cache this takes a few seconds.
  for i in $(seq 1 120); do
    ping_engine && return 0
    sleep 0.5
  done
  log "engine did not answer within 60 s; last log lines:"
  tail -n 20 "$DIR/dockerd.log" >&2
  return 1
}

ensure_image() {
  local docker
  docker="$(command -v docker || echo /usr/bin/docker)"
  if "$docker" -H "unix://$SOCK" image inspect "$IMAGE" >/dev/null 2>&1; then
    return 0
  fi
  log "importing $IMAGE from busybox-static"
  local root
  root="$(mktemp -d)"
  trap 'rm -rf "$root"' RETURN
  mkdir -p "$root/bin" "$root/tmp" "$root/etc"
  cp /bin/busybox "$root/bin/busybox"
  local applet
  for applet in sh cat echo sleep true false ls env printf yes head wc sed id hostname; do
    ln -s busybox "$root/bin/$applet"
  done
  tar -C "$root" -c . | "$docker" -H "unix://$SOCK" import \
    -c 'ENV PATH=/bin' -c 'CMD ["/bin/sh"]' - "$IMAGE" >/dev/null
}

ensure_packages
mkdir -p "$DIR"
ping_engine || start_engine
ensure_image
echo "DOCKER_HOST=unix://$SOCK"
