#!/usr/bin/env bash
# Benchmarks (not tests). Each figure is printed as a ratio against its floor, measured
# in the same run, because absolute times on a shared machine do not carry.
#
#   scripts/bench.sh [serve|suite|linear|scaling|reuse|footprint|all] [RUNS]
#
# - serve:   wrk (1 thread, 16 connections, SECONDS, default 10) against `cw-conform serve`
#            answering an authenticated `GET /company/companies?pageSize=10`, and against
#            bare wiremock answering a static list (the floor's `serve`). Goal: >= 0.8.
#            Also by CPU: each server's CPU time per request (wrk shares the cores, so
#            requests/s on a small machine is partly wrk's limit).
# - suite:   the whole built-in suite against the mock, scenarios/s, against the floor's
#            500 scenarios of one wiremock server and three round trips each. Goal: >= 0.5.
#            Also by CPU time (user + system), which other builds on the machine sway less.
# - linear:  one generated feature of 1k and one of 20k scenarios; ms per scenario of each
#            and their ratio. Goal: 20k within 1.5x of 1k per scenario.
# - scaling: the whole suite at --concurrency 1, 2, and the CPU count (and 8 when the
#            machine has 8 or more cores). Goal: never slower with more; 3x at 8 vs 1.
#            Then the default concurrency on one thread (--threads 1) and on one per CPU.
# - reuse:   a subset of the suite (REUSE_TAGS) through a slow-starting MCP server
#            (examples/faulty_integration.rs --start-delay-ms 1000, the reference
#            integration) with and without --reuse-servers, and the reference integration in
#            process. Goal: with reuse, under 3x the in-process time plus one start (1 s) per
#            server the run started (one per credential set and role).
# - footprint: the packages in Cargo.lock and those built in two versions; with
#            FOOTPRINT_BUILD=1 also a clean `cargo build --release` and a clean
#            `cargo test --no-run`, each in a fresh target directory of its own (under
#            FOOTPRINT_DIR, default a temporary one): the crates compiled, wall time, CPU
#            time (user + system, which other builds on the machine sway far less than wall
#            time), the peak RSS of the largest single process (rustc or the linker), the
#            directory's size, the binaries' sizes, and the load average. Nothing else is
#            built first. Run it under `nice` on a shared machine.
#
# The floor is `scripts/floor` (a copy of the stack's floor benchmark), built in
# target/floor. Everything binds to 127.0.0.1. wrk is installed from Debian when missing.
# cw-conform is built where CARGO_TARGET_DIR says (target by default), so a profiling build
# (with symbols, in a target directory of its own) can be measured as it is; CW_CONFORM=PATH
# measures that binary instead, unbuilt (an older build, to compare).
set -euo pipefail
cd "$(dirname "$0")/.."
what="${1:-all}"
runs="${2:-3}"
seconds="${SECONDS_PER_WRK:-10}"
cpus="$(nproc)"

# The footprint measures clean builds of its own, so nothing is built before it.
if [ "$what" != footprint ]; then
  [ -n "${CW_CONFORM:-}" ] || cargo build --release --quiet
  cargo build --release --quiet --manifest-path scripts/floor/Cargo.toml --target-dir target/floor
fi
release="${CARGO_TARGET_DIR:-target}/release"
cw="${CW_CONFORM:-$release/cw-conform}"
floor=./target/floor/release/floor

scratch="$(mktemp -d)"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2> /dev/null || true; wait "$pid" 2> /dev/null || true; done
  rm -rf "$scratch"
}
trap cleanup EXIT

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0) print "n/a"; else printf "%.2f", a / b }'; }
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# The floor's features: 500 scenarios of one wiremock server and three round trips.
mkdir -p "$scratch/floor"
{
  echo "Feature: floor"
  for i in $(seq 0 499); do
    printf '  Scenario: s%d\n    Given a mock server\n    When the client makes three requests\n    Then every answer is 200\n' "$i"
  done
} > "$scratch/floor/floor.feature"

# Wall time of one command in ms; its standard output goes to $scratch/out, and its CPU
# time (user + system, in ms) to $scratch/cpu.
timed() {
  local start end
  start=$(now_ms)
  /usr/bin/time -f '%U %S' -o "$scratch/time" "$@" > "$scratch/out" 2> "$scratch/err" \
    || { cat "$scratch/err" >&2; tail -5 "$scratch/out" >&2; return 1; }
  end=$(now_ms)
  awk '{ printf "%d", ($1 + $2) * 1000 }' "$scratch/time" > "$scratch/cpu"
  echo $(( end - start ))
}

scenarios_in() { grep -Eo '^[0-9]+ scenarios?' "$scratch/out" | grep -Eo '^[0-9]+' | head -1; }

# The CPU time (user + system) a process has used so far, in clock ticks.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

bench_serve() {
  if ! command -v wrk > /dev/null; then
    echo "installing wrk (apt-get)" >&2
    apt-get update -qq > /dev/null && apt-get install -y -qq wrk > /dev/null
  fi
  "$cw" serve --port 0 --role read-only-discovery > "$scratch/serve.out" 2>&1 &
  local ours_pid=$!
  pids+=("$ours_pid")
  local port site
  port="$(free_port)"
  "$floor" serve "$port" > "$scratch/floor.out" 2>&1 &
  local bare_pid=$!
  pids+=("$bare_pid")
  for _ in $(seq 1 100); do
    grep -q "Press Ctrl-C to stop." "$scratch/serve.out" && grep -q listening "$scratch/floor.out" && break
    sleep 0.1
  done
  site="$(sed -n 's/^Mock ConnectWise serving at //p' "$scratch/serve.out")"
  local path="/v4_6_release/apis/3.0/company/companies?pageSize=10"
  local authorization
  authorization="Basic $(printf '%s' 'northwind+ai-integration-public:ai-integration-private' | base64 -w0)"
  local tick
  tick="$(getconf CLK_TCK)"
  # Requests/s under wrk, and the server's CPU time per request in microseconds (wrk
  # shares the machine's cores, so on a small machine the first is partly wrk's limit;
  # the second is the server's own cost): "RPS US".
  load() {
    local pid="$1" url="$2" before after out
    before="$(cpu_ticks "$pid")"
    out="$(wrk -t 1 -c 16 -d "${seconds}s" -H "Authorization: $authorization" -H "clientId: bench" "$url")"
    after="$(cpu_ticks "$pid")"
    awk -v b="$before" -v a="$after" -v hz="$tick" '
      /requests in/ { n = $1 } /^Requests\/sec/ { r = $2 }
      END { printf "%d %.1f", r, (n > 0 ? (a - b) * 1e6 / hz / n : 0) }' <<< "$out"
  }
  echo "serve: wrk -t1 -c16 -d${seconds}s, GET /company/companies?pageSize=10"
  for i in $(seq 1 "$runs"); do
    local ours bare
    read -r ours ours_us <<< "$(load "$ours_pid" "$site$path")"
    read -r bare bare_us <<< "$(load "$bare_pid" "http://127.0.0.1:$port$path")"
    printf '  run %d: cw-conform serve %s req/s (%s us CPU each), bare wiremock %s req/s (%s us CPU each); ratio %s (goal >= 0.8), by CPU %s\n' \
      "$i" "$ours" "$ours_us" "$bare" "$bare_us" "$(ratio "$ours" "$bare")" "$(ratio "$bare_us" "$ours_us")"
  done
}

# The median of the numbers given (the middle one, or the mean of the middle two).
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print "n/a"; else if (NR % 2) print v[(NR + 1) / 2]; else printf "%.2f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

bench_suite() {
  echo "suite: the built-in suite against the mock vs the floor (500 scenarios)"
  local ratios=() cpu_ratios=()
  for i in $(seq 1 "$runs"); do
    local ms cpu count floor_ms floor_cpu ours theirs by_cpu
    ms="$(timed "$cw" run --quiet)"
    cpu="$(cat "$scratch/cpu")"
    count="$(scenarios_in)"
    floor_ms="$(FEATURES="$scratch/floor" timed "$floor")"
    floor_cpu="$(cat "$scratch/cpu")"
    ours="$(awk -v n="$count" -v ms="$ms" 'BEGIN { printf "%.0f", n * 1000 / ms }')"
    theirs="$(awk -v ms="$floor_ms" 'BEGIN { printf "%.0f", 500 * 1000 / ms }')"
    by_cpu="$(awk -v n="$count" -v a="$cpu" -v b="$floor_cpu" 'BEGIN { if (a == 0) print "n/a"; else printf "%.2f", (n / a) / (500 / b) }')"
    printf '  run %d: %s scenarios in %d ms (%s/s, %d CPU-ms); floor 500 in %d ms (%s/s, %d CPU-ms); ratio %s (goal >= 0.5), by CPU %s; load %s\n' \
      "$i" "$count" "$ms" "$ours" "$cpu" "$floor_ms" "$theirs" "$floor_cpu" "$(ratio "$ours" "$theirs")" "$by_cpu" "$(cut -d' ' -f1 /proc/loadavg)"
    ratios+=("$(ratio "$ours" "$theirs")")
    cpu_ratios+=("$by_cpu")
  done
  # One run on a shared machine can be far off either way: the median of the runs is the
  # figure to read.
  printf '  median of %d runs: ratio %s (goal >= 0.5), by CPU %s\n' "$runs" "$(median "${ratios[@]}")" "$(median "${cpu_ratios[@]}")"
}

# One generated feature of N scenarios (as a vendor's generated suite would be: one file),
# cycling through roles, actions and their outcomes.
generated() {
  local n="$1" file="$scratch/generated-$1.feature"
  local cases=(
    'read-only-discovery|search companies "Acme"|allowed'
    'no-access|search companies "Acme"|denied'
    'full-access|get ticket #1001|allowed'
    'no-access|get ticket #1001|denied'
  )
  {
    echo "Feature: generated"
    for i in $(seq 0 $(( n - 1 ))); do
      IFS='|' read -r role action outcome <<< "${cases[$(( i % ${#cases[@]} ))]}"
      printf '  Scenario: case %d\n    Given an API member with the role "%s"\n    When the AI asks to %s\n    Then the outcome is %s\n' \
        "$i" "$role" "$action" "$outcome"
    done
  } > "$file"
  echo "$file"
}

bench_linear() {
  local small large
  small="$(generated 1000)"
  large="$(generated 20000)"
  echo "linear: one generated feature of 1,000 and of 20,000 scenarios"
  for i in $(seq 1 "$runs"); do
    local ms_small n_small ms_large n_large per_small per_large
    ms_small="$(timed "$cw" run --quiet "$small")"; n_small="$(scenarios_in)"
    ms_large="$(timed "$cw" run --quiet "$large")"; n_large="$(scenarios_in)"
    per_small="$(awk -v ms="$ms_small" -v n="$n_small" 'BEGIN { printf "%.3f", ms / n }')"
    per_large="$(awk -v ms="$ms_large" -v n="$n_large" 'BEGIN { printf "%.3f", ms / n }')"
    printf '  run %d: %s scenarios %s ms/scenario; %s scenarios %s ms/scenario; ratio %s (goal <= 1.5)\n' \
      "$i" "$n_small" "$per_small" "$n_large" "$per_large" "$(ratio "$per_large" "$per_small")"
  done
}

bench_scaling() {
  local levels=(1 2)
  [ "$cpus" -gt 2 ] && levels+=("$cpus")
  [ "$cpus" -ge 8 ] && [ "$cpus" -ne 8 ] && levels+=(8)
  echo "scaling: the whole suite at --concurrency ${levels[*]} on $cpus CPUs"
  for i in $(seq 1 "$runs"); do
    local line="  run $i:" base=""
    for level in "${levels[@]}"; do
      local ms
      ms="$(timed "$cw" run --quiet --concurrency "$level")"
      [ -z "$base" ] && base="$ms"
      line+=" c=$level $ms ms (x$(ratio "$base" "$ms"), $(cat "$scratch/cpu") CPU-ms)"
    done
    # The default concurrency on one thread, and spread over one thread per CPU.
    local one spread
    one="$(timed "$cw" run --quiet --threads 1)"
    spread="$(timed "$cw" run --quiet --threads "$cpus")"
    line+="; c=16 on 1 thread $one ms, on $cpus threads $spread ms (x$(ratio "$one" "$spread"))"
    echo "$line; load $(cut -d' ' -f1 /proc/loadavg)"
  done
}

bench_reuse() {
  local tags="${REUSE_TAGS:-@SAFE-08 or @SAFE-09 or @CL-02 or @TS-01 or @TS-02 or @TS-03 or @TS-04 or @RD-01}"
  local delay_ms=1000 concurrency="$cpus"
  cargo build --release --quiet --examples
  sed -e "s#command = \"{cw_conform}\"#command = \"$(realpath "$release")/examples/faulty_integration\"#" \
      -e "s#args = \[\"mcp-serve\"\]#args = [\"--start-delay-ms\", \"$delay_ms\"]#" \
      -e "s#startup_timeout_seconds = 10#startup_timeout_seconds = 60#" \
      fixtures/mcp/cw-conform-mcp-serve.toml > "$scratch/slow.toml"
  grep -q "start-delay-ms" "$scratch/slow.toml" || { echo "reuse: the mcp-serve config changed shape" >&2; return 1; }
  echo "reuse: $tags, a server that takes $delay_ms ms to start, --concurrency $concurrency"
  for i in $(seq 1 "$runs"); do
    local inproc own kept count servers goal
    inproc="$(timed "$cw" run --quiet --concurrency "$concurrency" --tags "$tags")"
    count="$(scenarios_in)"
    own="$(timed "$cw" run --quiet --concurrency "$concurrency" --tags "$tags" \
      --integration mcp --integration-config "$scratch/slow.toml")"
    kept="$(timed "$cw" run --quiet --concurrency "$concurrency" --tags "$tags" \
      --integration mcp --integration-config "$scratch/slow.toml" --reuse-servers \
      --format json --output "$scratch/kept.json")"
    servers="$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["server_reuse"]["servers_started"])' "$scratch/kept.json")"
    goal=$(( 3 * inproc + servers * delay_ms ))
    printf '  run %d: %s scenarios; in process %d ms; a server per scenario %d ms; reused (%s servers) %d ms = x%s of the goal %d ms (3 x in process + %s starts; goal < 1); reuse %sx faster\n' \
      "$i" "$count" "$inproc" "$own" "$servers" "$kept" "$(ratio "$kept" "$goal")" "$goal" "$servers" "$(ratio "$own" "$kept")"
  done
}

# The size of a file or directory, as `du -sh` gives it.
size_of() { du -sh "$1" | cut -f1; }

bench_footprint() {
  local packages twice
  packages="$(grep -c '^name = ' Cargo.lock)"
  # A package in two versions is built twice, and so is one version with two feature sets
  # (one for build scripts and macros, one for the crate).
  twice="$(cargo tree --duplicates --edges normal,build,dev --depth 0 --prefix none --quiet \
    | awk '/^[a-z]/ { versions[$1] = versions[$1] (versions[$1] == "" ? "" : "/") $2 }
           END { for (name in versions) print name " " versions[name] }' | sort | paste -sd',' | sed 's/,/, /g')"
  echo "footprint: $packages packages in Cargo.lock; built twice: ${twice:-none}"
  [ "${FOOTPRINT_BUILD:-0}" = 1 ] || return 0
  local root="${FOOTPRINT_DIR:-$scratch}" build
  for build in "build --release" "test --no-run"; do
    local dir="$root/footprint-target" start end crates cpu peak binaries
    rm -rf "$dir"
    start=$(now_ms)
    # shellcheck disable=SC2086 # the words of the cargo command
    /usr/bin/time -v -o "$scratch/time" cargo $build --target-dir "$dir" > /dev/null 2> "$scratch/err" \
      || { cat "$scratch/err" >&2; return 1; }
    end=$(now_ms)
    crates="$(grep -c '^ *Compiling ' "$scratch/err")"
    cpu="$(awk -F': ' '/User time|System time/ { s += $2 } END { printf "%d", s }' "$scratch/time")"
    peak="$(awk -F': ' '/Maximum resident set size/ { printf "%d MB", $2 / 1024 }' "$scratch/time")"
    if [ "$build" = "build --release" ]; then
      binaries="cw-conform $(size_of "$dir/release/cw-conform")"
    else
      # The debug binary (the `it` tests run it), and each test executable cargo names
      # ("Executable unittests src/lib.rs (PATH)"), by its source.
      binaries="cw-conform $(size_of "$dir/debug/cw-conform")"
      local source executable
      while IFS='|' read -r source executable; do
        binaries+=", $source $(size_of "$executable")"
      done < <(sed -n 's/^ *Executable \(.*\) (\(.*\))$/\1|\2/p' "$scratch/err")
    fi
    printf '  clean cargo %s: %s crates compiled in %d s wall, %d s CPU (user + system), peak RSS %s; target %s; binaries: %s; load %s\n' \
      "$build" "$crates" $(( (end - start) / 1000 )) "$cpu" "$peak" "$(size_of "$dir")" "$binaries" "$(cut -d' ' -f1-3 /proc/loadavg)"
    rm -rf "$dir"
  done
}

case "$what" in
  serve) bench_serve ;;
  suite) bench_suite ;;
  linear) bench_linear ;;
  scaling) bench_scaling ;;
  reuse) bench_reuse ;;
  footprint) bench_footprint ;;
  all) bench_serve; bench_suite; bench_linear; bench_scaling; bench_reuse; bench_footprint ;;
  *) echo "usage: scripts/bench.sh [serve|suite|linear|scaling|reuse|footprint|all] [RUNS]" >&2; exit 2 ;;
esac
