#!/usr/bin/env bash
# make run: the whole bundle on this machine. Ctrl-C stops it all.
set -euo pipefail
. "$(dirname "$0")/env.sh"

cleanup() {
  [ -n "${RUNNER_PID:-}" ] && kill "$RUNNER_PID" 2>/dev/null || true
  stop_emulator
}
trap cleanup EXIT INT TERM

start_emulator
python scripts/local_stack.py
cargo build --quiet -p local-stack
echo "API: $PUBLIC_BASE_URL   (GET/POST /webhooks/whatsapp)   emulator: $AWS_ENDPOINT_URL"
target/debug/local-stack &
RUNNER_PID=$!
wait "$RUNNER_PID"
