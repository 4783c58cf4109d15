# Shared by the bench scripts (sourced, not run).

# Installs the Debian packages given that are missing (as root, or through sudo).
need_packages() {
  local p sudo=""
  [ "$(id -u)" -eq 0 ] || sudo=sudo
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || {
      $sudo apt-get update -q && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q "$p"; }
  done
}

# N distinct loopback ports nothing listens on (bash's /dev/tcp probe; no
# python needed). Distinct: two picks of one port would collide once bound.
free_ports() {
  local chosen=() p
  while [ ${#chosen[@]} -lt "$1" ]; do
    p=$(( (RANDOM % 12000) + 20000 ))  # below the ephemeral range (32768+)
    [[ " ${chosen[*]} " == *" $p "* ]] && continue
    (exec 3<>/dev/tcp/127.0.0.1/$p) 2>/dev/null && continue
    chosen+=("$p")
  done
  echo "${chosen[@]}"
}

# Builds sluice as scripts/run.sh serves it and makes the run's scratch
# directory: sets `bin`, `work` and `pids` (append a pid there for it to be
# killed on exit); on exit every pid in `pids` is killed and `work` removed.
# SLUICE_BENCH_BIN=path runs another build instead (an earlier commit's, to
# compare).
bench_prepare() {
  # The release build compiled with a profile of agent traffic (scripts/build-pgo.sh).
  if [ -z "${SLUICE_BENCH_BIN:-}" ]; then
    bin=$(./scripts/build-pgo.sh)
  else
    bin=$SLUICE_BENCH_BIN
  fi
  work=$(mktemp -d)
  pids=()
  trap bench_cleanup EXIT
}
bench_cleanup() {
  local p
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$work"
}

# A sluice config on 127.0.0.1:$1 with one provider at the simulator on $2,
# as the proxy benchmarks (overhead, instructions) run it.
sluice_bench_config() {  # listen-port upstream-port
  cat <<YAML
server: {listen: "127.0.0.1:$1"}
state: {backend: memory}
providers:
  up: {api: openai, base_url: "http://127.0.0.1:$2/v1", keys: [bench-key], max_concurrent: 4096}
models:
  main: {route: [up/gpt-4o-mini]}
YAML
}

# The wrk script those benchmarks load: one small chat completion per request.
wrk_post_script() {
  cat <<'LUA'
wrk.method = "POST"
wrk.body = '{"model":"main","messages":[{"role":"user","content":"hello"}],"max_tokens":8}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer bench-key"
LUA
}

# utime+stime of a process and its children (nginx's worker does the work), in ticks.
cpu_ticks() {
  local total=0 p
  for p in "$1" $(pgrep -P "$1" || true); do
    total=$(( total + $(awk '{print $14+$15}' "/proc/$p/stat") ))
  done
  echo "$total"
}

# A wrk script posting a chat body of about $1 KiB: a conversation of 1 KiB
# turns, as coding agents send.
wrk_body_script() {
  python3 - "$1" <<'PY'
import json, sys
kib = int(sys.argv[1])
turn = "x" * 1000
msgs = [{"role": "user" if i % 2 == 0 else "assistant", "content": turn} for i in range(kib)]
body = json.dumps({"model": "main", "max_tokens": 8, "messages": msgs})
print('wrk.method = "POST"')
print('wrk.headers["Content-Type"] = "application/json"')
print('wrk.headers["Authorization"] = "Bearer bench-key"')
print("wrk.body = " + json.dumps(body))
PY
}

# Waits (up to 10 s) until file $1 has a line matching the grep pattern $2:
# a server started in the background saying it is ready.
wait_for_line() {
  local _
  for _ in $(seq 100); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done
  echo "bench: $1 never said '$2'" >&2
  return 1
}

# The median of the numbers given on stdin, space-separated ("-" when none).
median() {
  tr ' ' '\n' | awk '/^[0-9.]+$/' | sort -n |
    awk '{a[NR]=$1} END {if (NR == 0) print "-"; else print a[int((NR+1)/2)]}'
}

# a / b to two places ("-" when either is missing).
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (b > 0 && a != "-") printf "%.2f", a/b; else print "-"}'; }

# An nginx config with one worker proxying 127.0.0.1:$1 to the upstream on
# 127.0.0.1:$2, as nginx is set up in front of SSE (upstream keep-alive,
# proxy_buffering off); $3 is added to the http block, $4 to the top level.
nginx_proxy_conf() {  # listen-port upstream-port [http-extra] [top-extra]
  cat <<NGINX
worker_processes 1; daemon off; pid $work/nginx.pid; error_log $work/nginx.err warn; ${4:-}
events { worker_connections ${NGINX_CONNECTIONS:-4096}; }
http { access_log off; ${3:-}
  upstream up { server 127.0.0.1:$2; keepalive 512; }
  server { listen 127.0.0.1:$1;
    location / { proxy_pass http://up; proxy_http_version 1.1; proxy_set_header Connection "";
                 proxy_buffering off; } } }
NGINX
}

# One wrk run (core 1, 32 connections) of the script $3 against port $2 for
# $4 seconds, measuring the CPU of process $1 (and its children): prints
# "µs-per-request requests/s", and warns on stderr about non-2xx answers.
wrk_cpu_sample() {  # pid port script seconds
  local before after out total bad
  before=$(cpu_ticks "$1")
  out=$(taskset -c 1 wrk -t1 -c32 -d"$4s" -s "$3" "http://127.0.0.1:$2/v1/chat/completions" 2>&1)
  after=$(cpu_ticks "$1")
  total=$(awk '/requests in/ {print $1}' <<<"$out")
  bad=$(awk '/Non-2xx/ {print $NF}' <<<"$out")
  [ -n "$bad" ] && echo "warning: port $2: $bad non-2xx answers" >&2
  awk -v t=$((after - before)) -v hz="$(getconf CLK_TCK)" -v n="${total:-0}" \
    'BEGIN {if (n > 0) printf "%.1f ", t/hz/n*1e6; else printf "- "}'
  awk '/Requests\/sec/ {printf "%.0f\n", $2}' <<<"$out"
}
