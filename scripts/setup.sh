#!/usr/bin/env bash
# Installs everything labelcast needs on a fresh Debian machine with rustup and node:
# the wasm32 target, Trunk and wasm-bindgen-cli (exact versions; it brings
# wasm-bindgen-test-runner), and, with --test, the browser test tools (Debian's Chromium and
# chromedriver, npm playwright-core). Idempotent: anything already
# at the right version is skipped.
set -euo pipefail
cd "$(dirname "$0")/.."

TRUNK_VERSION=0.21.14
WITH_TEST=0
for arg in "$@"; do
  case "$arg" in
    --test) WITH_TEST=1 ;;
    *) echo "usage: $0 [--test]" >&2; exit 2 ;;
  esac
done

say() { printf '\n==> %s\n' "$*" >&2; }
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
export PATH="$HOME/.cargo/bin:$PATH"

say "Rust target wasm32-unknown-unknown"
if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  rustup target add wasm32-unknown-unknown
fi

say "Rust components rustfmt and clippy (the tests check formatting and lints)"
for c in rustfmt clippy; do
  rustup component list --installed | grep -q "^$c" || rustup component add "$c"
done

say "Rust dependencies (cargo fetch)"
cargo fetch --locked

# wasm-bindgen-cli must match the wasm-bindgen crate in Cargo.lock exactly.
WBG_VERSION=$(awk '/^name = "wasm-bindgen"$/{getline; gsub(/version = |"/, ""); print; exit}' Cargo.lock)
say "wasm-bindgen-cli $WBG_VERSION"
if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$WBG_VERSION" ]; then
  cargo install wasm-bindgen-cli --version "$WBG_VERSION"
fi

say "trunk $TRUNK_VERSION"
if [ "$(trunk --version 2>/dev/null | awk '{print $2}')" != "$TRUNK_VERSION" ]; then
  cargo install trunk --version "$TRUNK_VERSION" --locked
fi

if [ "$WITH_TEST" = 1 ]; then
  say "Chromium (Debian) for browser tests"
  # chromedriver: wasm-bindgen-test-runner drives Chromium through it for the GPU tests.
  if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
    $SUDO apt-get update
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium chromium-driver
  fi
  # lavapipe: a Vulkan driver on the CPU, so the GPU backend's tests run natively without a GPU.
  say "Mesa Vulkan drivers (lavapipe) for the GPU backend tests"
  if [ ! -e /usr/share/vulkan/icd.d/lvp_icd.x86_64.json ] && ! ls /usr/share/vulkan/icd.d/lvp_icd*.json >/dev/null 2>&1; then
    $SUDO apt-get update
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends mesa-vulkan-drivers
  fi
  # openssl makes the throwaway certificate of the e2e test's local https "model hub".
  if ! command -v openssl >/dev/null; then
    $SUDO apt-get update
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends openssl
  fi
  say "npm packages for the browser tests (playwright-core; no browser download)"
  (cd tests/e2e && npm ci --no-audit --no-fund)
fi
say "setup done"
