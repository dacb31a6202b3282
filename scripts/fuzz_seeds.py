#!/usr/bin/env python3
"""Seed inputs for the fuzz targets, from shared/fixtures and events/, written to a directory
per target (`fuzz_seeds.py OUT_DIR`). Each target's input format is described in its source
(fuzz/fuzz_targets/*.rs); a seed here follows that format so the fuzzer starts from real payloads."""

import base64
import hashlib
import hmac
import json
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
OUT = pathlib.Path(sys.argv[1])


def event_body(name):
    event = json.loads((ROOT / "events" / name).read_text())
    body = event.get("body") or ""
    if event.get("isBase64Encoded"):
        return base64.b64decode(body)
    return body.encode()


def write(target, name, data):
    directory = OUT / target
    directory.mkdir(parents=True, exist_ok=True)
    (directory / name).write_bytes(data)


fixtures = sorted((ROOT / "shared" / "fixtures" / "webhooks").glob("*.json"))
for path in fixtures:
    body = path.read_bytes()
    write("webhook_plan", path.name, body)
    # meta_signature: [header length] header body (a correct header for the fixture and a bad one)
    signature = b"sha256=" + hmac.new(b"fuzz-app-secret", body, hashlib.sha256).hexdigest().encode()
    write("meta_signature", path.name, bytes([len(signature)]) + signature + body)
    write("meta_signature", "bad-" + path.name, bytes([10]) + b"sha256=abc" + body)
    # sqs_record: [selector] body; 0x01 = kind meta-webhook, 0x41 = the same through the claim check
    write("sqs_record", path.name, b"\x01" + body)
    write("sqs_record", "s3-" + path.name, b"\x41" + body)
    write("claim_check", path.name, body)

write("webhook_plan", "meta-webhook-event.json", event_body("meta-webhook.json"))
write("sqs_record", "queue-worker-event.json", b"\x80" + (ROOT / "events" / "queue-worker.json").read_bytes())
write("sqs_record", "send-job.json", b"\x02" + json.dumps(
    {"message_id": "msg_0123456789abcdef01234567", "to": "15551234567",
     "payload": {"messaging_product": "whatsapp", "to": "15551234567", "type": "text", "text": {"body": "hi"}}}).encode())
write("sqs_record", "send-outcome.json", b"\x03" + json.dumps(
    {"message_id": "msg_0123456789abcdef01234567", "attempt": "att_0123456789abcdef", "to": "15551234567",
     "kind": "text", "wamid": "wamid.HBgL"}).encode())

write("claim_check", "pointer.json",
      b'["software.amazon.payloadoffloading.PayloadS3Pointer",{"s3BucketName":"payloads","s3Key":"webhooks/2026/11/22/abc"}]')
write("claim_check", "pointer-other-bucket.json",
      b'["software.amazon.payloadoffloading.PayloadS3Pointer",{"s3BucketName":"other","s3Key":"k"}]')

send = event_body("send-api.json")
write("send_request", "send-api-event.json", send)
shapes = {
    "text": {"to": "+1 (555) 123-4567", "type": "text", "text": {"body": "hello", "preview_url": True}},
    "template": {"to": "15551234567", "type": "template", "template": {"name": "hello_world", "language": "en_US",
                 "components": [{"type": "body", "parameters": [{"type": "text", "text": "x"}]}]}},
    "image": {"to": "0044 20 7946 0958", "type": "image", "image": {"link": "https://example.com/a.jpg", "caption": "c"}},
    "document": {"to": "15551234567", "type": "document", "document": {"id": "1234", "filename": "a.pdf"}},
    "audio": {"to": "15551234567", "type": "audio", "audio": {"id": "1234"}},
    "video": {"to": "15551234567", "type": "video", "video": {"link": "https://example.com/v.mp4"},
              "context_message_id": "wamid.X", "biz_opaque_callback_data": "ref-1"},
}
for name, shape in shapes.items():
    write("send_request", name + ".json", json.dumps(shape).encode())

gather = event_body("twilio-gather.json")
write("form", "twilio-gather.txt", gather)
write("form", "escapes.txt", b"a=%41%zz%&b=+%2B&&=&c&d=%E2%82%AC&Digits=1&Digits=2")
voice = event_body("twilio-voice.json")
write("form", "twilio-voice.txt", voice)
for name, url in {
    "plain": "https://voice.example.com/twilio/gather?attempt=1",
    "port": "https://voice.example.com:443/twilio/gather?attempt=1&attempt=2",
    "http": "http://user:pass@example.com:80/voice",
    "ipv6": "https://[::1]:8443/x?y",
}.items():
    write("twilio_signature", name + ".txt", url.encode() + b"\n" + gather + b"\nY7qZufznPjltv3RtGpTny1YHwTA=")

for name, text in {
    "words": "my code is one two three, four five six",
    "digits": "123-456 123 456",
    "double": "double five triple oh 1",
    "phone": "call me at 415 555 0123 please",
    "repeat": "123456 123456 12",
    "fillers": "uh, it's seven... eight, um, nine zero zero one",
}.items():
    write("spoken_code", name + ".txt", b"\x06" + text.encode())
