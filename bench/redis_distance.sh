#!/usr/bin/env bash
# Redis mode with Redis at a distance: gateway throughput and latency at 64
# connections against an upstream that answers in 20 ms, in memory mode and in
# Redis mode with Redis on loopback and behind bench/delay_proxy.py holding
# every byte 1 ms and 5 ms each way (a Redis on another host). The figure to
# watch: Redis mode's requests/s as a share of memory mode's.
#   bench/redis_distance.sh [seconds-per-run]      (default 8)
#   SLUICE_BENCH_API=responses   Responses API turns (`store` on, the API's
#     default) to the same chat upstream: sluice translates each and keeps it
#     for previous_response_id, one state write per request.
# A benchmark, not a test: it asserts nothing and prints figures.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-8}
conns=${SLUICE_BENCH_CONNECTIONS:-64}
./scripts/setup.sh >/dev/null
source bench/lib.sh
need_packages wrk redis-server
bench_prepare

read -r up rd p1 p5 gw <<<"$(free_ports 5)"
taskset -c 1 $bin sim --dialect openai --listen 127.0.0.1:$up --latency 20ms \
  >"$work/sim.log" 2>&1 & pids+=($!)
taskset -c 1 redis-server --port "$rd" --bind 127.0.0.1 --save '' --appendonly no \
  >"$work/redis.log" 2>&1 & pids+=($!)
python3 bench/delay_proxy.py "$p1" "127.0.0.1:$rd" 1 >"$work/p1.log" 2>&1 & pids+=($!)
python3 bench/delay_proxy.py "$p5" "127.0.0.1:$rd" 5 >"$work/p5.log" 2>&1 & pids+=($!)
for f in sim p1 p5; do
  wait_for_line "$work/$f.log" "listening"
done
wait_for_line "$work/redis.log" "Ready to accept"
api=${SLUICE_BENCH_API:-chat}
path=/v1/chat/completions
wrk_post_script >"$work/post.lua"
if [ "$api" = responses ]; then
  path=/v1/responses
  sed -i 's|^wrk.body = .*|wrk.body = '"'"'{"model":"main","input":"hello","max_output_tokens":8}'"'"'|' \
    "$work/post.lua"
fi

run_lane() {  # name state-yaml
  cat >"$work/gw.yaml" <<YAML
server: {listen: "127.0.0.1:$gw"}
state: $2
providers:
  up: {api: openai, base_url: "http://127.0.0.1:$up/v1", keys: [bench-key], max_concurrent: 4096}
models:
  main: {route: [up/gpt-4o-mini]}
YAML
  taskset -c "${SLUICE_BENCH_CORES:-0}" $bin serve -c "$work/gw.yaml" >"$work/gw.log" 2>&1 &
  local pid=$!
  wait_for_line "$work/gw.log" "serving on"
  local out
  out=$(taskset -c 1 wrk -t"$([ "$conns" -ge 2 ] && echo 2 || echo 1)" -c"$conns" -d"${secs}s" --latency -s "$work/post.lua" "http://127.0.0.1:$gw$path")
  kill "$pid"; wait "$pid" 2>/dev/null || true
  local rps p50 p99 non2xx store_errors
  # A state write refused or failed is logged once until its error changes.
  store_errors=$(grep -c 'state_store_error' "$work/gw.log" || true)
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  p50=$(awk '$1=="50%" {print $2}' <<<"$out")
  p99=$(awk '$1=="99%" {print $2}' <<<"$out")
  non2xx=$(awk '/Non-2xx/ {print $NF}' <<<"$out")
  printf '| %s | %s | %s / %s | %s | %s |\n' "$1" "$rps" "$p50" "$p99" "${non2xx:-0}" "$store_errors"
  echo "$1 $rps" >>"$work/rps"
}

echo "Redis at a distance: $api, $conns connections, upstream 20 ms, ${secs}s per lane (sluice on core 0)"
echo
echo "| state | requests/s | latency p50 / p99 | non-2xx | state errors logged |"
echo "|---|---|---|---|---|"
run_lane "memory" "{backend: memory}"
run_lane "redis, loopback" "{backend: redis, url: \"redis://127.0.0.1:$rd/0\"}"
run_lane "redis, 1 ms each way" "{backend: redis, url: \"redis://127.0.0.1:$p1/0\"}"
run_lane "redis, 5 ms each way" "{backend: redis, url: \"redis://127.0.0.1:$p5/0\"}"
echo
awk 'NR==1 {base=$NF} NR>1 {name=$0; sub(/ [^ ]*$/, "", name); printf "- %s: %.0f%% of memory mode\n", name, 100*$NF/base}' "$work/rps"
