#!/usr/bin/env bash
# Soak: `sluice serve` in front of simulated providers that misbehave
# (overload, 500s, garbage bodies, streams cut mid-way, in-band stream errors,
# hangs, a rate-limit wall), under mixed traffic — OpenAI and Anthropic, plain
# and streaming, interactive and background — for a long run. Every 10 s it
# samples sluice's RSS and open descriptors and prints them; at the end it
# compares the last third of the run with the first (after a warm-up) and says
# whether both stayed flat. Not part of CI: it takes minutes and asserts
# nothing a test could not; it exits 1 when either figure grew.
#   bench/soak.sh [seconds]      (default 600)
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-600}
./scripts/setup.sh
source bench/lib.sh
need_packages wrk
cmake --preset release >/dev/null && cmake --build --preset release --target sluice >/dev/null
bin=./build/release/apps/sluice/sluice
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; [ -n "${SOAK_KEEP:-}" ] || rm -rf "$work"; }
trap cleanup EXIT
read -r oa an bk sl <<<"$(free_ports 4)"

cat >"$work/sim.yaml" <<YAML
providers:
  flaky:
    dialect: openai
    listen: "127.0.0.1:$oa"
    keys: [soak-oa-1, soak-oa-2]
    rpm: 300
    window: 2s
    latency: 5ms
    ttft: 5ms
    per_token: 1ms
    faults: {overload_rate: 0.05, server_error_rate: 0.03, garbage_rate: 0.02,
             close_mid_stream_rate: 0.03, stream_error_rate: 0.02, hang_rate: 0.005}
  claude:
    dialect: anthropic
    listen: "127.0.0.1:$an"
    keys: [soak-an-1]
    concurrency: 16
    latency: 5ms
    ttft: 5ms
    per_token: 1ms
    faults: {overload_rate: 0.05, close_mid_stream_rate: 0.03, hang_rate: 0.005}
  backup:
    dialect: openai
    listen: "127.0.0.1:$bk"
    keys: [soak-backup]
    latency: 5ms
YAML
cat >"$work/sluice.yaml" <<YAML
server: {listen: "127.0.0.1:$sl"}
state: {backend: sqlite, path: "$work/state.db"}
providers:
  flaky:
    api: openai
    base_url: "http://127.0.0.1:$oa/v1"
    keys: [soak-oa-1, soak-oa-2]
    strategy: round_robin
    max_wait: 3s
    timeouts: {first_byte: 2s, idle: 2s}
  claude:
    api: anthropic
    base_url: "http://127.0.0.1:$an"
    keys: [soak-an-1]
    timeouts: {first_byte: 2s, idle: 2s}
  backup:
    api: openai
    base_url: "http://127.0.0.1:$bk/v1"
    keys: [soak-backup]
models:
  main: {route: [flaky/gpt-4o-mini, backup/gpt-4o-mini]}
  batch: {route: [flaky/gpt-4o-mini, backup/gpt-4o-mini], priority: background, queue_timeout: 2s}
  claude: {route: [claude/claude-sonnet-4]}
YAML
$bin sim --config "$work/sim.yaml" >"$work/sim.log" 2>&1 & pids+=($!)
sim_pid=$!
for port in $oa $an $bk; do
  for _ in $(seq 50); do (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null && break; sleep 0.1; done
done
kill -0 "$sim_pid" 2>/dev/null || { echo "sluice sim did not start:"; cat "$work/sim.log"; exit 1; }
$bin serve -c "$work/sluice.yaml" >"$work/sluice.log" 2>&1 & pids+=($!)
sl_pid=$!
for _ in $(seq 50); do (exec 3<>/dev/tcp/127.0.0.1/$sl) 2>/dev/null && break; sleep 0.1; done
kill -0 "$sl_pid" 2>/dev/null || { echo "sluice serve did not start:"; cat "$work/sluice.log" "$work/sim.log"; exit 1; }

# One wrk thread per request shape, each cycling through its own body.
mix() {  # $1 path, $2 extra header, $3.. bodies
  local path=$1 header=$2; shift 2
  {
    echo "local bodies = {"
    for b in "$@"; do printf "  [[%s]],\n" "$b"; done
    echo "}"
    echo "local i = 0"
    echo "request = function()"
    echo "  i = i % #bodies + 1"
    echo "  local h = {[\"Content-Type\"] = \"application/json\"}"
    [ -n "$header" ] && echo "  h[\"${header%%:*}\"] = \"${header#*: }\""
    echo "  return wrk.format(\"POST\", \"$path\", h, bodies[i])"
    echo "end"
  }
}
mix /v1/chat/completions "" \
  '{"model":"main","messages":[{"role":"user","content":"hi"}],"max_tokens":16}' \
  '{"model":"main","stream":true,"messages":[{"role":"user","content":"stream"}],"max_tokens":32}' \
  '{"model":"batch","messages":[{"role":"user","content":"batch job"}],"max_tokens":64}' \
  '{"model":"nope","messages":[]}' '{"model":"main","messages":[' >"$work/openai.lua"
mix /v1/messages "anthropic-version: 2023-06-01" \
  '{"model":"claude","max_tokens":16,"messages":[{"role":"user","content":"hi"}]}' \
  '{"model":"claude","max_tokens":32,"stream":true,"messages":[{"role":"user","content":"s"}]}' \
  >"$work/anthropic.lua"

wrk -t1 -c24 -d"${secs}s" --timeout 10s -s "$work/openai.lua" "http://127.0.0.1:$sl" \
  >"$work/wrk-openai.txt" 2>&1 & pids+=($!)
wrk -t1 -c8 -d"${secs}s" --timeout 10s -s "$work/anthropic.lua" "http://127.0.0.1:$sl" \
  >"$work/wrk-anthropic.txt" 2>&1 & pids+=($!)

samples="$work/samples"
printf "%6s %10s %6s\n" "t (s)" "RSS (KiB)" "fds"
for ((t = 0; t <= secs; t += 10)); do
  rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$sl_pid/status")
  fds=$(ls "/proc/$sl_pid/fd" | wc -l)
  printf "%6d %10d %6d\n" "$t" "$rss" "$fds" | tee -a "$samples"
  [ "$t" -lt "$secs" ] && sleep 10
done
wait "${pids[@]:2}" 2>/dev/null || true

echo
echo "== traffic"
grep -hE "requests in|Non-2xx|Socket errors" "$work"/wrk-*.txt || true
echo "== outcomes in sluice's request log"
grep -o 'outcome=[A-Za-z_]*' "$work/sluice.log" | sort | uniq -c | sort -rn | head -12
# Flat: the last third's mean within 10% (RSS) / 16 descriptors of the first
# third's, the first minute left out as warm-up.
awk -v warm=60 -v end="$secs" '
  $1 >= warm { n++; t[n] = $1; r[n] = $2; f[n] = $3 }
  END {
    third = int(n / 3); if (third < 1) { print "== too short to judge (run at least 120 s)"; exit 0 }
    for (i = 1; i <= third; i++) { r1 += r[i]; f1 += f[i] }
    for (i = n - third + 1; i <= n; i++) { r2 += r[i]; f2 += f[i] }
    r1 /= third; r2 /= third; f1 /= third; f2 /= third
    printf "== RSS %.0f -> %.0f KiB (%+.1f%%), descriptors %.0f -> %.0f\n", r1, r2, 100 * (r2 - r1) / r1, f1, f2
    flat = (r2 <= r1 * 1.10) && (f2 <= f1 + 16)
    print flat ? "== flat" : "== GREW"
    exit flat ? 0 : 1
  }' "$samples"
