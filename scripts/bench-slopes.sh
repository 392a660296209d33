#!/usr/bin/env bash
# Prints each scaling axis's slope from criterion's estimates of `cargo bench --bench scaling`
# (target/criterion/<axis>/<size>/new/estimates.json): between consecutive sizes,
# log(time ratio) / log(size ratio): about 1 is linear, 2 quadratic.
# Usage: cargo bench --bench scaling && bash scripts/bench-slopes.sh
set -euo pipefail
cd "$(dirname "$0")/.."
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
