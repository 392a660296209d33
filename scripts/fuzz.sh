#!/usr/bin/env bash
# Coverage-guided fuzzing (cargo-fuzz / libFuzzer) of every JSON entry point: quote, calculator,
# preview, billing_dates, dunning, credit_note, adapters, metrics (fuzz/fuzz_targets/). Each target reads
# vector-shaped JSON, is seeded from the golden vectors (scripts/fuzz-seeds.mjs) and checks that
# nothing panics and that results keep the money invariants (tests/support/invariants.rs).
#
# Usage: bash scripts/fuzz.sh [SECONDS_PER_TARGET [TARGET...]]   (default: 600 s, every target)
#   FUZZ_JOBS=2        targets run at once (each on one core), under `nice`
#   FUZZ_SANITIZER=none|address   (default none: the crate has no unsafe code; address is slower)
#   FUZZ_DEV=1         build the targets unoptimised (compiles faster; scripts/test.sh's short run)
# Installs cargo-fuzz when missing. Runs on the stable toolchain with RUSTC_BOOTSTRAP=1 (cargo
# fuzz passes -Z flags). The corpus grows in fuzz/corpus/<target> (git-ignored) between runs;
# findings land in fuzz/artifacts/<target>; a summary per target is printed at the end (time,
# executions, corpus size). Exits non-zero if any target found a crash.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"

SECONDS_PER_TARGET=${1:-600}
shift || true
ALL=(quote calculator preview billing_dates dunning credit_note adapters metrics)
TARGETS=("${@:-${ALL[@]}}")
[ ${#TARGETS[@]} -gt 0 ] || TARGETS=("${ALL[@]}")
JOBS=${FUZZ_JOBS:-2}
SANITIZER=${FUZZ_SANITIZER:-none}
export RUSTC_BOOTSTRAP=1

if ! cargo fuzz --version >/dev/null 2>&1; then
  # --debug: the CLI only drives cargo and libFuzzer, its own speed does not matter, and an
  # unoptimised build installs in about half the time.
  echo "fuzz: installing cargo-fuzz"
  cargo install cargo-fuzz --debug
fi
PROFILE=()
[ "${FUZZ_DEV:-0}" = 1 ] && PROFILE=(--dev)

node scripts/fuzz-seeds.mjs
mkdir -p fuzz/logs
echo "fuzz: building ${#TARGETS[@]} targets (sanitizer: $SANITIZER)"
nice -n 10 cargo fuzz build "${PROFILE[@]}" --sanitizer "$SANITIZER"

run_target() {
  local t=$1 start end
  mkdir -p "fuzz/corpus/$t"
  start=$(date +%s)
  # -max_len: vectors are up to ~60 KB; -rss_limit_mb: a generous bound, not a finding by itself.
  if nice -n 10 cargo fuzz run "${PROFILE[@]}" --sanitizer "$SANITIZER" "$t" "fuzz/corpus/$t" "fuzz/seeds/$t" -- \
      -max_total_time="$SECONDS_PER_TARGET" -max_len=131072 -rss_limit_mb=4096 -timeout=20 \
      -print_final_stats=1 >"fuzz/logs/$t.log" 2>&1; then
    status=ok
  else
    status=FAILED
  fi
  end=$(date +%s)
  local execs
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "fuzz/logs/$t.log" | grep -o '[0-9]*$' | tail -1)
  printf '%s\t%s\t%ss\t%s execs\tcorpus %s files\n' "$t" "$status" "$((end - start))" "${execs:-?}" \
    "$(find "fuzz/corpus/$t" -type f | wc -l | tr -d ' ')" >"fuzz/logs/$t.summary"
  [ "$status" = ok ]
}

failed=0
pids=()
for t in "${TARGETS[@]}"; do
  while [ "$(jobs -rp | wc -l)" -ge "$JOBS" ]; do sleep 1; done
  run_target "$t" &
  pids+=($!)
done
for pid in "${pids[@]}"; do wait "$pid" || failed=1; done

echo "fuzz: target, status, wall time, executions, corpus"
for t in "${TARGETS[@]}"; do cat "fuzz/logs/$t.summary"; done
if [ "$failed" -ne 0 ]; then
  for t in "${TARGETS[@]}"; do
    if grep -q FAILED "fuzz/logs/$t.summary"; then
      echo "== fuzz/logs/$t.log (tail)"; tail -40 "fuzz/logs/$t.log"
    fi
  done
  exit 1
fi
