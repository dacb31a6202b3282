#!/usr/bin/env python3
"""make sam-local, after `sam build`: every function through `sam local invoke` with its events/
file, then two requests through `sam local start-api`, each checked by its answer and by what it
left in the AWS emulator (moto), read back with boto3.

Runs on the stack scripts/env.sh exported (make run's, or the test stack under make test): its
moto endpoint and table, plus two queues of this run's own (`<queue>-sam-local`, emptied first) so
a queued message is this run's and nothing in `make run`'s queues is touched.

As deployed, the functions read their secrets from SSM SecureString parameters (moto's, holding
local.env's dev-only values); SAM's `--env-vars` file is events/env.json with this stack's names.
"""

import base64
import hashlib
import hmac
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlencode

import boto3

ROOT = Path(__file__).resolve().parents[2]
SAM = str(ROOT / ".venv-sam/bin/sam")
LOCAL = ROOT / ".local"
ENV = os.environ
ENDPOINT = ENV["AWS_ENDPOINT_URL"]
REGION = ENV.get("AWS_REGION", "us-east-1")
SECRETS_PREFIX = "/whatsapp-bridge-sam-local"
SECRETS = {  # variable -> parameter (under SecretsParameterPrefix), as template.yaml names them
    "WHATSAPP_APP_SECRET": "app-secret",
    "WHATSAPP_VERIFY_TOKEN": "verify-token",
    "WHATSAPP_ACCESS_TOKEN": "access-token",
    "TWILIO_AUTH_TOKEN": "twilio-auth-token",
    "API_KEY": "api-key",
}
WAMID = "wamid.HBgLNTE1OTk5OTk5OTk5FQIAERgSMzg1QTlCNkE2RTlFRTdFNDdF"
CALL_SID = "CA5f1e0d2c3b4a59687766554433221100"
CODE_KEY = {"pk": {"S": f"CALL#{CALL_SID}"}, "sk": {"S": "CODE#481529"}}
MESSAGE_KEY = {"pk": {"S": f"MSG#{WAMID}"}, "sk": {"S": "MSG"}}

session = boto3.session.Session(region_name=REGION)
sqs = session.client("sqs", endpoint_url=ENDPOINT)
dynamodb = session.client("dynamodb", endpoint_url=ENDPOINT)
ses = session.client("ses", endpoint_url=ENDPOINT)
ssm = session.client("ssm", endpoint_url=ENDPOINT)
LOG = []  # every function's output, checked for secrets at the end


def own_queue(url):
    """This run's copy of a queue (created if missing, emptied): its URL."""
    name = url.rsplit("/", 1)[1] + "-sam-local"
    own = sqs.create_queue(QueueName=name, Attributes={"VisibilityTimeout": "30"})["QueueUrl"]
    sqs.purge_queue(QueueUrl=own)
    return own


def env_file(path, **changes):
    """events/env.json with this stack's values (the endpoint, table, bucket, bus…), this run's queues, and
    the secrets as deployed (blank, so each comes from its *_PARAMETER in moto's SSM)."""
    values = json.loads((ROOT / "events/env.json").read_text())["Parameters"]
    # env.sh exported local.env, with the test stack's endpoint and names under make test.
    for name in values:
        if name in ENV and name != "METRICS_STACK":
            values[name] = ENV[name]
    for variable, parameter in SECRETS.items():
        values[variable] = ""
        values[f"{variable}_PARAMETER"] = f"{SECRETS_PREFIX}/{parameter}"
    values.update(changes)
    path.write_text(json.dumps({"Parameters": values}, indent=2))
    return values


def sam_env():
    # SAM_LOCAL_HOST_NETWORK: the shim in .venv-sam (scripts/sam/sam_host_network.py).
    return dict(ENV, SAM_CLI_TELEMETRY="0", SAM_LOCAL_HOST_NETWORK="1")


def invoke(function, event, env_path):
    started = time.monotonic()
    result = subprocess.run(
        [SAM, "local", "invoke", function, "-e", f"events/{event}.json", "--env-vars", str(env_path),
         "--skip-pull-image"],
        cwd=ROOT, env=sam_env(), capture_output=True, text=True, timeout=300, check=False)
    LOG.append(result.stderr + result.stdout)
    if result.returncode != 0:
        sys.exit(f"sam local invoke {function} failed ({result.returncode}):\n{result.stderr[-4000:]}")
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    try:
        answer = json.loads(lines[-1])
    except (IndexError, json.JSONDecodeError):
        sys.exit(f"sam local invoke {function}: no JSON answer on stdout:\n{result.stdout}\n{result.stderr[-4000:]}")
    return answer, time.monotonic() - started


def received(queue_url):
    """Every message on this run's queue, deleted once read (so the next check sees only its own)."""
    messages = []
    while True:
        batch = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0,
                                    MessageAttributeNames=["All"]).get("Messages", [])
        if not batch:
            return messages
        messages += batch
        sqs.delete_message_batch(QueueUrl=queue_url, Entries=[
            {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(batch)])


def emails_sent():
    return int(ses.get_send_quota()["SentLast24Hours"])


def check(condition, what, detail):
    if not condition:
        sys.exit(f"FAILED: {what}: {detail}")


def invoke_every_function(env_path, queue_url, send_queue_url):
    for key in (MESSAGE_KEY, CODE_KEY):
        dynamodb.delete_item(TableName=ENV["TABLE_NAME"], Key=key)
    webhook_body = (ROOT / "shared/fixtures/webhooks/message_text.json").read_text(encoding="utf-8").strip()

    verify, seconds = invoke("MetaVerifyFunction", "meta-verify", env_path)
    check(verify.get("statusCode") == 200 and verify.get("body") == "1158201444", "meta-verify", verify)
    print(f"MetaVerifyFunction   200, challenge echoed                                   {seconds:5.1f} s")

    webhook, seconds = invoke("MetaWebhookFunction", "meta-webhook", env_path)
    check(webhook.get("statusCode") == 200, "meta-webhook", webhook)
    queued = received(queue_url)
    check(len(queued) == 1 and queued[0]["Body"] == webhook_body
          and queued[0]["MessageAttributes"]["kind"]["StringValue"] == "meta-webhook",
          "meta-webhook: one envelope with the signed body on the events queue", queued)
    print(f"MetaWebhookFunction  200, the signed body queued on the events queue        {seconds:5.1f} s")

    worker, seconds = invoke("QueueWorkerFunction", "queue-worker", env_path)
    check(worker == {"batchItemFailures": []}, "queue-worker", worker)
    item = dynamodb.get_item(TableName=ENV["TABLE_NAME"], Key=MESSAGE_KEY).get("Item")
    check(item and item["direction"]["S"] == "inbound" and item["status"]["S"] == "received"
          and item["text_body"]["S"] == "Hello, how can I help you?", "queue-worker: the message recorded", item)
    print(f"QueueWorkerFunction  no failures, the message recorded as received          {seconds:5.1f} s")

    voice, seconds = invoke("TwilioVoiceFunction", "twilio-voice", env_path)
    check(voice.get("statusCode") == 200 and "<Gather" in voice.get("body", ""), "twilio-voice", voice)
    print(f"TwilioVoiceFunction  200, TwiML <Gather> (signature checked)                 {seconds:5.1f} s")

    before = emails_sent()
    gather, seconds = invoke("TwilioGatherFunction", "twilio-gather", env_path)
    check(gather.get("statusCode") == 200 and "<Hangup/>" in gather.get("body", ""), "twilio-gather", gather)
    code = dynamodb.get_item(TableName=ENV["TABLE_NAME"], Key=CODE_KEY).get("Item")
    check(code and code["captured_by"]["S"] == "speech" and code["email_status"]["S"] == "sent",
          "twilio-gather: code 481529 recorded and emailed", code)
    check(emails_sent() == before + 1, "twilio-gather: one email through SES", (before, emails_sent()))
    print(f"TwilioGatherFunction 200, code 481529 recorded, one email sent through SES  {seconds:5.1f} s")

    send, seconds = invoke("SendApiFunction", "send-api", env_path)
    check(send.get("statusCode") == 202, "send-api", send)
    message = json.loads(send["body"])
    check(message.get("status") == "queued" and message.get("to") == "972504370045", "send-api answer", message)
    stored = dynamodb.get_item(TableName=ENV["TABLE_NAME"],
                               Key={"pk": {"S": f"OUT#{message['id']}"}, "sk": {"S": "OUT"}}).get("Item")
    check(stored and stored["status"]["S"] == "queued", "send-api: the message stored as queued", stored)
    jobs = [json.loads(m["Body"]) for m in received(send_queue_url)]
    check(any(message["id"] in json.dumps(job) for job in jobs), "send-api: a send job on the send queue", jobs)
    print(f"SendApiFunction      202, {message['id']} stored as queued, its send job queued  {seconds:5.1f} s")

    page, seconds = invoke("ConsoleFunction", "console", env_path)
    headers = {name.lower(): value for name, value in (page.get("headers") or {}).items()}
    check(page.get("statusCode") == 200 and "<!doctype html>" in page.get("body", "")
          and headers.get("content-type") == "text/html; charset=utf-8"
          and "frame-ancestors 'none'" in headers.get("content-security-policy", ""), "console", page)
    print(f"ConsoleFunction      200, the page with its Content-Security-Policy            {seconds:5.1f} s")


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def post(url, body, headers):
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=120) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def start_api(queue_url):
    """`sam local start-api` on a free port: one signed Meta webhook, one signed Twilio call."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env_path = LOCAL / "sam-env-start-api.json"
    # Twilio signs the URL it calls: the functions check PUBLIC_BASE_URL + path.
    values = env_file(env_path, QUEUE_URL=queue_url, PUBLIC_BASE_URL=base)
    log = open(LOCAL / "sam-start-api.log", "w")
    server = subprocess.Popen(
        [SAM, "local", "start-api", "--host", "127.0.0.1", "--port", str(port), "--env-vars", str(env_path),
         "--skip-pull-image"],
        cwd=ROOT, env=sam_env(), stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        for _ in range(300):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                check(server.poll() is None, "sam local start-api", (LOCAL / "sam-start-api.log").read_text()[-3000:])
                time.sleep(0.2)
        started = time.monotonic()
        body = (ROOT / "shared/fixtures/webhooks/message_text.json").read_bytes().strip()
        app_secret = ENV["WHATSAPP_APP_SECRET"].encode()
        signature = "sha256=" + hmac.new(app_secret, body, hashlib.sha256).hexdigest()
        status, text = post(f"{base}/webhooks/whatsapp", body,
                            {"content-type": "application/json", "x-hub-signature-256": signature})
        check(status == 200, "start-api: POST /webhooks/whatsapp (signed)", (status, text))
        queued = received(queue_url)
        check(len(queued) == 1 and queued[0]["Body"].encode() == body, "start-api: the webhook queued", queued)
        print(f"start-api POST /webhooks/whatsapp  200, the signed body queued           {time.monotonic() - started:5.1f} s")

        started = time.monotonic()
        params = [("AccountSid", "AC00000000000000000000000000000000"), ("CallSid", "CA0000000000000000000000000start"),
                  ("CallStatus", "ringing"), ("From", "+16505550100"), ("To", "+14155550123")]
        url = f"{values['PUBLIC_BASE_URL']}/twilio/voice"
        data = url + "".join(k + v for k, v in sorted(params))
        twilio_signature = base64.b64encode(
            hmac.new(ENV["TWILIO_AUTH_TOKEN"].encode(), data.encode(), hashlib.sha1).digest()).decode()
        status, text = post(url, urlencode(params).encode(),
                            {"content-type": "application/x-www-form-urlencoded", "x-twilio-signature": twilio_signature})
        check(status == 200 and "<Gather" in text, "start-api: POST /twilio/voice (signed)", (status, text))
        status, text = post(url, urlencode(params).encode(),
                            {"content-type": "application/x-www-form-urlencoded", "x-twilio-signature": "AAAA"})
        check(status == 403, "start-api: POST /twilio/voice with a wrong signature", (status, text))
        print(f"start-api POST /twilio/voice       200 TwiML <Gather>; 403 when mis-signed {time.monotonic() - started:5.1f} s")
    finally:
        os.killpg(server.pid, signal.SIGINT)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
        log.close()
        LOG.append((LOCAL / "sam-start-api.log").read_text(errors="replace"))


def main():
    LOCAL.mkdir(exist_ok=True)
    for variable, parameter in SECRETS.items():
        ssm.put_parameter(Name=f"{SECRETS_PREFIX}/{parameter}", Value=ENV[variable], Type="SecureString",
                          Overwrite=True)
    queue_url = own_queue(ENV["QUEUE_URL"])
    send_queue_url = own_queue(ENV["SEND_QUEUE_URL"])
    env_path = LOCAL / "sam-env.json"
    env_file(env_path, QUEUE_URL=queue_url, SEND_QUEUE_URL=send_queue_url)
    print(f"== sam local invoke, every function (--env-vars {env_path.relative_to(ROOT)}: events/env.json on {ENDPOINT})")
    invoke_every_function(env_path, queue_url, send_queue_url)
    if "--no-start-api" not in sys.argv:
        print("== sam local start-api")
        start_api(queue_url)

    log = "\n".join(LOG)
    check("secrets read from SSM Parameter Store" in log, "secrets", "no function read its secrets from SSM")
    leaked = [name for name in SECRETS if ENV[name] in log]
    check(not leaked, "secrets", f"the value of {leaked} reached a function's output")
    print("secrets: read from moto's SSM SecureStrings at cold start, no value in any output")


if __name__ == "__main__":
    main()
