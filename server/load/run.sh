#!/usr/bin/env bash
# Load figures for billcalc-server on this machine, against 127.0.0.1 only: quotes/s, charges/s,
# subscription change previews/s and new subscriptions/s with p50/p99 latency, on SQLite and on
# PostgreSQL. Not part of the test command.
#
#   bash server/load/run.sh            (DURATION=10s CONNECTIONS=8 by default)
#
# Installs wrk (Debian package) if missing; builds the server in release mode with speed
# settings (the workspace's release profile is tuned for the wasm size: opt-level z, LTO, abort);
# starts the server with request logging off; PostgreSQL comes from server/scripts/with-postgres.sh
# (a throwaway cluster, stopped afterwards). Every process it starts, it stops.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-8}

if ! command -v wrk >/dev/null; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq wrk >/dev/null
fi

if [ -z "${INNER:-}" ]; then
  export CARGO_PROFILE_RELEASE_OPT_LEVEL=3 CARGO_PROFILE_RELEASE_LTO=false \
    CARGO_PROFILE_RELEASE_PANIC=unwind CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16
  cargo build --release -p billcalc-server >&2
  TARGET_DIR=$(cargo metadata --format-version 1 --no-deps | node -e 'console.log(JSON.parse(require("fs").readFileSync(0, "utf8")).target_directory)')
  export SERVER_BIN="$TARGET_DIR/release/billcalc-server"
  echo "machine: $(nproc) cores, $(awk '/model name/ {$1=$2=$3=""; print; exit}' /proc/cpuinfo | sed 's/^ *//'), $(free -g | awk '/Mem/ {print $2}') GiB; wrk $CONNECTIONS connections, 1 thread, $DURATION per run"
  INNER=1 bash "$0" sqlite
  INNER=1 bash server/scripts/with-postgres.sh bash "$0" postgres
  exit 0
fi

BACKEND=$1
WORK=$(mktemp -d)
SERVER_PID=
cleanup() {
  [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

export BILLCALC_PUBLISHABLE_KEY=pk_test_load BILLCALC_SECRET_KEY=sk_test_load_secret_key
export BILLCALC_SIGNING_KEY=load-signing-key-0123456789abcdef0123 BILLCALC_LOG_REQUESTS=0
if [ "$BACKEND" = sqlite ]; then
  export DATABASE_URL="sqlite://$WORK/load.db"
else
  psql "$BILLCALC_TEST_POSTGRES_URL" -qc "CREATE DATABASE billcalc_load" >/dev/null
  export DATABASE_URL="${BILLCALC_TEST_POSTGRES_URL%/*}/billcalc_load"
fi
# The demo catalog with rate limits out of the way.
node -e '
  const c = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  const big = 1e9;
  c.http.rate_limit = { publishable_per_second: big, publishable_burst: big, secret_per_second: big, secret_burst: big };
  require("fs").writeFileSync(process.argv[2], JSON.stringify(c));' server/config/demo.json "$WORK/config.json"
PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$SERVER_BIN" --config "$WORK/config.json" --listen "127.0.0.1:$PORT" >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 100); do
  curl -fs "http://127.0.0.1:$PORT/healthz" >/dev/null && break
  sleep 0.1
done

CART='{"currency":"eur","customer":{"address":{"country":"FR"}},"lines":[{"price":"price_lamp","quantity":2},{"price":"price_shade","quantity":2},{"price":"price_bulb","quantity":3},{"price":"price_book"},{"price":"price_course"},{"price":"price_shipping"}],"discounts":[{"promotion_code":"CINQ"}]}'
printf '{"cart":%s}' "$CART" >"$WORK/quote.json"
TOTAL=$(curl -fs -H "Authorization: Bearer $BILLCALC_PUBLISHABLE_KEY" -d @"$WORK/quote.json" "http://127.0.0.1:$PORT/v1/quotes" \
  | node -e 'console.log(JSON.parse(require("fs").readFileSync(0, "utf8")).quote.total)')
printf '{"cart":%s,"expected_total":%s,"payment_method":"pm_card_visa"}' "$CART" "$TOTAL" >"$WORK/charge.json"

run() { # name path key body idempotent
  BODY_FILE=$3 TARGET_PATH=$2 API_KEY=$4 IDEMPOTENT=$5 RUN_ID="$BACKEND-$RANDOM$RANDOM" \
    wrk -t1 -c"$CONNECTIONS" -d"$DURATION" --latency -s server/load/request.lua "http://127.0.0.1:$PORT" >"$WORK/$1.txt"
  local rps p50 p99 errors
  rps=$(awk '/Requests\/sec/ {print $2}' "$WORK/$1.txt")
  p50=$(awk '$1 == "50%" {print $2}' "$WORK/$1.txt")
  p99=$(awk '$1 == "99%" {print $2}' "$WORK/$1.txt")
  errors=$(awk '/Non-2xx/ {print $5}' "$WORK/$1.txt")
  printf '%-9s %-8s %10s req/s   p50 %8s   p99 %8s   non-2xx %s\n' "$BACKEND" "$1" "$rps" "$p50" "$p99" "${errors:-0}"
}
# Warm-up, then the measured runs.
DURATION=2s run warmup /v1/quotes "$WORK/quote.json" "$BILLCALC_PUBLISHABLE_KEY" 0 >/dev/null
run quotes /v1/quotes "$WORK/quote.json" "$BILLCALC_PUBLISHABLE_KEY" 0
run charges /v1/charges "$WORK/charge.json" "$BILLCALC_SECRET_KEY" 1
# Subscriptions: each request a new subscription with its first invoice charged; and previews of
# a change (the engine's previewInvoice plus one stored row each).
printf '%s' '{"customer":{"id":"cus_load","address":{"country":"FR"}},"items":[{"price":"price_essentiel_monthly","quantity":3}],"payment_method":"pm_card_visa"}' >"$WORK/subscribe.json"
SUB=$(curl -fs -H "Authorization: Bearer $BILLCALC_SECRET_KEY" -H "Idempotency-Key: load-sub-$BACKEND-$RANDOM" \
  -H 'Content-Type: application/json' -d @"$WORK/subscribe.json" "http://127.0.0.1:$PORT/v1/subscriptions")
SUB_ID=$(printf '%s' "$SUB" | node -e 'console.log(JSON.parse(require("fs").readFileSync(0, "utf8")).id)')
ITEM_ID=$(printf '%s' "$SUB" | node -e 'console.log(JSON.parse(require("fs").readFileSync(0, "utf8")).items[0].id)')
printf '{"items":[{"id":"%s","price":"price_pro_monthly","quantity":5}]}' "$ITEM_ID" >"$WORK/preview.json"
run preview "/v1/subscriptions/$SUB_ID/preview" "$WORK/preview.json" "$BILLCALC_SECRET_KEY" 0
run subscribe /v1/subscriptions "$WORK/subscribe.json" "$BILLCALC_SECRET_KEY" 1
INVOICES=$(curl -fs "http://127.0.0.1:$PORT/healthz" >/dev/null && echo ok)
echo "$BACKEND: server healthy after the runs: ${INVOICES:-no}"
