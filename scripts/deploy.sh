#!/usr/bin/env bash
# make deploy: sam build (cargo-lambda, arm64, release) then sam deploy with samconfig.toml.
# Guided the first time (no stack yet) or with GUIDED=1. Needs AWS credentials for the target
# account and the secrets created first (README, "Deploying to AWS").
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
export PATH="$ROOT/.venv/bin:$ROOT/.venv-sam/bin:$PATH"
export SAM_CLI_TELEMETRY=0
STACK="${STACK_NAME:-$(python3 -c 'import tomllib; print(tomllib.load(open("samconfig.toml","rb"))["default"]["global"]["parameters"]["stack_name"])')}"

sam build

if [ "${GUIDED:-}" = 1 ] || ! "$ROOT/.venv-sam/bin/python" - "$STACK" <<'PY'
import sys, boto3, botocore
try:
    boto3.client("cloudformation").describe_stacks(StackName=sys.argv[1])
except botocore.exceptions.ClientError:
    sys.exit(1)
PY
then
  echo "No stack $STACK yet: guided deploy (answers are saved to samconfig.toml)."
  sam deploy --guided --stack-name "$STACK"
else
  sam deploy --stack-name "$STACK"
fi
sam list stack-outputs --stack-name "$STACK" --output table
