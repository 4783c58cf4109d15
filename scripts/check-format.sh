#!/usr/bin/env bash
# Fails when any of our C++ files differs from clang-format's output.
set -euo pipefail
cd "$(dirname "$0")/.."
fmt=$(command -v clang-format-14 || command -v clang-format)
files=$(git ls-files '*.cpp' '*.hpp' 2>/dev/null || find src apps testing bench fuzz -name '*.[ch]pp')
bad=0
for f in $files; do
  if ! diff -q <("$fmt" --style=file "$f") "$f" >/dev/null; then
    echo "format: $f differs from clang-format (run: $fmt -i $f)" >&2
    bad=1
  fi
done
[ "$bad" -eq 0 ] && echo "format: ok ($(echo "$files" | wc -w) files)"
exit "$bad"
