#!/usr/bin/env bash
# make cost: runs a fixed workload through the bundle's real handlers (release build) against the
# AWS emulator and the Graph stand-in, counts what it makes AWS do (tests/benches/cost.rs), prices it
# (scripts/cost.py, cost/prices.toml) and writes docs/cost.md. Fails when a log budget is exceeded.
#
# COST_SCALE (default 1: 1,000 inbound texts, 1,000 statuses, 200 sends, 20 media, 50 history pages)
# scales the workload. On the test stack's naming, on its own emulator port (TEST_AWS_PORT, default
# here 4620), so it runs beside `make run` and `make test`.
set -euo pipefail
export BRIDGE_STACK=test
export TEST_AWS_PORT="${TEST_AWS_PORT:-4620}"
. "$(dirname "$0")/env.sh"
trap stop_emulator EXIT
started=$(date +%s)
python scripts/cost.py --self-test
start_emulator
python scripts/local_stack.py > /dev/null
# The functions' log level as deployed (template.yaml: ApplicationLogLevel INFO, RUST_LOG unset);
# the stand-in's and the harness's own lines are not the functions'.
export RUST_LOG="info,local_stack=off,test_support=off,integration_tests=off"
export METRICS_STACK=whatsapp-bridge
export COST_OUT="$ROOT/.local/cost.json"
logs="$ROOT/.local/cost-logs.jsonl"
cargo bench -p integration-tests --bench cost --no-run 2> .local/cost-build.log || { cat .local/cost-build.log; exit 1; }
cargo bench -p integration-tests --bench cost > "$logs"
stop_emulator
MOTO_PID=""
python scripts/cost.py --counts "$COST_OUT" --logs "$logs" --out docs/cost.md \
  --started "$started" --command "make cost${COST_SCALE:+ (COST_SCALE=$COST_SCALE)}"
