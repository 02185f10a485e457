#!/usr/bin/env bash
# Benchmark: wall time of the whole suite against the built-in mock (release build), N runs.
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-5}"
cargo build --release --quiet
for i in $(seq 1 "$runs"); do
  start=$(date +%s%N)
  ./target/release/cw-conform run --quiet > "${TMPDIR:-/tmp}/cw-conform-bench.txt"
  end=$(date +%s%N)
  ms=$(( (end - start) / 1000000 ))
  printf 'run %d: %d ms  (%s)\n' "$i" "$ms" "$(grep -E '^[0-9]+ scenarios' "${TMPDIR:-/tmp}/cw-conform-bench.txt")"
done
