#!/usr/bin/env bash
# Renders the sample cards with the Rust crate and validates them with the adaptivecards JS
# library. Needs Node 20+; `npm ci` reaches the npm registry once, everything after is offline.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../../.." && pwd)
out="$root/target/cards-json"
cargo run -q --manifest-path "$root/Cargo.toml" -p cards --example dump_cards -- "$out"
cd "$here"
[ -d node_modules/adaptivecards ] || npm ci --no-audit --no-fund
CARDS_DIR="$out" node --test
