#!/bin/bash
# bytes.sh BIN: 40 charges (8 at a time) on a fresh SQLite file; prints stored sizes per charge and WAL bytes written
set -e
BIN=$1
W=$(mktemp -d /tmp/s7sql/by.XXXX)
cd /work/wt/s7-i13-sqlite
node -e 'const c = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")); const big = 1e9;
  c.http.rate_limit = { publishable_per_second: big, publishable_burst: big, secret_per_second: big, secret_burst: big, unauthenticated_per_second: big, unauthenticated_burst: big };
  require("fs").writeFileSync(process.argv[2], JSON.stringify(c));' server/config/demo.json "$W/config.json"
export BILLCALC_PUBLISHABLE_KEY=pk_test_load BILLCALC_SECRET_KEY=sk_test_load_secret_key BILLCALC_SIGNING_KEY=load-signing-key-0123456789abcdef0123 BILLCALC_LOG_REQUESTS=0
export DATABASE_URL="sqlite://$W/load.db" BILLCALC_RENEWAL_INTERVAL_SECONDS=0
PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
$BIN --config "$W/config.json" --listen 127.0.0.1:$PORT > $W/server.log 2>&1 &
SPID=$!
for i in $(seq 100); do curl -fs http://127.0.0.1:$PORT/readyz >/dev/null && break; sleep 0.1; done
python3 - $PORT $SPID <<'PY'
import http.client, json, sys, threading
port = int(sys.argv[1])
cart = {"currency":"eur","customer":{"address":{"country":"FR"}},"lines":[{"price":"price_lamp","quantity":2},{"price":"price_shade","quantity":2},{"price":"price_bulb","quantity":3},{"price":"price_book"},{"price":"price_course"},{"price":"price_shipping"}],"discounts":[{"promotion_code":"CINQ"}]}
c = http.client.HTTPConnection("127.0.0.1", port)
c.request("POST", "/v1/quotes", json.dumps({"cart": cart}), {"Authorization": "Bearer pk_test_load", "Content-Type": "application/json"})
total = json.loads(c.getresponse().read())["quote"]["total"]
body = json.dumps({"cart": cart, "expected_total": total, "payment_method": "pm_card_visa"})
def worker(t):
    h = http.client.HTTPConnection("127.0.0.1", port)
    for i in range(5):
        h.request("POST", "/v1/charges", body, {"Authorization": "Bearer sk_test_load_secret_key", "Content-Type": "application/json", "Idempotency-Key": f"b-{t}-{i}x"})
        r = h.getresponse(); r.read(); assert r.status == 200
ts = [threading.Thread(target=worker, args=(t,)) for t in range(8)]
[t.start() for t in ts]; [t.join() for t in ts]
PY
W1=$(grep -E "^(write_bytes|wchar)" /proc/$SPID/io | tr '\n' ' ')
kill -TERM $SPID; wait $SPID || true
python3 - "$W/load.db" <<'PY'
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
q = lambda s: c.execute(s).fetchone()
print("intents", q("select count(*), avg(length(plan)) from payment_intents where scope like '%charges%'"))
print("invoice documents (avg length)", q("select avg(length(document)) from invoices"))
print("stored answers (avg length)", q("select avg(length(response)) from idempotency_keys where status_code = 200"))
PY
echo "server /proc io after 40 charges (+ renders in the window): $W1"
rm -rf $W
