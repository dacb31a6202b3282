#!/usr/bin/env bash
# Runs the function binaries for real through cargo lambda's Lambda runtime emulator
# (the Docker-free twin of `sam local invoke -e`) with their events/ files, and checks
# the answers and what they wrote to the AWS emulator. Expects the emulator to be up: make run's,
# or, with BRIDGE_STACK=test (as scripts/test.sh runs it), the test stack's (see env.sh).
set -euo pipefail
. "$(dirname "$0")/env.sh"

# Run the functions as deployed: no secret in their environment, only the names of SSM
# SecureString parameters (as template.yaml sets them), read once at cold start. The
# parameters hold local.env's dev values, which the events/ files are signed with.
PREFIX=/whatsapp-bridge-local
python - "$PREFIX" <<'PY'
import os, sys, boto3
ssm = boto3.client("ssm", endpoint_url=os.environ["AWS_ENDPOINT_URL"], region_name=os.environ["AWS_REGION"])
for name, variable in [("app-secret", "WHATSAPP_APP_SECRET"), ("verify-token", "WHATSAPP_VERIFY_TOKEN"),
                       ("access-token", "WHATSAPP_ACCESS_TOKEN"), ("twilio-auth-token", "TWILIO_AUTH_TOKEN"),
                       ("api-key", "API_KEY")]:
    ssm.put_parameter(Name=f"{sys.argv[1]}/{name}", Value=os.environ[variable], Type="SecureString", Overwrite=True)
PY
SECRETS='^(WHATSAPP_APP_SECRET|WHATSAPP_VERIFY_TOKEN|WHATSAPP_ACCESS_TOKEN|TWILIO_AUTH_TOKEN|API_KEY)$'
{
  # local.env's variables with this shell's values (on the test stack, its endpoint and names).
  while IFS='=' read -r name _; do
    [[ "$name" =~ ^[A-Z][A-Z0-9_]*$ ]] || continue
    [[ "$name" =~ $SECRETS ]] && continue
    value=${!name}
    # A value with spaces (CALLS_REPLY_TEXT) is double-quoted, as in local.env, or cargo lambda refuses the file.
    if [[ "$value" == *" "* ]]; then echo "$name=\"$value\""; else echo "$name=$value"; fi
  done < local.env
  echo "WHATSAPP_APP_SECRET_PARAMETER=$PREFIX/app-secret"
  echo "WHATSAPP_VERIFY_TOKEN_PARAMETER=$PREFIX/verify-token"
  echo "WHATSAPP_ACCESS_TOKEN_PARAMETER=$PREFIX/access-token"
  echo "TWILIO_AUTH_TOKEN_PARAMETER=$PREFIX/twilio-auth-token"
  echo "API_KEY_PARAMETER=$PREFIX/api-key"
  echo "METRICS_STACK=emulator-invoke"
} > .local/deployed.env
# The watch inherits this shell's environment, where env.sh exported local.env: unset the secrets.
unset WHATSAPP_APP_SECRET WHATSAPP_VERIFY_TOKEN WHATSAPP_ACCESS_TOKEN TWILIO_AUTH_TOKEN API_KEY

# Build each function binary first, as `cargo lambda watch` runs it (`cargo run --bin <function>`:
# its own feature set, so partly a fresh build). The watch stamps each invocation's deadline when it
# receives it; a binary compiled inside the invocation would start past that deadline, and the
# functions answer 503 when no time is left (the shared budget), so no build may happen there.
for function in meta-verify meta-webhook queue-worker twilio-voice twilio-gather send-api console; do
  cargo build --quiet --bin "$function"
done
PORT=9009
cargo lambda watch --quiet -A 127.0.0.1 -P "$PORT" --env-file .local/deployed.env > .local/lambda-watch.log 2>&1 &
WATCH_PID=$!
trap 'kill $WATCH_PID 2>/dev/null || true; wait $WATCH_PID 2>/dev/null || true' EXIT
for _ in $(seq 1 150); do
  curl -s -m 1 -o /dev/null "http://127.0.0.1:$PORT/" && break
  kill -0 "$WATCH_PID" 2>/dev/null || { cat .local/lambda-watch.log; exit 1; }
  sleep 0.2
done

invoke() {
  timeout 900 cargo lambda invoke "$1" --data-file "events/$1.json" -A 127.0.0.1 -P "$PORT" -o json 2>>.local/lambda-watch.log \
    || { echo "invoke $1 failed:"; tail -40 .local/lambda-watch.log; exit 1; }
}

# Start from a table without the sample's message, so the check below sees this run's write.
python - <<'PY'
import os, boto3
boto3.client("dynamodb", endpoint_url=os.environ["AWS_ENDPOINT_URL"], region_name=os.environ["AWS_REGION"]).delete_item(
    TableName=os.environ["TABLE_NAME"],
    Key={"pk": {"S": "MSG#wamid.HBgLNTE1OTk5OTk5OTk5FQIAERgSMzg1QTlCNkE2RTlFRTdFNDdF"}, "sk": {"S": "MSG"}})
boto3.client("dynamodb", endpoint_url=os.environ["AWS_ENDPOINT_URL"], region_name=os.environ["AWS_REGION"]).delete_item(
    TableName=os.environ["TABLE_NAME"],
    Key={"pk": {"S": "CALL#CA5f1e0d2c3b4a59687766554433221100"}, "sk": {"S": "CODE#481529"}})
PY

python - "$(invoke meta-verify)" "$(invoke meta-webhook)" "$(invoke queue-worker)" "$(invoke twilio-voice)" \
  "$(invoke twilio-gather)" "$(invoke send-api)" "$(invoke console)" <<'PY'
import json, os, sys
import boto3

verify, webhook, worker, voice, gather, send, console = (json.loads(arg) for arg in sys.argv[1:8])
assert verify["statusCode"] == 200 and verify["body"] == "1158201444", verify
print("meta-verify  (events/meta-verify.json):  200, challenge echoed")
assert webhook["statusCode"] == 200, webhook
print("meta-webhook (events/meta-webhook.json): 200, queued")
assert worker == {"batchItemFailures": []}, worker
endpoint = os.environ["AWS_ENDPOINT_URL"]
table = boto3.client("dynamodb", endpoint_url=endpoint, region_name=os.environ["AWS_REGION"])
wamid = "wamid.HBgLNTE1OTk5OTk5OTk5FQIAERgSMzg1QTlCNkE2RTlFRTdFNDdF"
item = table.get_item(TableName=os.environ["TABLE_NAME"], Key={"pk": {"S": "MSG#" + wamid}, "sk": {"S": "MSG"}})["Item"]
assert item["direction"]["S"] == "inbound" and item["status"]["S"] == "received", item
assert item["text_body"]["S"] == "Hello, how can I help you?", item
print("queue-worker (events/queue-worker.json): no failures, message recorded in DynamoDB")
assert voice["statusCode"] == 200 and "<Gather" in voice["body"], voice
print("twilio-voice (events/twilio-voice.json): 200, TwiML Gather")
assert gather["statusCode"] == 200 and "<Hangup/>" in gather["body"], gather
code = table.get_item(TableName=os.environ["TABLE_NAME"],
                      Key={"pk": {"S": "CALL#CA5f1e0d2c3b4a59687766554433221100"}, "sk": {"S": "CODE#481529"}})["Item"]
assert code["captured_by"]["S"] == "speech" and code["email_status"]["S"] == "sent", code
print("twilio-gather (events/twilio-gather.json): 200, code 481529 recorded and emailed through SES")
assert send["statusCode"] == 202, send
message = json.loads(send["body"])
assert message["status"] == "queued" and message["to"] == "972504370045", message
print(f"send-api     (events/send-api.json):     202, {message['id']} queued for 972504370045")
headers = {name.lower(): value for name, value in (console.get("headers") or {}).items()}
assert console["statusCode"] == 200 and "<!doctype html>" in console["body"], console
assert "default-src 'self'" in headers["content-security-policy"] and headers["x-content-type-options"] == "nosniff", headers
print("console      (events/console.json):      200, the page with its Content-Security-Policy")

# Secrets came from SSM (the signatures above only verify with them); no value reached the log.
log = open(".local/lambda-watch.log", encoding="utf-8", errors="replace").read()
assert "secrets read from SSM Parameter Store" in log, "no function read its secrets from SSM"
secrets = [line.split("=", 1)[1].strip() for line in open("local.env", encoding="utf-8")
           if line.split("=", 1)[0] in ("WHATSAPP_APP_SECRET", "WHATSAPP_VERIFY_TOKEN", "WHATSAPP_ACCESS_TOKEN",
                                        "TWILIO_AUTH_TOKEN", "API_KEY")]
assert len(secrets) == 5 and not any(secret in log for secret in secrets), "a secret value reached the log"
print("secrets: read from SSM SecureString parameters at cold start, none in the environment or the log")

# Business metrics as CloudWatch EMF lines in the functions' output.
emf = [json.loads(line[line.index("{"):]) for line in log.splitlines() if '"_aws"' in line]
names = {d["Name"] for doc in emf for directive in doc["_aws"]["CloudWatchMetrics"] for d in directive["Metrics"]}
assert {"WebhooksReceived", "WebhooksEnqueued", "MessagesReceived", "VerificationCodesCaptured"} <= names, names
assert all(doc["Stack"] == "emulator-invoke" for doc in emf), emf
print(f"metrics: EMF lines for {', '.join(sorted(names))}")
PY
