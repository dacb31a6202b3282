# Sourced by the scripts: the project root, local.env exported, the venv's tools first on PATH,
# and helpers to start/stop the AWS emulator.
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
set -a
# shellcheck source=../local.env
. ./local.env
set +a
export PATH="$ROOT/.venv/bin:$PATH"
mkdir -p .local

MOTO_PID=""

emulator_up() {
  curl -fsS -o /dev/null "$AWS_ENDPOINT_URL/moto-api/" 2>/dev/null
}

# Starts moto server on 127.0.0.1:4566 unless one is already answering there (a running `make run`).
start_emulator() {
  if emulator_up; then
    echo "AWS emulator already running at $AWS_ENDPOINT_URL"
    return
  fi
  local port="${AWS_ENDPOINT_URL##*:}"
  python scripts/moto_server.py -H 127.0.0.1 -p "$port" > .local/moto.log 2>&1 &
  MOTO_PID=$!
  for _ in $(seq 1 100); do
    emulator_up && { echo "AWS emulator (moto) up at $AWS_ENDPOINT_URL"; return; }
    kill -0 "$MOTO_PID" 2>/dev/null || { cat .local/moto.log; echo "moto server failed to start" >&2; exit 1; }
    sleep 0.2
  done
  echo "moto server did not answer at $AWS_ENDPOINT_URL" >&2
  exit 1
}

stop_emulator() {
  if [ -n "$MOTO_PID" ]; then kill "$MOTO_PID" 2>/dev/null || true; wait "$MOTO_PID" 2>/dev/null || true; fi
}
