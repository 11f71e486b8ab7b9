#!/usr/bin/env bash
# Sets everything up, fetches the default model, builds the app and serves it on this
# machine only.
#   scripts/serve.sh [PORT]      (default 8080)
set -euo pipefail
cd "$(dirname "$0")/.."
PORT="${1:-8080}"
scripts/setup.sh
scripts/fetch-model.sh
scripts/build-web.sh
exec node tests/e2e/server.mjs dist "$PORT"
