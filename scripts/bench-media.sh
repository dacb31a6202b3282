#!/usr/bin/env bash
# make bench-media: peak memory of keeping one 100 MB inbound document (Graph stand-in -> the worker's media
# job -> the payload bucket in the emulator). BENCH_MEDIA_BYTES changes the size; BENCH_PROFILE=debug runs the
# unoptimized build (`cargo test --bench`, faster to build) instead of the bench profile.
set -euo pipefail
. "$(dirname "$0")/env.sh"
trap stop_emulator EXIT
start_emulator
python scripts/local_stack.py > /dev/null
if [ "${BENCH_PROFILE:-bench}" = debug ]; then
  cargo test -p integration-tests --bench media_memory
else
  cargo bench -p integration-tests --bench media_memory
fi
