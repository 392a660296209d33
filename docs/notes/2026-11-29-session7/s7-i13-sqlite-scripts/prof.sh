#!/bin/bash
# prof.sh BIN OUT CONNS: one instance on a fresh SQLite file, wrk CONNS connections 14 s, perf on the server 8 s
set -e
BIN=$1 OUT=$2 CONNS=${3:-32}
W=$(mktemp -d /tmp/s7sql/prof.XXXX)
cd /work/wt/s7-i13-sqlite
node -e '
  const c = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  const big = 1e9;
  c.http.rate_limit = { publishable_per_second: big, publishable_burst: big, secret_per_second: big,
    secret_burst: big, unauthenticated_per_second: big, unauthenticated_burst: big };
  require("fs").writeFileSync(process.argv[2], JSON.stringify(c));' server/config/demo.json "$W/config.json"
export BILLCALC_PUBLISHABLE_KEY=pk_test_load BILLCALC_SECRET_KEY=sk_test_load_secret_key
export BILLCALC_SIGNING_KEY=load-signing-key-0123456789abcdef0123 BILLCALC_LOG_REQUESTS=0
export DATABASE_URL="sqlite://$W/load.db"
PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
$BIN --config "$W/config.json" --listen 127.0.0.1:$PORT > $W/server.log 2>&1 &
SPID=$!
for i in $(seq 100); do curl -fs http://127.0.0.1:$PORT/readyz >/dev/null && break; sleep 0.1; done
CART='{"currency":"eur","customer":{"address":{"country":"FR"}},"lines":[{"price":"price_lamp","quantity":2},{"price":"price_shade","quantity":2},{"price":"price_bulb","quantity":3},{"price":"price_book"},{"price":"price_course"},{"price":"price_shipping"}],"discounts":[{"promotion_code":"CINQ"}]}'
TOTAL=$(curl -s -H "Authorization: Bearer pk_test_load" -H 'Content-Type: application/json' --data "{\"cart\":$CART}" http://127.0.0.1:$PORT/v1/quotes | node -e 'console.log(JSON.parse(require("fs").readFileSync(0,"utf8")).quote.total)')
printf '{"cart":%s,"expected_total":%s,"payment_method":"pm_card_visa"}' "$CART" "$TOTAL" > $W/charge.json
BODY_FILE=$W/charge.json TARGET_PATH=/v1/charges API_KEY=sk_test_load_secret_key IDEMPOTENT=1 RUN_ID=prof-abcdx RESULT_FILE=$W/r.json \
  wrk -t1 -c$CONNS -d14s --timeout 10s -s server/load/request.lua http://127.0.0.1:$PORT > $W/wrk.txt 2>&1 &
WPID=$!
sleep 3
perf record -F 499 -g --call-graph dwarf,16384 -p $SPID -o $OUT -- sleep 8 2> $W/perf.err || true
wait $WPID
cat $W/r.json
kill $SPID; wait $SPID || true
rm -rf $W
