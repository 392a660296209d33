#!/usr/bin/env bash
# Assembles the npm package `billcalc` into pkg/ (git-ignored) from pkg-template/:
#
#   cargo build --target wasm32-unknown-unknown --profile web -p billcalc    (opt-level z: size)
#       --no-default-features --features subscriptions
#     wasm-bindgen --target web    → pkg/web/   (browsers without a bundler, Vite and other bundlers)
#   cargo build --target wasm32-unknown-unknown --profile node -p billcalc   (opt-level 3: speed)
#     wasm-bindgen --target nodejs → pkg/node/  (Node: `require` directly, `import` via an ESM wrapper)
#   the web profile with only the `quotes` feature, --target web → pkg/checkout/
#     (`billcalc/checkout`: quotes, tax, discounts and the widget, for checkout pages)
#   the web profile with only the `adapters` feature, --target web → pkg/adapters/
#     (`billcalc/adapters`: Shopify and WooCommerce carts to billcalc carts, in browsers)
#   the web profile with only the `metrics` feature, --target web → pkg/metrics/
#     (`billcalc/metrics`: revenueMetrics, for dashboards in browsers)
#   the web profile with `quotes`, `subscriptions`, `metrics` and `einvoice` → pkg/einvoice/ (--target web,
#     browsers) and pkg/einvoice/node/ (--target nodejs) (`billcalc/einvoice`: writeEinvoice,
#     readEinvoice, with the engine's quote, preview and credit-note functions)
#   wasm-opt (npm `binaryen`): -Oz (with function merging and re-looping) for the browser builds,
#   -O3 for Node's
#   The browser builds (web, checkout, adapters, metrics) rebuild the standard library for size
#   (-Zbuild-std, panic=immediate-abort; see BROWSER_RUSTFLAGS below).
#
# Node's build has every feature (quotes, subscriptions, adapters, metrics); the browser builds leave
# the adapters and the revenue metrics out of `billcalc` and `billcalc/checkout` (issue 12: a
# checkout page pays per byte).
#
# The profiles are in Cargo.toml; browsers pay for every byte they download, a Node server once.
#
# Installs what is missing (wasm32 target, wasm-bindgen CLI of the crate's exact version, npm dev
# tools) and does nothing but print the sizes when no input changed. Usage: scripts/build-pkg.sh
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$ROOT/node_modules/.bin:$PATH"

# Features rustc 1.95 declares for wasm32-unknown-unknown (its target_features section lists the
# same). The module uses four of them: bulk-memory (memory.fill/copy), sign-ext, reference-types
# (wasm-bindgen's externref table) and multivalue (multi-value returns). mutable-globals and
# nontrapping-float-to-int are declared but unused. Never pass -all: it enables non-standard
# encodings (e.g. compact imports) that browsers reject.
WASM_OPT_FEATURES=(--enable-bulk-memory --enable-reference-types --enable-multivalue --enable-sign-ext
  --enable-mutable-globals --enable-nontrapping-float-to-int --strip-producers --strip-target-features)
# --low-memory-unused: wasm-ld places data from address 1024 up, so loads and stores below it never
# happen and wasm-opt may fold constant offsets into them; --zero-filled-memory: the module
# defines its memory (not imported), which starts zeroed, so zero bytes of data need no segment.
# Both only let wasm-opt drop bytes (-3 KB raw, -1.3 KB gzip on the checkout build). Not used:
# --converge (-0.2 KB for minutes of wasm-opt under load), -Os (+1.3 KB raw), --gufa (+2 KB).
WASM_OPT_WEB=(-Oz --low-memory-unused --zero-filled-memory "${WASM_OPT_FEATURES[@]}")
# The size-targeted browser builds (web, checkout, adapters, metrics; issue 12) first merge
# functions that differ only in constants (monomorphised copies), flatten and re-loop the control
# flow, then run -Oz twice. Measured on the checkout build (raw / gzip -9 bytes): -Oz alone
# 351,085 / 145,278; with --merge-similar-functions 347,353 / 144,530; plus --flatten --rereloop
# 343,916 / 143,990; plus a second -Oz 343,609 / 143,312. Costs: wasm-opt time (about 40 s per
# build under load instead of 15). Not used for the e-invoice builds (twice the size, no size target).
WASM_OPT_SMALL=(--merge-similar-functions --flatten --rereloop -Oz -Oz --low-memory-unused
  --zero-filled-memory "${WASM_OPT_FEATURES[@]}")
# Node: -O3, but a function with one caller is inlined only when small (binaryen inlines every such
# function by default). The default welded the quote's whole pipeline into one 25 KB function
# (quote::run), which V8 tiered up to TurboFan after the second quote: ~80 ms of CPU on a background
# thread that the process also waits for at exit (issue 12, cold start; benches/node/cold-start.mjs
# --trace). Per call it is not slower (benches/node/compare.mjs --against).
WASM_OPT_NODE=(-O3 --one-caller-inline-max-function-size 100 "${WASM_OPT_FEATURES[@]}")

# The size-targeted browser builds (web, checkout, adapters, metrics; issue 12) compile the standard
# library from source for their own settings (rust-src, installed below; the stable toolchain
# through RUSTC_BOOTSTRAP=1, as scripts/fuzz.sh does for cargo-fuzz):
# - panic=immediate-abort: a panic is the wasm `unreachable` trap at once, without the panic
#   machinery (formatting the message, the hook, the location). In wasm32-unknown-unknown the
#   default hook writes to a stderr that does not exist and panic=abort traps anyway, so nothing a
#   user could see is lost; the engine returns errors and never panics by design (fuzzed).
# - location-detail=none: no file/line/column strings for panics that cannot be reported.
# - fmt-debug=none: `{:?}` writes nothing. No message the wasm builds produce uses Debug (only
#   tests and the native PDF writer do); error messages use Display.
# - std's optimize_for_size: its smaller sort and formatting code paths.
# Measured on the checkout build (raw / gzip -9 after the passes below): 350,218 / 147,110
# without, 311,761 / 132,638 with. The Node and e-invoice builds keep the prebuilt std.
BROWSER_RUSTFLAGS="-Zunstable-options -Cpanic=immediate-abort -Zlocation-detail=none -Zfmt-debug=none"
BROWSER_CARGO=(-Zbuild-std=std,panic_abort -Zbuild-std-features=optimize_for_size)
browser_build() {
  env -u CARGO_ENCODED_RUSTFLAGS RUSTC_BOOTSTRAP=1 RUSTFLAGS="$BROWSER_RUSTFLAGS" \
    cargo build "${BROWSER_CARGO[@]}" "$@"
}

log() { printf 'build-pkg: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }
sha() { sha256sum "$@" | cut -d' ' -f1; }

command -v cargo >/dev/null || die "cargo not found"
command -v node >/dev/null || die "node not found"
command -v npm >/dev/null || die "npm not found"

# --- tools ---------------------------------------------------------------------------------------
if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
  log "installing the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi
# The standard library's source, for the browser builds' -Zbuild-std.
if ! rustup component list --installed 2>/dev/null | grep -qx rust-src; then
  log "installing the rust-src component"
  rustup component add rust-src
fi

# Everything taken from Cargo: package version and metadata, the wasm-bindgen crate version (the
# CLI must match it exactly) and the target directory.
CARGO_INFO=$(cargo metadata --format-version 1 --manifest-path "$ROOT/Cargo.toml" | node -e '
  const m = JSON.parse(require("fs").readFileSync(0, "utf8"));
  const own = m.packages.find((p) => p.name === "billcalc" && m.workspace_members.includes(p.id));
  const wbg = [...new Set(m.packages.filter((p) => p.name === "wasm-bindgen").map((p) => p.version))];
  if (!own || wbg.length !== 1) { console.error("cannot find billcalc and one wasm-bindgen in cargo metadata"); process.exit(1); }
  const { version, description, license, repository, homepage } = own;
  console.log(JSON.stringify({ version, wasmBindgen: wbg[0], targetDir: m.target_directory, description, license, repository, homepage }));')
info() { printf '%s' "$CARGO_INFO" | node -e 'console.log(JSON.parse(require("fs").readFileSync(0, "utf8"))[process.argv[1]])' "$1"; }
VERSION=$(info version)
WBG_VERSION=$(info wasmBindgen)
TARGET_DIR=$(info targetDir)

# The CLI must equal the wasm-bindgen crate version exactly. No --locked (see TOOLCHAIN.md).
have_wbg() { wasm-bindgen --version 2>/dev/null | awk '{print $2}'; }
if [ "$(have_wbg)" != "$WBG_VERSION" ]; then
  log "installing wasm-bindgen-cli $WBG_VERSION (found: '$(have_wbg)')"
  cargo install wasm-bindgen-cli --version "$WBG_VERSION" --force
  [ "$(have_wbg)" = "$WBG_VERSION" ] || die "wasm-bindgen on PATH is '$(have_wbg)', expected $WBG_VERSION"
fi

# Reinstall when package-lock.json changed since the last install (a stamp of its hash), so a
# checkout that gained a dev dependency (chart.js, dinero.js, ...) never runs with a stale tree.
LOCK_STAMP=node_modules/.billcalc-lock.sha256
if [ ! -x node_modules/.bin/wasm-opt ] || [ ! -f "$LOCK_STAMP" ] \
  || [ "$(cat "$LOCK_STAMP")" != "$(sha package-lock.json)" ]; then
  log "installing npm dev tools"
  npm ci --no-audit --no-fund
  sha package-lock.json >"$LOCK_STAMP"
fi
WASM_OPT_VERSION=$(wasm-opt --version)

# --- compile -------------------------------------------------------------------------------------
# Four builds of one crate: quotes and subscriptions for browsers (size), everything for Node
# (speed), the checkout build with quotes only (size) and the adapters alone (size). Each profile
# has its own output directory; the checkout and adapters builds also their own target directory
# (other features), so none overwrites another.
browser_build --target wasm32-unknown-unknown --profile web -p billcalc --no-default-features \
  --features subscriptions
RAW="$TARGET_DIR/wasm32-unknown-unknown/web/billcalc.wasm"
[ -f "$RAW" ] || die "$RAW not found"
cargo build --target wasm32-unknown-unknown --profile node -p billcalc
RAW_NODE="$TARGET_DIR/wasm32-unknown-unknown/node/billcalc.wasm"
[ -f "$RAW_NODE" ] || die "$RAW_NODE not found"
browser_build --target wasm32-unknown-unknown --profile web -p billcalc --no-default-features \
  --features quotes --target-dir "$TARGET_DIR/checkout"
RAW_CHECKOUT="$TARGET_DIR/checkout/wasm32-unknown-unknown/web/billcalc.wasm"
[ -f "$RAW_CHECKOUT" ] || die "$RAW_CHECKOUT not found"
browser_build --target wasm32-unknown-unknown --profile web -p billcalc --no-default-features \
  --features adapters --target-dir "$TARGET_DIR/adapters"
RAW_ADAPTERS="$TARGET_DIR/adapters/wasm32-unknown-unknown/web/billcalc.wasm"
[ -f "$RAW_ADAPTERS" ] || die "$RAW_ADAPTERS not found"
browser_build --target wasm32-unknown-unknown --profile web -p billcalc --no-default-features \
  --features metrics --target-dir "$TARGET_DIR/metrics"
RAW_METRICS="$TARGET_DIR/metrics/wasm32-unknown-unknown/web/billcalc.wasm"
[ -f "$RAW_METRICS" ] || die "$RAW_METRICS not found"
# `billcalc/einvoice`: the e-invoice writers and reader (issue 14), never in the checkout build.
cargo build --target wasm32-unknown-unknown --profile web -p billcalc --no-default-features \
  --features quotes,subscriptions,metrics,einvoice --target-dir "$TARGET_DIR/einvoice"
RAW_EINVOICE="$TARGET_DIR/einvoice/wasm32-unknown-unknown/web/billcalc.wasm"
[ -f "$RAW_EINVOICE" ] || die "$RAW_EINVOICE not found"

WORK="$TARGET_DIR/billcalc-pkg"
STAMP="$WORK/stamp"
mkdir -p "$WORK"
# One build at a time (they share the staging directory and pkg/).
if command -v flock >/dev/null; then exec 9>"$WORK/lock" && flock 9; fi

pkg_digest() { (cd pkg 2>/dev/null && find . -type f | LC_ALL=C sort | xargs -r sha256sum | sha256sum | cut -d' ' -f1); }
inputs_digest() {
  {
    echo "raw $(sha "$RAW") $(sha "$RAW_NODE") $(sha "$RAW_CHECKOUT") $(sha "$RAW_ADAPTERS") $(sha "$RAW_METRICS") $(sha "$RAW_EINVOICE")"
    echo "version $VERSION"
    echo "wasm-bindgen $WBG_VERSION"
    echo "browser $BROWSER_RUSTFLAGS ${BROWSER_CARGO[*]}"
    echo "wasm-opt $WASM_OPT_VERSION ${WASM_OPT_WEB[*]} / ${WASM_OPT_SMALL[*]} / ${WASM_OPT_NODE[*]}"
    echo "script $(sha "$ROOT/scripts/build-pkg.sh")"
    echo "cargo $CARGO_INFO"
    (cd pkg-template && find . -type f | LC_ALL=C sort | xargs -r sha256sum)
  } | sha256sum | cut -d' ' -f1
}

report() {
  log "pkg/ billcalc@$VERSION: web/ node/ checkout/ adapters/ metrics/ einvoice/ (wasm-bindgen $WBG_VERSION, $WASM_OPT_VERSION)"
  for wasm in pkg/web/billcalc_bg.wasm pkg/checkout/billcalc_bg.wasm pkg/adapters/billcalc_bg.wasm pkg/metrics/billcalc_bg.wasm pkg/node/billcalc_bg.wasm \
    pkg/einvoice/billcalc_bg.wasm; do
    printf 'wasm size: %s bytes raw, %s bytes gzipped (gzip -9) — %s\n' \
      "$(wc -c <"$wasm" | tr -d ' ')" "$(gzip -9 -n -c "$wasm" | wc -c | tr -d ' ')" "$wasm"
  done
}

INPUTS=$(inputs_digest)
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$INPUTS $(pkg_digest)" ]; then
  log "pkg/ is up to date"
  report
  exit 0
fi

# --- assemble in a staging directory, then swap it in -------------------------------------------
STAGE="$WORK/staging"
rm -rf "$STAGE"
mkdir -p "$STAGE"
cp -R pkg-template/. "$STAGE/"

wasm-bindgen --target web --out-dir "$STAGE/web" "$RAW"
wasm-bindgen --target nodejs --out-dir "$STAGE/node" "$RAW_NODE"
# The checkout build reuses the web entry files (index.js, summary.js, their .d.ts).
cp -R pkg-template/web/. "$STAGE/checkout/"
wasm-bindgen --target web --out-dir "$STAGE/checkout" "$RAW_CHECKOUT"
wasm-bindgen --target web --out-dir "$STAGE/adapters" "$RAW_ADAPTERS"
wasm-bindgen --target web --out-dir "$STAGE/metrics" "$RAW_METRICS"
wasm-bindgen --target web --out-dir "$STAGE/einvoice" "$RAW_EINVOICE"
wasm-bindgen --target nodejs --out-dir "$STAGE/einvoice/node" "$RAW_EINVOICE"

# wasm-opt is the slow step (~10 s per build): cache its output by input digest and flags.
optimise() {
  local in=$1 key
  shift
  key=$( { sha "$in"; echo "$WASM_OPT_VERSION $*"; } | sha256sum | cut -d' ' -f1)
  mkdir -p "$WORK/wasm-opt-cache"
  if [ ! -f "$WORK/wasm-opt-cache/$key.wasm" ]; then
    log "wasm-opt $* ($(wc -c <"$in" | tr -d ' ') bytes from wasm-bindgen)"
    wasm-opt "$@" "$in" -o "$WORK/wasm-opt-cache/$key.wasm.tmp"
    mv "$WORK/wasm-opt-cache/$key.wasm.tmp" "$WORK/wasm-opt-cache/$key.wasm"
  fi
  cp "$WORK/wasm-opt-cache/$key.wasm" "$in"
}
optimise "$STAGE/web/billcalc_bg.wasm" "${WASM_OPT_SMALL[@]}"
optimise "$STAGE/node/billcalc_bg.wasm" "${WASM_OPT_NODE[@]}"
optimise "$STAGE/checkout/billcalc_bg.wasm" "${WASM_OPT_SMALL[@]}"
optimise "$STAGE/adapters/billcalc_bg.wasm" "${WASM_OPT_SMALL[@]}"
optimise "$STAGE/metrics/billcalc_bg.wasm" "${WASM_OPT_SMALL[@]}"
optimise "$STAGE/einvoice/billcalc_bg.wasm" "${WASM_OPT_WEB[@]}"
optimise "$STAGE/einvoice/node/billcalc_bg.wasm" "${WASM_OPT_WEB[@]}"
# Keep only the newest few cached optimisations.
(cd "$WORK/wasm-opt-cache" && ls -1t -- *.wasm 2>/dev/null | tail -n +10 | xargs -r rm -f --)

# Glue: point the entry files at the snippet that defines BillcalcError; make the nodejs target's
# snippets CommonJS (wasm-bindgen `require`s them but writes them as ES modules, which only Node
# >= 20.19 loads with require(esm); wasm-bindgen issue #1525); fill package.json from Cargo.toml.
STAGE="$STAGE" CARGO_INFO="$CARGO_INFO" node --input-type=module -e '
  import { readFileSync, writeFileSync, readdirSync, rmSync } from "node:fs";
  import { join, relative } from "node:path";
  import { createRequire } from "node:module";
  const stage = process.env.STAGE;
  const fail = (msg) => { console.error("build-pkg: error: " + msg); process.exit(1); };
  const walk = (dir) => readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)]);

  for (const target of ["web", "node", "checkout", "adapters", "metrics", "einvoice", "einvoice/node"]) {
    const dir = join(stage, target);
    const snippets = walk(join(dir, "snippets")).filter((f) => f.endsWith(".js")).sort();
    const defining = snippets.filter((f) => /^export class BillcalcError\b/m.test(readFileSync(f, "utf8")));
    if (defining.length !== 1) fail(`${target}: expected one snippet defining BillcalcError, found ${defining.length}`);
    const spec = "./" + relative(dir, defining[0]).split("\\").join("/");
    for (const entry of readdirSync(dir).filter((f) => /^index\.(js|mjs|cjs)$/.test(f))) {
      const file = join(dir, entry);
      const text = readFileSync(file, "utf8");
      // In Node, index.mjs takes everything from index.cjs (no snippet of its own).
      if (target.endsWith("node") && entry === "index.mjs") continue;
      if (!text.includes("@BILLCALC_ERROR_SNIPPET@")) fail(`${file} lacks the snippet placeholder`);
      writeFileSync(file, text.replaceAll("@BILLCALC_ERROR_SNIPPET@", spec));
    }
    if (!target.endsWith("node")) continue;
    // Node: one file. index.cjs carries the snippet and the billcalc.js of wasm-bindgen inline, each in
    // its own function scope, instead of requiring them: every CommonJS file costs a resolve, a
    // stat, a read and a compile on every start (issue 12, cold start: -1.6 ms of the main-thread
    // glue, benches/node/cold-start.mjs). The separate files are then removed from the package.
    if (snippets.length !== 1) fail(`${target}: expected one snippet, found ${snippets.length}`);
    const snippetNames = [];
    const body = readFileSync(snippets[0], "utf8").replace(
      /^export (class|function|const|let|var) ([A-Za-z_$][\w$]*)/gm,
      (_, kind, name) => { snippetNames.push(name); return `${kind} ${name}`; });
    if (/^\s*(import|export)\b/m.test(body)) fail(`${snippets[0]}: cannot convert this ES module to a script`);
    const glueFile = join(dir, "billcalc.js");
    let glue = readFileSync(glueFile, "utf8");
    const snippetRequire = "require(String.raw`" + spec + "`)";
    const required = [...glue.matchAll(/require\((String\.raw`[^`]*`|\x27[^\x27]*\x27|"[^"]*")\)/g)].map((m) => m[0]);
    if (!required.includes(snippetRequire) || required.some((r) => r !== snippetRequire && !/^require\([\x27"]fs[\x27"]\)$/.test(r)))
      fail(`${glueFile}: unexpected requires: ${required.join(", ")}`);
    glue = glue.replaceAll(snippetRequire, "billcalcSnippet");
    const entryFile = join(dir, "index.cjs");
    const entry = readFileSync(entryFile, "utf8");
    const entryRequires = [`require(\x27${spec}\x27)`, "require(\x27./billcalc.js\x27)"];
    if (entryRequires.some((r) => !entry.includes(r))) fail(`${entryFile}: expected ${entryRequires.join(" and ")}`);
    writeFileSync(entryFile, [
      "\x27use strict\x27;",
      "// The snippet of src/wasm.rs (BillcalcError, the input check, the quote rebuilding) and wasm-bindgen",
      "// glue (billcalc.js), inlined by scripts/build-pkg.sh; the entry itself follows them.",
      `const billcalcSnippet = (() => {\n${body.trimEnd()}\nreturn { ${snippetNames.join(", ")} };\n})();`,
      `const billcalcGlue = (() => {\nconst module = { exports: {} };\nconst exports = module.exports;\n${glue.trimEnd()}\nreturn module.exports;\n})();`,
      entry.replace(entryRequires[0], "billcalcSnippet").replace(entryRequires[1], "billcalcGlue"),
    ].join("\n"));
    rmSync(glueFile);
    rmSync(join(dir, "snippets"), { recursive: true });
    // index.mjs names what index.cjs exports (read from the module itself) instead of importing
    // CommonJS files, which Node would parse for their names on every start (issue 12, cold start).
    const names = Object.keys(createRequire(join(dir, "index.cjs"))("./index.cjs")).sort();
    if (!names.includes("Calculator") || !names.includes("init") || names.some((n) => !/^[A-Za-z_$][\w$]*$/.test(n) || n === "default"))
      fail(`${target}: unexpected exports of index.cjs: ${names.join(", ")}`);
    const mjs = join(dir, "index.mjs");
    const text = readFileSync(mjs, "utf8");
    if (!text.includes("@BILLCALC_NODE_EXPORTS@")) fail(`${mjs} lacks the exports placeholder`);
    writeFileSync(mjs, text.replace("@BILLCALC_NODE_EXPORTS@", names.join(", ")));
  }

  const own = JSON.parse(process.env.CARGO_INFO);
  const pkgFile = join(stage, "package.json");
  const pkg = JSON.parse(readFileSync(pkgFile, "utf8"));
  pkg.version = own.version;
  pkg.description = own.description ?? "";
  pkg.license = own.license ?? "UNLICENSED";
  if (own.repository) pkg.repository = own.repository;
  if (own.homepage) pkg.homepage = own.homepage;
  writeFileSync(pkgFile, JSON.stringify(pkg, null, 2) + "\n");
'

# Smoke test of the assembled package: both Node entries load, share one instance, and report the
# package version.
node --input-type=module -e '
  import { createRequire } from "node:module";
  import { pathToFileURL } from "node:url";
  const dir = process.argv[1];
  const esm = await import(pathToFileURL(dir + "/node/index.mjs").href);
  const cjs = createRequire(dir + "/")("./node/index.cjs");
  const pkg = createRequire(dir + "/")("./package.json");
  for (const name of ["computeQuote", "Calculator", "version", "BillcalcError"])
    if (typeof esm[name] !== "function" || esm[name] !== cjs[name]) throw new Error(`export ${name} missing or not shared`);
  if (esm.version() !== pkg.version) throw new Error(`version() ${esm.version()} != package ${pkg.version}`);
  const ei = await import(pathToFileURL(dir + "/einvoice/node/index.mjs").href);
  const eiCjs = createRequire(dir + "/")("./einvoice/node/index.cjs");
  for (const name of ["writeEinvoice", "readEinvoice", "BillcalcError"])
    if (typeof ei[name] !== "function" || ei[name] !== eiCjs[name]) throw new Error(`einvoice export ${name} missing or not shared`);
  if (typeof esm.writeEinvoice !== "undefined") throw new Error("the main build must not carry the e-invoice writers");
' "$STAGE"

rm -rf pkg
mv "$STAGE" pkg
printf '%s %s\n' "$INPUTS" "$(pkg_digest)" >"$STAMP"
report
