#!/usr/bin/env bash
# Installs every build and test dependency of sluice from Debian 12 packages.
# Idempotent: packages already present are not reinstalled and apt-get update
# runs only when something is missing. Works as root or through sudo.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config
  g++ clang-14 libclang-rt-14-dev clang-format-14
  chromium
  libgtest-dev libgmock-dev libbenchmark-dev
  nlohmann-json3-dev libsimdjson-dev libcli11-dev
  libboost1.81-dev libssl-dev libyaml-cpp-dev libsqlite3-dev libhiredis-dev redis-server
  python3 python3-pytest python3-httpx
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

# Node.js runs the official-SDK wire tests; Debian's package when the machine has none.
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  missing+=(nodejs npm)
fi

SUDO=""
if [ ${#missing[@]} -gt 0 ] && [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "setup: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
  SUDO="sudo"
fi

if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -q
  $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# The official openai and @anthropic-ai/sdk clients, pinned by the lock file.
sdk_dir="$(dirname "$0")/../tests/sdk"
if [ ! -d "$sdk_dir/node_modules/openai" ] || [ "$sdk_dir/package-lock.json" -nt "$sdk_dir/node_modules" ]; then
  echo "setup: installing the SDK wire-test clients (npm ci)"
  (cd "$sdk_dir" && npm ci --no-audit --no-fund --loglevel=error && touch node_modules)
fi

# The real agent clients (Claude Code, Codex CLI) and SDK frameworks (Vercel AI SDK,
# LangChain JS) for tests/clients, pinned by the lock file; the CLIs' native binaries come
# as platform packages (linux-x64 here), Claude Code's linked into place by its postinstall.
clients_dir="$(dirname "$0")/../tests/clients"
if [ ! -x "$clients_dir/node_modules/.bin/claude" ] || [ ! -x "$clients_dir/node_modules/.bin/codex" ] \
    || [ "$clients_dir/package-lock.json" -nt "$clients_dir/node_modules" ]; then
  echo "setup: installing the agent-client tests' clients (npm ci)"
  (cd "$clients_dir" && npm ci --no-audit --no-fund --loglevel=error && touch node_modules)
fi
