#!/usr/bin/env bash
# make bench-send: the worker's send throughput, with the AWS emulator up. DynamoDB is on dynalite
# (scripts/dynalite.sh) by default: moto serves DynamoDB one request at a time (its lock and Python's),
# which bounds a batch's wall time and a tier's rate however the worker overlaps its writes.
# BENCH_DYNAMODB=moto keeps DynamoDB on moto, for the comparison.
set -euo pipefail
. "$(dirname "$0")/env.sh"
. "$(dirname "$0")/dynalite.sh"
trap 'stop_dynalite; stop_emulator' EXIT
start_emulator
if [ "${BENCH_DYNAMODB:-dynalite}" = dynalite ]; then
  start_dynalite
fi
python scripts/local_stack.py > /dev/null
cargo bench -p integration-tests --bench send_throughput
