#!/usr/bin/env bash
# EN 16931 e-invoices: the crate's `einvoice` tests write every invoice-producing golden vector
# and the named scenarios (French B2B, reverse charge, export, credit note, JPY, …) as CII and
# UBL into target/einvoice-docs/ (checking write → read → verify on each; the named ones also as
# Factur-X PDF/A-3), then the official
# CEN/TC 434 validation rules (release 1.3.16, tests/einvoice/validators/, run through saxonche)
# check every document in one batch: any fatal finding fails. The documents the JS entry point
# `billcalc/einvoice` writes (tests/node/einvoice.test.mjs) are checked in the same batch. Usage: bash scripts/test-einvoice.sh
# (or --validate DIR: only the rules, over DIR's files)
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
target=${CARGO_TARGET_DIR:-target}

ensure_python() {
  if ! python3 -c 'import ensurepip, venv' 2>/dev/null; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq python3 python3-venv
  fi
}

# --validate DIR: only run the rules over DIR's files (the server tests' e-invoices).
if [ "${1:-}" = "--validate" ]; then
  ensure_python
  shopt -s nullglob
  files=("$2"/*.pdf "$2"/*.xml)
  if [ "${#files[@]}" -lt 3 ]; then
    echo "expected the server tests' e-invoices in $2, found ${#files[@]} files" >&2
    exit 1
  fi
  if ! tests/einvoice/tools/en16931-validate "${files[@]}" > "$2/validation.txt"; then
    grep -A4 '^FAIL' "$2/validation.txt" >&2
    exit 1
  fi
  echo "EN 16931 validation: ${#files[@]} server e-invoices, $(grep -c '^ok' "$2/validation.txt") with no fatal finding ($2/validation.txt)"
  exit 0
fi

docs="$target/einvoice-docs"
rm -rf "$docs"

cargo test --features facturx --test einvoice
# The command-line example: a JSON invoice into Factur-X, CII and UBL, validated below too.
for out in example.pdf example.cii.xml example.ubl.xml; do
  cargo run -q --features facturx --example facturx -- examples/facturx/invoice.json "$docs/$out"
done

# The JS entry point `billcalc/einvoice` (its own wasm build): its Node test writes its documents
# (a quote, an invoice preview, a credit note; CII and UBL) here too, and the quote's CII must be
# byte for byte the command-line example's (same input, same engine, another runtime).
bash scripts/build-pkg.sh >/dev/null
BILLCALC_EINVOICE_JS_DUMP="$docs" node --test tests/node/einvoice.test.mjs
cmp "$docs/js-fr-b2b.cii.xml" "$docs/example.cii.xml"
cmp "$docs/js-fr-b2b.ubl.xml" "$docs/example.ubl.xml"

# The validator runs in a Python virtual environment (saxonche and factur-x from PyPI).
ensure_python
shopt -s nullglob
files=("$docs"/*.xml "$docs"/*.pdf)
pdfs=("$docs"/*.pdf)
js=("$docs"/js-*.xml)
if [ "${#files[@]}" -lt 500 ] || [ "${#pdfs[@]}" -lt 6 ] || [ "${#js[@]}" -lt 6 ]; then
  echo "expected at least 500 documents, 6 PDFs and 6 from the JS entry in $docs, found ${#files[@]}, ${#pdfs[@]} and ${#js[@]}" >&2
  exit 1
fi
if ! tests/einvoice/tools/en16931-validate "${files[@]}" > "$docs/validation.txt"; then
  grep -A4 '^FAIL' "$docs/validation.txt" >&2
  exit 1
fi
echo "EN 16931 validation: ${#files[@]} documents, $(grep -c '^ok' "$docs/validation.txt") with no fatal finding ($docs/validation.txt)"
