#!/usr/bin/env bash
# CPU per stream of sluice next to nginx by stream length: answers of 7, 100
# and 300 events (a coding agent's answers run to hundreds), streamed with no
# delay between tokens by `sluice sim --answer-tokens N`, through nginx
# (proxy_buffering off, as in front of SSE) and through sluice, in the same
# run against the same upstream. Servers on core 0, wrk on core 1, 32
# connections; each figure the median of rounds alternating the targets.
#   bench/streams.sh [seconds-per-run]   (default 5)
#   SLUICE_BENCH_ROUNDS=3
# A benchmark, not a test: it asserts nothing and prints figures.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-5}
rounds=${SLUICE_BENCH_ROUNDS:-3}
./scripts/setup.sh >/dev/null
source bench/lib.sh
need_packages wrk nginx-light
bench_prepare


echo "CPU per stream by length: 32 connections, ${secs}s x $rounds rounds (medians)"
echo
echo "| events | nginx µs/stream | sluice µs/stream | ratio | sluice µs/event beyond 7 | nginx µs/event beyond 7 | sluice streams/s |"
echo "|---|---|---|---|---|---|---|"
declare -A base=()
for events in 7 100 300; do
  read -r up ng sl <<<"$(free_ports 3)"
  taskset -c 1 $bin sim --dialect openai --listen 127.0.0.1:$up --answer-tokens "$events" \
    >"$work/sim.log" 2>&1 & sim_pid=$!
  nginx_proxy_conf "$ng" "$up" >"$work/nginx.conf"
  taskset -c 0 nginx -c "$work/nginx.conf" -p "$work" & ng_pid=$!
  sluice_bench_config "$sl" "$up" | sed 's/, max_concurrent: 4096//' >"$work/sluice.yaml"
  taskset -c 0 $bin serve -c "$work/sluice.yaml" >"$work/sluice.log" 2>&1 & sl_pid=$!
  pids+=("$sim_pid" "$ng_pid" "$sl_pid")
  wait_for_line "$work/sim.log" "listening"
  wait_for_line "$work/sluice.log" "serving on"
  cat >"$work/stream.lua" <<LUA
wrk.method = "POST"
wrk.body = '{"model":"main","stream":true,"messages":[{"role":"user","content":"hello"}],"max_tokens":$((events + 10))}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer bench-key"
LUA
  declare -A samples=()
  for round in $(seq 1 "$rounds"); do
    for target in nginx sluice; do
      case $target in
        nginx) port=$ng pid=$ng_pid ;;
        sluice) port=$sl pid=$sl_pid ;;
      esac
      read -r cpu rps < <(wrk_cpu_sample "$pid" "$port" "$work/stream.lua" "$secs")
      samples[$target,cpu]+=" $cpu"
      samples[$target,rps]+=" $rps"
    done
  done
  n=$(median <<<"${samples[nginx,cpu]}")
  s=$(median <<<"${samples[sluice,cpu]}")
  r=$(median <<<"${samples[sluice,rps]}")
  if [ "$events" -eq 7 ]; then
    base[nginx]=$n base[sluice]=$s
    per_s="-" per_n="-"
  else
    per_s=$(awk -v a="$s" -v b="${base[sluice]}" -v e="$events" 'BEGIN {printf "%.2f", (a-b)/(e-7)}')
    per_n=$(awk -v a="$n" -v b="${base[nginx]}" -v e="$events" 'BEGIN {printf "%.2f", (a-b)/(e-7)}')
  fi
  echo "| $events | $n | $s | $(ratio "$s" "$n") | $per_s | $per_n | $r |"
  unset samples
  kill "$sim_pid" "$ng_pid" "$sl_pid" 2>/dev/null || true
  wait "$sim_pid" "$ng_pid" "$sl_pid" 2>/dev/null || true
done
