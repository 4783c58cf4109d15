#!/usr/bin/env bash
# The cost of translation: sluice's CPU per request and per stream when a
# Chat Completions caller is served by a Chat provider (same format, only the
# model spliced) and by an Anthropic provider (translated both ways), against
# zero-latency simulators, in one run. Rounds alternate the lanes and the
# median is reported (shared cores move single runs by 20-30%).
#   bench/translation.sh [seconds-per-run] [markdown-out]   (default 5)
#   SLUICE_BENCH_ROUNDS=3
# A benchmark, not a test: it asserts nothing and prints figures.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-5}
md=${2:-}
rounds=${SLUICE_BENCH_ROUNDS:-3}
source bench/lib.sh
need_packages wrk
bench_prepare
read -r chat_port an_port gw_port <<<"$(free_ports 3)"

cat >"$work/sim.yaml" <<YAML
providers:
  chat: {dialect: openai, listen: "127.0.0.1:$chat_port"}
  an: {dialect: anthropic, listen: "127.0.0.1:$an_port"}
YAML
cat >"$work/gw.yaml" <<YAML
server: {listen: "127.0.0.1:$gw_port"}
state: {backend: memory}
providers:
  chat: {api: openai, base_url: "http://127.0.0.1:$chat_port/v1", keys: [k], max_concurrent: 4096}
  an: {api: anthropic, base_url: "http://127.0.0.1:$an_port", keys: [k], max_concurrent: 4096}
models:
  same: {route: [chat/gpt-4o-mini]}
  cross: {route: [an/claude-sonnet-4-5]}
YAML
taskset -c 0 "$bin" sim --config "$work/sim.yaml" >"$work/sim.log" 2>&1 & pids+=($!)
taskset -c 0 "$bin" serve -c "$work/gw.yaml" >"$work/gw.log" 2>&1 & pids+=($!)
gw_pid=$!
for _ in $(seq 50); do (exec 3<>/dev/tcp/127.0.0.1/$gw_port) 2>/dev/null && break; sleep 0.1; done

# A chat request with tools (what agents send), whole or streamed.
script() {  # alias stream
  cat <<LUA
wrk.method = "POST"
wrk.body = '{"model":"$1","stream":$2,"max_tokens":64,"messages":[{"role":"system","content":"You are a coding agent."},{"role":"user","content":"List the files and tell me what you see in them, briefly."}],"tools":[{"type":"function","function":{"name":"read_file","description":"Read a file","parameters":{"type":"object","properties":{"path":{"type":"string"}}}}}],"tool_choice":"none"}'
wrk.headers["Content-Type"] = "application/json"
LUA
}
for lane in same:false cross:false same:true cross:true; do
  script "${lane%%:*}" "${lane##*:}" >"$work/${lane/:/_}.lua"
done
hz=$(getconf CLK_TCK)
cpu_ticks() { awk '{print $14+$15}' "/proc/$1/stat"; }
declare -A us rps
for _ in $(seq "$rounds"); do
  for lane in same:false cross:false same:true cross:true; do
    before=$(cpu_ticks "$gw_pid")
    out=$(taskset -c 1 wrk -t1 -c32 -d"${secs}s" -s "$work/${lane/:/_}.lua" "http://127.0.0.1:$gw_port/v1/chat/completions")
    after=$(cpu_ticks "$gw_pid")
    n=$(awk '/requests in/ {print $1}' <<<"$out")
    errs=$(awk '/Non-2xx/ {print $NF}' <<<"$out")
    [ -n "$errs" ] && echo "warning: $lane: $errs non-2xx answers" >&2
    us[$lane]+="$(awk -v t=$((after - before)) -v hz="$hz" -v n="$n" 'BEGIN { printf "%.1f", t / hz * 1e6 / n }') "
    rps[$lane]+="$(awk -v n="$n" -v s="$secs" 'BEGIN { printf "%.0f", n / s }') "
  done
done
{
  echo "| lane (32 connections, ${secs} s x ${rounds}) | sluice CPU per request | requests/s |"
  echo "|---|---|---|"
  for lane in same:false cross:false same:true cross:true; do
    name="${lane%%:*}"; [ "${lane##*:}" = true ] && kind="stream" || kind="whole"
    label=$([ "$name" = same ] && echo "chat -> chat provider (same format)" || echo "chat -> anthropic provider (translated)")
    echo "| $label, $kind | $(median <<<"${us[$lane]}") us | $(median <<<"${rps[$lane]}") |"
  done
} | tee ${md:+"$md"}
