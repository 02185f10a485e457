#!/usr/bin/env bash
# Serve the mock ConnectWise on a port for a vendor's own client:
#   scripts/serve.sh [PORT] [ROLE]            one API member with a role profile or role file
#   scripts/serve.sh [PORT] MEMBERS.toml      several API members, each with its role and keys
#                                             (fixtures/sandbox-members.example.toml)
set -euo pipefail
cd "$(dirname "$0")/.."
port="${1:-8089}"
second="${2:-least-privilege}"
if [[ "$second" == *.toml ]] && grep -q '^\[\[member\]\]' "$second"; then
    exec cargo run --release --quiet -- serve --port "$port" --members "$second"
fi
exec cargo run --release --quiet -- serve --port "$port" --role "$second"
