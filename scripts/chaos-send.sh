#!/usr/bin/env bash
# make chaos-send: CHAOS_SENDS sends (default 200, about 3.5 minutes on a 2-core machine) through every
# ambiguous Graph answer, duplicate requests and redeliveries, the worker's own DynamoDB, SQS and
# EventBridge calls through the fault layer (test_support::wire_faults: answers lost after the write
# was applied, refusals, throttles, late answers, hangs) drawn from CHAOS_SEED (default 1), against
# the test stack's own moto and the Graph stand-in. One line of counts; non-zero when a message was
# sent twice, never sent, or left with its fate unknown. Docs: docs/soak.md, "The send path under store faults".
set -euo pipefail
. "$(dirname "$0")/env.sh"
use_test_stack
trap stop_emulator EXIT
start_emulator
python scripts/local_stack.py > /dev/null
# Built first, so the time printed is the run's.
cargo test --quiet -p integration-tests --test sending --no-run
started=$(date +%s)
set +e
CHAOS_SENDS="${CHAOS_SENDS:-200}" CHAOS_SEED="${CHAOS_SEED:-1}" \
  cargo test --quiet -p integration-tests --test sending chaos_send -- --nocapture 2>&1 \
  | grep -E "^chaos-send:|test result|panicked|^assertion|^ *(left|right):"
status=${PIPESTATUS[0]}
set -e
echo "chaos-send: $(( $(date +%s) - started )) s"
exit "$status"
