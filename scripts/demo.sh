#!/usr/bin/env bash
# The main job end to end on an embedded default: a development setup (PKI, master key, tokens,
# config), a synthetic feed of 1,000 residents and their tax records, a node on its own database,
# the feeds loaded through the admin interface, the fiscal year opened, one certificate issued
# through a center client over mutual TLS and written to a file, the node stopped cleanly.
set -euo pipefail

build=${1:-build}
root=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "$root" && cd "$build" && pwd)
out="$root/demo-out"
residents=1000
fiscal_year=2025

say() { echo "demo: $*"; }
fail() { echo "demo: error: $*" >&2; exit 1; }

rm -rf "$out/data" "$out/feeds" "$out/certificate.pdf" "$out/ports.json"
"$root/scripts/dev-setup.sh" "$out" >/dev/null
# shellcheck source=/dev/null
. "$out/env.sh"

mkdir -p "$out/feeds"
"$build/tools/feedgen/kofu-feedgen" --kind both --count "$residents" --fiscal-year "$fiscal_year" \
  --out "$out/feeds" >/dev/null 2>&1
say "generated $residents residents and their $fiscal_year tax records in $out/feeds"

"$build/apps/kofud" --config "$out/kofu.conf" >"$out/kofud.log" 2>&1 &
pid=$!
trap 'kill -TERM $pid 2>/dev/null || true; wait $pid 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  [ -s "$out/ports.json" ] && break
  kill -0 $pid 2>/dev/null || { cat "$out/kofud.log" >&2; fail "kofud did not start"; }
  sleep 0.1
done
[ -s "$out/ports.json" ] || fail "kofud did not write its ports"
admin=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["admin"])' "$out/ports.json")
center=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["center"])' "$out/ports.json")
say "kofud is up (pid $pid): center https://127.0.0.1:$center, admin http://127.0.0.1:$admin"

admin_call() { curl -sS --fail-with-body -H "Authorization: Bearer $KOFU_OPERATOR_TOKEN" "$@"; }
for f in residents.csv "tax-$fiscal_year.csv"; do
  id=$(admin_call -X POST -H "Content-Type: text/csv" --data-binary "@$out/feeds/$f" \
    "http://127.0.0.1:$admin/admin/v1/feeds" | python3 -c 'import json,sys; print(json.load(sys.stdin)["feed_id"])')
  state=""
  for _ in $(seq 1 300); do
    state=$(admin_call "http://127.0.0.1:$admin/admin/v1/feeds/$id" |
      python3 -c 'import json,sys; print(json.load(sys.stdin)["state"])')
    case "$state" in applied|rejected) break ;; esac
    sleep 0.1
  done
  [ "$state" = applied ] || fail "feed $f was $state"
  say "feed $f applied (feed $id)"
done
admin_call -X POST -H "Content-Type: application/json" -d "{\"fiscal_year\": $fiscal_year}" \
  "http://127.0.0.1:$admin/admin/v1/rollover" >/dev/null
say "fiscal year $fiscal_year opened for issuance"

# The first resident who can be certified: active, no hold, a filed declaration.
code=$(python3 - "$out/feeds/residents.csv" "$out/feeds/tax-$fiscal_year.csv" <<'PY'
import csv, sys
def rows(path):
    with open(path, encoding="utf-8") as f:
        lines = [l for l in f if not l.startswith("#")]
    return list(csv.DictReader(lines))
filed = {r["resident_code"] for r in rows(sys.argv[2]) if r["declaration"] == "filed"}
for r in rows(sys.argv[1]):
    if r["status"] == "active" and r["hold"] == "" and r["resident_code"] in filed:
        print(r["resident_code"]); break
PY
)
[ -n "$code" ] || fail "no issuable resident in the generated feed"
"$build/tools/center_client/kofu-center" --port "$center" --ca "$out/ca.crt" \
  --cert "$out/center.crt" --key "$out/center.key" --resident "$code" \
  --out "$out/certificate.pdf" >/dev/null || fail "the issuance failed"
pdftotext "$out/certificate.pdf" - | grep -q "所得・課税" || fail "the certificate has no title text"
kill -TERM $pid
wait $pid || fail "kofud did not stop cleanly"
trap - EXIT
say "the node stopped cleanly"
echo "demo: certificate written to $out/certificate.pdf"
