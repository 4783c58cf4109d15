#!/usr/bin/env bash
# Fails when a source file includes a layer it may not see: dependencies point
# inward (core <- policy <- providers/config/state <- ports <- net/sim, engine <- server
# <- lib, which hosts the gateway in-process;
# the engine sees its effects only through ports/, never net/),
# and the pure layers (core, policy, providers, config, state) see no Boost, no
# sockets, no engine. Tests beside the code follow their layer's rule and may
# also use testing/ (fakes and fixtures).
set -euo pipefail
cd "$(dirname "$0")/../src/sluice"

# layer: the sluice/ folders and third-party include roots it may use
declare -A allowed=(
  [core]="core nlohmann simdjson"
  [policy]="core policy nlohmann simdjson"
  [providers]="core policy providers nlohmann simdjson"
  [translate]="core translate nlohmann"
  [config]="core policy providers config nlohmann yaml-cpp"
  [state]="core policy state nlohmann hiredis sqlite3"
  [ports]="core ports boost"
  [net]="core ports net nlohmann boost openssl"
  [sim]="core policy providers config ports net sim nlohmann simdjson yaml-cpp boost"
  [engine]="core policy providers translate config state ports engine nlohmann simdjson boost"
  [lib]="core policy providers config state ports net engine server lib sluice.h sluice.hpp nlohmann boost"
  [server]="core policy providers translate config state ports net engine server nlohmann simdjson boost"
)

bad=0
checked=0
for layer in "${!allowed[@]}"; do
  ok=" ${allowed[$layer]} "
  while IFS= read -r file; do
    checked=$((checked + 1))
    is_test=0
    [[ "$file" == *_test.cpp || "$file" == *test_support.hpp ]] && is_test=1
    while IFS= read -r inc; do
      root=""
      case "$inc" in
        sluice/*) root=${inc#sluice/}; root=${root%%/*} ;;
        boost/*) root=boost ;;
        nlohmann/*) root=nlohmann ;;
        simdjson*) root=simdjson ;;
        yaml-cpp/*) root=yaml-cpp ;;
        hiredis/*) root=hiredis ;;
        sqlite3.h) root=sqlite3 ;;
        openssl/*) root=openssl ;;
        testing/*) [ "$is_test" -eq 1 ] && continue; root=testing ;;
        gtest/*|gmock/*) [ "$is_test" -eq 1 ] && continue; root=gtest ;;
        *) continue ;;  # the standard library and the system's own headers
      esac
      if [[ "$ok" != *" $root "* ]]; then
        echo "layers: src/sluice/$file includes <$inc>, but $layer/ may use only: ${allowed[$layer]}" >&2
        bad=1
      fi
    done < <(sed -nE 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*[<"]([^">]+)[">].*/\1/p' "$file")
  done < <(find "$layer" -name '*.cpp' -o -name '*.hpp' | sort)
done
[ "$bad" -eq 0 ] && echo "layers: ok ($checked files)"
exit "$bad"
