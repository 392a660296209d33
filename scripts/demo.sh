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

# Getting paid automatically (issue 15): a mail catcher (a real SMTP server, Python's aiosmtpd
# from PyPI, writing .billcalc/mail.jsonl) and a webhook receiver that checks signatures
# (.billcalc/webhooks.jsonl); the server sends to both. Then a demo customer's renewal is
# declined: open the printed portal link to pay with a new card; /outbox.html shows the emails
# and the webhook deliveries.
PIDS=()
cleanup() { [ ${#PIDS[@]} -eq 0 ] || kill "${PIDS[@]}" 2>/dev/null || true; }
trap cleanup EXIT INT TERM
SMTP_PORT="${SMTP_PORT:-2525}"
WEBHOOK_PORT="${WEBHOOK_PORT:-8089}"
python3 -c 'import aiosmtpd' 2>/dev/null || python3 -m pip install -q aiosmtpd || true
if python3 -c 'import aiosmtpd' 2>/dev/null; then
  python3 server/tests/support/smtp_catcher.py .billcalc/mail.jsonl --port "$SMTP_PORT" --keep >/dev/null &
  PIDS+=($!)
  export BILLCALC_SMTP_URL="${BILLCALC_SMTP_URL:-smtp://127.0.0.1:$SMTP_PORT}"
else
  echo "billcalc demo: aiosmtpd unavailable; emails stay pending in the mail log" >&2
fi
python3 scripts/demo-webhooks.py "$WEBHOOK_PORT" .billcalc/webhook-secret .billcalc/webhooks.jsonl &
PIDS+=($!)
export BILLCALC_DELIVERY_INTERVAL_SECONDS="${BILLCALC_DELIVERY_INTERVAL_SECONDS:-2}"

BASE="http://127.0.0.1:${PORT:-8080}"
echo "billcalc demo: $BASE/ (API under /v1, publishable key $BILLCALC_PUBLISHABLE_KEY)"
echo "subscription page: $BASE/subscription.html"
echo "revenue dashboard: $BASE/dashboard.html#key=$BILLCALC_SECRET_KEY (the secret key stays in the URL fragment, never sent)"
"$TARGET_DIR/debug/billcalc-server" --config server/config/demo.json \
  --listen "127.0.0.1:${PORT:-8080}" --serve /pkg/=pkg --serve /vendor/chart.js/=node_modules/chart.js/dist --serve /=www &
SERVER=$!
PIDS+=($SERVER)
for _ in $(seq 100); do curl -fs "$BASE/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
node scripts/demo-dunning.mjs "$BASE" "$BILLCALC_SECRET_KEY" "http://127.0.0.1:$WEBHOOK_PORT/hooks" .billcalc/webhook-secret ||
  echo "billcalc demo: the dunning story did not run" >&2
wait "$SERVER"
