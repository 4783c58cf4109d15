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

# Builds sluice (release) and makes the run's scratch directory: sets `bin`,
# `work` and `pids` (append a pid there for it to be killed on exit); on exit
# every pid in `pids` is killed and `work` removed.
bench_prepare() {
  cmake --preset release >/dev/null && cmake --build --preset release --target sluice >/dev/null
  bin=./build/release/apps/sluice/sluice
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
