#!/usr/bin/env bash
# Runs a command with a throwaway PostgreSQL: installs Debian's `postgresql` package if no server
# binaries are present (without starting the package's default cluster), creates a cluster in a
# temporary directory, starts it on a free 127.0.0.1 port (as the `postgres` user when run as
# root), exports
#
#   BILLCALC_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:PORT/postgres
#
# runs the command, then stops the server and deletes the directory, whatever the command's
# outcome. Nothing outlives the script. Usage: server/scripts/with-postgres.sh COMMAND [ARGS...]
set -euo pipefail

log() { printf 'with-postgres: %s\n' "$*" >&2; }
pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1; }

BIN=$(pg_bin)
if [ -z "$BIN" ] || [ ! -x "$BIN/initdb" ] || [ ! -x "$BIN/pg_ctl" ]; then
  [ "$(id -u)" = 0 ] || { log "PostgreSQL is not installed and this is not root: apt-get install postgresql"; exit 1; }
  log "installing postgresql (Debian package)"
  export DEBIAN_FRONTEND=noninteractive
  # Keep the package from starting its default cluster: only our own server runs.
  POLICY=/usr/sbin/policy-rc.d
  CREATED_POLICY=0
  if [ ! -e "$POLICY" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$POLICY"
    chmod +x "$POLICY"
    CREATED_POLICY=1
  fi
  apt-get update -qq
  apt-get install -y -qq postgresql >/dev/null
  [ "$CREATED_POLICY" = 1 ] && rm -f "$POLICY"
  BIN=$(pg_bin)
fi

free_port() {
  if command -v python3 >/dev/null; then
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
  else
    node -e 'const s = require("net").createServer().listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); })'
  fi
}

DIR=$(mktemp -d "${TMPDIR:-/tmp}/billcalc-pg.XXXXXX")
if [ "$(id -u)" = 0 ]; then
  chown postgres: "$DIR"
  as_pg() { runuser -u postgres -- "$@"; }
else
  as_pg() { "$@"; }
fi

STARTED=0
cleanup() {
  if [ "$STARTED" = 1 ]; then
    as_pg "$BIN/pg_ctl" -D "$DIR/data" -m fast -w -t 30 stop >/dev/null 2>&1 \
      || as_pg "$BIN/pg_ctl" -D "$DIR/data" -m immediate -w stop >/dev/null 2>&1 || true
  fi
  rm -rf "$DIR"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

as_pg "$BIN/initdb" -D "$DIR/data" -U postgres -A trust -E UTF8 --no-sync >"$DIR/initdb.log" 2>&1 \
  || { cat "$DIR/initdb.log" >&2; exit 1; }
for attempt in 1 2 3; do
  PORT=$(free_port)
  if as_pg "$BIN/pg_ctl" -D "$DIR/data" -l "$DIR/server.log" -w -t 60 \
      -o "-h 127.0.0.1 -p $PORT -k $DIR -c max_connections=200 -c shared_buffers=64MB ${BILLCALC_TEST_POSTGRES_OPTIONS:-}" start >/dev/null; then
    STARTED=1
    break
  fi
  log "start on port $PORT failed (attempt $attempt)"; tail -5 "$DIR/server.log" >&2 || true
done
[ "$STARTED" = 1 ] || { log "could not start PostgreSQL"; exit 1; }
log "PostgreSQL $("$BIN/postgres" --version | awk '{print $3}') on 127.0.0.1:$PORT ($DIR)"

export BILLCALC_TEST_POSTGRES_URL="postgres://postgres@127.0.0.1:$PORT/postgres"
set +e
"$@"
STATUS=$?
set -e
exit "$STATUS"
