#!/usr/bin/env bash
# Sets up, builds (release) and runs sluice's main job. Until the gateway
# lands, that job is `sluice classify` on the shipped example outcomes: it
# prints why each upstream answer would bench a key, retry, or fall back.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
cmake --preset release >/dev/null
cmake --build --preset release --target sluice
exec ./build/release/apps/sluice/sluice classify "${@:-examples/classify.jsonl}"
