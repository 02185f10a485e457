#!/usr/bin/env bash
# Installs Debian's headless-capable Chromium for the living-documentation browser test
# (tests/it/docs.rs). Idempotent: does nothing when `chromium` is already on PATH.
# Needs root (or sudo) and the Debian package archive.
set -euo pipefail
if command -v chromium >/dev/null 2>&1; then
    echo "chromium is already installed: $(chromium --version 2>/dev/null || echo chromium)"
    exit 0
fi
as_root=()
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        as_root=(sudo)
    else
        echo "error: installing chromium needs root: run this script as root or install sudo" >&2
        exit 1
    fi
fi
export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get update
"${as_root[@]}" apt-get install -y --no-install-recommends chromium fonts-dejavu-core
chromium --version
