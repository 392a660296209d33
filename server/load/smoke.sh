#!/usr/bin/env bash
# The load script's smoke test (scripts/test.sh): a two-second run of server/load/run.sh on one
# instance and SQLite with the debug binary must pass (every answer 2xx, the writes after the
# run read back, every acknowledged charge stored), and the same run with every second request
# sent with a wrong key (401) must fail, naming the non-2xx answers. Takes about 10 s.
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ -z "${SERVER_BIN:-}" ]; then
  cargo build -q -p billcalc-server
  TARGET_DIR=$(cargo metadata --format-version 1 --no-deps | node -e 'console.log(JSON.parse(require("fs").readFileSync(0, "utf8")).target_directory)')
  export SERVER_BIN="$TARGET_DIR/debug/billcalc-server"
fi
export CONFIGS=sqlite:1 DURATION=3s CONNECTIONS=2
LOG=$(mktemp)
trap 'rm -f "$LOG"' EXIT
bash server/load/run.sh
if BREAK_EVERY=2 bash server/load/run.sh >"$LOG" 2>&1; then
  cat "$LOG"
  echo "load smoke: a run with 401 answers passed: the load script does not catch failures" >&2
  exit 1
fi
grep -q "answers not 2xx (statuses 401" "$LOG" || { cat "$LOG"; echo "load smoke: the failure is not the 401s" >&2; exit 1; }
echo "load smoke: a clean run passes; a run with 401 answers fails ($(grep -o '[0-9]* answers not 2xx' "$LOG" | paste -sd, -))"
