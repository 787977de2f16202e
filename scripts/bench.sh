#!/usr/bin/env bash
# Runs the benchmarks and prints their figures (make bench). Long: not part of make test.
set -euo pipefail
build=${1:-build}
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
echo "== certificate rendering (bench/certificate/render_bench.cpp) =="
"$build/bench/certificate/bench_render" 10000 20
