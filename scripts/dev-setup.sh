#!/usr/bin/env bash
# Writes a complete development setup for one kofu node into DIR: a PKI (the center CA, the server
# certificate, the center's client certificate and a stranger's for negative tests), a master key,
# one admin token of each role, kofu.conf and env.sh. docs/DEV-SETUP.md describes what it writes.
#
# Idempotent: a re-run creates only what is missing and never replaces an existing key, CA,
# master key or token unless --force is given; a leaf certificate that no longer fits its key or
# CA (a new CA key, an interrupted run) is issued again. kofu.conf and env.sh are derived from the
# rest and rewritten when their content would change (the previous kofu.conf is kept as .bak).
set -euo pipefail

readonly validity_days=825
readonly curve=P-256
readonly municipality_code=272051
readonly center_client_cn=jlis-center

usage() {
  cat <<'USAGE'
usage: scripts/dev-setup.sh DIR [--center-port N] [--admin-port N] [--inbox] [--admin-tls] [--force]
  DIR              where to write the setup (created if missing)
  --center-port N  center listener port on 127.0.0.1 (default 0: the node picks one, see ports.json)
  --admin-port N   admin listener port on 127.0.0.1 (default 0)
  --inbox          an inbox folder DIR/inbox for feeds named by POST /admin/v1/feeds {"path"}
  --admin-tls      serve the admin interface over HTTPS with the server certificate (default: HTTP)
  --force          regenerate every key, certificate and token, even those that exist
USAGE
}

fail() {
  echo "dev-setup: error: $*" >&2
  exit 1
}

dir=""
center_port=0
admin_port=0
inbox=false
admin_tls=false
force=false
while [ $# -gt 0 ]; do
  case "$1" in
    --center-port) [ $# -ge 2 ] || fail "--center-port needs a value"; center_port=$2; shift 2 ;;
    --admin-port) [ $# -ge 2 ] || fail "--admin-port needs a value"; admin_port=$2; shift 2 ;;
    --inbox) inbox=true; shift ;;
    --admin-tls) admin_tls=true; shift ;;
    --force) force=true; shift ;;
    -h|--help) usage; exit 0 ;;
    -*) usage >&2; fail "unknown option $1" ;;
    *) [ -z "$dir" ] || fail "more than one DIR given ($dir, $1)"; dir=$1; shift ;;
  esac
done
[ -n "$dir" ] || { usage >&2; fail "DIR is missing"; }
for port in "$center_port" "$admin_port"; do
  if ! [[ "$port" =~ ^[0-9]{1,5}$ ]] || [ "$port" -gt 65535 ]; then
    fail "not a port number: $port"
  fi
done
if [ "$center_port" -ne 0 ] && [ "$center_port" -eq "$admin_port" ]; then
  fail "the center and admin ports must differ"
fi
command -v openssl >/dev/null || fail "the openssl command is not installed (apt-get install openssl)"

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
mkdir -p "$dir" || fail "cannot create $dir"
dir=$(cd "$dir" && pwd)
# Everything written here is private to the user: keys, tokens, and a config that names them.
umask 077
work=$(mktemp -d "$dir/.dev-setup.XXXXXX")
trap 'rm -rf "$work"' EXIT

created() { echo "created $1"; }

# openssl prints progress and warnings on stderr; show them only when it fails.
run_openssl() {
  if ! openssl "$@" >"$work/openssl.log" 2>&1; then
    cat "$work/openssl.log" >&2
    fail "openssl $1 failed"
  fi
}

# An extension profile for `openssl x509 -extfile`: ca, server or client.
write_profile() {
  local profile=$1 file=$2
  {
    echo "[v3]"
    case "$profile" in
      ca)
        echo "basicConstraints = critical, CA:TRUE, pathlen:0"
        echo "keyUsage = critical, keyCertSign, cRLSign"
        echo "subjectKeyIdentifier = hash"
        ;;
      server)
        echo "basicConstraints = critical, CA:FALSE"
        echo "keyUsage = critical, digitalSignature"
        echo "extendedKeyUsage = serverAuth"
        echo "subjectAltName = DNS:localhost, IP:127.0.0.1, IP:::1"
        echo "subjectKeyIdentifier = hash"
        echo "authorityKeyIdentifier = keyid:always"
        ;;
      client)
        echo "basicConstraints = critical, CA:FALSE"
        echo "keyUsage = critical, digitalSignature"
        echo "extendedKeyUsage = clientAuth"
        echo "subjectKeyIdentifier = hash"
        echo "authorityKeyIdentifier = keyid:always"
        ;;
    esac
  } >"$file"
}

# An ECDSA P-256 private key in NAME.key, unless one exists. Returns 0 when it created one.
make_key() {
  local name=$1
  if [ -f "$dir/$name.key" ] && ! $force; then
    return 1
  fi
  run_openssl genpkey -algorithm EC -pkeyopt "ec_paramgen_curve:$curve" \
    -pkeyopt ec_param_enc:named_curve -out "$work/$name.key"
  chmod 600 "$work/$name.key"
  mv -f "$work/$name.key" "$dir/$name.key"
  created "$dir/$name.key"
  return 0
}

# A self-signed CA certificate NAME.crt for NAME.key (created when missing). $2 is the subject CN.
make_ca() {
  local name=$1 cn=$2 new_key=false
  make_key "$name" && new_key=true
  if [ -f "$dir/$name.crt" ] && ! $new_key && ! $force; then
    return 0
  fi
  write_profile ca "$work/ca.ext"
  run_openssl req -new -key "$dir/$name.key" -subj "/O=kofu development/CN=$cn" -out "$work/$name.csr"
  run_openssl x509 -req -in "$work/$name.csr" -signkey "$dir/$name.key" -sha256 \
    -days "$validity_days" -set_serial "0x$(openssl rand -hex 16)" \
    -extfile "$work/ca.ext" -extensions v3 -out "$work/$name.crt"
  chmod 644 "$work/$name.crt"
  mv -f "$work/$name.crt" "$dir/$name.crt"
  created "$dir/$name.crt"
}

# True when NAME.crt belongs to NAME.key, chains to the CA named $2 and is valid for another day.
cert_is_good() {
  local name=$1 ca=$2 cert_pub key_pub
  cert_pub=$(openssl x509 -in "$dir/$name.crt" -noout -pubkey 2>/dev/null) || return 1
  key_pub=$(openssl pkey -in "$dir/$name.key" -pubout 2>/dev/null) || return 1
  [ "$cert_pub" = "$key_pub" ] || return 1
  openssl verify -x509_strict -CAfile "$dir/$ca.crt" "$dir/$name.crt" >/dev/null 2>&1 || return 1
  openssl x509 -in "$dir/$name.crt" -noout -checkend 86400 >/dev/null 2>&1
}

# A leaf certificate NAME.crt for NAME.key, signed by the CA named $2; $3: server|client, $4: CN.
# A certificate that no longer fits its key or CA (a new CA key, an interrupted run) is issued
# again; the key itself is never replaced without --force.
make_leaf() {
  local name=$1 ca=$2 profile=$3 cn=$4 verb=created
  make_key "$name" || true
  if [ -f "$dir/$name.crt" ] && ! $force; then
    if cert_is_good "$name" "$ca"; then
      return 0
    fi
    verb="reissued (the old one did not fit $name.key or $ca.crt, or was expiring)"
  fi
  write_profile "$profile" "$work/$name.ext"
  run_openssl req -new -key "$dir/$name.key" -subj "/O=kofu development/CN=$cn" -out "$work/$name.csr"
  run_openssl x509 -req -in "$work/$name.csr" -CA "$dir/$ca.crt" -CAkey "$dir/$ca.key" -sha256 \
    -days "$validity_days" -set_serial "0x$(openssl rand -hex 16)" \
    -extfile "$work/$name.ext" -extensions v3 -out "$work/$name.crt"
  chmod 644 "$work/$name.crt"
  mv -f "$work/$name.crt" "$dir/$name.crt"
  if [ "$verb" = created ]; then
    created "$dir/$name.crt"
  else
    echo "$verb: $dir/$name.crt"
  fi
}

# A file holding `openssl rand -hex 32` and a newline, unless it exists.
make_secret() {
  local file=$1
  if [ -f "$dir/$file" ] && ! $force; then
    return 0
  fi
  openssl rand -hex 32 >"$work/$file" || fail "openssl rand failed"
  chmod 600 "$work/$file"
  mv -f "$work/$file" "$dir/$file"
  created "$dir/$file"
}

# The first line of a secret file, checked to be 64 lowercase hex characters.
read_secret() {
  local value
  value=$(head -n 1 "$dir/$1")
  [[ "$value" =~ ^[0-9a-f]{64}$ ]] || fail "$dir/$1 does not hold 64 lowercase hex characters (re-run with --force)"
  printf '%s' "$value"
}

sha256_hex() {
  printf '%s' "$1" | openssl dgst -sha256 -r | cut -d' ' -f1
}

# The final check of a certificate (after make_ca / make_leaf): fails with a message naming it.
check_pair() {
  cert_is_good "$1" "$2" \
    || fail "$dir/$1.crt does not belong to $1.key, does not verify against $2.crt or expires within a day (re-run with --force)"
}

# Writes $2 (text) to $1 when it differs from what is there; keeps the old file as $1.bak if asked.
write_derived() {
  local file=$1 text=$2 keep_backup=$3
  if [ -f "$dir/$file" ] && [ "$(cat "$dir/$file")" = "$text" ]; then
    return 0
  fi
  printf '%s\n' "$text" >"$work/$file"
  if [ -f "$dir/$file" ]; then
    $keep_backup && cp -p "$dir/$file" "$dir/$file.bak"
    mv -f "$work/$file" "$dir/$file"
    echo "updated $dir/$file"
  else
    mv -f "$work/$file" "$dir/$file"
    created "$dir/$file"
  fi
}

if $force && [ -d "$dir/data" ] && [ -n "$(ls -A "$dir/data")" ]; then
  echo "dev-setup: warning: $dir/data was encrypted under the old master key; delete it to start afresh" >&2
fi

# The PKI. Leaves that no longer chain to their CA (a new CA key) are issued again.
make_ca ca "kofu dev center CA"
check_pair ca ca
make_leaf server ca server localhost
make_leaf center ca client "$center_client_cn"
make_ca stranger-ca "kofu dev stranger CA"
check_pair stranger-ca stranger-ca
make_leaf stranger stranger-ca client "$center_client_cn"
check_pair server ca
check_pair center ca
check_pair stranger stranger-ca
if openssl verify -CAfile "$dir/ca.crt" "$dir/stranger.crt" >/dev/null 2>&1; then
  fail "stranger.crt verifies against the center CA; the negative tests would prove nothing"
fi

fingerprint=$(openssl x509 -in "$dir/center.crt" -outform DER | openssl dgst -sha256 -r | cut -d' ' -f1)
[[ "$fingerprint" =~ ^[0-9a-f]{64}$ ]] || fail "cannot compute the fingerprint of center.crt"
write_derived center.fingerprint "$fingerprint" false
chmod 644 "$dir/center.fingerprint"

make_secret master.key
read_secret master.key >/dev/null
make_secret operator.token
make_secret viewer.token
operator_token=$(read_secret operator.token)
viewer_token=$(read_secret viewer.token)

mkdir -p "$dir/data"
chmod 700 "$dir/data"
inbox_dir=""
if $inbox; then
  inbox_dir=$dir/inbox
  mkdir -p "$inbox_dir"
  chmod 700 "$inbox_dir"
fi

seal_png_file=$repo/certificate/assets/demo_seal.png
body_font_file=/usr/share/fonts/opentype/ipaexfont-mincho/ipaexm.ttf
fallback_font_file=/usr/share/fonts/truetype/ipamj/ipamjm.ttf
for file in "$body_font_file" "$fallback_font_file"; do
  [ -f "$file" ] || echo "dev-setup: warning: $file is missing (apt-get install fonts-ipaexfont-mincho fonts-ipamj-mincho)" >&2
done
[ -f "$seal_png_file" ] || echo "dev-setup: warning: $seal_png_file does not exist yet" >&2

if $admin_tls; then
  admin_tls_block="# HTTPS with the node's server certificate.
tls = true
tls_cert_file = $dir/server.crt
tls_key_file = $dir/server.key"
else
  admin_tls_block="# Plain HTTP: allowed because the listener is on a loopback address.
tls = false
# Used only when tls = true; the server certificate, so that switching needs one edit.
tls_cert_file = $dir/server.crt
tls_key_file = $dir/server.key"
fi

config="# kofu development config, written by scripts/dev-setup.sh; re-running it rewrites this file
# (the previous one is kept as kofu.conf.bak). Not for production: specimen mark on, always open.

[node]
# Where the RocksDB database lives.
data_dir = $dir/data
# 32 random bytes as hex; mode 0600, owned by the user that runs the node.
master_key_file = $dir/master.key
# The node writes {\"center\": N, \"admin\": M} here once it listens (ports 0 are picked by the node).
ports_file = $dir/ports.json
# 吹田市 (JIS X 0402 with its check digit).
municipality_code = $municipality_code
# The city and mayor printed on the certificate; the mayor is fictitious.
city_name = 吹田市
mayor_name = 見本　花子
# Osaka's word for the prefectural inhabitant tax.
prefecture_tax_word = 府民税
# The only supported zone.
time_zone = Asia/Tokyo
# Refuse a master key file that is not 0600 and owned by the node's user.
key_file_checks = true

[center]
# The center interface (mutual TLS); loopback only in development.
listen = 127.0.0.1:$center_port
# The server certificate (SAN localhost, 127.0.0.1, ::1), signed by ca.crt.
tls_cert_file = $dir/server.crt
tls_key_file = $dir/server.key
# Client certificates must chain to this CA (center.crt does, stranger.crt does not).
client_ca_file = $dir/ca.crt
# Allow-list of client certificate fingerprints: center.crt only. Empty: any cert of client_ca_file.
client_fingerprints_sha256 = $fingerprint
# Close a connection idle this long.
idle_timeout_ms = 30000
# A request body must arrive within this time (408 otherwise).
read_timeout_ms = 5000
# Concurrent center connections at most.
connections_max = 512

[admin]
# The operators' interface, loopback only.
listen = 127.0.0.1:$admin_port
$admin_tls_block
# Close a connection idle this long.
idle_timeout_ms = 30000
# A request must arrive within this time.
read_timeout_ms = 30000
# Largest feed upload (4 GiB).
feed_upload_bytes_max = 4294967296

[token.dev-operator]
# SHA-256 of the token in operator.token (the token itself is never in the config).
sha256 = $(sha256_hex "$operator_token")
# May load feeds, roll over, suspend and resume, set holds.
role = operator

[token.dev-viewer]
# SHA-256 of the token in viewer.token.
sha256 = $(sha256_hex "$viewer_token")
# Read-only access.
role = viewer

[issuance]
# Every center request is answered within this time.
deadline_ms = 5000
# A lost answer may be fetched again with the same request_id within this window.
redelivery_window_s = 300
# Live issuance sessions at most; past it 503 overloaded.
sessions_max = 1024
# Least time between two group commits (fsyncs) of the audit log, in microseconds.
commit_interval_us = 2000

[service]
# Always open: 00:00 to 24:00 local time, no closed dates.
open = 00:00
close = 24:00
# Closed date ranges (MM-DD..MM-DD, comma-separated); empty: none.
closed_dates =

[render]
# PDF render workers; 0: one per core.
workers = 0
# Render requests waiting at most.
queue_max = 256
# Print the 見本 (specimen) mark: always in development.
specimen = true
# The official seal image (a demo seal in development).
seal_png_file = $seal_png_file
# IPAex明朝 for the body text, IPAmj明朝 for rare kanji and variation sequences.
body_font_file = $body_font_file
fallback_font_file = $fallback_font_file

[retention]
# Fiscal years of tax data kept at a rollover.
fiscal_years = 1
# Days a moved-out or deceased resident is kept; 0: deleted when the feed says so.
resident_days = 0
# Days audit entries are kept (five years).
audit_days = 1827

[feeds]
# Folder of feed files loaded when named by POST /admin/v1/feeds (a JSON body with their path);
# empty: none.
inbox_dir = $inbox_dir
# Also watch the inbox and load every *.csv in it, this often (ms); 0: not watched.
inbox_poll_ms = 0

[supervisor]
# Restarts of one actor allowed within the window; past it the node stops.
restarts_max = 5
restart_window_s = 60"
write_derived kofu.conf "$config" true

env_text="# Source this file: . $(printf %q "$dir/env.sh") (written by scripts/dev-setup.sh; it holds the admin tokens).
export KOFU_DIR=$(printf %q "$dir")
export KOFU_CONFIG=$(printf %q "$dir/kofu.conf")
export KOFU_OPERATOR_TOKEN=$operator_token
export KOFU_VIEWER_TOKEN=$viewer_token"
write_derived env.sh "$env_text" false

echo "ready: $dir (center client fingerprint $fingerprint)"
