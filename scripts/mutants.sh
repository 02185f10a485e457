#!/usr/bin/env bash
# Mutation testing (not run in CI: it is slow on 2 cores). cargo-mutants changes one small
# thing at a time in the code that decides what is allowed, rebuilds, and runs the suite;
# a mutant the suite still passes ("missed") is a behaviour no test pins down. Each one is
# either killed by a sharper scenario or test, or listed in docs/mutants.md with the
# reason it is acceptable.
#
#   scripts/mutants.sh [SHARD...] [-- CARGO-MUTANTS-ARGS...]
#
# Shards, run in this order when none is named (smallest first):
# - policy:    src/policy.rs, the integration's safety policy (SAFE-01 to SAFE-10).
# - mock-auth: the mock's authorisation, where a request is checked against the member's
#              role: `permits`, `Call::level` and `Call::forbidden` in
#              src/mock/responder/mod.rs; `Call::collection`, `guard_read`, `guard_write`,
#              `create` and `edit` in src/mock/responder/collections.rs (their other
#              functions are paging, conditions and records, not authorisation).
# - reference: src/integration/reference.rs, the reference integration.
# - judge:     src/integration/mcp/judge.rs, judging an MCP tool call by the requests the
#              mock received.
#
# The test command is the Gherkin suite (`--test conformance`, the suite CI runs), with the
# library's unit tests (`--lib`) where a file has its own: the policy's and the reference
# integration's. The mock's authorisation has none (what it allows is specified by the
# scenarios), so its shard builds and runs the suite alone: half the build per mutant.
# The judge only runs for an integration behind MCP, so its shard runs the suite through
# `cw-conform mcp-serve` instead (`--test it`, the `mcp::` tests) with the library's
# `mcp::` tests (the judge's own); the examples those tests start are built once, before
# the mutants.
#
# Arguments after `--` go to cargo-mutants, e.g. `-- --shard 0/4`, `-- --list`, or
# `-- --re 'permits'`.
#
# Cost: every mutant rebuilds this crate and its test binaries, never the dependencies.
# Builds use the `mutants` profile (Cargo.toml: no debug info) in one target directory
# kept between runs and shards (target/mutants/build; the first run builds the
# dependencies there once). cargo-mutants works on a copy of the tree, so the work tree
# can be edited while it runs. Everything runs niced (`nice -n 10`), one mutant at a time.
#
# Results: target/mutants/SHARD/mutants.out (caught.txt, missed.txt, unviable.txt,
# timeout.txt, outcomes.json, a log per mutant), and a score line per shard on stdout and
# in target/mutants/scores.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"

shards=()
extra=()
while (($#)); do
  case "$1" in
    --) shift; extra=("$@"); break ;;
    policy | mock-auth | reference | judge) shards+=("$1"); shift ;;
    all) shards+=(policy mock-auth reference judge); shift ;;
    *)
      echo "scripts/mutants.sh: unknown shard \"$1\" (expected policy, mock-auth, reference, judge or all)" >&2
      exit 2
      ;;
  esac
done
((${#shards[@]})) || shards=(policy mock-auth reference judge)

if ! cargo mutants --version > /dev/null 2>&1; then
  echo "installing cargo-mutants (cargo install --locked cargo-mutants)" >&2
  nice -n 10 cargo install --locked cargo-mutants
fi

out="$root/target/mutants"
mkdir -p "$out"
export CARGO_TARGET_DIR="$out/build"
# Linking the test binaries is a large part of each mutant's build: mold (Debian's `mold`)
# links them several times faster than the default linker when it is installed. Only this
# script's own target directory is built this way.
if command -v mold > /dev/null 2>&1; then
  export RUSTFLAGS="${RUSTFLAGS:-} -C link-arg=-fuse-ld=mold"
fi

# A run of one shard of a file (`-- --shard K/N`) keeps its results apart from the others'.
part=""
for ((i = 0; i < ${#extra[@]}; i++)); do
  case "${extra[i]}" in
    --shard) part="-${extra[i + 1]//\//-of-}" ;;
    --shard=*) part="-${extra[i]#--shard=}"; part="${part//\//-of-}" ;;
  esac
done

score() {
  local dir="$1/mutants.out" caught missed unviable timeout
  caught=$(wc -l < "$dir/caught.txt")
  missed=$(wc -l < "$dir/missed.txt")
  unviable=$(wc -l < "$dir/unviable.txt")
  timeout=$(wc -l < "$dir/timeout.txt")
  if ((caught + missed)); then
    printf '%s: score %d%% (%d caught, %d missed; %d unviable, %d timeouts)\n' "$2" \
      $((100 * caught / (caught + missed))) "$caught" "$missed" "$unviable" "$timeout"
  else
    printf '%s: no viable mutant (%d unviable, %d timeouts)\n' "$2" "$unviable" "$timeout"
  fi
}

for shard in "${shards[@]}"; do
  targets=(--cargo-arg=--lib --cargo-arg=--test=conformance)
  test_args=()
  case "$shard" in
    policy) files=(--file src/policy.rs) ;;
    mock-auth)
      files=(--file src/mock/responder/mod.rs --file src/mock/responder/collections.rs
        --re '\b(permits|Call<[^>]*>::(level|forbidden|collection|guard_read|guard_write|create|edit))\b')
      targets=(--cargo-arg=--test=conformance)
      ;;
    reference) files=(--file src/integration/reference.rs) ;;
    judge)
      files=(--file src/integration/mcp/judge.rs)
      targets=(--cargo-arg=--lib --cargo-arg=--test=it)
      test_args=(-- -- mcp::)
      nice -n 10 cargo build --profile mutants --examples --quiet
      ;;
  esac
  started=$(date +%s)
  status=0
  nice -n 10 cargo mutants --profile mutants --jobs 1 --output "$out/$shard$part" \
    --no-shuffle --timeout-multiplier 3 \
    "${files[@]}" "${targets[@]}" "${extra[@]}" "${test_args[@]}" || status=$?
  # cargo-mutants exits 2 when a mutant was missed, 3 on a timeout: the run itself worked.
  case "$status" in
    0 | 2 | 3) ;;
    *) echo "scripts/mutants.sh: cargo mutants failed on shard $shard (exit $status)" >&2; exit "$status" ;;
  esac
  if [[ -f "$out/$shard$part/mutants.out/caught.txt" ]]; then
    line="$(score "$out/$shard$part" "$shard$part"), $(($(date +%s) - started)) s"
    echo "$line"
    echo "$(date -u +%FT%TZ) $line" >> "$out/scores.txt"
  fi
done
