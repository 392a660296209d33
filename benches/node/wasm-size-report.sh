#!/usr/bin/env bash
# Size of each browser wasm build and where its bytes go (issue 12), from the cargo outputs that
# `bash scripts/build-pkg.sh` leaves in target/. For each build: the shipped file's raw and
# gzip -9 size (pkg/), then the same file optimised with names kept (build-pkg's passes plus `-g`:
# identical code, plus a name section) broken down by crate::module by benches/node/wasm-size.mjs.
#
#   bash scripts/build-pkg.sh && bash benches/node/wasm-size-report.sh [--depth N] [--top N]
# BUILDS="web checkout" limits it to some of the builds.
set -euo pipefail
cd "$(dirname "$0")/../.."
export PATH="$PWD/node_modules/.bin:$PATH"
TARGET=${CARGO_TARGET_DIR:-target}
OUT=$TARGET/wasm-size
mkdir -p "$OUT"
FEATURES=(--enable-bulk-memory --enable-reference-types --enable-multivalue --enable-sign-ext
  --enable-mutable-globals --enable-nontrapping-float-to-int)
for build in ${BUILDS:-web checkout adapters metrics}; do
  case $build in
    web) raw=$TARGET/wasm32-unknown-unknown/web/billcalc.wasm ;;
    *) raw=$TARGET/$build/wasm32-unknown-unknown/web/billcalc.wasm ;;
  esac
  [ -f "$raw" ] || { echo "($build: $raw not built)"; continue; }
  shipped=pkg/$build/billcalc_bg.wasm
  echo "== $build: $(wc -c <"$shipped") bytes raw, $(gzip -9 -n -c "$shipped" | wc -c) bytes gzip -9 ($shipped)"
  rm -rf "$OUT/$build" && mkdir -p "$OUT/$build"
  wasm-bindgen --target web --out-dir "$OUT/$build" "$raw"
  # The shipped builds' passes (scripts/build-pkg.sh, WASM_OPT_SMALL), keeping the names.
  wasm-opt --merge-similar-functions --flatten --rereloop -Oz -Oz -g "${FEATURES[@]}" \
    "$OUT/$build/billcalc_bg.wasm" -o "$OUT/$build/named.wasm"
  node benches/node/wasm-size.mjs "$OUT/$build/named.wasm" "$@"
  echo
done
