#!/usr/bin/env bash
# Sets up, builds and runs every test: formatting, the whole suite in the
# release and asan (ASan + UBSan) presets, the integration-level tests under
# tsan (ThreadSanitizer), and a bounded libFuzzer run of every fuzz target
# (one per fuzz/corpus/ folder), and the profile-guided build run.sh serves
# (scripts/build-pgo.sh). Prints ctest's summary line for each preset.
#   SLUICE_PRESETS="release"  run only these presets (default: release asan tsan)
#   SLUICE_FUZZ_SECONDS=30    time per fuzz target (0 skips fuzzing)
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh

jobs=$(nproc)
./scripts/check-format.sh

presets=${SLUICE_PRESETS:-release asan tsan}
for preset in $presets; do
  echo "== $preset: configure, build, test"
  cmake --preset "$preset" >/dev/null
  cmake --build --preset "$preset" -j "$jobs"
  ctest --preset "$preset" -j "$jobs"
done

# The binary run.sh serves: built with a profile of agent traffic, whose
# training run through the instrumented build fails on any answer but 200.
if [[ " $presets " == *" release "* ]]; then
  echo "== pgo: instrumented build, training run, profile-guided build"
  ./scripts/build-pgo.sh
fi

fuzz_seconds=${SLUICE_FUZZ_SECONDS:-30}
if [ "$fuzz_seconds" -gt 0 ]; then
  echo "== fuzz: ${fuzz_seconds}s per target"
  cmake --preset fuzz >/dev/null
  cmake --build --preset fuzz -j "$jobs"
  for corpus in fuzz/corpus/*/; do
    target=$(basename "$corpus")
    if [ ! -x "./build/fuzz/fuzz/fuzz_$target" ]; then
      echo "fuzz: fuzz/corpus/$target has no target build/fuzz/fuzz/fuzz_$target" >&2
      exit 1
    fi
    echo "-- fuzz_$target"
    work=$(mktemp -d)
    cp fuzz/corpus/$target/* "$work"/
    ./build/fuzz/fuzz/fuzz_$target -max_total_time="$fuzz_seconds" -max_len=4096 \
      -print_final_stats=1 "$work" 2>&1 | grep -E '^(stat::number_of_executed_units|Done|==)' || true
    # libFuzzer exits non-zero and writes crash-* on a finding; fail loudly.
    if ls crash-* leak-* timeout-* >/dev/null 2>&1; then
      echo "fuzz_$target found a failing input: $(ls crash-* leak-* timeout-* 2>/dev/null)" >&2
      exit 1
    fi
    rm -rf "$work"
  done
fi
echo "== all checks passed"
