#!/usr/bin/env bash
# Builds the gateway people run, build/pgo/apps/sluice/sluice, with GCC's
# profile-guided optimisation (docs/decisions/0021): an instrumented build
# (build/pgo-gen) serves scripts/pgo-train.py's agent-shaped traffic, and the
# binary is then compiled from the same sources and flags as the release
# preset, with that profile deciding inlining and code layout. Retrains only
# when the instrumented binary changed. Build output goes to stderr; the
# binary's path is the one line on stdout.
set -euo pipefail
cd "$(dirname "$0")/.."
gen=build/pgo-gen
out=build/pgo
profile=$PWD/build/pgo-profile
jobs=${SLUICE_JOBS:-$(nproc)}
common=(-G Ninja -DCMAKE_CXX_COMPILER=g++ -DCMAKE_BUILD_TYPE=Release
  -DSLUICE_TESTS=OFF -DSLUICE_BENCH=OFF)

cmake -S . -B "$gen" "${common[@]}" \
  -DCMAKE_CXX_FLAGS="-fprofile-generate -fprofile-update=prefer-atomic -fprofile-dir=$profile/raw" \
  -DCMAKE_EXE_LINKER_FLAGS=-fprofile-generate >/dev/null
cmake --build "$gen" -j "$jobs" --target sluice >&2

if [ ! -f "$profile/trained" ] || [ "$gen/apps/sluice/sluice" -nt "$profile/trained" ]; then
  rm -rf "$profile"
  mkdir -p "$profile/raw" "$profile/use"
  python3 scripts/pgo-train.py "$gen/apps/sluice/sluice" >&2
  # A profile file is named after its object's absolute path, '/' spelled
  # '#': the same objects under $out are looked up by their own path.
  from="$(sed 's|/|#|g' <<<"$PWD/$gen")#"
  to="$(sed 's|/|#|g' <<<"$PWD/$out")#"
  for f in "$profile/raw"/*.gcda; do
    name=$(basename "$f")
    cp "$f" "$profile/use/${name/"$from"/"$to"}"
  done
  touch "$profile/trained"
  # Ninja does not see a new profile as a changed input.
  [ -d "$out" ] && cmake --build "$out" --target clean >/dev/null 2>&1 || true
fi

# Code the training did not reach has no profile (-Wno-missing-profile); the
# generated live page is configured anew in each build tree. With the
# profile's inlining, g++ 12 reports Asio's coroutine frame allocator as a
# mismatched new/delete, as it does under the sanitizers (false: CMakeLists.txt).
cmake -S . -B "$out" "${common[@]}" \
  -DCMAKE_CXX_FLAGS="-fprofile-use -fprofile-partial-training -fprofile-dir=$profile/use -Wno-missing-profile -Wno-coverage-mismatch -Wno-mismatched-new-delete" \
  >/dev/null
cmake --build "$out" -j "$jobs" --target sluice >&2
echo "$out/apps/sluice/sluice"
