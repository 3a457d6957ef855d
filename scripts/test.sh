#!/usr/bin/env bash
# The test suite on a fresh machine: installs the real parts the tests drive (dig, a Docker
# engine, busybox for its image, iproute2 for network namespaces, prometheus for metrics, chromium for the console), starts a private dockerd,
# then runs every test. Extra arguments go to `deno test` (e.g. a file or --filter).
set -uo pipefail
cd "$(dirname "$0")/.."
export RUST_BACKTRACE=0 NO_COLOR=1

need=()
command -v dig >/dev/null || need+=(bind9-dnsutils)
command -v ip >/dev/null || need+=(iproute2)
command -v curl >/dev/null || need+=(curl)
command -v fuser >/dev/null || need+=(psmisc)
# A foreign TLS client and certificate reader for the keyed and credential tests.
command -v openssl >/dev/null || need+=(openssl)
# promtool and prometheus check the -metrics endpoint (tests/metrics_test.ts).
command -v promtool >/dev/null || need+=(prometheus)
# The completion scripts are checked by each shell's parser (tests/cli_config_test.ts).
command -v zsh >/dev/null || need+=(zsh)
command -v fish >/dev/null || need+=(fish)
# The console's browser test drives a real headless Chromium.
command -v chromium >/dev/null || need+=(chromium)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y --no-install-recommends "${need[@]}" >&2 ||
      { apt-get update >&2 && apt-get install -y --no-install-recommends "${need[@]}" >&2; }
  else
    echo "test.sh: missing ${need[*]} (run as root to install them)" >&2
  fi
fi

if [ -z "${DOCKER_HOST:-}" ] && [ "$(id -u)" -eq 0 ]; then
  if line=$(bash scripts/dockerd.sh | tail -n 1); then
    export "$line"
  else
    echo "test.sh: could not start a Docker engine; docker tests will fail" >&2
  fi
fi

exec deno test --allow-all --unstable-net "${@:-tests/}"
