#!/usr/bin/env bash
# Overhead of sluice as a proxy, measured in one run against the same
# zero-latency upstream (`sluice sim`): direct, a plain nginx reverse proxy
# (the floor), and sluice. wrk / the streaming client run on core 1, the
# servers on core 0. Non-streaming: req/s, latency p50/p90/p99 and server CPU
# per request at 8, 64 and 256 connections, each the median of several rounds
# that alternate the targets (this machine's cores are shared: a single run
# moves by 20-30%, and in turns each target sees the same spells of noise).
# Streaming (16 tokens, 10 ms apart):
# time to first byte and the gap between chunks at the client. Then peak RSS,
# and RSS with 1,000 idle streams open.
#   bench/overhead.sh [seconds-per-run] [markdown-out] [csv-out]   (default 8)
#   SLUICE_BENCH_ROUNDS=3   rounds of the request runs (the median is reported)
# With markdown-out, also writes the figures as tables, and with csv-out the
# request figures as CSV for plotting (bench/run.sh uses both).
# A benchmark, not a test: it asserts nothing and prints figures.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-8}
rounds=${SLUICE_BENCH_ROUNDS:-3}
md=${2:-}
csv=${3:-}
./scripts/setup.sh
source bench/lib.sh
need_packages wrk nginx-light
bench_prepare

read -r up ng sl up2 ng2 sl2 up3 sl3 <<<"$(free_ports 8)"

# Two upstreams: zero latency for requests/s, and a paced stream (16 tokens
# 10 ms apart) for streaming latency.
taskset -c 0 $bin sim --dialect openai --listen 127.0.0.1:$up >"$work/sim.log" 2>&1 & pids+=($!)
taskset -c 0 $bin sim --dialect openai --listen 127.0.0.1:$up2 --ttft 0ms --per-token 10ms \
  >"$work/sim2.log" 2>&1 & pids+=($!)
# proxy_buffering off: how nginx is set up in front of SSE, so each event
# passes as it arrives (a no-op for these small non-streaming bodies).
cat >"$work/nginx.conf" <<NGINX
worker_processes 1; daemon off; pid $work/nginx.pid; error_log $work/nginx.err warn;
events { worker_connections 4096; }
http { access_log off;
  upstream up { server 127.0.0.1:$up; keepalive 512; }
  upstream up2 { server 127.0.0.1:$up2; keepalive 512; }
  server { listen 127.0.0.1:$ng;
    location / { proxy_pass http://up; proxy_http_version 1.1; proxy_set_header Connection "";
                 proxy_buffering off; } }
  server { listen 127.0.0.1:$ng2;
    location / { proxy_pass http://up2; proxy_http_version 1.1; proxy_set_header Connection "";
                 proxy_buffering off; } } }
NGINX
taskset -c 0 nginx -c "$work/nginx.conf" -p "$work" & pids+=($!)
ng_pid=$!
sluice_bench_config "$sl" "$up" >"$work/sluice.yaml"
sluice_bench_config "$sl2" "$up2" >"$work/sluice2.yaml"
taskset -c 0 $bin serve -c "$work/sluice.yaml" >"$work/sluice.log" 2>&1 & pids+=($!)
sl_pid=$!
ulimit -n 65536 2>/dev/null || true
taskset -c 0 $bin serve -c "$work/sluice2.yaml" >"$work/sluice2.log" 2>&1 & pids+=($!)
sl2_pid=$!
sleep 1

wrk_post_script >"$work/post.lua"
hz=$(getconf CLK_TCK)
# wrk prints latencies as 249.00us / 1.84ms / 1.02s: in ms.
to_ms() { awk '{v=$1; if (v ~ /us$/) printf "%.2f", v/1000; else if (v ~ /ms$/) printf "%.2f", v+0; else if (v ~ /s$/) printf "%.2f", v*1000; else print "-"}' <<<"$1"; }

declare -A rps cpu samples
rows=()
csv_rows=("target,conns,rps,p50_ms,p90_ms,p99_ms,cpu_us")
printf "%-8s %5s %10s %9s %9s %9s %12s  (median of %s rounds)\n" target conns "req/s" "p50(ms)" \
  "p90(ms)" "p99(ms)" "cpu/req(us)" "$rounds"
for conns in 8 64 256; do
  for round in $(seq 1 "$rounds"); do
    for target in direct nginx sluice; do
      case $target in
        direct) port=$up pid="" ;;
        nginx) port=$ng pid=$ng_pid ;;
        sluice) port=$sl pid=$sl_pid ;;
      esac
      before=0; [ -n "$pid" ] && before=$(cpu_ticks "$pid")
      out=$(taskset -c 1 wrk -t1 -c"$conns" -d"${secs}s" --latency -s "$work/post.lua" \
            "http://127.0.0.1:$port/v1/chat/completions" 2>&1)
      after=0; [ -n "$pid" ] && after=$(cpu_ticks "$pid")
      total=$(awk '/requests in/ {print $1}' <<<"$out")
      c="-"
      if [ -n "$pid" ] && [ "${total:-0}" -gt 0 ]; then
        c=$(awk -v t=$((after-before)) -v hz="$hz" -v n="$total" 'BEGIN {printf "%.1f", t/hz/n*1e6}')
      fi
      samples[$target,rps]+=" $(awk '/Requests\/sec/ {printf "%.0f", $2}' <<<"$out")"
      samples[$target,p50]+=" $(to_ms "$(awk '$1=="50%" {print $2}' <<<"$out")")"
      samples[$target,p90]+=" $(to_ms "$(awk '$1=="90%" {print $2}' <<<"$out")")"
      samples[$target,p99]+=" $(to_ms "$(awk '$1=="99%" {print $2}' <<<"$out")")"
      samples[$target,cpu]+=" $c"
    done
  done
  for target in direct nginx sluice; do
    r=$(median <<<"${samples[$target,rps]}"); p50=$(median <<<"${samples[$target,p50]}")
    p90=$(median <<<"${samples[$target,p90]}"); p99=$(median <<<"${samples[$target,p99]}")
    c=$(median <<<"${samples[$target,cpu]}")
    for m in rps p50 p90 p99 cpu; do samples[$target,$m]=""; done
    rps[$target$conns]=$r; cpu[$target$conns]=$c
    printf "%-8s %5s %10s %9s %9s %9s %12s\n" "$target" "$conns" "$r" "$p50" "$p90" "$p99" "$c"
    rows+=("| $target | $conns | $r | $p50 / $p90 / $p99 | $c |")
    csv_rows+=("$target,$conns,$r,$p50,$p90,$p99,$c")
  done
done
misses=()
for conns in 8 64 256; do
  rr=$(ratio "${rps[sluice$conns]}" "${rps[nginx$conns]}")
  cr=$(ratio "${cpu[sluice$conns]}" "${cpu[nginx$conns]}")
  echo "sluice/nginx at $conns connections: throughput $rr, CPU per request $cr"
  awk -v c="$cr" 'BEGIN {exit !(c != "-" && c > 1.5)}' &&
    misses+=("CPU per request at $conns connections is ${cr}x nginx's (target <= 1.5x)")
  [ "$conns" = 64 ] && awk -v r="$rr" 'BEGIN {exit !(r != "-" && r < 0.75)}' &&
    misses+=("throughput at 64 connections is $(awk -v r="$rr" 'BEGIN {printf "%.0f", r*100}')% of nginx's (target >= 75%)")
done
sl_hwm=$(awk '/VmHWM/ {print $2}' /proc/$sl_pid/status)
ng_hwm=0
for p in $ng_pid $(pgrep -P "$ng_pid" || true); do
  ng_hwm=$(( ng_hwm + $(awk '/VmHWM/ {print $2}' /proc/$p/status) ))
done
echo "peak RSS after the runs (kB): sluice $sl_hwm, nginx master + worker $ng_hwm"

# Streaming: the same paced stream direct, through nginx and through sluice.
srows=()
# A field of the streaming client's JSON line in $j, or "-".
stream_field() { node -e "const j=JSON.parse(process.argv[1]); console.log($1)" "$j" 2>/dev/null || echo "-"; }
printf "%-8s %5s %8s %20s %20s\n" target conns streams "ttfb p50/p99(ms)" "chunk gap p50/p99"
for conns in 8 64 256; do
  for target in direct nginx sluice; do
    case $target in
      direct) port=$up2 ;;
      nginx) port=$ng2 ;;
      sluice) port=$sl2 ;;
    esac
    j=$(taskset -c 1 node bench/stream_latency.mjs "http://127.0.0.1:$port/v1/chat/completions" \
        "$conns" "$secs" 2>&1 | tail -1)
    n=$(stream_field 'j.streams + (j.errors ? " (" + j.errors + " errors)" : "")')
    t=$(stream_field 'j.ttfb_ms.p50 + " / " + j.ttfb_ms.p99')
    g=$(stream_field 'j.chunk_gap_ms.p50 + " / " + j.chunk_gap_ms.p99')
    printf "%-8s %5s %8s %20s %20s\n" "$target" "$conns" "$n" "$t" "$g"
    srows+=("| $target | $conns | $n | $t | $g |")
  done
done

# Memory with 1,000 idle streaming connections: the simulator sends the first
# event at once and the next token two minutes later.
taskset -c 0 $bin sim --dialect openai --listen 127.0.0.1:$up3 --per-token 120s \
  >"$work/sim3.log" 2>&1 & pids+=($!)
sluice_bench_config "$sl3" "$up3" >"$work/sluice3.yaml"
taskset -c 0 $bin serve -c "$work/sluice3.yaml" >"$work/sluice3.log" 2>&1 & pids+=($!)
sl3_pid=$!
sleep 1
rss_before=$(awk '/VmRSS/ {print $2}' /proc/$sl3_pid/status)
node bench/idle_streams.mjs "http://127.0.0.1:$sl3/v1/chat/completions" 1000 >"$work/idle.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 60); do grep -q '^open 1000' "$work/idle.log" && break; sleep 0.5; done
idle="-"
if grep -q '^open 1000' "$work/idle.log"; then
  idle=$(awk '/VmRSS/ {print $2}' /proc/$sl3_pid/status)
  echo "RSS with 1000 idle streams (kB): sluice $idle (idle before: $rss_before; target <= 40960)"
  [ "$idle" -gt 40960 ] && misses+=("RSS with 1,000 idle streams is $idle kB (target <= 40960 kB)")
else
  echo "idle streams: could not open 1000 streams: $(tail -3 "$work/idle.log")"
fi
machine="$(nproc) cores, $(awk -F: '/model name/ {sub(/^ +/, "", $2); print $2; exit}' /proc/cpuinfo)"
echo "machine: $machine"

[ -n "$csv" ] && printf '%s\n' "${csv_rows[@]}" >"$csv"
[ -z "$md" ] && exit 0
{
  echo "Measured by \`bench/overhead.sh $secs\`: $secs s per run, each request figure the median of"
  echo "$rounds rounds that alternate the targets; servers on core 0, the load"
  echo "generator on core 1; upstream \`sluice sim\` with zero latency; nginx $(nginx -v 2>&1 | sed 's|.*/||')"
  echo "with one worker, upstream keep-alive and \`proxy_buffering off\`."
  echo
  echo "### Requests (wrk, non-streaming chat completions)"
  echo
  echo "| target | connections | req/s | latency p50 / p90 / p99 (ms) | server CPU per request (µs) |"
  echo "|---|---|---|---|---|"
  printf '%s\n' "${rows[@]}"
  echo
  for conns in 8 64 256; do
    echo "- sluice / nginx at $conns connections: throughput $(ratio "${rps[sluice$conns]}" "${rps[nginx$conns]}"), CPU per request $(ratio "${cpu[sluice$conns]}" "${cpu[nginx$conns]}")"
  done
  echo "- peak RSS: sluice $((sl_hwm / 1024)) MiB, nginx (master + worker) $((ng_hwm / 1024)) MiB"
  echo "- RSS of sluice with 1,000 idle streams open: $([ "$idle" = - ] && echo "not measured" || echo "$((idle / 1024)) MiB") (before: $((rss_before / 1024)) MiB)"
  echo
  echo "### Streams (16 tokens, 10 ms apart; Node client)"
  echo
  echo "Time to first byte of the body and the gap between chunks as the client sees them;"
  echo "the upstream's own gap is 10 ms."
  echo
  echo "| target | connections | streams | TTFB p50 / p99 (ms) | chunk gap p50 / p99 (ms) |"
  echo "|---|---|---|---|---|"
  printf '%s\n' "${srows[@]}"
  echo
  echo "### Where sluice misses an overhead target"
  echo
  if [ ${#misses[@]} -eq 0 ]; then echo "Nowhere in this run."; else printf -- '- %s\n' "${misses[@]}"; fi
} >"$md"
