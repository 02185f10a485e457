#!/usr/bin/env bash
# The share of scenarios a sandbox run runs: `cw-conform serve --members` stands in for a
# sandbox whose roles and members were made from `cw-conform sandbox plan`, and the whole
# suite runs against it with the plan's profiles file and --allow-writes.
#
#   scripts/sandbox-share.sh [MEMBERS.toml] [-- RUN-ARGS...]
#
# Without MEMBERS.toml, a members file is written from the plan: one member for each role
# it lists (identifier cw-conform-ROLE, keys ROLE-public / ROLE-private). Prints how many
# scenarios ran (as a share of all scenarios, and of those nothing beyond a sandbox's reach
# keeps out), how many failed, the sandbox's documented behaviours (probed or declared),
# the scenarios that ran with a behaviour the harness emulated, and the left-out ones
# grouped by kind and by reason. It also prints the run's wall time and how many records it created on the stand-in (read
# from a copy of the run's ledger), with the scenarios that created the most when
# RUN-ARGS hold `--concurrency 1` (scenarios are then numbered in the order they ran).
# The scratch directory (plan, report.json, ledger.jsonl, serve and run output) is kept
# and named at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
members=""
if [[ $# -gt 0 && "$1" != "--" ]]; then
    members="$(realpath "$1")"
    shift
fi
[[ "${1:-}" == "--" ]] && shift
cargo build --quiet
bin="$PWD/target/debug/cw-conform"
scratch="$(mktemp -d "${TMPDIR:-/tmp}/sandbox-share.XXXX")"
cd "$scratch"

"$bin" sandbox plan > plan.md
sed -n '/^```toml$/,/^```$/p' plan.md | sed '1d;$d' > profiles.toml
mapfile -t roles < <(sed -n 's/^## Role `\([^`]*\)`$/\1/p' plan.md)
if [[ -z "$members" ]]; then
    members="$scratch/members.toml"
    for role in "${roles[@]}"; do
        printf '[[member]]\nidentifier = "cw-conform-%s"\nrole = "%s"\npublic_key = "%s-public"\nprivate_key = "%s-private"\n\n' \
            "$role" "$role" "$role" "$role" >> "$members"
    done
fi

"$bin" serve --members "$members" --client-id share-client > serve.out 2>&1 &
serve=$!
trap 'kill "$serve" 2>/dev/null || true' EXIT
for _ in $(seq 300); do
    grep -q 'http://127' serve.out && break
    sleep 0.2
done
site="$(grep -o 'http://127[^ /]*' serve.out | head -1)"

keys=()
for role in "${roles[@]}"; do
    stem="$(echo "$role" | tr 'a-z-' 'A-Z_')"
    keys+=("CW_${stem}_PUBLIC_KEY=$role-public" "CW_${stem}_PRIVATE_KEY=$role-private")
done
# The run's ledger is removed once it proves nothing is left; follow it while it lives.
mkdir ledgers
(
    while [[ -z "$(ls ledgers)" ]]; do sleep 0.05; done
    exec tail -n +1 -f ledgers/*.jsonl
) > ledger.jsonl 2>/dev/null &
follower=$!
trap 'kill "$serve" "$follower" 2>/dev/null || true' EXIT
status=0
started=$(date +%s)
env CONNECTWISE_SITE="$site" CONNECTWISE_COMPANY_ID=northwind \
    CONNECTWISE_PUBLIC_KEY=least-privilege-public CONNECTWISE_PRIVATE_KEY=least-privilege-private \
    CONNECTWISE_CLIENT_ID=share-client CONNECTWISE_REQUESTS_PER_MINUTE=900 \
    CONNECTWISE_PROFILES=profiles.toml "${keys[@]}" \
    "$bin" run --allow-writes --ledger-dir ledgers --format json --output report.json "$@" > run.out 2> run.err || status=$?
echo "run exit code: $status, wall time $(( $(date +%s) - started )) s"
sleep 1

python3 - "$@" <<'PY'
import json
from collections import Counter

report = json.load(open("report.json"))
ran = len(report["scenarios"])
left_out = report["left_out"]
total = ran + len(left_out)
# How the reasons of each kind begin (src/harness/sandbox.rs); the first five are beyond
# any sandbox, the last is work left.
kinds = {
    "injects a fault a sandbox cannot produce": "fault",
    "selects one of ConnectWise's documented behaviours this sandbox cannot show": "behaviour more permissive than the sandbox's own",
    "needs a second ConnectWise site": "second site",
    "needs more records than a sandbox run creates": "volume",
    "signs in as a person's own account": "personal account",
    "needs the mock": "seed (work left)",
}
beyond = ("fault", "behaviour more permissive than the sandbox's own", "second site", "volume", "personal account")
def kind(reason):
    return next((k for start, k in kinds.items() if reason.startswith(start)), "other")
unproducible = [l for l in left_out if kind(l["reason"]) in beyond]
rest = total - len(unproducible)
print(f"ran {ran} of {total} scenarios ({100 * ran / total:.1f}%)")
print(f"ran {ran} of the {rest} that nothing beyond a sandbox's reach keeps out ({100 * ran / rest:.1f}%)")
print("failed", sum(1 for s in report["scenarios"] if s.get("failure")))
print("the sandbox's documented behaviours:", "; ".join(report.get("sandbox_behaviours", [])))
emulated = Counter(b for s in report["scenarios"] for b in s.get("emulated", []))
print(f"ran with an emulated behaviour: {sum(1 for s in report['scenarios'] if s.get('emulated'))}")
for behaviour, count in emulated.most_common():
    print(f"{count:4} {behaviour}")
print("left out by kind:")
for k, count in Counter(kind(l["reason"]) for l in left_out).most_common():
    print(f"{count:4} {k}")
print("left out by reason:")
for reason, count in Counter(l["reason"] for l in left_out).most_common():
    print(f"{count:4} {reason}")

import re
events = [json.loads(line) for line in open("ledger.jsonl") if line.strip()]
sends = {e["send"]["seq"]: e["send"] for e in events if "send" in e}
created = [sends[e["created"]["seq"]] for e in events if "created" in e and e["created"]["seq"] in sends]
print(f"records created on the stand-in: {len(created)}")
order = [m.group(1) for line in open("run.out") if (m := re.match(r"\s+Scenario(?: Outline)?: (.*)", line))]
for scope, count in Counter(s["scope"] for s in created).most_common(10):
    if scope == 0:
        name = "(shared by the run's refused catalog sweeps)"
    elif "--concurrency 1" in " ".join(__import__("sys").argv[1:]) and scope <= len(order):
        name = order[scope - 1]
    else:
        name = f"scenario #{scope} of the run"
    print(f"{count:4} {name}")
PY
echo "scratch: $scratch"
