#!/bin/sh
# Builds the feed parser's libFuzzer target with clang++-14 (no CMake needed) and runs it for a
# while over a seed corpus of the test feeds.
#
#   tests/feed/fuzz/run.sh [seconds=20] [work_dir=${TMPDIR:-/tmp}/kofu-feed-fuzz]
#
# The work dir holds the binary, the growing corpus (seeded from tests/feed/data) and any crash
# files; the source tree is never written. Exits non-zero when the fuzzer finds a crash.
set -eu

seconds=${1:-20}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
work=${2:-${TMPDIR:-/tmp}/kofu-feed-fuzz}
cxx=${CXX_FUZZ:-clang++-14}

mkdir -p "$work/corpus" "$work/artifacts"
cp "$root"/tests/feed/data/*.feed "$work/corpus/"

# Only what the parser needs: the feed sources and the shared records.
"$cxx" -std=c++20 -O1 -g -fno-omit-frame-pointer \
  -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
  -I"$root" \
  "$here/feed_fuzzer.cpp" \
  "$root/feed/code_set.cpp" "$root/feed/columns.cpp" "$root/feed/feed_header.cpp" \
  "$root/feed/parser.cpp" "$root/feed/sha256.cpp" "$root/feed/text.cpp" \
  "$root/messages/records.cpp" "$root/messages/secure_bytes.cpp" \
  -lcrypto -o "$work/feed_fuzzer"

exec "$work/feed_fuzzer" \
  -max_total_time="$seconds" -max_len=8192 -rss_limit_mb=1024 -timeout=10 \
  -dict="$here/feed.dict" -artifact_prefix="$work/artifacts/" -print_final_stats=1 \
  "$work/corpus"
