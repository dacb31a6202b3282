#!/usr/bin/env bash
# make test: every check, in the order a reviewer would want them to fail.
set -euo pipefail
. "$(dirname "$0")/env.sh"
# The test stack (env.sh): moto on 127.0.0.1:${TEST_AWS_PORT:-4599} and `-test` resource names,
# exported for local_stack.py, the cargo tests (local_env() lets the environment override
# local.env) and emulator-invoke.sh, so a `make run` left running is neither used nor disturbed.
use_test_stack
require_free_test_port
trap stop_emulator EXIT

echo "== cargo fmt --check"
cargo fmt --all -- --check

# SAM CLI installs into its own venv while clippy compiles; so do the Docker engine, qemu and the
# local Lambda base image `sam local` needs (scripts/sam-docker.sh: mostly downloads, once per machine).
make --no-print-directory sam-venv > .local/sam-venv.log 2>&1 &
SAM_VENV_PID=$!
scripts/sam-docker.sh > .local/sam-docker.log 2>&1 &
SAM_DOCKER_PID=$!
# Headless Chromium and its WebDriver for the console's browser test (Debian's packages, root).
scripts/browser.sh > .local/browser.log 2>&1 &
BROWSER_PID=$!

echo "== cargo clippy --all-targets -D warnings"
cargo clippy --workspace --all-targets --quiet -- -D warnings

echo "== template lint (cfn-lint, sam validate --lint)"
cfn-lint template.yaml
wait "$SAM_VENV_PID" || { cat .local/sam-venv.log; exit 1; }
SAM_CLI_TELEMETRY=0 AWS_DEFAULT_REGION=us-east-1 .venv-sam/bin/sam validate --lint --template template.yaml

echo "== AWS emulator and the template's resources (test stack: $AWS_ENDPOINT_URL, $TABLE_NAME, ${QUEUE_URL##*/}, $PAYLOAD_BUCKET)"
start_emulator
python scripts/local_stack.py

wait "$BROWSER_PID" || { cat .local/browser.log; exit 1; }
echo "== cargo test (unit + integration against moto over HTTP; the console in headless Chromium: $(tail -n 1 .local/browser.log))"
cargo test --workspace

echo "== make cost's pricing arithmetic (scripts/cost.py --self-test; make cost itself is not run here)"
python scripts/cost.py --self-test

echo "== the fault soak, small (scripts/soak.sh: 200 webhooks, 2 s faults; its own moto, proxy and ports)"
SOAK_WEBHOOKS=200 SOAK_FAULT_SECONDS=2 SOAK_CALM_SECONDS=1.5 \
  SOAK_BINARY="${CARGO_TARGET_DIR:-target}/debug/local-stack" scripts/soak.sh

echo "== a function binary through cargo lambda's runtime emulator"
scripts/emulator-invoke.sh

echo "== sam local invoke (every function) and sam local start-api, the arm64 release build, against moto"
wait "$SAM_DOCKER_PID" || { cat .local/sam-docker.log; exit 1; }
sam_started=$SECONDS
scripts/sam-local.sh
echo "   sam local: $((SECONDS - sam_started)) s (sam build included)"

echo "make test: all checks passed"
