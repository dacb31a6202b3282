#!/usr/bin/env bash
# make build: every function for Lambda on arm64 (Graviton), release profile, with
# cargo-lambda (its zig cross-links for aarch64; both come from PyPI into .venv). Prints each
# bootstrap's size and its zipped size (the artifact Lambda stores; budget: 2.5 MB zipped, the product target).
set -euo pipefail
source "$(dirname "$0")/env.sh"

FUNCTIONS=(meta-verify meta-webhook queue-worker twilio-voice twilio-gather send-api console)
BUDGET_BYTES=$((2500 * 1000))

# The arm64 standard library comes through rustup; fetch it once if this toolchain lacks it.
if ! rustup target list --installed | grep -qx aarch64-unknown-linux-gnu; then
  rustup target add aarch64-unknown-linux-gnu
fi

packages=()
for function in "${FUNCTIONS[@]}"; do packages+=(-p "$function"); done
cargo lambda build --release --arm64 --output-format zip "${packages[@]}"

echo
python3 - "$BUDGET_BYTES" "${FUNCTIONS[@]}" <<'PY'
import os, sys, zipfile
budget, functions = int(sys.argv[1]), sys.argv[2:]
print(f"{'function':<14} {'bootstrap':>10} {'zipped':>10}  budget {budget / 1e6:.1f} MB")
over = False
for function in functions:
    path = f"target/lambda/{function}/bootstrap.zip"
    with zipfile.ZipFile(path) as archive:
        raw = archive.getinfo("bootstrap").file_size
    zipped = os.path.getsize(path)
    over |= zipped > budget
    print(f"{function:<14} {raw / 1e6:7.2f} MB {zipped / 1e6:7.2f} MB  {'OVER' if zipped > budget else 'ok'}")
print("artifacts: target/lambda/<function>/bootstrap.zip")
sys.exit(1 if over else 0)
PY
