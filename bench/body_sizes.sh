#!/usr/bin/env bash
# CPU per request of sluice next to nginx by request body size: chat bodies of
# 1, 16, 64 and 256 KiB (what coding agents send), through nginx and through
# sluice in the same run against the same zero-latency upstream, sluice on its
# default concurrency path (no max_concurrent override) and with the
# benchmark config's max_concurrent: 4096. Servers on core 0, wrk on core 1,
# 32 connections; each figure the median of rounds alternating the targets.
#   bench/body_sizes.sh [seconds-per-run]   (default 5)
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

read -r up ng sl sd <<<"$(free_ports 4)"
taskset -c 1 $bin sim --dialect openai --listen 127.0.0.1:$up >"$work/sim.log" 2>&1 & pids+=($!)
cat >"$work/nginx.conf" <<NGINX
worker_processes 1; daemon off; pid $work/nginx.pid; error_log $work/nginx.err warn;
events { worker_connections 4096; }
http { access_log off; client_max_body_size 8m; client_body_buffer_size 512k;
  upstream up { server 127.0.0.1:$up; keepalive 512; }
  server { listen 127.0.0.1:$ng;
    location / { proxy_pass http://up; proxy_http_version 1.1; proxy_set_header Connection "";
                 proxy_buffering off; } } }
NGINX
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
hz=$(getconf CLK_TCK)
median() {
  tr ' ' '\n' | awk '/^[0-9.]+$/' | sort -n |
    awk '{a[NR]=$1} END {if (NR == 0) print "-"; else print a[int((NR+1)/2)]}'
}

echo "CPU per request by body size: 32 connections, ${secs}s x $rounds rounds (medians)"
echo
echo "| body | nginx µs/req | sluice µs/req | ratio | sluice default limit µs/req | ratio | sluice req/s |"
echo "|---|---|---|---|---|---|---|"
for kib in 1 16 64 256; do
  wrk_body_script "$kib" >"$work/body.lua"
  declare -A samples=()
  for round in $(seq 1 "$rounds"); do
    for target in nginx sluice default; do
      case $target in
        nginx) port=$ng pid=$ng_pid ;;
        sluice) port=$sl pid=$sl_pid ;;
        default) port=$sd pid=$sd_pid ;;
      esac
      before=$(cpu_ticks "$pid")
      out=$(taskset -c 1 wrk -t1 -c32 -d"${secs}s" -s "$work/body.lua" \
            "http://127.0.0.1:$port/v1/chat/completions" 2>&1)
      after=$(cpu_ticks "$pid")
      total=$(awk '/requests in/ {print $1}' <<<"$out")
      bad=$(awk '/Non-2xx/ {print $NF}' <<<"$out")
      [ -n "$bad" ] && echo "warning: $target at $kib KiB: $bad non-2xx answers" >&2
      samples[$target,cpu]+=" $(awk -v t=$((after-before)) -v hz="$hz" -v n="${total:-0}" \
        'BEGIN {if (n > 0) printf "%.1f", t/hz/n*1e6; else print "-"}')"
      samples[$target,rps]+=" $(awk '/Requests\/sec/ {printf "%.0f", $2}' <<<"$out")"
    done
  done
  n=$(median <<<"${samples[nginx,cpu]}")
  s=$(median <<<"${samples[sluice,cpu]}")
  d=$(median <<<"${samples[default,cpu]}")
  r=$(median <<<"${samples[sluice,rps]}")
  ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (b > 0 && a != "-") printf "%.2f", a/b; else print "-"}'; }
  echo "| $kib KiB | $n | $s | $(ratio "$s" "$n") | $d | $(ratio "$d" "$n") | $r |"
  unset samples
done
