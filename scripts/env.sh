# Sourced by the scripts: the project root, local.env exported, the venv's tools first on PATH,
# and helpers to start/stop the AWS emulator.
#
# Two stacks: `make run`'s (local.env as written: moto on 127.0.0.1:4566, its table, queue and
# bucket) and `make test`'s (use_test_stack: its own moto port and `-test` resource names), so a
# test run never touches, nor depends on, a `make run` left running. A script sourcing this file
# with BRIDGE_STACK=test in its environment (exported by use_test_stack) is on the test stack too.
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
set -a
# shellcheck source=../local.env
. ./local.env
set +a
export PATH="$ROOT/.venv/bin:$PATH"
mkdir -p .local

MOTO_PID=""

# The test stack: moto on 127.0.0.1:$TEST_AWS_PORT (default 4599) and local.env's table, queue and
# bucket with a `-test` suffix. The Rust tests read these through `local_stack::local_env()`, where
# the process environment overrides local.env.
use_test_stack() {
  export BRIDGE_STACK=test
  export TEST_AWS_PORT="${TEST_AWS_PORT:-4599}"
  local queue_name="${QUEUE_URL##*/}"
  queue_name="${queue_name%-test}"
  export AWS_ENDPOINT_URL="http://127.0.0.1:$TEST_AWS_PORT"
  export QUEUE_URL="$AWS_ENDPOINT_URL/123456789012/$queue_name-test"
  local send_queue_name="${SEND_QUEUE_URL##*/}"
  send_queue_name="${send_queue_name%-test}"
  export SEND_QUEUE_URL="$AWS_ENDPOINT_URL/123456789012/$send_queue_name-test"
  export TABLE_NAME="${TABLE_NAME%-test}-test"
  export PAYLOAD_BUCKET="${PAYLOAD_BUCKET%-test}-test"
  if [ -n "${EVENT_BUS_NAME:-}" ]; then export EVENT_BUS_NAME="${EVENT_BUS_NAME%-test}-test"; fi
  if [ -n "${EVENTS_TAP_QUEUE_URL:-}" ]; then
    local tap_name="${EVENTS_TAP_QUEUE_URL##*/}"
    tap_name="${tap_name%-test}"
    export EVENTS_TAP_QUEUE_URL="$AWS_ENDPOINT_URL/123456789012/$tap_name-test"
  fi
}

if [ "${BRIDGE_STACK:-}" = test ]; then use_test_stack; fi

emulator_up() {
  curl -fsS -o /dev/null "$AWS_ENDPOINT_URL/moto-api/" 2>/dev/null
}

# Whether anything accepts connections on 127.0.0.1:$1.
port_taken() {
  (exec 3<> "/dev/tcp/127.0.0.1/$1") 2> /dev/null
}

# The test stack's emulator is its own: refuses to go on when its port is taken (by anything,
# a `make run`'s moto included).
require_free_test_port() {
  if port_taken "$TEST_AWS_PORT"; then
    echo "make test: 127.0.0.1:$TEST_AWS_PORT (TEST_AWS_PORT) is already in use; the tests start an AWS emulator" >&2
    echo "of their own there and never share one. Stop what holds it, or run with TEST_AWS_PORT=<a free port>." >&2
    exit 1
  fi
}

# Starts moto server on the endpoint's port. For `make run` (127.0.0.1:4566) an emulator already
# answering there is reused; the test stack always starts its own and refuses a taken port.
start_emulator() {
  local port="${AWS_ENDPOINT_URL##*:}" log=.local/moto.log
  if [ "${BRIDGE_STACK:-}" = test ]; then
    log=.local/moto-test.log
    require_free_test_port
  elif emulator_up; then
    echo "AWS emulator already running at $AWS_ENDPOINT_URL"
    return
  fi
  python scripts/moto_server.py -H 127.0.0.1 -p "$port" > "$log" 2>&1 &
  MOTO_PID=$!
  for _ in $(seq 1 100); do
    emulator_up && { echo "AWS emulator (moto) up at $AWS_ENDPOINT_URL"; return; }
    kill -0 "$MOTO_PID" 2>/dev/null || { cat "$log"; echo "moto server failed to start" >&2; exit 1; }
    sleep 0.2
  done
  echo "moto server did not answer at $AWS_ENDPOINT_URL" >&2
  exit 1
}

stop_emulator() {
  if [ -n "$MOTO_PID" ]; then kill "$MOTO_PID" 2>/dev/null || true; wait "$MOTO_PID" 2>/dev/null || true; fi
}
