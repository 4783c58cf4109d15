#!/usr/bin/env bash
# CPU per request of sluice next to nginx by request body size: chat bodies of
# 1, 16, 64 and 256 KiB (what coding agents send), through nginx and through
# sluice in the same run against the same zero-latency upstream, sluice on its
# default concurrency path (no max_concurrent override) and with the
# benchmark config's max_concurrent: 4096. Servers on core 0, wrk on core 1,
# 32 connections; each figure the median of rounds alternating the targets.
#   bench/body_sizes.sh [seconds-per-run]   (default 5)
#   SLUICE_BENCH_ROUNDS=3   SLUICE_BENCH_SIZES="1 16 64 256" (KiB)
#   SLUICE_BENCH_PACE_MS=N: each connection waits N ms before each request, so
#   both proxies serve about the same rate below saturation (wrk's delay()).
# A benchmark, not a test: it asserts nothing and prints figures.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-5}
rounds=${SLUICE_BENCH_ROUNDS:-3}
./scripts/setup.sh >/dev/null
source bench/lib.sh
need_packages wrk nginx-light
bench_prepare

read -r up ng sl sd <<<"$(free_ports 4)"
taskset -c 1 $bin sim --dialect openai --listen 127.0.0.1:$up >"$work/sim.log" 2>&1 & pids+=($!)
nginx_proxy_conf "$ng" "$up" "client_max_body_size 8m; client_body_buffer_size 512k;" \
  >"$work/nginx.conf"
taskset -c 0 nginx -c "$work/nginx.conf" -p "$work" & pids+=($!)
ng_pid=$!
sluice_bench_config "$sl" "$up" >"$work/sluice.yaml"
# The default path: the provider's limit is sluice's default, not an override.
sluice_bench_config "$sd" "$up" | sed 's/, max_concurrent: 4096//' >"$work/default.yaml"
taskset -c 0 $bin serve -c "$work/sluice.yaml" >"$work/sluice.log" 2>&1 & pids+=($!)
sl_pid=$!
taskset -c 0 $bin serve -c "$work/default.yaml" >"$work/default.log" 2>&1 & pids+=($!)
sd_pid=$!
for f in sim sluice default; do
  wait_for_line "$work/$f.log" "listening\|serving on"
done

# How busy a proxy's core was (CPU per request x requests/s): below ~100%,
# each request starts on caches other work has cooled, and wrk and the
# simulator on core 1 set the rate.
busy() {
  awk -v c="$1" -v r="$2" 'BEGIN {if (c+0 > 0 && r+0 > 0) printf "%.0f%%", c*r/1e4; else print "-"}'
}

echo "CPU per request by body size: 32 connections${SLUICE_BENCH_PACE_MS:+, each pausing ${SLUICE_BENCH_PACE_MS} ms before a request}, ${secs}s x $rounds rounds (medians)"
echo
echo "| body | nginx µs/req | sluice µs/req | ratio | sluice default limit µs/req | ratio | nginx req/s | sluice req/s | nginx's core busy | sluice's core busy |"
echo "|---|---|---|---|---|---|---|---|---|---|"
for kib in ${SLUICE_BENCH_SIZES:-1 16 64 256}; do
  wrk_body_script "$kib" >"$work/body.lua"
  if [ -n "${SLUICE_BENCH_PACE_MS:-}" ]; then
    echo "function delay() return $SLUICE_BENCH_PACE_MS end" >>"$work/body.lua"
  fi
  declare -A samples=()
  for round in $(seq 1 "$rounds"); do
    for target in nginx sluice default; do
      case $target in
        nginx) port=$ng pid=$ng_pid ;;
        sluice) port=$sl pid=$sl_pid ;;
        default) port=$sd pid=$sd_pid ;;
      esac
      read -r cpu rps < <(wrk_cpu_sample "$pid" "$port" "$work/body.lua" "$secs")
      samples[$target,cpu]+=" $cpu"
      samples[$target,rps]+=" $rps"
    done
  done
  n=$(median <<<"${samples[nginx,cpu]}")
  s=$(median <<<"${samples[sluice,cpu]}")
  d=$(median <<<"${samples[default,cpu]}")
  r=$(median <<<"${samples[sluice,rps]}")
  nr=$(median <<<"${samples[nginx,rps]}")
  echo "| $kib KiB | $n | $s | $(ratio "$s" "$n") | $d | $(ratio "$d" "$n") | $nr | $r | $(busy "$n" "$nr") | $(busy "$s" "$r") |"
  unset samples
done
