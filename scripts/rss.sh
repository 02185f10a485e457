#!/usr/bin/env bash
# Benchmark (not a test): resident memory of `cw-conform serve` under a sustained,
# authenticated read load from wrk, on 127.0.0.1 only.
#
#   scripts/rss.sh [SECONDS] [CONNECTIONS] [BINARY]
#
# Builds the release binary (unless BINARY is given, e.g. an older build to compare),
# starts `serve`, runs wrk for SECONDS (default 30) with CONNECTIONS (default 16) against
# a ticket list, samples the serve process's VmRSS every second, and prints the first,
# peak and last sample and wrk's requests per second. Installs wrk from Debian when missing.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-30}"
connections="${2:-16}"
binary="${3:-}"

if ! command -v wrk > /dev/null; then
  echo "installing wrk (apt-get)" >&2
  apt-get update -qq > /dev/null
  apt-get install -y -qq wrk > /dev/null
fi
if [ -z "$binary" ]; then
  cargo build --release --quiet
  binary="${CARGO_TARGET_DIR:-target}/release/cw-conform"
fi

scratch="$(mktemp -d)"
serve_pid=""
cleanup() {
  if [ -n "$serve_pid" ]; then kill "$serve_pid" 2> /dev/null || true; wait "$serve_pid" 2> /dev/null || true; fi
  rm -rf "$scratch"
}
trap cleanup EXIT

"$binary" serve --port 0 --role read-only-discovery > "$scratch/serve.out" 2>&1 &
serve_pid=$!
for _ in $(seq 1 100); do
  grep -q "Press Ctrl-C to stop." "$scratch/serve.out" && break
  sleep 0.1
done
site="$(sed -n 's/^Mock ConnectWise serving at //p' "$scratch/serve.out")"
case "$site" in
  http://127.0.0.1:*) ;;
  *) echo "serve did not start on 127.0.0.1:" >&2; cat "$scratch/serve.out" >&2; exit 1 ;;
esac
# serve's mock-only default keys (printed in its banner).
authorization="Basic $(printf '%s' 'northwind+ai-integration-public:ai-integration-private' | base64 -w0)"
url="$site/v4_6_release/apis/3.0/service/tickets?conditions=closedFlag%3Dfalse&pageSize=5"

rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$serve_pid/status"; }
rss_kib > "$scratch/rss"
(
  for _ in $(seq 1 "$seconds"); do
    sleep 1
    rss_kib >> "$scratch/rss" 2> /dev/null || break
  done
) &
sampler=$!
wrk --latency -t 2 -c "$connections" -d "${seconds}s" \
  -H "Authorization: $authorization" -H "clientId: rss-benchmark" \
  "$url" > "$scratch/wrk.out"
wait "$sampler"

status_line="$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: $authorization" -H 'clientId: rss-benchmark' "$url" || true)"
first="$(head -n 1 "$scratch/rss")"
peak="$(sort -n "$scratch/rss" | tail -n 1)"
last="$(tail -n 1 "$scratch/rss")"
requests="$(awk '/requests in/ { print $1 }' "$scratch/wrk.out")"
printf 'binary:        %s\n' "$binary"
printf 'load:          %s s, %s connections, GET %s (answer %s)\n' "$seconds" "$connections" "${url#"$site"}" "$status_line"
printf 'requests:      %s (%s req/s)\n' "$requests" "$(awk '/Requests\/sec/ { print $2 }' "$scratch/wrk.out")"
printf 'non-2xx:       %s\n' "$(awk '/Non-2xx/ { print $NF }' "$scratch/wrk.out" | grep . || echo 0)"
printf 'RSS first:     %s KiB\n' "$first"
printf 'RSS peak:      %s KiB\n' "$peak"
printf 'RSS last:      %s KiB\n' "$last"
if [ -n "$requests" ] && [ "$requests" -gt 0 ]; then
  printf 'growth/request: %s bytes\n' "$(( (last - first) * 1024 / requests ))"
fi
