#!/usr/bin/env bash
# Runs the Node tests (tests/node/*.test.mjs) against the npm package in pkg/, which
# scripts/build-pkg.sh builds. Exits non-zero on any failure. Usage: scripts/test-node.sh
#
# The files are listed by the shell rather than passing the directory (`node --test tests/node/`):
# Node 20 walks a directory argument, but Node 21+ treats it as a glob that matches the directory
# itself and fails with MODULE_NOT_FOUND (nodejs/node#64555).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -f pkg/package.json ]; then
  echo "test-node: pkg/ is not built; run scripts/build-pkg.sh first" >&2
  exit 1
fi
# The tests drive vite and tsc from the root dev dependencies.
if [ ! -x node_modules/.bin/vite ] || [ ! -x node_modules/.bin/tsc ]; then
  if [ -f package-lock.json ]; then npm ci --no-audit --no-fund; else npm install --no-audit --no-fund; fi
fi

shopt -s nullglob
files=(tests/node/*.test.mjs)
if [ ${#files[@]} -eq 0 ]; then
  echo "test-node: no tests/node/*.test.mjs" >&2
  exit 1
fi
exec node --test "${files[@]}"
