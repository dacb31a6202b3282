#!/usr/bin/env bash
# make sam-local: every function through the real `sam local invoke` and the routes through
# `sam local start-api`, against moto, in the arm64 release build `make deploy` ships.
#   1. scripts/sam-docker.sh: Docker engine (host networking only), qemu-aarch64, the local base
#      image (installed/started/built only when missing; needs root the first time);
#   2. the SAM CLI in .venv-sam with its host-network shim (make sam-venv), and the shim's tests;
#   3. `sam build` (rust-cargolambda, arm64, release: template.yaml's BuildMethod, as make deploy);
#   4. moto and the template's resources (scripts/local_stack.py), as make run brings them up: make
#      run's stack, or the test stack when run from make test (BRIDGE_STACK=test, see env.sh);
#   5. scripts/sam/sam_local.py: `sam local invoke <Function> -e events/<function>.json --env-vars
#      … --skip-pull-image` for each function and two signed requests through start-api, each
#      checked by its answer and the state it left in moto.
# docs/sam-local.md explains each part, and what a machine with a normal Docker engine needs instead.
set -euo pipefail
. "$(dirname "$0")/env.sh"
# .venv first: cargo-lambda finds zig through `python3 -m ziglang` (installed in .venv).
export PATH="$ROOT/.venv/bin:$ROOT/.venv-sam/bin:$PATH"
export SAM_CLI_TELEMETRY=0
started=$SECONDS
step() { echo "   ($((SECONDS - started)) s so far)"; }

echo "== sam local: Docker engine, qemu-aarch64 and the local base image (scripts/sam-docker.sh)"
scripts/sam-docker.sh
step

make --no-print-directory venv sam-venv > .local/sam-venv.log 2>&1 || { cat .local/sam-venv.log; exit 1; }
echo "== the SAM CLI host-network shim's tests"
.venv-sam/bin/python -m unittest discover -s scripts/sam -p 'test_*.py'

echo "== events/ and events/env.json are what scripts/make_events.py writes"
python scripts/make_events.py --check

echo "== sam build (rust-cargolambda, arm64, release, as make deploy; log: .local/sam-build.log)"
build_started=$SECONDS
nice sam build > .local/sam-build.log 2>&1 || { tail -n 40 .local/sam-build.log; exit 1; }
echo "   sam build: $((SECONDS - build_started)) s"

echo "== AWS emulator and the template's resources ($AWS_ENDPOINT_URL, $TABLE_NAME)"
if emulator_up; then
  echo "AWS emulator already running at $AWS_ENDPOINT_URL"
else
  start_emulator
  trap stop_emulator EXIT
fi
python scripts/local_stack.py > .local/sam-local-stack.log || { cat .local/sam-local-stack.log; exit 1; }

python scripts/sam/sam_local.py "$@"
echo "make sam-local: every function answered through sam local and left the expected state ($((SECONDS - started)) s)"
