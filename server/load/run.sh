#!/usr/bin/env bash
# Load figures for billcalc-server: charges/s with p50/p99 latency, one instance or three behind
# the shipped nginx configuration (server/deploy/nginx.conf, as tests/cluster.rs runs it), on
# SQLite or PostgreSQL, durable settings (SQLite synchronous=FULL, the store's setting;
# PostgreSQL fsync=on and synchronous_commit=on, checked). Against 127.0.0.1 only. Not part of
# the test command (scripts/test.sh runs server/load/smoke.sh: a two-second run of this script).
#
#   bash server/load/run.sh                     all four configurations, interleaved
#   CONFIGS="sqlite:1 postgres:3" ROUNDS=2 DURATION=10s CONNECTIONS=8 bash server/load/run.sh
#
# Each configuration: fresh database, the instances (renewal loop on, request log off, rate
# limits out of the way), nginx in front of three, a 2 s warm-up, then DURATION of charges, each
# a new charge (fresh Idempotency-Key) of a 6-line cart with a promotion code, through wrk
# (1 thread, CONNECTIONS connections). The run FAILS (exit 1) when:
#   - any answer, warm-up included, is not 2xx, or any socket error happens (request.lua counts
#     every answer);
#   - after the run, a write fails: a new charge and a new subscription must be created and read
#     back (invoice, subscription), through the same entry point, and every instance must be
#     ready (`/readyz`: the database answers, no orphan transaction);
#   - the database does not hold every acknowledged charge (invoices stored >= 2xx answered, and
#     at most CONNECTIONS more: requests in flight when wrk stopped complete server-side).
# Each figure is printed with the machine (nproc, uptime's load average) at that moment: the
# machine may be shared.
#
# Environment: CONFIGS (default "sqlite:1 sqlite:3 postgres:1 postgres:3"), ROUNDS (1), DURATION
# (10s), CONNECTIONS (8), SERVER_BIN (default: a release build with speed settings — the
# workspace's release profile is tuned for the wasm size), BREAK_EVERY (smoke test: every Nth
# request with a wrong key, so the run must fail), RESULTS (a file to append one JSON line per
# figure to). Installs wrk and nginx (Debian packages) when missing. Every process it starts, it
# stops.
set -euo pipefail
cd "$(dirname "$0")/../.."
CONFIGS=${CONFIGS:-"sqlite:1 sqlite:3 postgres:1 postgres:3"}
ROUNDS=${ROUNDS:-1}
DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-8}

install_debian() { # command package
  command -v "$1" >/dev/null || [ -x "/usr/sbin/$1" ] && return 0
  [ "$(id -u)" = 0 ] || { echo "load: $1 is missing: apt-get install $2" >&2; exit 1; }
  export DEBIAN_FRONTEND=noninteractive
  local policy=/usr/sbin/policy-rc.d created=0
  if [ ! -e "$policy" ]; then printf '#!/bin/sh\nexit 101\n' >"$policy"; chmod +x "$policy"; created=1; fi
  apt-get update -qq && apt-get install -y -qq "$2" >/dev/null
  [ "$created" = 1 ] && rm -f "$policy"
  return 0
}
install_debian wrk wrk
case "$CONFIGS" in *:3*) install_debian nginx nginx-light ;; esac
NGINX=$(command -v nginx || echo /usr/sbin/nginx)

if [ -z "${SERVER_BIN:-}" ]; then
  export CARGO_PROFILE_RELEASE_OPT_LEVEL=3 CARGO_PROFILE_RELEASE_LTO=false \
    CARGO_PROFILE_RELEASE_PANIC=unwind CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16
  cargo build --release -p billcalc-server >&2
  TARGET_DIR=$(cargo metadata --format-version 1 --no-deps | node -e 'console.log(JSON.parse(require("fs").readFileSync(0, "utf8")).target_directory)')
  export SERVER_BIN="$TARGET_DIR/release/billcalc-server"
fi
case "$CONFIGS" in
  *postgres*)
    if [ -z "${BILLCALC_TEST_POSTGRES_URL:-}" ]; then
      exec bash server/scripts/with-postgres.sh bash "$0" "$@"
    fi ;;
esac

CLK_TCK=$(getconf CLK_TCK)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/billcalc-load.XXXXXX")
PIDS=()
NGINX_PID=
stop_all() {
  if [ -n "$NGINX_PID" ]; then kill -TERM "$NGINX_PID" 2>/dev/null || true; wait "$NGINX_PID" 2>/dev/null || true; fi
  NGINX_PID=
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  PIDS=()
}
cleanup() { stop_all; rm -rf "$WORK"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

export BILLCALC_PUBLISHABLE_KEY=pk_test_load BILLCALC_SECRET_KEY=sk_test_load_secret_key
export BILLCALC_SIGNING_KEY=load-signing-key-0123456789abcdef0123 BILLCALC_LOG_REQUESTS=0
# The demo catalog with the application's rate limits out of the way.
node -e '
  const c = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  const big = 1e9;
  c.http.rate_limit = { publishable_per_second: big, publishable_burst: big, secret_per_second: big,
    secret_burst: big, unauthenticated_per_second: big, unauthenticated_burst: big };
  require("fs").writeFileSync(process.argv[2], JSON.stringify(c));' server/config/demo.json "$WORK/config.json"
CART='{"currency":"eur","customer":{"address":{"country":"FR"}},"lines":[{"price":"price_lamp","quantity":2},{"price":"price_shade","quantity":2},{"price":"price_bulb","quantity":3},{"price":"price_book"},{"price":"price_course"},{"price":"price_shipping"}],"discounts":[{"promotion_code":"CINQ"}]}'
printf '{"cart":%s}' "$CART" >"$WORK/quote.json"
printf '%s' '{"customer":{"id":"cus_load","address":{"country":"FR"}},"items":[{"price":"price_essentiel_monthly","quantity":3}],"payment_method":"pm_card_visa"}' >"$WORK/subscribe.json"

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
json_field() { node -e 'let v = JSON.parse(require("fs").readFileSync(0, "utf8")); for (const k of process.argv[1].split(".")) v = v?.[k]; console.log(v ?? "")' "$1"; }
fail() { echo "load: FAIL ($LABEL): $*" >&2; FAILED=1; CONFIG_FAILED=1; }
api() { # method path key [idempotency-key] [body-file]: prints "STATUS BODY"
  local args=(-s -o "$WORK/answer" -w '%{http_code}' -X "$1" -H "Authorization: Bearer $3")
  [ -n "${4:-}" ] && args+=(-H "Idempotency-Key: $4")
  [ -n "${5:-}" ] && args+=(-H 'Content-Type: application/json' --data-binary "@$5")
  local status
  status=$(curl "${args[@]}" "$BASE$2" || echo 000)
  printf '%s %s' "$status" "$(cat "$WORK/answer" 2>/dev/null)"
}
count_pending_einvoices() { # issued invoices whose e-invoice is not rendered yet (crate::intent)
  if [ "$DB" = sqlite ]; then
    python3 -c 'import sqlite3, sys; print(sqlite3.connect(sys.argv[1]).execute("SELECT count(*) FROM payment_intents WHERE einvoice_pending = 1").fetchone()[0])' "$DB_FILE"
  else
    psql "$DATABASE_URL" -tAc 'SELECT count(*) FROM payment_intents WHERE einvoice_pending = 1'
  fi
}
cpu_ticks() { # [thread-name]: utime+stime (clock ticks) of every instance, or of its threads so named
  local total=0 pid t
  for pid in "${PIDS[@]}"; do
    if [ -z "${1:-}" ]; then
      t=$(sed 's/.*) //' "/proc/$pid/stat" 2>/dev/null | awk '{print $12 + $13}')
      total=$((total + ${t:-0}))
    else
      for t in /proc/"$pid"/task/*; do
        [ "$(cat "$t/comm" 2>/dev/null)" = "$1" ] || continue
        total=$((total + $(sed 's/.*) //' "$t/stat" 2>/dev/null | awk '{print $12 + $13}')))
      done
    fi
  done
  echo "$total"
}
pg_cpu_ticks() { # utime+stime (clock ticks) of the PostgreSQL cluster: the postmaster, its live
  # children (backends, WAL writer, checkpointer…) and the children it already reaped
  python3 - "$PG_POSTMASTER" <<'PY'
import os, sys
postmaster = sys.argv[1]
def fields(pid):  # /proc/PID/stat from field 3 on (the name in parentheses may hold spaces)
    with open(f"/proc/{pid}/stat") as f:
        s = f.read()
    return s[s.rindex(")") + 2:].split()
total = sum(int(x) for x in fields(postmaster)[11:15])  # utime stime cutime cstime
for pid in os.listdir("/proc"):
    if pid.isdigit() and pid != postmaster:
        try:
            f = fields(pid)
        except OSError:
            continue
        if f[1] == postmaster:
            total += int(f[11]) + int(f[12])
print(total)
PY
}
count_invoices() {
  if [ "$DB" = sqlite ]; then
    python3 -c 'import sqlite3, sys; print(sqlite3.connect(sys.argv[1]).execute("SELECT count(*) FROM invoices").fetchone()[0])' "$DB_FILE"
  else
    psql "$DATABASE_URL" -tAc 'SELECT count(*) FROM invoices'
  fi
}

fsync_probe() { # seconds file: while the charges run, how long a small durable write takes on
  # this disk (16 KiB appended and fdatasync'd every 20 ms, in the database's directory: the
  # commit cycle every charge waits for twice). The disk may be shared; this says how it was.
  python3 - "$1" "$2" <<'PY' >"$WORK/fsync.txt" 2>&1 || true
import os, sys, time
secs, path = float(sys.argv[1]), sys.argv[2]
fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
buf, t, end = os.urandom(16384), [], time.time() + secs
while time.time() < end:
    os.write(fd, buf)
    a = time.perf_counter(); os.fdatasync(fd); t.append((time.perf_counter() - a) * 1000)
    time.sleep(0.02)
os.close(fd); os.unlink(path)
t.sort()
q = lambda p: t[min(len(t) - 1, int(p * len(t)))]
print(f"p50 {q(.5):.2f} ms, p90 {q(.9):.2f} ms, p99 {q(.99):.2f} ms ({len(t)} syncs)")
PY
}

wrk_run() { # name seconds-spec: runs the charges; prints nothing, leaves $WORK/$1.json (and
  # wrk's own CPU, utime+stime ticks, in $WORK/$1.wrkcpu)
  BODY_FILE="$WORK/charge.json" TARGET_PATH=/v1/charges API_KEY=$BILLCALC_SECRET_KEY IDEMPOTENT=1 \
    RUN_ID="$LABEL-$1-$(head -c 64 /dev/urandom | tr -dc a-z | head -c 10)x" RESULT_FILE="$WORK/$1.json" \
    bash -c 'wrk "$@"; s=$?; awk "{print \$14 + \$15 + \$16 + \$17}" /proc/$$/stat >"$RESULT_FILE.wrkcpu"; exit $s' _ \
    -t1 -c"$CONNECTIONS" -d"$2" --timeout 10s -s server/load/request.lua "$BASE" >"$WORK/$1.txt" 2>&1 \
    || fail "wrk exited non-zero: $(cat "$WORK/$1.txt")"
  [ -s "$WORK/$1.json" ] || { fail "wrk wrote no result"; return; }
  local bad errors
  bad=$(json_field non_2xx <"$WORK/$1.json")
  errors=$(node -e 'const r = JSON.parse(require("fs").readFileSync(0, "utf8")); console.log(r.connect_errors + r.read_errors + r.write_errors + r.timeouts)' <"$WORK/$1.json")
  [ "$bad" = 0 ] || fail "$1: $bad answers not 2xx (statuses $(json_field statuses <"$WORK/$1.json")), first body: $(json_field sample <"$WORK/$1.json")"
  [ "$errors" = 0 ] || fail "$1: $errors socket errors: $(cat "$WORK/$1.json")"
}

measure() { # db instances round
  DB=$1 INSTANCES=$2
  LABEL="$DB-$INSTANCES-r$3"
  CONFIG_FAILED=0
  local dir="$WORK/$LABEL"
  mkdir -p "$dir"
  if [ "$DB" = sqlite ]; then
    DB_FILE="$dir/load.db"
    export DATABASE_URL="sqlite://$DB_FILE"
  else
    local name="billcalc_load_${DB}_${INSTANCES}_$3_$$"
    psql "$BILLCALC_TEST_POSTGRES_URL" -qc "CREATE DATABASE $name" >/dev/null
    export DATABASE_URL="${BILLCALC_TEST_POSTGRES_URL%/*}/$name"
    local settings
    settings=$(psql "$DATABASE_URL" -tAc "SELECT current_setting('fsync') || ' ' || current_setting('synchronous_commit')")
    [ "$settings" = "on on" ] || fail "PostgreSQL is not durable: fsync, synchronous_commit = $settings"
    PG_POSTMASTER=$(head -1 "$(psql "$DATABASE_URL" -tAc 'SHOW data_directory')/postmaster.pid")
  fi
  local ports=() i
  for ((i = 0; i < INSTANCES; i++)); do
    local port
    port=$(free_port)
    "$SERVER_BIN" --config "$WORK/config.json" --listen "127.0.0.1:$port" >"$dir/server-$i.log" 2>&1 &
    PIDS+=($!)
    ports+=("$port")
    # The first instance migrates the database before the others start.
    for _ in $(seq 200); do curl -fs "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.05; done
    curl -fs "http://127.0.0.1:$port/readyz" >/dev/null || { fail "instance $i did not start: $(cat "$dir/server-$i.log")"; stop_all; return; }
  done
  if [ "$INSTANCES" = 1 ]; then
    BASE="http://127.0.0.1:${ports[0]}"
  else
    local proxy upstreams=""
    proxy=$(free_port)
    for port in "${ports[@]}"; do upstreams+="server 127.0.0.1:$port max_fails=1 fail_timeout=2s; "; done
    sed -e "s|@PREFIX@|$dir|g" -e "s|@LISTEN@|127.0.0.1:$proxy|" -e "s|@UPSTREAMS@|$upstreams|" \
      server/deploy/nginx.conf >"$dir/nginx.conf"
    "$NGINX" -p "$dir" -c "$dir/nginx.conf" >"$dir/nginx.out" 2>&1 &
    NGINX_PID=$!
    BASE="http://127.0.0.1:$proxy"
    for _ in $(seq 200); do curl -fs "$BASE/readyz" >/dev/null && break; sleep 0.05; done
  fi

  local answer total
  answer=$(api POST /v1/quotes "$BILLCALC_PUBLISHABLE_KEY" "" "$WORK/quote.json")
  total=$(printf '%s' "${answer#* }" | json_field quote.total)
  [ "${answer%% *}" = 200 ] && [ -n "$total" ] || { fail "quote: $answer"; stop_all; return; }
  printf '{"cart":%s,"expected_total":%s,"payment_method":"pm_card_visa"}' "$CART" "$total" >"$WORK/charge.json"

  local before machine
  before=$(count_invoices)
  wrk_run warmup 2s
  machine="nproc $(nproc), load average $(awk '{print $1", "$2", "$3}' /proc/loadavg)"
  local cpu_before render_before pg_before=0
  cpu_before=$(cpu_ticks) render_before=$(cpu_ticks billcalc-render)
  local writer_before checkpoint_before probe_pid
  writer_before=$(cpu_ticks billcalc-sqlite) checkpoint_before=$(cpu_ticks billcalc-ckpt)
  [ "$DB" = postgres ] && pg_before=$(pg_cpu_ticks)
  fsync_probe "${DURATION%s}" "$dir/fsync-probe.bin" &
  probe_pid=$!
  wrk_run charges "$DURATION"
  wait "$probe_pid" 2>/dev/null || true
  # Server CPU (every instance: utime + stime) over the charges answered in the run, and the
  # parts of it the e-invoice renderer threads (lowest priority), SQLite's writer thread and
  # its checkpoint thread took (thread names, /proc/PID/task/*/comm, which keeps 15 characters).
  local cpu_ms render_ms writer_ms checkpoint_ms wrk_ms
  cpu_ms=$(( ($(cpu_ticks) - cpu_before) * 1000 / CLK_TCK ))
  render_ms=$(( ($(cpu_ticks billcalc-render) - render_before) * 1000 / CLK_TCK ))
  writer_ms=$(( ($(cpu_ticks billcalc-sqlite) - writer_before) * 1000 / CLK_TCK ))
  checkpoint_ms=$(( ($(cpu_ticks billcalc-ckpt) - checkpoint_before) * 1000 / CLK_TCK ))
  wrk_ms=$(( $(cat "$WORK/charges.json.wrkcpu" 2>/dev/null || echo 0) * 1000 / CLK_TCK ))
  # PostgreSQL's CPU over the charges answered in the run (its share of the shared cores).
  local pg_ms=-
  [ "$DB" = postgres ] && pg_ms=$(( ($(pg_cpu_ticks) - pg_before) * 1000 / CLK_TCK ))
  # E-invoices are rendered after the answer: how far the renderer is behind when wrk stops.
  local pending_after
  pending_after=$(count_pending_einvoices)

  # Writes after the run, through the same entry point, read back.
  local charge invoice number sub sub_id
  charge=$(api POST /v1/charges "$BILLCALC_SECRET_KEY" "after-$LABEL-$RANDOM$RANDOM" "$WORK/charge.json")
  invoice=$(printf '%s' "${charge#* }" | json_field invoice.id)
  number=$(printf '%s' "${charge#* }" | json_field invoice.number)
  [ "${charge%% *}" = 200 ] && [ -n "$invoice" ] || fail "a charge after the run: $charge"
  answer=$(api GET "/v1/invoices/$invoice" "$BILLCALC_SECRET_KEY")
  [ "${answer%% *}" = 200 ] && [ "$(printf '%s' "${answer#* }" | json_field number)" = "$number" ] \
    || fail "reading back invoice $invoice: $answer"
  sub=$(api POST /v1/subscriptions "$BILLCALC_SECRET_KEY" "after-sub-$LABEL-$RANDOM$RANDOM" "$WORK/subscribe.json")
  sub_id=$(printf '%s' "${sub#* }" | json_field id)
  [ "${sub%% *}" = 200 ] && [ -n "$sub_id" ] || fail "a subscription after the run: $sub"
  answer=$(api GET "/v1/subscriptions/$sub_id" "$BILLCALC_SECRET_KEY")
  [ "${answer%% *}" = 200 ] && [ "$(printf '%s' "${answer#* }" | json_field status)" = active ] \
    || fail "reading back subscription $sub_id: $answer"
  for port in "${ports[@]}"; do
    answer=$(curl -s -w ' %{http_code}' "http://127.0.0.1:$port/readyz" || true)
    [ "${answer##* }" = 200 ] || fail "instance on $port not ready after the run: $answer"
  done
  # Every acknowledged charge is stored (warm-up and run; plus the two writes above).
  local acked stored
  acked=$(( $(json_field acknowledged <"$WORK/warmup.json") + $(json_field acknowledged <"$WORK/charges.json") + 2 ))
  stored=$(( $(count_invoices) - before ))
  if [ "$stored" -lt "$acked" ] || [ "$stored" -gt $((acked + 2 * CONNECTIONS)) ]; then
    fail "$acked charges acknowledged, $stored invoices stored"
  fi
  stop_all

  local r="$WORK/charges.json"
  local requests cpu_per
  requests=$(json_field requests <"$r")
  cpu_per=$(node -e 'const [c, r, n] = process.argv.slice(1).map(Number); console.log(n ? `${(c / n).toFixed(3)} ms (render ${(r / n).toFixed(3)})` : "-")' "$cpu_ms" "$render_ms" "$requests")
  printf '%s%-8s %d instance%s  %8s charges/s  p50 %6s ms  p99 %6s ms  server CPU %s per charge  (%s requests in %s s, %s non-2xx; stored %s/%s acknowledged; e-invoices pending at the end %s/%s; %s)\n' \
    "$([ "$CONFIG_FAILED" = 1 ] && echo 'FAILED: ')" "$DB" "$INSTANCES" "$([ "$INSTANCES" = 1 ] && echo ' ' || echo s)" "$(json_field per_second <"$r")" \
    "$(json_field p50_ms <"$r")" "$(json_field p99_ms <"$r")" "$cpu_per" "$requests" \
    "$(json_field seconds <"$r")" "$(json_field non_2xx <"$r")" "$stored" "$acked" "$pending_after" "$stored" "$machine"
  node -e 'const [w, k, g, n] = process.argv.slice(1).map(Number); const f = (x) => n ? (x / n).toFixed(3) : "-";
    console.log(`         of which SQLite writer thread ${f(w)} ms, checkpoint thread ${f(k)} ms per charge; wrk ${f(g)} ms per charge; fsync while measuring: ${process.argv[5]}`)' \
    "$writer_ms" "$checkpoint_ms" "$wrk_ms" "$requests" "$(cat "$WORK/fsync.txt" 2>/dev/null || echo -)"
  if [ "$DB" = postgres ]; then
    node -e 'const [c, n] = process.argv.slice(1).map(Number); console.log(`         PostgreSQL CPU ${n ? (c / n).toFixed(3) : "-"} ms per charge (${c} ms for ${n} charges)`)' "$pg_ms" "$(json_field requests <"$r")"
  fi
  if [ -n "${RESULTS:-}" ]; then
    node -e 'const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
      console.log(JSON.stringify({time: new Date().toISOString(), db: process.argv[2], instances: +process.argv[3],
        per_second: r.per_second, p50_ms: r.p50_ms, p99_ms: r.p99_ms, requests: r.requests, non_2xx: r.non_2xx,
        server_cpu_ms: +process.argv[10], render_cpu_ms: +process.argv[11],
        stored: +process.argv[4], acknowledged: +process.argv[5], machine: process.argv[6], connections: +process.argv[7],
        commit: process.argv[8], failed: process.argv[9] === "1"}))' \
      "$r" "$DB" "$INSTANCES" "$stored" "$acked" "$machine" "$CONNECTIONS" \
      "$(git rev-parse --short HEAD 2>/dev/null || echo -)" "$CONFIG_FAILED" "$cpu_ms" "$render_ms" >>"$RESULTS"
  fi
}

echo "load: $(nproc) cores, $(awk '/model name/ {$1=$2=$3=""; print; exit}' /proc/cpuinfo | sed 's/^ *//'), $(free -g | awk '/Mem/ {print $2}') GiB; uptime:$(uptime | sed 's/.*up/ up/'); wrk 1 thread, $CONNECTIONS connections, $DURATION per run; $SERVER_BIN"
FAILED=0
for ((round = 1; round <= ROUNDS; round++)); do
  for config in $CONFIGS; do
    measure "${config%%:*}" "${config##*:}" "$round"
  done
done
if [ "$FAILED" != 0 ]; then
  echo "load: FAILED (see above)" >&2
  exit 1
fi
echo "load: every answer 2xx, writes after each run created and read back, every acknowledged charge stored"
