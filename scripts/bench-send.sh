#!/usr/bin/env bash
# make bench-send: the worker's send throughput, with the AWS emulator up.
set -euo pipefail
. "$(dirname "$0")/env.sh"
trap stop_emulator EXIT
start_emulator
python scripts/local_stack.py > /dev/null
cargo bench -p integration-tests --bench send_throughput
