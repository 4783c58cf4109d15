#!/usr/bin/env bash
# Past one core: one `sluice serve` per core on one port (server.reuse_port),
# their limits shared through Redis (docs/decisions/0017), next to one
# process in memory mode and one in Redis mode. Upstream `sluice sim` answering
# in 5 ms, 256 connections from wrk. Prints requests/s, latency and the
# gateways' CPU per request. On a 2-core machine the load generator, the
# simulator and Redis share core 1 with the second gateway, so the figures
# say what exactness across processes costs per request, not how far two
# cores scale; on a bigger host pin them apart (SLUICE_BENCH_CORES).
#   bench/processes.sh [seconds-per-run]      (default 8)
# A benchmark, not a test: it asserts nothing and prints figures.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-8}
conns=${SLUICE_BENCH_CONNECTIONS:-256}
./scripts/setup.sh >/dev/null
source bench/lib.sh
need_packages wrk redis-server
bench_prepare
hz=$(getconf CLK_TCK)

read -r up rd gw <<<"$(free_ports 3)"
taskset -c 1 $bin sim --dialect openai --listen 127.0.0.1:$up --latency 5ms \
  >"$work/sim.log" 2>&1 & pids+=($!)
taskset -c 1 redis-server --port "$rd" --bind 127.0.0.1 --save '' --appendonly no \
  >"$work/redis.log" 2>&1 & pids+=($!)
wait_for_line "$work/sim.log" "listening"
wait_for_line "$work/redis.log" "Ready to accept"
wrk_post_script >"$work/post.lua"

run_lane() {  # name state-yaml cores...
  local name=$1 state=$2
  shift 2
  cat >"$work/gw.yaml" <<YAML
server: {listen: "127.0.0.1:$gw", reuse_port: true}
state: $state
providers:
  up: {api: openai, base_url: "http://127.0.0.1:$up/v1", keys: [bench-key], max_concurrent: 4096}
models:
  main: {route: [up/gpt-4o-mini]}
YAML
  local gws=() core i=0
  for core in "$@"; do
    taskset -c "$core" $bin serve -c "$work/gw.yaml" >"$work/gw$i.log" 2>&1 &
    gws+=($!)
    wait_for_line "$work/gw$i.log" "serving on"
    i=$((i + 1))
  done
  local before=0 after=0 p out
  for p in "${gws[@]}"; do before=$((before + $(cpu_ticks "$p"))); done
  out=$(taskset -c 1 wrk -t2 -c"$conns" -d"${secs}s" --latency -s "$work/post.lua" \
        "http://127.0.0.1:$gw/v1/chat/completions")
  for p in "${gws[@]}"; do after=$((after + $(cpu_ticks "$p"))); done
  kill "${gws[@]}"; wait "${gws[@]}" 2>/dev/null || true
  local rps p50 p99 non2xx total cpu
  rps=$(awk '/Requests\/sec/ {printf "%.0f", $2}' <<<"$out")
  p50=$(awk '$1=="50%" {print $2}' <<<"$out")
  p99=$(awk '$1=="99%" {print $2}' <<<"$out")
  non2xx=$(awk '/Non-2xx/ {print $NF}' <<<"$out")
  total=$(awk '/requests in/ {print $1}' <<<"$out")
  cpu=$(awk -v t=$((after - before)) -v hz="$hz" -v n="${total:-0}" \
    'BEGIN {if (n > 0) printf "%.1f", t/hz/n*1e6; else print "-"}')
  printf '| %s | %s | %s / %s | %s | %s |\n' "$name" "$rps" "$p50" "$p99" "$cpu" "${non2xx:-0}"
}

echo "Processes: $conns connections, upstream 5 ms, ${secs}s per lane"
echo
echo "| gateways | requests/s | latency p50 / p99 | CPU per request (µs, all gateways) | non-2xx |"
echo "|---|---|---|---|---|"
run_lane "1 process, memory (core 0)" "{backend: memory}" 0
run_lane "1 process, redis (core 0)" "{backend: redis, url: \"redis://127.0.0.1:$rd/0\"}" 0
run_lane "2 processes, reuse_port, redis (cores 0, 1)" \
  "{backend: redis, url: \"redis://127.0.0.1:$rd/0\"}" 0 1
