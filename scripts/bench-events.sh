#!/usr/bin/env bash
# make bench-events: the worker's per-record cost with events off and on (DynamoDB only, against DynamoDB then
# PutEvents), against the AWS emulator. BENCH_RECORDS / BENCH_ROUNDS change the size.
set -euo pipefail
. "$(dirname "$0")/env.sh"
trap stop_emulator EXIT
start_emulator
python scripts/local_stack.py > /dev/null
cargo bench -p integration-tests --bench events_overhead
