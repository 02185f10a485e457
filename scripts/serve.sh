#!/usr/bin/env bash
# Serve the mock ConnectWise on a port for a vendor's own client: scripts/serve.sh [PORT] [ROLE].
set -euo pipefail
cd "$(dirname "$0")/.."
exec cargo run --release --quiet -- serve --port "${1:-8089}" --role "${2:-least-privilege}"
