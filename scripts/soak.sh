#!/usr/bin/env bash
# make soak: the fault soak (docs/soak.md). Its own moto, with the template's resources, behind the fault
# proxy; the local API and worker (two local-stack processes) reach AWS only through the proxy; the driver
# (scripts/soak.py) posts the webhooks, schedules the faults, kills the worker once, then checks moto
# directly. Prints one line; exits non-zero when anything was lost, duplicated, wrong or unexplained.
#
# Size: SOAK_WEBHOOKS (2000), SOAK_CONCURRENCY (50), SOAK_FAULT_SECONDS (3), SOAK_CALM_SECONDS (2),
# SOAK_LARGE (webhooks over the claim-check threshold; SOAK_WEBHOOKS/400, at least 2), SOAK_DRAIN_SECONDS
# (180), SOAK_VISIBILITY_SECONDS (30), SOAK_SEED (16).
# Ports, all on 127.0.0.1: SOAK_AWS_PORT (4597) moto, SOAK_PROXY_PORT (4596) the proxy,
# SOAK_PROXY_CONTROL_PORT (4595) its control, SOAK_API_PORT (3010) the API. It runs beside `make run`
# and `make test` (their ports and resources are not touched).
set -euo pipefail
. "$(dirname "$0")/env.sh"

export SOAK_AWS_PORT="${SOAK_AWS_PORT:-4597}"
export SOAK_PROXY_PORT="${SOAK_PROXY_PORT:-4596}"
export SOAK_PROXY_CONTROL_PORT="${SOAK_PROXY_CONTROL_PORT:-4595}"
export SOAK_API_PORT="${SOAK_API_PORT:-3010}"
export SOAK_LOG_DIR="$ROOT/.local/soak"
mkdir -p "$SOAK_LOG_DIR"
rm -f "$SOAK_LOG_DIR"/*.log

for port in "$SOAK_AWS_PORT" "$SOAK_PROXY_PORT" "$SOAK_PROXY_CONTROL_PORT" "$SOAK_API_PORT"; do
  if port_taken "$port"; then
    echo "make soak: 127.0.0.1:$port is in use (SOAK_AWS_PORT, SOAK_PROXY_PORT, SOAK_PROXY_CONTROL_PORT, SOAK_API_PORT)" >&2
    exit 1
  fi
done

# local.env's names, on the soak's own moto (the driver reads it there directly, without faults).
SOAK_ENDPOINT="http://127.0.0.1:$SOAK_AWS_PORT"
for name in QUEUE_URL SEND_QUEUE_URL EVENTS_TAP_QUEUE_URL; do
  export "$name=$SOAK_ENDPOINT/123456789012/${!name##*/}"
done
export AWS_ENDPOINT_URL="$SOAK_ENDPOINT"

python scripts/moto_server.py -H 127.0.0.1 -p "$SOAK_AWS_PORT" > "$SOAK_LOG_DIR/moto.log" 2>&1 &
MOTO_PID=$!
trap stop_emulator EXIT
for _ in $(seq 1 100); do emulator_up && break; sleep 0.2; done
emulator_up || { cat "$SOAK_LOG_DIR/moto.log"; echo "make soak: moto did not start on $SOAK_AWS_PORT" >&2; exit 1; }

# The template's resources; local_stack.py writes .local/stack.json, so keep make run's and use a copy.
[ -f .local/stack.json ] && cp .local/stack.json "$SOAK_LOG_DIR/stack.json.keep"
python scripts/local_stack.py > "$SOAK_LOG_DIR/stack.log"
mv .local/stack.json "$SOAK_LOG_DIR/stack.json"
if [ -f "$SOAK_LOG_DIR/stack.json.keep" ]; then mv "$SOAK_LOG_DIR/stack.json.keep" .local/stack.json; fi
export LOCAL_STACK_FILE="$SOAK_LOG_DIR/stack.json"
# A record the worker was killed holding, or a receive the proxy cut off, comes back after the queue's
# visibility timeout: the template's 180 s would make every run wait 3 minutes, so the soak's queue
# has 30 s, the least AWS accepts for the worker's 30 s timeout (an event source needs visibility ≥ timeout).
python - <<PY
import boto3
sqs = boto3.client("sqs", endpoint_url="$SOAK_ENDPOINT", region_name="$AWS_REGION")
sqs.set_queue_attributes(QueueUrl="$QUEUE_URL", Attributes={"VisibilityTimeout": "${SOAK_VISIBILITY_SECONDS:-30}"})
PY

# The local runner's debug binary; SOAK_BINARY names one already built (make test passes the one its
# cargo test built, so the soak does not build it again with other features).
if [ -z "${SOAK_BINARY:-}" ] || [ ! -x "$SOAK_BINARY" ]; then
  cargo build --quiet -p local-stack
  export SOAK_BINARY="${CARGO_TARGET_DIR:-$ROOT/target}/debug/local-stack"
fi
export LOCAL_API_ADDR="127.0.0.1:$SOAK_API_PORT"
export PUBLIC_BASE_URL="http://$LOCAL_API_ADDR"
export RUST_LOG="${SOAK_RUST_LOG:-warn}"
# The two processes reach AWS only through the fault proxy; the driver reads moto at SOAK_AWS_PORT.
AWS_ENDPOINT_URL="http://127.0.0.1:$SOAK_PROXY_PORT" python scripts/soak.py
