#!/usr/bin/env bash
# Runs the scaling benchmark (benches/scaling.rs, one criterion group per axis: lines, distinct
# tax rates, tiers, promotions, discounts) under `nice`, then prints each axis's medians and
# slopes from criterion's estimates (target/criterion/<axis>/<size>/new/estimates.json):
# between consecutive sizes, log(time ratio) / log(size ratio): about 1 is linear, 2 quadratic.
# The machine's load (`uptime`) is printed before and after: absolute times on a loaded machine
# are inflated, the slopes much less so.
# Usage: bash scripts/bench-slopes.sh [--no-run] [criterion filter, e.g. "lines|tiers"]
set -euo pipefail
cd "$(dirname "$0")/.."
run=1
if [ "${1:-}" = "--no-run" ]; then
  run=0
  shift
fi
if [ "$run" = 1 ]; then
  echo "before: $(uptime)"
  nice -n 10 cargo bench --bench scaling -- --warm-up-time 1 --measurement-time 3 --noplot ${1:+"$1"}
  echo "after: $(uptime)"
fi
node -e '
  const fs = require("fs"), path = require("path");
  const root = "target/criterion";
  for (const axis of ["lines", "distinct_rates", "tiers", "promotions", "discounts"]) {
    const dir = path.join(root, axis);
    if (!fs.existsSync(dir)) { console.log(`${axis}: not measured`); continue; }
    const points = fs.readdirSync(dir).filter((d) => /^\d+$/.test(d)).map(Number).sort((a, b) => a - b)
      .map((n) => [n, JSON.parse(fs.readFileSync(path.join(dir, String(n), "new", "estimates.json"))).median.point_estimate]);
    const fmt = (ns) => ns > 1e9 ? (ns / 1e9).toFixed(2) + " s" : ns > 1e6 ? (ns / 1e6).toFixed(2) + " ms" : (ns / 1e3).toFixed(1) + " µs";
    const parts = points.map(([n, t]) => `${n}: ${fmt(t)}`);
    const slopes = points.slice(1).map(([n, t], i) => (Math.log(t / points[i][1]) / Math.log(n / points[i][0])).toFixed(2));
    console.log(`${axis}: ${parts.join(", ")}; slopes ${slopes.join(", ")}`);
  }
'
