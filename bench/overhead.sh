#!/usr/bin/env bash
# Overhead of sluice as a proxy, measured in one run against the same
# zero-latency upstream (`sluice sim`): direct, a plain nginx reverse proxy
# (the floor), and sluice. wrk runs on core 1, the servers on core 0.
# Prints latency p50/p99, requests/s and server CPU per request.
#   bench/overhead.sh [seconds-per-run]      (default 8)
# A benchmark, not a test: it asserts nothing and prints figures.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-8}
./scripts/setup.sh
for p in wrk nginx-light; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || {
    [ "$(id -u)" -eq 0 ] && sudo="" || sudo=sudo
    $sudo apt-get update -q && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q "$p"; }
done
cmake --preset release >/dev/null && cmake --build --preset release --target sluice >/dev/null
bin=./build/release/apps/sluice/sluice
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

# A loopback port nothing listens on (bash's /dev/tcp probe; no python needed).
free_port() {
  while :; do
    p=$(( (RANDOM % 30000) + 20000 ))
    (exec 3<>/dev/tcp/127.0.0.1/$p) 2>/dev/null || { echo "$p"; return; }
  done
}
up=$(free_port); ng=$(free_port); sl=$(free_port)

taskset -c 0 $bin sim --dialect openai --listen 127.0.0.1:$up >"$work/sim.log" 2>&1 & pids+=($!)
cat >"$work/nginx.conf" <<NGINX
worker_processes 1; daemon off; pid $work/nginx.pid; error_log $work/nginx.err warn;
events { worker_connections 4096; }
http { access_log off;
  upstream up { server 127.0.0.1:$up; keepalive 256; }
  server { listen 127.0.0.1:$ng;
    location / { proxy_pass http://up; proxy_http_version 1.1; proxy_set_header Connection ""; } } }
NGINX
taskset -c 0 nginx -c "$work/nginx.conf" -p "$work" & pids+=($!)
ng_pid=$!
cat >"$work/sluice.yaml" <<YAML
server: {listen: "127.0.0.1:$sl"}
state: {backend: memory}
providers:
  up: {api: openai, base_url: "http://127.0.0.1:$up/v1", keys: [bench-key], max_concurrent: 4096}
models:
  main: {route: [up/gpt-4o-mini]}
YAML
taskset -c 0 $bin serve -c "$work/sluice.yaml" >"$work/sluice.log" 2>&1 & pids+=($!)
sl_pid=$!
sleep 1

body='{"model":"main","messages":[{"role":"user","content":"hello"}],"max_tokens":8}'
cat >"$work/post.lua" <<LUA
wrk.method = "POST"
wrk.body = '$body'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer bench-key"
LUA
# utime+stime of a process and its children (nginx's worker does the work).
cpu_ticks() {
  local total=0 p
  for p in "$1" $(pgrep -P "$1" || true); do
    total=$(( total + $(awk '{print $14+$15}' "/proc/$p/stat") ))
  done
  echo "$total"
}
hz=$(getconf CLK_TCK)

printf "%-8s %5s %10s %10s %10s %14s\n" target conns "req/s" "p50" "p99" "cpu/req(us)"
for conns in 8 64; do
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
    rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
    p50=$(awk '$1=="50%" {print $2}' <<<"$out")
    p99=$(awk '$1=="99%" {print $2}' <<<"$out")
    total=$(awk '/requests in/ {print $1}' <<<"$out")
    cpu="-"
    if [ -n "$pid" ] && [ "${total:-0}" -gt 0 ]; then
      cpu=$(awk -v t=$((after-before)) -v hz="$hz" -v n="$total" 'BEGIN {printf "%.1f", t/hz/n*1e6}')
    fi
    printf "%-8s %5s %10s %10s %10s %14s\n" "$target" "$conns" "$rps" "$p50" "$p99" "$cpu"
  done
done
echo "peak RSS after the runs (kB): sluice $(awk '/VmHWM/ {print $2}' /proc/$sl_pid/status)," \
     "nginx master $(awk '/VmHWM/ {print $2}' /proc/$ng_pid/status)"

# Memory with 1,000 idle streaming connections: the simulator sends the first
# event at once and the next token two minutes later.
ulimit -n 65536 2>/dev/null || true
up2=$(free_port); sl2=$(free_port)
taskset -c 0 $bin sim --dialect openai --listen 127.0.0.1:$up2 --per-token 120s \
  >"$work/sim2.log" 2>&1 & pids+=($!)
sed -e "s/$sl/$sl2/" -e "s/$up/$up2/" "$work/sluice.yaml" >"$work/sluice2.yaml"
taskset -c 0 $bin serve -c "$work/sluice2.yaml" >"$work/sluice2.log" 2>&1 & pids+=($!)
sl2_pid=$!
sleep 1
rss_before=$(awk '/VmRSS/ {print $2}' /proc/$sl2_pid/status)
node bench/idle_streams.mjs "http://127.0.0.1:$sl2/v1/chat/completions" 1000 >"$work/idle.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 60); do grep -q '^open 1000' "$work/idle.log" && break; sleep 0.5; done
if grep -q '^open 1000' "$work/idle.log"; then
  echo "RSS with 1000 idle streams (kB): sluice $(awk '/VmRSS/ {print $2}' /proc/$sl2_pid/status)" \
       "(idle before: $rss_before; target <= 40960)"
else
  echo "idle streams: could not open 1000 streams: $(tail -3 "$work/idle.log")"
fi
echo "machine: $(nproc) cores, $(awk -F: '/model name/ {print $2; exit}' /proc/cpuinfo)"
