#!/usr/bin/env bash
# Runs every test billcalc has, installing what a fresh machine lacks first:
# native unit, property and golden-vector tests; the server's tests against SQLite and a
# throwaway PostgreSQL (installed from Debian packages if missing, started and stopped here);
# the npm package built and tested in Node, with the Node verification example; the golden
# vectors in headless Chromium. Usage: bash scripts/test.sh
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

step "EN 16931 e-invoices: CII and UBL from every golden vector, read back, verified, official rules (zero fatal)"
bash scripts/test-einvoice.sh

step "tax: VAT numbers vs python-stdnum, the rate table day by day vs independent datasets (PyPI, npm)"
export PIP_ROOT_USER_ACTION=ignore PIP_DISABLE_PIP_VERSION_CHECK=1
python3 tests/tax/vat_numbers.py
python3 tests/tax/rates_crosscheck.py

step "fuzzing: every JSON entry point for a few seconds each (long runs: scripts/fuzz.sh)"
FUZZ_DEV=1 bash scripts/fuzz.sh 8

step "SMTP server for the email tests (Python's aiosmtpd from PyPI)"
python3 -c 'import aiosmtpd' 2>/dev/null || python3 -m pip install -q aiosmtpd

step "nginx for the three-instance test (Debian package)"
if ! [ -x /usr/sbin/nginx ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # Do not start the package's own server: only the test's runs.
  CREATED_POLICY=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
    CREATED_POLICY=1
  fi
  apt-get install -y -qq nginx-light || apt-get install -y -qq nginx
  [ "$CREATED_POLICY" = 1 ] && rm -f /usr/sbin/policy-rc.d
fi

step "server: API, storage suite on SQLite and PostgreSQL, SIGKILL recovery, three instances behind nginx, dunning/webhooks/email"
einvoice_dump="$PWD/target/einvoice-docs-server"
rm -rf "$einvoice_dump"
BILLCALC_EINVOICE_DUMP="$einvoice_dump" BILLCALC_REQUIRE_POSTGRES=1 BILLCALC_REQUIRE_SMTP=1 BILLCALC_REQUIRE_NGINX=1 \
  bash server/scripts/with-postgres.sh cargo test -p billcalc-server --all-targets

step "load script smoke run (server/load/smoke.sh: a 3 s run passes; one with 401 answers fails)"
bash server/load/smoke.sh

step "EN 16931 rules over every e-invoice the server tests issued (Factur-X, CII, UBL; zero fatal)"
bash scripts/test-einvoice.sh --validate "$einvoice_dump"

step "npm package (installs the wasm32 target, wasm-bindgen CLI and npm tools if missing)"
bash scripts/build-pkg.sh

step "Node tests against the built package"
bash scripts/test-node.sh

step "pages in headless Chromium (playwright-core driving Debian's Chromium)"
node --test tests/browser/*.test.mjs

step "Node verification example (examples/node-verify) over real HTTP"
node --test examples/node-verify/verify.test.mjs

step "golden vectors in headless Chromium"
CHROMEDRIVER=/usr/bin/chromedriver cargo test --target wasm32-unknown-unknown --test web
