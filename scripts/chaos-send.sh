#!/usr/bin/env bash
# make chaos-send: CHAOS_SENDS sends (default 500) with every ambiguous Graph answer, duplicate
# requests and redeliveries mixed, against the test stack's own moto and the Graph stand-in.
set -euo pipefail
. "$(dirname "$0")/env.sh"
use_test_stack
trap stop_emulator EXIT
start_emulator
python scripts/local_stack.py > /dev/null
CHAOS_SENDS="${CHAOS_SENDS:-500}" cargo test --quiet -p integration-tests --test sending chaos_send -- --nocapture 2>&1 \
  | grep -E "^chaos-send:|test result|panicked|assert"
