#!/usr/bin/env bash
# Sourced by benchmarks that want DynamoDB on dynalite (npm: an in-memory DynamoDB emulator in Node.js,
# about twice moto's speed per request) while moto keeps SQS, S3 and the rest. Installs it under
# .local/dynalite on first use (npm registry), starts it on DYNALITE_PORT (4700), and points the AWS SDKs'
# DynamoDB clients at it with the service-specific endpoint variable (AWS_ENDPOINT_URL_DYNAMODB: the Rust
# SDK and boto3 both prefer it to AWS_ENDPOINT_URL). stop_dynalite ends it.

DYNALITE_VERSION=4.0.0
DYNALITE_PORT="${DYNALITE_PORT:-4700}"
DYNALITE_PID=""

start_dynalite() {
  local dir=.local/dynalite
  if [ ! -f "$dir/node_modules/dynalite/package.json" ] \
    || ! grep -q "\"version\": \"$DYNALITE_VERSION\"" "$dir/node_modules/dynalite/package.json"; then
    mkdir -p "$dir"
    npm install --silent --no-audit --no-fund --prefix "$dir" "dynalite@$DYNALITE_VERSION" >/dev/null
  fi
  if (exec 3<>"/dev/tcp/127.0.0.1/$DYNALITE_PORT") 2>/dev/null; then
    echo "port $DYNALITE_PORT is taken: set DYNALITE_PORT" >&2
    exit 1
  fi
  node "$dir/node_modules/dynalite/cli.js" --host 127.0.0.1 --port "$DYNALITE_PORT" \
    --createTableMs 0 --deleteTableMs 0 --updateTableMs 0 > .local/dynalite.log 2>&1 &
  DYNALITE_PID=$!
  for _ in $(seq 1 50); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$DYNALITE_PORT") 2>/dev/null; then
      export AWS_ENDPOINT_URL_DYNAMODB="http://127.0.0.1:$DYNALITE_PORT"
      echo "DynamoDB on dynalite $DYNALITE_VERSION at $AWS_ENDPOINT_URL_DYNAMODB"
      return
    fi
    sleep 0.2
  done
  cat .local/dynalite.log >&2
  echo "dynalite did not start" >&2
  exit 1
}

stop_dynalite() {
  if [ -n "$DYNALITE_PID" ]; then kill "$DYNALITE_PID" 2>/dev/null || true; wait "$DYNALITE_PID" 2>/dev/null || true; fi
}
