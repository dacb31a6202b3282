#!/usr/bin/env python3
"""The fault soak's driver (make soak; started by scripts/soak.sh, which starts moto and the stack).

Starts the fault proxy (scripts/fault_proxy.py) in front of moto, the local API and the local worker
(two `local-stack` processes, LOCAL_ROLE=api / worker) whose every AWS call goes through the proxy, then
posts SOAK_WEBHOOKS webhooks signed as Meta signs them, at most SOAK_CONCURRENCY at once and spread over
the fault schedule, retrying any non-200 with backoff as Meta does. The schedule injects each fault for
SOAK_FAULT_SECONDS with SOAK_CALM_SECONDS of calm between, and SIGKILLs the worker once (then starts it
again). Once the queue has drained (at most SOAK_DRAIN_SECONDS) it reads moto directly, not through
the proxy, and checks: every inbound wamid recorded exactly once with its text, every status at its
highest rank with the time of each status seen, an event on the bus for each, the large webhooks
through the claim check, nothing left on the queue or in its dead-letter queue, every non-200 inside a
fault window and retried until acknowledged.

Prints one line and exits 1 when any check failed (the failures on stderr). docs/soak.md.
"""

import asyncio
import hashlib
import hmac
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import time
from collections import Counter, defaultdict

import boto3
import botocore.config

ENV = os.environ
WEBHOOKS = int(ENV.get("SOAK_WEBHOOKS", "2000"))
CONCURRENCY = int(ENV.get("SOAK_CONCURRENCY", "50"))
FAULT_SECONDS = float(ENV.get("SOAK_FAULT_SECONDS", "3"))
CALM_SECONDS = float(ENV.get("SOAK_CALM_SECONDS", "2"))
DRAIN_SECONDS = float(ENV.get("SOAK_DRAIN_SECONDS", "180"))
LARGE = int(ENV.get("SOAK_LARGE", str(max(2, WEBHOOKS // 400))))
# moto's SQS grows slow with its queue's length (a receive over 1,000 messages takes seconds here): the
# webhooks go out at most SOAK_RATE a second, and wait while more than SOAK_BACKLOG are queued, so the
# emulator, not the bundle, never becomes the fault. The fault schedule repeats for as long as the load
# lasts.
RATE = float(ENV.get("SOAK_RATE", "25"))
BACKLOG = int(ENV.get("SOAK_BACKLOG", "150"))
SEED = int(ENV.get("SOAK_SEED", "16"))
MOTO = f"http://127.0.0.1:{ENV['SOAK_AWS_PORT']}"
PROXY_PORT = int(ENV["SOAK_PROXY_PORT"])
CONTROL_PORT = int(ENV["SOAK_PROXY_CONTROL_PORT"])
API_PORT = int(ENV["SOAK_API_PORT"])
BINARY = ENV["SOAK_BINARY"]
LOG_DIR = ENV["SOAK_LOG_DIR"]
SECRET = ENV["WHATSAPP_APP_SECRET"].encode()
TABLE = ENV["TABLE_NAME"]
QUEUE_URL = ENV["QUEUE_URL"]
DLQ_URL = QUEUE_URL + "-dlq"  # scripts/local_stack.py names each dead-letter queue so
TAP_URL = ENV["EVENTS_TAP_QUEUE_URL"]
BUCKET = ENV["PAYLOAD_BUCKET"]
REGION = ENV.get("AWS_REGION", "us-east-1")
# The size above which the API puts a webhook in S3 and a pointer on the queue (QUEUE_INLINE_LIMIT_BYTES,
# default domain::envelope::DEFAULT_INLINE_LIMIT).
INLINE_LIMIT = int(ENV.get("QUEUE_INLINE_LIMIT_BYTES") or 250 * 1024)
PHONE_NUMBER_ID = ENV.get("WHATSAPP_PHONE_NUMBER_ID", "106540352242922")
RANK = {"sent": 30, "delivered": 40, "read": 50, "failed": 100}
# A non-200 whose request overlapped a fault window (widened by this much for the clocks) is the fault's.
SLACK_SECONDS = 0.5
FAULTS = ["latency", "500", "throttle", "drop", "blackhole"]

rng = random.Random(SEED)


def now():
    return time.time()


# ------------------------------------------------------------------ the webhooks


def envelope(changes):
    return {"object": "whatsapp_business_account",
            "entry": [{"id": ENV.get("WHATSAPP_BUSINESS_ACCOUNT_ID", "102290129340398"), "changes": [
                {"field": "messages", "value": dict({"messaging_product": "whatsapp", "metadata": {
                    "display_phone_number": "15550783881", "phone_number_id": PHONE_NUMBER_ID}}, **value)}
                for value in changes]}]}


def inbound_value(messages):
    """`messages`: (wamid, wa_id, text, timestamp)."""
    contacts = {wa_id: {"profile": {"name": f"Soak {wa_id[-2:]}"}, "wa_id": wa_id} for _, wa_id, _, _ in messages}
    return {"contacts": list(contacts.values()),
            "messages": [{"from": wa_id, "id": wamid, "timestamp": str(ts), "type": "text", "text": {"body": text}}
                         for wamid, wa_id, text, ts in messages]}


def status_value(wamid, name, ts, wa_id):
    entry = {"id": wamid, "status": name, "timestamp": str(ts), "recipient_id": wa_id}
    if name == "failed":
        entry["errors"] = [{"code": 131026, "title": "Message undeliverable", "message": "Message undeliverable",
                            "error_data": {"details": "Message Undeliverable."}}]
    else:
        entry["pricing"] = {"billable": True, "pricing_model": "PMP", "category": "utility"}
    return {"statuses": [entry]}


def meta_json(value):
    """As Meta serializes: compact, every non-ASCII character escaped (\\uXXXX)."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=True)


def plan(n, run):
    """n webhook bodies (bytes, in the order they go out) and what they must leave in the table:
    inbound wamid → text, outbound wamid → {status → timestamp}."""
    contacts = [f"9725000000{k:02d}" for k in range(20)]
    texts, statuses, bodies = {}, defaultdict(dict), []
    clock = [1_800_000_000]

    def tick():
        clock[0] += 1
        return clock[0]

    # A few large ones: a batch of 12 messages of 4,096 Hebrew letters each, escaped as Meta escapes them
    # (six bytes a letter): ~300 KB, over the inline limit, so the API puts them in S3 (the claim check).
    for i in range(min(LARGE, n)):
        messages = []
        for j in range(12):
            text = "".join(chr(0x05D0 + rng.randrange(27)) for _ in range(4096))
            wamid = f"wamid.soak{run}.large{i}.{j}"
            texts[wamid] = text
            messages.append((wamid, rng.choice(contacts), text, tick()))
        body = meta_json(envelope([inbound_value(messages)])).encode()
        if len(body) <= INLINE_LIMIT:
            sys.exit(f"soak: a large webhook is {len(body)} bytes, not over the inline limit {INLINE_LIMIT}")
        bodies.append(body)
    outbound = 0
    while len(bodies) < n:
        roll = rng.random()
        if roll < 0.40:
            wamid = f"wamid.soak{run}.in{len(bodies)}"
            texts[wamid] = f"soak message {len(bodies)} \u00e9\u05e9\U0001f600"
            bodies.append(meta_json(envelope([inbound_value([(wamid, rng.choice(contacts), texts[wamid],
                                                               tick())])])).encode())
        elif roll < 0.50 and bodies:
            # Meta delivering a webhook again: the same bytes, the same signature.
            bodies.append(rng.choice(bodies[-200:]))
        elif roll < 0.55:
            # One POST with a message and a status (two changes).
            wamid_in = f"wamid.soak{run}.in{len(bodies)}"
            texts[wamid_in] = f"soak mixed {len(bodies)}"
            wamid_out = f"wamid.soak{run}.out{outbound}"
            outbound += 1
            wa_id = rng.choice(contacts)
            ts = tick()
            statuses[wamid_out]["sent"] = ts
            bodies.append(meta_json(envelope([inbound_value([(wamid_in, wa_id, texts[wamid_in], ts)]),
                                              status_value(wamid_out, "sent", ts, wa_id)])).encode())
        else:
            # An outbound message's statuses, each its own webhook, shuffled among the others below:
            # read before delivered, delivered after failed, and so on.
            wamid = f"wamid.soak{run}.out{outbound}"
            outbound += 1
            wa_id = rng.choice(contacts)
            names = [name for name in ["sent", "delivered", "read"] if rng.random() < 0.8] or ["sent"]
            if rng.random() < 0.1:
                names.append("failed")
            base = tick()
            for name in names:
                ts = base + RANK[name]
                statuses[wamid][name] = ts
                bodies.append(meta_json(envelope([status_value(wamid, name, ts, wa_id)])).encode())
    bodies = bodies[:n]
    rng.shuffle(bodies)
    # What the bodies actually sent carry (the cut at n may have dropped a status or two).
    expected_texts, expected_statuses = {}, defaultdict(dict)
    for body in set(bodies):
        for change in json.loads(body)["entry"][0]["changes"]:
            for message in change["value"].get("messages", []):
                expected_texts[message["id"]] = texts[message["id"]]
            for status in change["value"].get("statuses", []):
                expected_statuses[status["id"]][status["status"]] = int(status["timestamp"])
    return bodies, expected_texts, dict(expected_statuses)


# ------------------------------------------------------------------ the processes


class Process:
    """One local-stack process (LOCAL_ROLE api or worker); every incarnation's peak RSS is kept."""

    def __init__(self, role, extra_env=None):
        self.role = role
        self.env = dict(ENV, LOCAL_ROLE=role, **(extra_env or {}))
        self.proc = None
        self.peaks = []  # kB, one per incarnation
        self.exits = []  # return codes of incarnations that ended on their own
        self.stopping = False
        # Between the kill and the start the schedule does: not restarted by supervise().
        self.killed = False
        self.all = []

    def start(self):
        log = open(f"{LOG_DIR}/{self.role}.log", "ab")
        self.proc = subprocess.Popen([BINARY], env=self.env, stdout=log, stderr=subprocess.STDOUT)
        self.all.append(self.proc)
        self.peaks.append(0)
        self.killed = False

    def sample(self):
        if self.proc is None or self.proc.poll() is not None:
            return
        try:
            with open(f"/proc/{self.proc.pid}/status") as status:
                for line in status:
                    if line.startswith("VmHWM:"):
                        self.peaks[-1] = max(self.peaks[-1], int(line.split()[1]))
        except OSError:
            pass

    def supervise(self):
        """Starts again an incarnation that ended by itself (an init whose AWS calls met a fault: Lambda
        retries a failed init too)."""
        if self.proc is not None and not (self.stopping or self.killed) and self.proc.poll() is not None:
            self.exits.append(self.proc.returncode)
            self.start()

    def kill(self):
        self.sample()
        self.killed = True
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self):
        self.stopping = True
        self.sample()
        for proc in self.all:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()


async def control(command):
    reader, writer = await asyncio.open_connection("127.0.0.1", CONTROL_PORT)
    try:
        writer.write(command.encode() + b"\n")
        await writer.drain()
        answer = (await reader.readline()).decode().strip()
    finally:
        writer.close()
    if answer.startswith("error"):
        raise RuntimeError(f"fault proxy: {answer}")
    return answer


# ------------------------------------------------------------------ Meta, retrying


class Meta:
    def __init__(self):
        self.attempts = []  # (start, end, code); code 0: no answer
        self.acked_latency_ms = []
        self.given_up = 0

    async def post(self, body):
        signature = "sha256=" + hmac.new(SECRET, body, hashlib.sha256).hexdigest()
        request = (f"POST /webhooks/whatsapp HTTP/1.1\r\nHost: 127.0.0.1:{API_PORT}\r\n"
                   "Content-Type: application/json\r\nUser-Agent: facebookexternalua\r\n"
                   f"X-Hub-Signature-256: {signature}\r\nContent-Length: {len(body)}\r\n"
                   "Connection: close\r\n\r\n").encode() + body
        reader, writer = await asyncio.open_connection("127.0.0.1", API_PORT)
        try:
            writer.write(request)
            await writer.drain()
            response = await asyncio.wait_for(reader.read(), timeout=30)
            return int(response.split(b" ", 2)[1])
        finally:
            writer.close()

    async def deliver(self, body, give_up_after):
        """Until a 200: backoff 0.5 s doubling to 4 s (Meta's, compressed), jittered; given up
        `give_up_after` seconds after this webhook's first attempt (Meta: 7 days)."""
        delay = 0.5
        deadline = now() + give_up_after
        while True:
            started = now()
            try:
                code = await self.post(body)
            except (OSError, asyncio.TimeoutError, IndexError, ValueError):
                code = 0
            ended = now()
            self.attempts.append((started, ended, code))
            if code == 200:
                self.acked_latency_ms.append((ended - started) * 1000)
                return True
            if ended > deadline:
                self.given_up += 1
                return False
            await asyncio.sleep(delay * rng.uniform(0.5, 1.5))
            delay = min(delay * 2, 4)


# ------------------------------------------------------------------ reading moto directly


def clients():
    session = boto3.session.Session(region_name=REGION)
    return (session.client("dynamodb", endpoint_url=MOTO), session.client("sqs", endpoint_url=MOTO),
            session.client("s3", endpoint_url=MOTO))


def depth(sqs, url):
    names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible",
             "ApproximateNumberOfMessagesDelayed"]
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"]
    return sum(int(attributes.get(name, 0)) for name in names)


def scan_messages(ddb, prefix):
    """Every item carrying a wamid of this run, wherever it is (any key)."""
    items, start = [], None
    while True:
        kwargs = {"TableName": TABLE, "FilterExpression": "begins_with(wamid, :p)",
                  "ExpressionAttributeValues": {":p": {"S": prefix}}}
        if start:
            kwargs["ExclusiveStartKey"] = start
        page = ddb.scan(**kwargs)
        items += page["Items"]
        start = page.get("LastEvaluatedKey")
        if not start:
            return items


def read_tap(sqs, events):
    """Moves the events the bus copied to the tap queue into `events` (received and deleted: moto's queues
    slow down as they grow), until the queue answers empty."""
    while True:
        page = sqs.receive_message(QueueUrl=TAP_URL, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages", [])
        if not page:
            return
        events += [json.loads(message["Body"]) for message in page]
        sqs.delete_message_batch(QueueUrl=TAP_URL, Entries=[
            {"Id": str(i), "ReceiptHandle": message["ReceiptHandle"]} for i, message in enumerate(page)])


def claim_check_objects(s3):
    count = 0
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix="webhooks/"):
        count += page.get("KeyCount", 0)
    return count


def preflight(s3):
    """The proxy passes bytes unchanged: an object of every byte value, put and read back through it."""
    via_proxy = boto3.session.Session(region_name=REGION).client(
        "s3", endpoint_url=f"http://127.0.0.1:{PROXY_PORT}",
        config=botocore.config.Config(connect_timeout=5, read_timeout=10, retries={"max_attempts": 1}))
    data = bytes(range(256)) * 1024 + os.urandom(300_000)
    via_proxy.put_object(Bucket=BUCKET, Key="soak-preflight/bytes", Body=data)
    back_via_proxy = via_proxy.get_object(Bucket=BUCKET, Key="soak-preflight/bytes")["Body"].read()
    direct = s3.get_object(Bucket=BUCKET, Key="soak-preflight/bytes")["Body"].read()
    if not (data == back_via_proxy == direct):
        sys.exit("soak: the fault proxy changed bytes it passed through (S3 object put and read back)")
    s3.delete_object(Bucket=BUCKET, Key="soak-preflight/bytes")


# ------------------------------------------------------------------ the run


async def main():
    run = f"{int(now())}{SEED}"
    bodies, texts, statuses = plan(WEBHOOKS, run)
    ddb, sqs, s3 = clients()

    proxy_log = open(f"{LOG_DIR}/proxy.log", "ab")
    proxy = subprocess.Popen([sys.executable, os.path.join(os.path.dirname(__file__), "fault_proxy.py"),
                              "--listen", str(PROXY_PORT), "--upstream", ENV["SOAK_AWS_PORT"],
                              "--control", str(CONTROL_PORT), "--seed", str(SEED)],
                             stdout=proxy_log, stderr=subprocess.STDOUT)
    api = Process("api")
    # Recording only: no access token, so the worker sends nothing (the send path has make chaos-send).
    worker = Process("worker", {"WHATSAPP_ACCESS_TOKEN": ""})
    try:
        for _ in range(100):
            try:
                await control("stats")
                break
            except OSError:
                await asyncio.sleep(0.1)
        await asyncio.to_thread(preflight, s3)
        api.start()
        worker.start()
        for _ in range(600):
            try:
                reader, writer = await asyncio.open_connection("127.0.0.1", API_PORT)
                writer.close()
                break
            except OSError:
                api.supervise()
                await asyncio.sleep(0.1)
        else:
            sys.exit(f"soak: the API did not listen on 127.0.0.1:{API_PORT} (see {LOG_DIR}/api.log)")
        return await soak(bodies, texts, statuses, run, api, worker, ddb, sqs, s3)
    finally:
        api.stop()
        worker.stop()
        proxy.terminate()
        try:
            proxy.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proxy.kill()
            proxy.wait()


async def soak(bodies, texts, statuses, run, api, worker, ddb, sqs, s3):
    meta = Meta()
    windows = []  # (mode, start, end)
    kill = {}
    schedule_seconds = CALM_SECONDS * (len(FAULTS) + 1) + FAULT_SECONDS * len(FAULTS)

    load_done = asyncio.Event()
    backlog = [0]
    events = []

    async def faults():
        await asyncio.sleep(CALM_SECONDS)
        # Each fault in turn, again and again while the load lasts (once at least); the kill once.
        while not windows or not load_done.is_set():
            await cycle()

    async def cycle():
        for mode in FAULTS:
            await control(f"mode {mode}")
            start = now()
            await asyncio.sleep(FAULT_SECONDS)
            await control("mode none")
            windows.append((mode, start, now()))
            if mode == "throttle" and "at" not in kill:
                # SIGKILL mid-calm, with the backlog the faults left, as Lambda loses an environment;
                # what it held comes back after the queue's visibility timeout.
                await asyncio.sleep(CALM_SECONDS / 3)
                kill["in_flight"] = await asyncio.to_thread(
                    lambda: int(sqs.get_queue_attributes(QueueUrl=QUEUE_URL, AttributeNames=[
                        "ApproximateNumberOfMessagesNotVisible"])["Attributes"]["ApproximateNumberOfMessagesNotVisible"]))
                worker.kill()
                kill["at"] = now()
                await asyncio.sleep(min(1.0, CALM_SECONDS / 3))
                worker.start()
                await asyncio.sleep(CALM_SECONDS / 3)
            else:
                await asyncio.sleep(CALM_SECONDS)

    async def supervise():
        while True:
            api.sample()
            worker.sample()
            api.supervise()
            worker.supervise()
            await asyncio.sleep(0.25)

    async def watch():
        """The events queue's depth, and the tap queue emptied into `events`, every second."""
        while True:
            backlog[0] = await asyncio.to_thread(depth, sqs, QUEUE_URL)
            await asyncio.to_thread(read_tap, sqs, events)
            await asyncio.sleep(1)

    semaphore = asyncio.Semaphore(CONCURRENCY)
    started = now()
    # Spread over one schedule at least (every fault and every calm meets traffic), at most RATE a second.
    spacing = max(schedule_seconds / len(bodies), 1 / RATE)
    # Meta gives up 7 days after a webhook's first attempt; here 300 s after it. (Counted from the first
    # attempt, not from the start of the load: a webhook held back while the queue was long must still
    # get its full retrying time. A deadline from the start made the first full-size run give up on 25.)
    give_up_after = 300

    async def one(index, body):
        await asyncio.sleep(index * spacing)
        async with semaphore:
            # Held while the queue is long, in order.
            while backlog[0] > BACKLOG:
                await asyncio.sleep(0.2)
            return await meta.deliver(body, give_up_after)

    supervisor = asyncio.create_task(supervise())
    watcher = asyncio.create_task(watch())
    fault_task = asyncio.create_task(faults())
    results = await asyncio.gather(*(one(i, body) for i, body in enumerate(bodies)))
    load_done.set()
    await fault_task
    load_seconds = now() - started

    # Recovery: until the queue is empty (what the kill and the faults left invisible comes back after the
    # visibility timeout), bounded.
    drained_at = None
    drain_deadline = now() + DRAIN_SECONDS
    while now() < drain_deadline:
        if await asyncio.to_thread(depth, sqs, QUEUE_URL) == 0:
            drained_at = now()
            break
        await asyncio.sleep(1)
    # A record received just before the last look is still being written: one more look, a moment later.
    await asyncio.sleep(2)
    left = await asyncio.to_thread(depth, sqs, QUEUE_URL)
    watcher.cancel()
    supervisor.cancel()
    api.stop()
    worker.stop()
    dead = await asyncio.to_thread(depth, sqs, DLQ_URL)
    items = await asyncio.to_thread(scan_messages, ddb, f"wamid.soak{run}.")
    await asyncio.sleep(1)
    await asyncio.to_thread(read_tap, sqs, events)
    offloaded = await asyncio.to_thread(claim_check_objects, s3)
    stats = json.loads(await control("stats"))

    # ---- the checks
    failures = []
    by_wamid = defaultdict(list)
    for item in items:
        by_wamid[item["wamid"]["S"]].append(item)
    lost = [w for w in list(texts) + list(statuses) if w not in by_wamid]
    duplicates = [w for w, found in by_wamid.items() if len(found) > 1]
    unexpected = [w for w in by_wamid if w not in texts and w not in statuses]
    wrong = []
    for wamid, text in texts.items():
        for item in by_wamid.get(wamid, [])[:1]:
            if item.get("direction", {}).get("S") != "inbound" or item.get("text_body", {}).get("S") != text:
                wrong.append((wamid, "inbound text or direction differs"))
    for wamid, seen in statuses.items():
        for item in by_wamid.get(wamid, [])[:1]:
            top = max(seen, key=RANK.get)
            held = (item.get("status", {}).get("S"), item.get("status_rank", {}).get("N"))
            if held != (top, str(RANK[top])):
                wrong.append((wamid, f"status {held}, expected {top}"))
            missing = [name for name in seen if f"{name}_at" not in item]
            if missing:
                wrong.append((wamid, f"no time for {missing}"))
    received_ids = defaultdict(set)
    status_events = defaultdict(set)
    for event in events:
        detail = event.get("detail", {})
        if event.get("detail-type") == "message.received":
            received_ids[detail.get("wamid")].add(detail.get("event_id"))
        elif event.get("detail-type") == "message.status":
            status_events[detail.get("wamid")].add(detail.get("status"))
    events_missing = [w for w in texts if w not in received_ids]
    events_missing += [w for w, seen in statuses.items() if max(seen, key=RANK.get) not in status_events.get(w, ())]
    copies = len([e for e in events if e.get("detail-type") in ("message.received", "message.status")
                  and str(e.get("detail", {}).get("wamid", "")).startswith(f"wamid.soak{run}.")])
    distinct = sum(len(ids) for w, ids in received_ids.items() if w in texts)
    distinct += sum(len(names) for w, names in status_events.items() if w in statuses)

    def in_fault(start, end):
        return any(start <= w_end + SLACK_SECONDS and end >= w_start - SLACK_SECONDS for _, w_start, w_end in windows)

    non_200 = [(s, e, c) for s, e, c in meta.attempts if c != 200]
    five_xx = [(s, e, c) for s, e, c in non_200 if c >= 500]
    outside = [(round(s - started, 2), round(e - started, 2), c) for s, e, c in five_xx if not in_fault(s, e)]
    other = [(round(s - started, 2), c) for s, e, c in non_200 if c < 500]
    acked = sum(results)
    not_acked = len(results) - acked

    if lost:
        failures.append(f"lost (no item): {len(lost)}, e.g. {lost[:5]}")
    if duplicates:
        failures.append(f"recorded more than once: {len(duplicates)}, e.g. {duplicates[:5]}")
    if unexpected:
        failures.append(f"items for wamids never sent: {unexpected[:5]}")
    if wrong:
        failures.append(f"recorded wrong: {len(wrong)}, e.g. {wrong[:5]}")
    if events_missing:
        failures.append(f"no event on the bus: {len(events_missing)}, e.g. {events_missing[:5]}")
    if not_acked:
        failures.append(f"never acknowledged (gave up): {not_acked}")
    if outside:
        failures.append(f"5xx outside the fault windows: {len(outside)}, e.g. (start s, end s, code) {outside[:5]}")
    if other:
        failures.append(f"non-200 that is not a 5xx (4xx, or no answer): {len(other)}, e.g. {other[:5]}")
    if left:
        failures.append(f"still on the queue after {DRAIN_SECONDS:.0f} s of recovery: {left}")
    if dead:
        failures.append(f"dead-lettered: {dead}")
    if offloaded < min(LARGE, len(bodies)):
        failures.append(f"only {offloaded} objects in the claim-check bucket for {LARGE} large webhooks")
    if api.exits:
        failures.append(f"the API process ended by itself {len(api.exits)} times (codes {api.exits})")
    injected = {mode: count for mode, count in stats["injected"].items()}
    if any(injected.get(mode, 0) == 0 for mode in FAULTS):
        failures.append(f"a fault met no request: {injected}")

    latencies = sorted(meta.acked_latency_ms) or [0.0]
    p50 = statistics.median(latencies)
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    mb = lambda kb: f"{kb / 1024:.0f}"  # noqa: E731
    peaks = f"api {mb(api.peaks[0])} MB, worker {'/'.join(mb(kb) for kb in worker.peaks)} MB"
    print(
        f"webhooks {len(bodies)}, acked {acked}, lost {len(lost) + not_acked}, duplicates {len(duplicates)}, "
        f"5xx {len(five_xx)} ({'all during faults' if not outside else f'{len(outside)} OUTSIDE faults'}, "
        f"{'all retried' if not not_acked else f'{not_acked} never acked'}), "
        f"ack p50/p99 {p50:.0f}/{p99:.0f} ms, peak RSS per process {peaks} (debug build; worker SIGKILLed once "
        f"with {kill.get('in_flight', '?')} in flight, {len(worker.exits)} failed starts restarted); "
        f"{len(texts)} inbound + {len(statuses)} outbound wamids checked, {len(bodies) - len(set(bodies))} "
        f"Meta duplicates, {min(LARGE, len(bodies))} large via S3 ({offloaded} objects), wrong {len(wrong)}, "
        f"bus events {distinct} distinct ({copies} copies), queue left {left}, dead-lettered {dead}, "
        f"faults met {injected} in {len(windows)} windows, load {load_seconds:.0f} s, drained "
        f"{f'{drained_at - started - load_seconds:.0f} s after' if drained_at else 'NOT'}"
    )
    for failure in failures:
        print(f"soak: FAILED: {failure}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
