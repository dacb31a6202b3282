#!/usr/bin/env bash
# make bench-cold-start: every function's release binary (and the empty lambda_runtime floor)
# started against a local Lambda Runtime API emulator, with the AWS emulator up.
set -euo pipefail
. "$(dirname "$0")/env.sh"
trap stop_emulator EXIT
start_emulator
python scripts/local_stack.py > /dev/null
cargo build --release -p meta-verify -p meta-webhook -p queue-worker -p twilio-voice \
    -p twilio-gather -p send-api -p console -p empty-function
cargo bench -p cold-start-bench -- "$@"
