#!/usr/bin/env bash
# Runs every test billcalc has, installing what a fresh machine lacks first:
# native unit, property and golden-vector tests; the npm package built and tested in Node;
# the golden vectors in headless Chromium. Usage: bash scripts/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"

step() { printf '\n== %s\n' "$*"; }

step "Chromium and ChromeDriver (Debian packages)"
if ! { [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; }; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq chromium chromium-driver
fi

step "format"
cargo fmt --all -- --check

step "native tests (unit, properties, golden vectors; benches compiled and run once)"
cargo test --all-targets

step "npm package (installs the wasm32 target, wasm-bindgen CLI and npm tools if missing)"
bash scripts/build-pkg.sh

step "Node tests against the built package"
bash scripts/test-node.sh

step "pages in headless Chromium (playwright-core driving Debian's Chromium)"
node --test tests/browser/*.test.mjs

step "golden vectors in headless Chromium"
CHROMEDRIVER=/usr/bin/chromedriver cargo test --target wasm32-unknown-unknown --test web
