#!/usr/bin/env bash
# make test: every check, in the order a reviewer would want them to fail.
set -euo pipefail
. "$(dirname "$0")/env.sh"
trap stop_emulator EXIT

echo "== cargo fmt --check"
cargo fmt --all -- --check

echo "== template lint (cfn-lint)"
cfn-lint template.yaml

echo "== cargo clippy --all-targets -D warnings"
cargo clippy --workspace --all-targets --quiet -- -D warnings

echo "== AWS emulator and the template's resources"
start_emulator
python scripts/local_stack.py

echo "== cargo test (unit + integration against moto over HTTP)"
cargo test --workspace

echo "== a function binary through cargo lambda's runtime emulator"
scripts/emulator-invoke.sh

echo "make test: all checks passed"
