#!/bin/bash
# build release with run.sh's settings and copy to /tmp/s7sql/$1-server
set -e
cd /work/wt/s7-i13-sqlite
export CARGO_PROFILE_RELEASE_OPT_LEVEL=3 CARGO_PROFILE_RELEASE_LTO=false \
    CARGO_PROFILE_RELEASE_PANIC=unwind CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16
nice cargo build --release -p billcalc-server --bin billcalc-server
cp target/release/billcalc-server /tmp/s7sql/$1-server
echo built $1 $(git rev-parse --short HEAD)
