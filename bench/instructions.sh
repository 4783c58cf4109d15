#!/usr/bin/env bash
# User-space instructions per proxied request, sluice next to nginx, counted
# by callgrind: unlike CPU time on shared cores, the count repeats to within
# about 1%, so it can judge a change of a few percent (docs/decisions/0010).
# Each proxy runs under valgrind in front of the same `sluice sim`; wrk warms
# it up, the counters are zeroed, wrk runs again, the counters are dumped.
# The kernel's share (the same sends and receives for both) is not counted.
#   bench/instructions.sh [connections] [seconds] [body-KiB]   (default 64, 5, the small body)
#   SLUICE_BENCH_ANNOTATE=N   also list sluice's N costliest functions
# A benchmark, not a test: it asserts nothing and prints figures.
set -euo pipefail
cd "$(dirname "$0")/.."
conns=${1:-64}
secs=${2:-5}
kib=${3:-}
./scripts/setup.sh
source bench/lib.sh
need_packages wrk nginx-light valgrind
bench_prepare
read -r up ng sl <<<"$(free_ports 3)"

taskset -c 1 $bin sim --dialect openai --listen 127.0.0.1:$up >"$work/sim.log" 2>&1 & pids+=($!)
cat >"$work/nginx.conf" <<NGINX
worker_processes 1; daemon off; master_process off; pid $work/nginx.pid;
error_log $work/nginx.err warn;
events { worker_connections 4096; }
http { access_log off;
  upstream up { server 127.0.0.1:$up; keepalive 512; }
  server { listen 127.0.0.1:$ng;
    location / { proxy_pass http://up; proxy_http_version 1.1; proxy_set_header Connection "";
                 proxy_buffering off; } } }
NGINX
sluice_bench_config "$sl" "$up" >"$work/sluice.yaml"
if [ -n "$kib" ]; then wrk_body_script "$kib" >"$work/post.lua"; else wrk_post_script >"$work/post.lua"; fi

# name port command...: prints "name: N requests, M instructions per request".
count() {
  local name=$1 port=$2 out="$work/$1.callgrind" vpid n ir
  shift 2
  taskset -c 0 valgrind --tool=callgrind --callgrind-out-file="$out" "$@" \
    >"$work/$name.log" 2>&1 & vpid=$!
  pids+=("$vpid")
  for _ in $(seq 1 150); do (exec 3<>/dev/tcp/127.0.0.1/"$port") 2>/dev/null && break; sleep 0.2; done
  local url="http://127.0.0.1:$port/v1/chat/completions"
  taskset -c 1 wrk -t1 -c"$conns" -d2s -s "$work/post.lua" "$url" >/dev/null
  callgrind_control -z "$vpid" >/dev/null 2>&1
  n=$(taskset -c 1 wrk -t1 -c"$conns" -d"${secs}s" -s "$work/post.lua" "$url" |
      awk '/requests in/ {print $1}')
  callgrind_control -d "$vpid" >/dev/null 2>&1
  sleep 1
  ir=$(awk '/^summary:/ {print $2; exit}' "$(ls -t "$out".* | head -1)")
  kill "$vpid" 2>/dev/null || true
  echo "$name: $n requests, $((ir / n)) instructions per request ($conns connections${kib:+, ${kib} KiB bodies})"
  if [ "$name" = sluice ] && [ -n "${SLUICE_BENCH_ANNOTATE:-}" ]; then
    cp "$(ls -t "$out".* | head -1)" /tmp/sluice.callgrind
    callgrind_annotate /tmp/sluice.callgrind 2>/dev/null |
      awk '/^ *[0-9,]+ +\(/ && !/PROGRAM TOTALS/' | head -"$SLUICE_BENCH_ANNOTATE"
  fi
}
count nginx "$ng" nginx -c "$work/nginx.conf" -p "$work"
count sluice "$sl" $bin serve -c "$work/sluice.yaml"
