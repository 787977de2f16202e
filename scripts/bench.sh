#!/usr/bin/env bash
# Runs the benchmarks and prints their figures (make bench). Long: not part of make test.
# docs/BENCH.md explains each figure. Bounded: every bench runs under `timeout`, every load loop
# is bounded in count and time and talks to 127.0.0.1 only; about 4-6 minutes on 2 cores.
#
#   scripts/bench.sh [BUILD_DIR]
# Environment (defaults in brackets):
#   KOFU_BENCH_ONLY         comma list of certificate,storage,feeds,issuance [all]
#   KOFU_BENCH_RECORDS      records of the feed and rollover benches [1000000]
#   KOFU_BENCH_RESIDENTS    residents loaded into the node for center_sim [100000]
#   KOFU_BENCH_CONNECTIONS  center_sim connections [64]
#   KOFU_BENCH_SECONDS      center_sim's timed windows (kofu and ceiling) [10]
#   KOFU_BENCH_TMP          where temporary databases and feeds go [$TMPDIR or /tmp]
set -euo pipefail
build=${1:-build}
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
build=$(cd "$build" && pwd)
only=${KOFU_BENCH_ONLY:-certificate,storage,feeds,issuance}
records=${KOFU_BENCH_RECORDS:-1000000}
residents=${KOFU_BENCH_RESIDENTS:-100000}
connections=${KOFU_BENCH_CONNECTIONS:-64}
seconds=${KOFU_BENCH_SECONDS:-10}
tmp=${KOFU_BENCH_TMP:-${TMPDIR:-/tmp}}
wants() { [[ ",$only," == *",$1,"* ]]; }
summary=()
note() { summary+=("$1"); }
started=$(date +%s)
echo "bench: $(date -u +%FT%TZ), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"

if wants certificate; then
  echo "== certificate rendering (bench/certificate/render_bench.cpp) =="
  "$build/bench/certificate/bench_render" 10000 20
fi

# Runs a bench under a time bound, shows its output and keeps its target lines for the summary.
run() {
  local name=$1 bound=$2
  shift 2
  local log="$work/$name.log" rc=0
  timeout --signal=TERM --kill-after=10 "$bound" "$@" 2>&1 | tee "$log" || rc=$?
  while IFS= read -r line; do note "$name: $line"; done < <(grep -E '^(target |info |kofu\.(throughput_200|latency))' "$log" || true)
  [ "$rc" -eq 0 ] || note "$name: exited with status $rc"
}

work=$(mktemp -d "$tmp/kofu-bench.XXXXXX")
pid=""
cleanup() {
  if [ -n "$pid" ]; then kill -TERM "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

if wants storage; then
  echo "== rollover and audit append (bench/storage/rollover_bench.cpp) =="
  run rollover_bench 300 "$build/bench/storage/rollover_bench" --records "$records" --tmp "$work"
fi

if wants feeds; then
  echo "== 1M-record tax feed vs the RocksDB floor (bench/feeds/feed_bench.cpp) =="
  run feed_bench 300 "$build/bench/feeds/feed_bench" --records "$records" --tmp "$work"
fi

# Starts kofud on $1 (a config) and sets $pid, $admin and $center.
start_node() {
  rm -f "$node/ports.json"
  "$build/apps/kofud" --config "$1" >>"$work/kofud.log" 2>&1 &
  pid=$!
  for _ in $(seq 1 200); do
    [ -s "$node/ports.json" ] && break
    kill -0 "$pid" 2>/dev/null || { cat "$work/kofud.log" >&2; echo "bench: kofud did not start" >&2; exit 1; }
    sleep 0.1
  done
  admin=$(sed -E 's/.*"admin": *([0-9]+).*/\1/' "$node/ports.json")
  center=$(sed -E 's/.*"center": *([0-9]+).*/\1/' "$node/ports.json")
}
stop_node() {
  kill -TERM "$pid"
  local rc=0
  wait "$pid" || rc=$?
  pid=""
  if [ "$rc" -ne 0 ]; then
    echo "bench: kofud exited with status $rc on SIGTERM; the end of its log:" >&2
    tail -n 3 "$work/kofud.log" >&2
    note "kofud: exited with status $rc on SIGTERM (after the figures were taken)"
  fi
}
admin_call() { curl -sS --fail-with-body -H "Authorization: Bearer $KOFU_OPERATOR_TOKEN" "$@"; }
# Audit group commits (and their WAL syncs) that took over 25 ms so far: "commits syncs".
slow_commits() {
  admin_call "http://127.0.0.1:$admin/metrics" | awk '
    /^kofu_audit_commit_duration_seconds_bucket\{le="0.025"\}/ { cb = $2 }
    /^kofu_audit_commit_duration_seconds_count/ { cc = $2 }
    /^kofu_audit_sync_duration_seconds_bucket\{le="0.025"\}/ { sb = $2 }
    /^kofu_audit_sync_duration_seconds_count/ { sc = $2 }
    END { print cc - cb, sc - sb }'
}

if wants issuance; then
  echo "== center simulator against kofud (bench/issuance/center_sim.cpp) =="
  node=$work/node
  "$root/scripts/dev-setup.sh" "$node" >/dev/null
  # shellcheck source=/dev/null
  . "$node/env.sh"
  "$build/tools/feedgen/kofu-feedgen" --kind both --count "$residents" --out "$work/feeds" 2>/dev/null
  start_node "$node/kofu.conf"
  for f in residents.csv tax-2025.csv; do
    id=$(admin_call -X POST -H "Content-Type: text/csv" --data-binary "@$work/feeds/$f" \
      "http://127.0.0.1:$admin/admin/v1/feeds" | sed -E 's/.*"feed_id": *([0-9]+).*/\1/')
    state=""
    for _ in $(seq 1 600); do
      state=$(admin_call "http://127.0.0.1:$admin/admin/v1/feeds/$id" | sed -E 's/.*"state": *"([a-z]+)".*/\1/')
      case "$state" in applied|rejected) break ;; esac
      sleep 0.1
    done
    [ "$state" = applied ] || { echo "bench: feed $f was $state" >&2; exit 1; }
  done
  admin_call -X POST -H "Content-Type: application/json" -d '{"fiscal_year": 2025}' \
    "http://127.0.0.1:$admin/admin/v1/rollover" >/dev/null
  echo "bench: $residents residents loaded, fiscal year 2025 open"
  run center_sim 420 "$build/bench/issuance/center_sim" --setup "$node" --port "$center" \
    --residents "$work/feeds/residents.csv" --tax "$work/feeds/tax-2025.csv" \
    --connections "$connections" --seconds "$seconds" --requests-max 60000 --rounds 10 \
    --server-pid "$pid"

  echo "== open loop: fixed offered rates, ${connections} connections (center_sim --phases rates) =="
  # The closed loop above can only show latency = connections / throughput (Little's law): the
  # p99 target is judged here, at offered rates, latency from each request's scheduled time.
  read -r commits0 syncs0 < <(slow_commits)
  run center_sim_rates 300 "$build/bench/issuance/center_sim" --setup "$node" --port "$center" \
    --residents "$work/feeds/residents.csv" --tax "$work/feeds/tax-2025.csv" \
    --connections "$connections" --phases rates --rates 500,1000,1500,2000 --rate-seconds 5 \
    --requests-max 60000 --server-pid "$pid"
  # Every answer waits for its group commit: one slow commit sets a window's p99 (docs/BENCH.md).
  read -r commits1 syncs1 < <(slow_commits)
  slow="center_sim_rates: audit group commits over 25 ms during the phase: $((commits1 - commits0)) (their WAL sync alone over 25 ms: $((syncs1 - syncs0)))"
  echo "$slow"
  note "$slow"

  echo "== issuance latency while a ${records}-record tax feed is applied (4 connections) =="
  # The same persons' tax records (same seed and year, sequence 2): the checks still hold.
  "$build/tools/feedgen/kofu-feedgen" --kind tax --count "$records" --sequence 2 \
    --out "$work/feeds/tax-2025-seq2.csv" 2>/dev/null
  small=("$build/bench/issuance/center_sim" --setup "$node" --port "$center" --phases load
    --residents "$work/feeds/residents.csv" --tax "$work/feeds/tax-2025.csv"
    --connections 4 --seconds 8 --requests-max 20000 --server-pid "$pid")
  echo "-- baseline, no feed --"
  run center_sim_idle 120 "${small[@]}"
  admin_call -X POST -H "Content-Type: text/csv" --data-binary "@$work/feeds/tax-2025-seq2.csv" \
    "http://127.0.0.1:$admin/admin/v1/feeds" >"$work/upload.json" &
  upload=$!
  upload_start=$(date +%s.%N)
  sleep 2
  echo "-- during the upload and apply (window from 2 s after the upload began) --"
  run center_sim_during_feed 120 "${small[@]}"
  wait "$upload" || true
  id=$(sed -E 's/.*"feed_id": *([0-9]+).*/\1/' "$work/upload.json")
  for _ in $(seq 1 1200); do
    state=$(admin_call "http://127.0.0.1:$admin/admin/v1/feeds/$id" | sed -E 's/.*"state": *"([a-z]+)".*/\1/')
    case "$state" in applied|rejected) break ;; esac
    sleep 0.1
  done
  took=$(echo "$(date +%s.%N) - $upload_start" | bc)
  echo "bench: the ${records}-record feed was $state ${took} s after its upload began (the window was 2-10 s)"
  note "feed during issuance: $state after ${took} s (issuance window: 2-10 s after the upload began)"
  stop_node

  echo "== overload: issuance.sessions_max = 8, render.queue_max = 4 =="
  sed -e 's/^sessions_max = .*/sessions_max = 8/' -e 's/^queue_max = .*/queue_max = 4/' \
    "$node/kofu.conf" >"$node/kofu-overload.conf"
  start_node "$node/kofu-overload.conf"
  run center_sim_overload 120 "$build/bench/issuance/center_sim" --overload --setup "$node" \
    --port "$center" --residents "$work/feeds/residents.csv" --tax "$work/feeds/tax-2025.csv" \
    --connections "$connections" --rounds 20
  stop_node
fi

echo
echo "== summary ($(( $(date +%s) - started )) s, load average $(cut -d' ' -f1-3 /proc/loadavg)) =="
for line in "${summary[@]}"; do echo "$line"; done
