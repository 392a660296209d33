#!/usr/bin/env bash
# The main job: builds the npm package and serves the demo page (www/) that prices a sample cart
# in the browser with the wasm engine. Usage: bash scripts/demo.sh  (PORT=8080 by default)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build-pkg.sh
echo "billcalc demo: http://127.0.0.1:${PORT:-8080}/"
exec node scripts/serve.mjs
