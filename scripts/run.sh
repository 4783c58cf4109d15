#!/usr/bin/env bash
# Sets up, builds (release) and runs sluice's main job: the gateway.
# Without arguments it serves on 127.0.0.1:4000 with a provider for every
# API key variable that is set (OPENAI_API_KEY, ANTHROPIC_API_KEY, ...), or,
# with none set, from the built-in simulator, and prints a first curl to try.
# Arguments go to `sluice serve` (e.g. -c examples/sluice.yaml).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
# The release build, compiled once more with a profile of agent traffic
# (scripts/build-pgo.sh, docs/decisions/0021).
bin=$(./scripts/build-pgo.sh)
exec "$bin" serve "$@"
