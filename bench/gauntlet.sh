#!/usr/bin/env bash
# The gauntlet: rate-limit scenarios, each run straight to the simulated
# providers with the official SDKs' retries and then through sluice, on fresh
# simulator state (`sluice bench-gauntlet`). Writes a markdown section (a table
# per scenario, where sluice misses a target) to markdown-out or standard
# output and, with gnuplot, docs/benchmarks/timeline.{csv,png}. bench/run.sh
# puts it into docs/benchmarks.md.
#   bench/gauntlet.sh [seconds-per-run] [markdown-out]     (default 12; stdout)
# A benchmark, not a test: it asserts nothing and writes figures.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-12}
md=${2:-/dev/stdout}
./scripts/setup.sh
source bench/lib.sh
need_packages gnuplot-nox
cmake --preset release >/dev/null && cmake --build build/release -j1 --target sluice >/dev/null
bin=./build/release/apps/sluice/sluice
mkdir -p docs/benchmarks
csv=docs/benchmarks/timeline.csv
tables=$(mktemp)
trap 'rm -f "$tables"' EXIT
$bin bench-gauntlet --seconds "$secs" --csv "$csv" >"$tables"

plot=""
if command -v gnuplot >/dev/null; then
  scenarios=$(awk -F, 'NR > 1 && !seen[$1]++ {print $1}' "$csv")
  n=$(wc -w <<<"$scenarios")
  {
    echo "set terminal pngcairo size 1000,$((260 * n)) font ',9'"
    echo "set output 'docs/benchmarks/timeline.png'"
    echo "set datafile separator ','"
    echo "set multiplot layout $n,1"
    echo "set key outside right; set xlabel 's'; set ylabel 'req/s'; set y2label 'in flight'"
    echo "set ytics nomirror; set y2tics"
    for s in $scenarios; do
      echo "set title '$s'"
      echo "plot for [m in 'direct sluice'] '$csv' using (strcol(1) eq '$s' && strcol(2) eq m ? \$3 : 1/0):5 with lines title m.' upstream req/s', \\"
      echo "     for [m in 'direct sluice'] '$csv' using (strcol(1) eq '$s' && strcol(2) eq m ? \$3 : 1/0):4 with lines dt 2 title m.' answers/s', \\"
      echo "     for [m in 'direct sluice'] '$csv' using (strcol(1) eq '$s' && strcol(2) eq m ? \$3 : 1/0):6 axes x1y2 with steps dt 3 title m.' upstream in flight'"
    done
    echo "unset multiplot"
  } | gnuplot && plot="![upstream requests, answers and in-flight per second](benchmarks/timeline.png)"
fi

{
  echo "Measured by \`bench/gauntlet.sh $secs\`. Each scenario runs twice on fresh simulator state,"
  echo "$secs s of sending each (answers still arrive for up to 5 s after): straight to the primary"
  echo "provider with the official SDKs' retries"
  echo "(2 retries; retry-after honoured up to 60 s, else 0.5 s * 2^n up to 8 s with jitter), then"
  echo "through sluice, which can also use the fallback. Everything is simulated on 127.0.0.1"
  echo "(\`sluice bench-gauntlet\`). Interactive agents think 500 ms between requests, background"
  echo "agents send back to back. *Goodput* is answers ok as a share of what the providers the run"
  echo "could use allowed in the run's span: per key the tighter of concurrency / latency, the request"
  echo "window and the daily budget, times the share of requests its fault plan answers (an outage"
  echo "allows nothing, so a direct run against it shows \"-\"). *Wait* is send to final answer,"
  echo "including queueing and retries. *Upstream attempts* are requests the simulated providers got."
  echo
  echo "Targets, for the run through sluice: zero upstream 429s where the providers send rate"
  echo "headers; goodput >= 97% of the limit; interactive p99 wait at most one service time beyond"
  echo "the service itself; zero client-visible failures while a fallback can serve."
  echo
  sed -e 's/^### Where sluice misses a target/### Where sluice misses a gauntlet target/' "$tables"
  if [ -n "$plot" ]; then
    echo
    echo "### Over time"
    echo
    echo "Per second, from \`docs/benchmarks/timeline.csv\`: upstream requests (solid), answers to"
    echo "the agents (dashed) and upstream requests in flight (dotted, right axis)."
    echo
    echo "$plot"
  fi
} >"$md"
