#!/usr/bin/env bash
# make sam-start-api: the template's routes through `sam local start-api` (the arm64 release build
# in the local Lambda containers), against make run's moto (started here, with the template's
# resources, when it is not running). Port: SAM_API_PORT (3003, beside make run's 3000).
#
# The functions read events/env.json with PUBLIC_BASE_URL set to this server's URL: Twilio signs
# the URL it calls, and the Twilio functions check PUBLIC_BASE_URL + path. Ctrl-C stops it.
set -euo pipefail
. "$(dirname "$0")/env.sh"
# .venv first: cargo-lambda finds zig through `python3 -m ziglang` (installed in .venv).
export PATH="$ROOT/.venv/bin:$ROOT/.venv-sam/bin:$PATH"
export SAM_CLI_TELEMETRY=0
PORT="${SAM_API_PORT:-3003}"

scripts/sam-docker.sh
echo "== sam build (log: .local/sam-build.log)"
nice sam build > .local/sam-build.log 2>&1 || { tail -n 40 .local/sam-build.log; exit 1; }
start_emulator
trap stop_emulator EXIT
python scripts/local_stack.py > .local/sam-local-stack.log || { cat .local/sam-local-stack.log; exit 1; }

python - "$PORT" > .local/sam-env-start-api.json <<'PY'
import json, sys
env = json.load(open("events/env.json"))
env["Parameters"]["PUBLIC_BASE_URL"] = f"http://127.0.0.1:{sys.argv[1]}"
print(json.dumps(env, indent=2))
PY
echo "== sam local start-api on http://127.0.0.1:$PORT (moto: $AWS_ENDPOINT_URL; Ctrl-C stops)"
# SAM_LOCAL_HOST_NETWORK: the containers on the host's network (scripts/sam/sam_host_network.py).
SAM_LOCAL_HOST_NETWORK=1 sam local start-api --host 127.0.0.1 --port "$PORT" \
  --env-vars .local/sam-env-start-api.json --skip-pull-image
