#!/usr/bin/env bash
# Receive calls the gateway makes per proxied request, by request body size:
# sluice serve in front of sluice sim, one request at a time, the gateway
# traced with strace (recvfrom and read only). Deterministic where CPU time is
# not, so it tells a change's effect on system calls in one run.
#   bench/syscalls.sh [REQUESTS]      (default 5 per size)
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
need_packages strace curl
bench_prepare
n=${1:-5}
read -r gw_port sim_port < <(free_ports 2)
cat > "$work/sim.yaml" <<YAML
providers:
  up: {dialect: openai, listen: "127.0.0.1:$sim_port"}
YAML
sluice_bench_config "$gw_port" "$sim_port" | sed 's/^server: {/server: {max_body_bytes: 16000000, /' > "$work/gw.yaml"
"$bin" sim --config "$work/sim.yaml" >/dev/null 2>&1 & pids+=($!)
"$bin" serve -c "$work/gw.yaml" >/dev/null 2>&1 & gw=$!; pids+=($gw)
for _ in $(seq 50); do (exec 3<>/dev/tcp/127.0.0.1/$gw_port) 2>/dev/null && break; sleep 0.1; done

printf '%-10s %-12s %s\n' "body" "requests" "receive calls per request"
for kib in 1 16 64 256; do
  # A chat conversation of about KIB kibibytes: messages of 1,000 characters.
  msgs=$(( kib * 1024 / 1040 + 1 ))
  {
    printf '{"model":"main","max_tokens":8,"messages":['
    for i in $(seq "$msgs"); do
      [ "$i" -gt 1 ] && printf ','
      printf '{"role":"user","content":"%s"}' "$(head -c 1000 /dev/zero | tr '\0' 'x')"
    done
    printf ']}'
  } > "$work/body.json"
  strace -f -qq -p "$gw" -e trace=recvfrom,read -o "$work/trace.txt" & st=$!
  sleep 0.3
  for _ in $(seq "$n"); do
    curl -s -o /dev/null "http://127.0.0.1:$gw_port/v1/chat/completions" \
      -H 'content-type: application/json' --data-binary @"$work/body.json"
  done
  sleep 0.2
  kill "$st"; wait "$st" 2>/dev/null || true
  calls=$(grep -cE 'recvfrom|read\(' "$work/trace.txt" || true)
  printf '%-10s %-12s %s\n' "$(( $(stat -c %s "$work/body.json") / 1024 )) KiB" "$n" \
    "$(awk -v c="$calls" -v n="$n" 'BEGIN { printf "%.1f", c / n }')"
done
