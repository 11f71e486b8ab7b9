#!/usr/bin/env bash
# Builds the browser app into dist/ with Trunk (offline, release).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
trunk build --release
