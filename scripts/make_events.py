#!/usr/bin/env python3
"""Writes events/: one sample Lambda event per function, signed with local.env's dev-only secret,
and events/env.json, the `sam local --env-vars` file (SAM's format) with local.env's values for
every variable template.yaml declares.

Run again after changing a payload, local.env or a function's variables in template.yaml;
`make sam-local` checks that events/ is what this script writes.

The Twilio events are signed for PUBLIC_BASE_URL (http://127.0.0.1:3000, local.env), the URL the
Twilio functions check under `sam local invoke --env-vars events/env.json`, `sam local start-api`
on its default port, `make run` and cargo lambda's emulator alike.
"""

import base64
import hashlib
import hmac
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
def _unquoted(value):
    """A value with spaces is double-quoted in local.env for the shell that sources it."""
    return value[1:-1] if len(value) >= 2 and value[0] == value[-1] == '"' else value


ENV = {
    name: _unquoted(value)
    for name, value in (
        line.split("=", 1)
        for line in (ROOT / "local.env").read_text(encoding="utf-8").splitlines()
        if line and not line.startswith("#") and "=" in line
    )
}

WEBHOOK = (ROOT / "shared/fixtures/webhooks/message_text.json").read_text(encoding="utf-8").strip()


def http_event(method, path, query="", headers=None, body=None, base64_body=False):
    headers = {"host": "abc123.execute-api.us-east-1.amazonaws.com", "user-agent": "facebookexternalua", **(headers or {})}
    params = dict(pair.split("=", 1) for pair in query.split("&")) if query else None
    event = {
        "version": "2.0",
        "routeKey": f"{method} {path}",
        "rawPath": path,
        "rawQueryString": query,
        "headers": headers,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "abc123",
            "domainName": headers["host"],
            "domainPrefix": "abc123",
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "173.252.127.1",
                     "userAgent": headers["user-agent"]},
            "requestId": "JKJaXmPLvHcESHA=",
            "routeKey": f"{method} {path}",
            "stage": "$default",
            "time": "22/Nov/2026:10:30:00 +0000",
            "timeEpoch": 1795343400000,
        },
        "isBase64Encoded": base64_body,
    }
    if params:
        event["queryStringParameters"] = params
    if body is not None:
        event["body"] = base64.b64encode(body.encode()).decode() if base64_body else body
    return event


def twilio_event(path, query, params):
    """A Twilio form POST, signed as Twilio signs it for PUBLIC_BASE_URL + path (+ query)."""
    from urllib.parse import urlencode

    url = ENV["PUBLIC_BASE_URL"].rstrip("/") + path + (f"?{query}" if query else "")
    data = url + "".join(k + v for k, v in sorted(params))
    signature = base64.b64encode(hmac.new(ENV["TWILIO_AUTH_TOKEN"].encode(), data.encode(), hashlib.sha1).digest()).decode()
    headers = {"content-type": "application/x-www-form-urlencoded", "x-twilio-signature": signature,
               "user-agent": "TwilioProxy/1.1"}
    return http_event("POST", path, query, headers=headers, body=urlencode(params), base64_body=True)


CALL = [("AccountSid", "AC00000000000000000000000000000000"), ("ApiVersion", "2010-04-01"),
        ("CallSid", "CA5f1e0d2c3b4a59687766554433221100"), ("CallStatus", "in-progress"), ("Direction", "inbound"),
        ("From", "+16505550100"), ("To", "+14155550123")]


def template_variables():
    """Every environment variable template.yaml declares (Globals and each function), in order."""
    names = []
    text = (ROOT / "template.yaml").read_text(encoding="utf-8")
    in_variables = None
    for line in text.splitlines():
        stripped = line.strip()
        indent = len(line) - len(line.lstrip())
        if stripped == "Variables:":
            in_variables = indent
        elif in_variables is not None:
            if stripped and indent <= in_variables:
                in_variables = None
            elif stripped and not stripped.startswith("#"):
                name = stripped.split(":", 1)[0]
                if name not in names:
                    names.append(name)
    return names


def sam_env_vars():
    """events/env.json: local.env's value for each declared variable the file has (make run's moto
    and resource names, the dev-only secrets), applied to every function ("Parameters")."""
    values = {name: ENV[name] for name in template_variables() if name in ENV}
    values["METRICS_STACK"] = "sam-local"
    return {"Parameters": values}


def main():
    out = ROOT / "events"
    out.mkdir(exist_ok=True)
    write(out / "env.json", sam_env_vars())
    token = ENV["WHATSAPP_VERIFY_TOKEN"]
    write(out / "meta-verify.json", http_event(
        "GET", "/webhooks/whatsapp", f"hub.mode=subscribe&hub.verify_token={token}&hub.challenge=1158201444"))
    signature = "sha256=" + hmac.new(ENV["WHATSAPP_APP_SECRET"].encode(), WEBHOOK.encode(), hashlib.sha256).hexdigest()
    write(out / "meta-webhook.json", http_event(
        "POST", "/webhooks/whatsapp",
        headers={"content-type": "application/json", "x-hub-signature-256": signature},
        body=WEBHOOK, base64_body=True))
    write(out / "twilio-voice.json", twilio_event("/twilio/voice", "", CALL))
    write(out / "twilio-gather.json", twilio_event("/twilio/gather", "attempt=1", CALL + [
        ("SpeechResult", "Your WhatsApp code is 4 8 1 5 2 9. Once again, 4 8 1 5 2 9."), ("Confidence", "0.9123")]))
    write(out / "send-api.json", http_event(
        "POST", "/messages", headers={"content-type": "application/json", "authorization": f"Bearer {ENV['API_KEY']}",
                                      "idempotency-key": "events-sample-1"},
        body=json.dumps({"to": "+972 50-437-0045", "type": "template", "name": "hello_world", "language": "en_US"})))
    write(out / "console.json", http_event("GET", "/console", headers={"user-agent": "Mozilla/5.0"}))
    write(out / "queue-worker.json", {"Records": [{
        "messageId": "059f36b4-87a3-44ab-83d2-661975830a7d",
        "receiptHandle": "AQEBwJnKyrHigUMZj6rYigCgxlaS3SLy0a",
        "body": WEBHOOK,
        "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "1795343400000",
                       "SenderId": "AIDAIENQZJOLO23YVJ4VO", "ApproximateFirstReceiveTimestamp": "1795343400100"},
        "messageAttributes": {
            "kind": {"stringValue": "meta-webhook", "stringListValues": [], "binaryListValues": [], "dataType": "String"},
            "received_at": {"stringValue": "2026-11-22T10:30:00.000Z", "stringListValues": [], "binaryListValues": [],
                            "dataType": "String"},
            "request_id": {"stringValue": "JKJaXmPLvHcESHA=", "stringListValues": [], "binaryListValues": [],
                           "dataType": "String"},
        },
        "md5OfBody": hashlib.md5(WEBHOOK.encode()).hexdigest(),
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:whatsapp-events",
        "awsRegion": "us-east-1",
    }]})


CHECK = "--check" in sys.argv[1:]
STALE = []


def write(path, event):
    text = json.dumps(event, indent=2, ensure_ascii=False) + "\n"
    if CHECK:
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            STALE.append(str(path.relative_to(ROOT)))
        return
    path.write_text(text, encoding="utf-8")
    print(f"wrote {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
    if STALE:
        sys.exit(f"{', '.join(STALE)}: not what scripts/make_events.py writes (run it, then commit events/)")
    if CHECK:
        print("events/: current (scripts/make_events.py --check)")
