#!/bin/bash
# cg.sh BIN N: instructions per charge under callgrind (all threads), N charges at 8 concurrent
# after 50 uninstrumented warm-up charges. Prints total Ir / N.
set -e
BIN=$1 N=${2:-300}
W=$(mktemp -d /tmp/s7sql/cg.XXXX)
cd /work/wt/s7-i13-sqlite
node -e '
  const c = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  const big = 1e9;
  c.http.rate_limit = { publishable_per_second: big, publishable_burst: big, secret_per_second: big,
    secret_burst: big, unauthenticated_per_second: big, unauthenticated_burst: big };
  require("fs").writeFileSync(process.argv[2], JSON.stringify(c));' server/config/demo.json "$W/config.json"
export BILLCALC_PUBLISHABLE_KEY=pk_test_load BILLCALC_SECRET_KEY=sk_test_load_secret_key
export BILLCALC_SIGNING_KEY=load-signing-key-0123456789abcdef0123 BILLCALC_LOG_REQUESTS=0
export DATABASE_URL="sqlite://$W/load.db" BILLCALC_RENEWAL_INTERVAL_SECONDS=0
PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file=$W/cg.out $BIN --config "$W/config.json" --listen 127.0.0.1:$PORT > $W/server.log 2>&1 &
VPID=$!
for i in $(seq 600); do curl -fs http://127.0.0.1:$PORT/readyz >/dev/null && break; sleep 0.2; done
python3 - $PORT $N $VPID <<'PY'
import http.client, json, sys, threading, subprocess, time
port, n, vpid = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
cart = {"currency":"eur","customer":{"address":{"country":"FR"}},"lines":[{"price":"price_lamp","quantity":2},{"price":"price_shade","quantity":2},{"price":"price_bulb","quantity":3},{"price":"price_book"},{"price":"price_course"},{"price":"price_shipping"}],"discounts":[{"promotion_code":"CINQ"}]}
c = http.client.HTTPConnection("127.0.0.1", port)
c.request("POST", "/v1/quotes", json.dumps({"cart": cart}), {"Authorization": "Bearer pk_test_load", "Content-Type": "application/json"})
total = json.loads(c.getresponse().read())["quote"]["total"]
body = json.dumps({"cart": cart, "expected_total": total, "payment_method": "pm_card_visa"})
def run(prefix, count, conns=8):
    per = count // conns
    bad = []
    def worker(t):
        h = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        for i in range(per):
            h.request("POST", "/v1/charges", body, {"Authorization": "Bearer sk_test_load_secret_key", "Content-Type": "application/json", "Idempotency-Key": f"{prefix}-{t}-{i}x"})
            r = h.getresponse(); r.read()
            if r.status != 200: bad.append(r.status)
    ts = [threading.Thread(target=worker, args=(t,)) for t in range(conns)]
    [t.start() for t in ts]; [t.join() for t in ts]
    assert not bad, bad
    return per * conns
run("warm", 48)
time.sleep(1)
subprocess.run(["callgrind_control", "-i", "on", vpid], check=True, capture_output=True)
done = run("measure", n)
subprocess.run(["callgrind_control", "-i", "off", vpid], check=True, capture_output=True)
print("charges", done)
PY
kill -TERM $VPID; wait $VPID || true
TOTAL=$(grep -h "^totals:" $W/cg.out* | head -1 | awk '{print $2}')
echo "instructions (all threads) $TOTAL for $N charges: $((TOTAL / N)) per charge"
callgrind_annotate --inclusive=yes --threshold=100 $W/cg.out* 2>/dev/null > /tmp/s7sql/cg-$(basename $BIN).txt || true
R=$(grep -m1 "einvoice::render_quote " /tmp/s7sql/cg-$(basename $BIN).txt | awk '{gsub(",","",$1); print $1}')
echo "of which e-invoice rendering (render_quote, inclusive) ${R:-0}: without it $(( (TOTAL - ${R:-0}) / N )) per charge"
for f in intent::prepare_invoice pricing::price "sqlite3_step " "GroupTx>::run"; do grep -m1 "$f" /tmp/s7sql/cg-$(basename $BIN).txt | awk -v n=$N -v f="$f" '{gsub(",","",$1); printf "  %s %d per charge\n", f, $1/n}'; done
rm -rf $W
