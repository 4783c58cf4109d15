#!/usr/bin/env bash
# libsluice as its users get it: `cmake --install` into a fresh prefix, then
# a C program built with pkg-config, a C++ program built with
# find_package(sluice), and the Python package under pytest — each only
# against the installed tree.   run.sh <build dir> <source dir>
set -euo pipefail
build=$1
src=$2
prefix=$(mktemp -d)
trap 'rm -rf "$prefix"' EXIT
cmake --install "$build" --prefix "$prefix" >/dev/null
lib=$(find "$prefix" -name libsluice.so -print -quit)
[ -n "$lib" ] || { echo "lib: no libsluice.so installed under $prefix" >&2; exit 1; }
libdir=$(dirname "$lib")

echo "-- C, pkg-config"
export PKG_CONFIG_PATH="$libdir/pkgconfig"
cc -std=c11 -Wall -Wextra -Werror "$src/examples/c/classify.c" \
  $(pkg-config --cflags --libs sluice) -o "$prefix/classify_c"
out=$("$prefix/classify_c")
echo "$out"
grep -q '"class":"RATE_LIMIT"' <<<"$out"
grep -q '"wait_s":20' <<<"$out"

echo "-- C, the in-process engine's slots"
# A slot needs no network: the provider is never called by the engine here.
cat > "$prefix/slots.yaml" <<'YAML'
state: {backend: memory}
providers:
  zai: {api: openai, dialect: zai, base_url: "http://127.0.0.1:9/api/paas/v4", keys: [env:SLUICE_EXAMPLE_KEY]}
YAML
cc -std=c11 -Wall -Wextra -Werror "$src/examples/c/slots.c" \
  $(pkg-config --cflags --libs sluice) -o "$prefix/slots_c"
out=$(SLUICE_EXAMPLE_KEY=sk-example "$prefix/slots_c" "$prefix/slots.yaml" zai glm-5.1)
echo "$out"
grep -q '^first: .*"state":"granted"' <<<"$out"
grep -q '^learned: .*"class":"RATE_LIMIT"' <<<"$out"
grep -q '^second: .*"code":"keys_cooling"' <<<"$out"

echo "-- C++, find_package(sluice)"
cmake -S "$src/examples/cpp" -B "$prefix/cpp-build" -G Ninja -DCMAKE_PREFIX_PATH="$prefix" \
  -DCMAKE_CXX_COMPILER=g++ >/dev/null
cmake --build "$prefix/cpp-build" >/dev/null
out=$(SLUICE_EXAMPLE_KEY=sk-example "$prefix/cpp-build/sluice_example" '{"provider":"zai","status":429,"body":"{\"error\":{\"code\":\"1302\",\"message\":\"High concurrency\"}}"}' "$prefix/slots.yaml")
echo "$out"
grep -q '"class":"CONCURRENCY_LIMIT"' <<<"$out"
grep -q '"ok":true' <<<"$out"
grep -q '"state":"granted"' <<<"$out"
grep -q '^head: {"headers":.*"status":404' <<<"$out"
grep -q '^body: .*model_not_found' <<<"$out"
# Only the API is exported: none of sluice's internals leak into a user's link.
if nm -D --defined-only "$lib" | grep -v ' sluice_\| _ZN6sluice3api' | grep -q ' T '; then
  echo "lib: libsluice exports more than its API:" >&2
  nm -D --defined-only "$lib" | grep ' T ' | grep -v ' sluice_\| _ZN6sluice3api' | head >&2
  exit 1
fi

echo "-- Python"
# Debian's python3 (where setup.sh installs pytest), not whatever else is on PATH.
python=/usr/bin/python3
[ -x "$python" ] || python=python3
SLUICE_BIN="$build/apps/sluice/sluice" PYTHONPATH="$prefix/lib/python3/dist-packages" \
  "$python" -m pytest -q -p no:cacheprovider \
  "$src/tests/lib"
