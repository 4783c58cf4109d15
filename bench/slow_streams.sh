#!/usr/bin/env bash
# 10,000 concurrent slow streams on one machine: each answer is 30 events one
# second apart (`sluice sim --per-token 1s --answer-tokens 30`), all open at
# once (opened 2,000 a second), through sluice and then through nginx in the
# same run. Prints per proxy: streams completed, errors, how late events came
# (the largest gap between two events of a stream, p50/p99 over streams,
# against the upstream's 1,000 ms), its peak RSS and the CPU it used for the
# whole run. sluice runs with its defaults except the provider's
# max_concurrent (10,000 streams share one key; the default 64 would queue
# them, which is the point of the limit, not of this benchmark).
#   bench/slow_streams.sh [streams]   (default 10000)
# A benchmark, not a test: it asserts nothing and prints figures.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-10000}
./scripts/setup.sh >/dev/null
source bench/lib.sh
need_packages nginx-light
bench_prepare
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
hz=$(getconf CLK_TCK)

read -r up ng sl <<<"$(free_ports 3)"
taskset -c 1 $bin sim --dialect openai --listen 127.0.0.1:$up --per-token 1s --answer-tokens 30 \
  >"$work/sim.log" 2>&1 & pids+=($!)
NGINX_CONNECTIONS=30000 nginx_proxy_conf "$ng" "$up" "proxy_read_timeout 120s;" \
  "worker_rlimit_nofile 65536;" >"$work/nginx.conf"
sluice_bench_config "$sl" "$up" | sed "s/max_concurrent: 4096/max_concurrent: $((n * 2))/" \
  >"$work/sluice.yaml"
taskset -c 0 $bin serve -c "$work/sluice.yaml" >"$work/sluice.log" 2>&1 & pids+=($!)
sl_pid=$!
taskset -c 0 nginx -c "$work/nginx.conf" -p "$work" & pids+=($!)
ng_pid=$!
wait_for_line "$work/sim.log" "listening"
wait_for_line "$work/sluice.log" "serving on"

echo "$n concurrent streams, 30 events 1 s apart each; proxy on core 0, sim and client on core 1"
echo
echo "| proxy | streams completed | errors | largest event gap p50 / p99 / max (ms) | peak RSS | CPU for the run | run (s) |"
echo "|---|---|---|---|---|---|---|"
for target in sluice nginx; do
  case $target in
    sluice) port=$sl pid=$sl_pid ;;
    nginx) port=$ng pid=$ng_pid ;;
  esac
  before=$(cpu_ticks "$pid")
  out=$(taskset -c 1 node bench/slow_streams.mjs "http://127.0.0.1:$port/v1/chat/completions" \
        "$n" 2000 2>&1 | tail -1)
  after=$(cpu_ticks "$pid")
  field() { node -e "const j = JSON.parse(process.argv[1]); console.log($1)" "$out"; }
  hwm=0
  for p in "$pid" $(pgrep -P "$pid" || true); do
    hwm=$(( hwm + $(awk '/VmHWM/ {print $2}' "/proc/$p/status") ))
  done
  errors=$(field 'j.errors + (j.first_error ? " (" + j.first_error + ")" : "")')
  gaps=$(field 'j.max_gap_ms.p50 + " / " + j.max_gap_ms.p99 + " / " + j.max_gap_ms.max')
  cpu=$(awk -v t=$((after - before)) -v hz="$hz" 'BEGIN {printf "%.1f s", t/hz}')
  echo "| $target | $(field j.streams) | $errors | $gaps | $((hwm / 1024)) MiB | $cpu | $(field j.seconds) |"
done
