#!/usr/bin/env bash
# The main job: builds the npm package and the server, then runs billcalc-server on the embedded
# database (SQLite, .billcalc/demo.db) with the sample French shop catalog
# (server/config/demo.json), serving the demo page (www/) and the package (pkg/) from the same
# origin as the API. Usage: bash scripts/demo.sh   (PORT=8080 by default)
#
# Demo keys are set unless the environment has its own; the signing key is made once and kept in
# .billcalc/signing-key (so hosted invoice links survive a restart). BILLCALC_DEMO_CHECKOUT=1 lets
# the page pay with the publishable key through /v1/demo/checkout (a real shop calls
# /v1/charges from its back end with the secret key).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"

bash scripts/build-pkg.sh
# Chart.js for the revenue dashboard comes from npm (package.json); served at /vendor/chart.js/.
[ -f node_modules/chart.js/dist/chart.umd.min.js ] || npm ci --no-audit --no-fund
cargo build -p billcalc-server
TARGET_DIR=$(cargo metadata --format-version 1 --no-deps | node -e 'console.log(JSON.parse(require("fs").readFileSync(0, "utf8")).target_directory)')

mkdir -p .billcalc
if [ -z "${BILLCALC_SIGNING_KEY:-}" ]; then
  [ -s .billcalc/signing-key ] || od -An -tx1 -N32 /dev/urandom | tr -d ' \n' >.billcalc/signing-key
  BILLCALC_SIGNING_KEY=$(cat .billcalc/signing-key)
fi
export BILLCALC_SIGNING_KEY
export BILLCALC_PUBLISHABLE_KEY="${BILLCALC_PUBLISHABLE_KEY:-pk_test_billcalc_demo}"
export BILLCALC_SECRET_KEY="${BILLCALC_SECRET_KEY:-sk_test_billcalc_demo_secret}"
export DATABASE_URL="${DATABASE_URL:-sqlite://$PWD/.billcalc/demo.db}"
export BILLCALC_DEMO_CHECKOUT="${BILLCALC_DEMO_CHECKOUT:-1}"

# The demo SaaS history for the revenue dashboard: a few hundred customers over 18 months,
# made once through the server's own API (deterministic; skipped when the database has it).
if [ "${BILLCALC_DEMO_DATA:-1}" = 1 ]; then
  "$TARGET_DIR/debug/billcalc-demo-data" --config server/config/demo.json
fi

echo "billcalc demo: http://127.0.0.1:${PORT:-8080}/ (API under /v1, publishable key $BILLCALC_PUBLISHABLE_KEY)"
echo "subscription page: http://127.0.0.1:${PORT:-8080}/subscription.html"
echo "revenue dashboard: http://127.0.0.1:${PORT:-8080}/dashboard.html#key=$BILLCALC_SECRET_KEY (the secret key stays in the URL fragment, never sent)"
exec "$TARGET_DIR/debug/billcalc-server" --config server/config/demo.json \
  --listen "127.0.0.1:${PORT:-8080}" --serve /pkg/=pkg --serve /vendor/chart.js/=node_modules/chart.js/dist --serve /=www
