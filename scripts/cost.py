#!/usr/bin/env python3
"""make cost: prices what tests/benches/cost.rs counted and writes docs/cost.md.

Inputs: the bench's counts (JSON: every invocation with its CPU time, AWS and Graph round trips and the
offsets of its log output; every AWS request by phase, function, service and operation with DynamoDB's
units, EventBridge entries and SQS chunks), the functions' log output (JSON lines), template.yaml
(memory sizes, alarms, dashboard, access-log format) and cost/prices.toml. Nothing here is a result
typed in: every figure is computed from the counts; what is assumed is a named constant below and is
written into docs/cost.md.

Exits non-zero when the INFO bytes per inbound message or per send exceed their budget (LOG_BUDGETS).

`python scripts/cost.py --self-test` checks the pure pieces (make cost runs it first).
"""

import argparse
import datetime
import json
import math
import re
import sys
import time
import tomllib
from collections import defaultdict
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent

# ---------------------------------------------------------------- assumptions (stated in docs/cost.md)
# Network round trip to an AWS service from a Lambda in the same region: the two values shown.
AWS_RTTS_MS = (5, 20)
# A Graph API call (send, media retrieve and download) from us-east-1: one value.
GRAPH_RTT_MS = 150
# The SQS event source: one ReceiveMessage that returns the batch and one DeleteMessageBatch per
# invocation; idle, POLLERS long polls of 20 s per queue, on the two queues the worker polls.
IDLE_POLLERS = 5
LONG_POLL_SECONDS = 20
POLLED_QUEUES = 2
SECONDS_PER_MONTH = 30.4 * 24 * 3600
# The small business: conversations a month, and what one conversation is.
CONVERSATIONS = 3000
PER_CONVERSATION = {"inbound": 3.8, "media": 0.2, "sends": 3.0, "history": 1.0}
# A small business's traffic is sparse: each record is its own invocation.
SMALL_BUSINESS_REGIME = "sparse"
# INFO bytes budgets (the functions' own INFO lines; EMF metric lines are reported apart).
LOG_BUDGETS = {"inbound": 600, "send": 1000}
# API Gateway access-log values not known from the run (template.yaml's format, rendered per request).
ACCESS_LOG_VALUES = {
    "requestId": "Ab1CdEfGhIjKlMnO=",
    "integrationLatency": "25",
    "responseLatency": "27",
    "ip": "173.252.127.1",
    "integrationError": "-",
}
USER_AGENTS = {"POST /webhooks/whatsapp": "facebookexternalua", "default": "python-requests/2.32.3"}

FUNCTIONS = {
    "MetaWebhookFunction": "meta-webhook",
    "SendApiFunction": "send-api",
    "QueueWorkerFunction": "queue-worker",
}

# Units: which phases measure them, and what one unit is.
UNITS = {
    "inbound": {"busy": "inbound", "sparse": "inbound-single", "what": "inbound text message"},
    "send": {"busy": "sends", "sparse": "sends-single", "what": "send (POST /messages, the Graph call, its 3 status webhooks)"},
    "status": {"busy": "statuses", "sparse": None, "what": "status webhook of a message sent elsewhere"},
    "media": {"busy": "media", "sparse": None, "what": "inbound image (100 KB) kept in S3"},
    "history": {"busy": "history", "sparse": None, "what": "history page (20 messages)"},
}

COMPONENTS = [
    "API Gateway",
    "Lambda requests",
    "Lambda duration",
    "SQS",
    "DynamoDB writes",
    "DynamoDB reads",
    "EventBridge",
    "S3 requests",
    "CloudWatch Logs",
]


class CfnLoader(yaml.SafeLoader):
    """Reads CloudFormation short-form tags (!Ref, !GetAtt, !Sub...) as plain values."""


def _any_tag(loader, suffix, node):
    if isinstance(node, yaml.ScalarNode):
        return {suffix: loader.construct_scalar(node)}
    if isinstance(node, yaml.SequenceNode):
        return {suffix: loader.construct_sequence(node)}
    return {suffix: loader.construct_mapping(node)}


CfnLoader.add_multi_constructor("!", _any_tag)


def template_facts(path):
    """Memory per function, alarms, dashboards, the access-log format, retention defaults."""
    template = yaml.load(Path(path).read_text(), Loader=CfnLoader)
    default_memory = template["Globals"]["Function"].get("MemorySize", 128)
    resources = template["Resources"]
    memory = {}
    for name in FUNCTIONS:
        memory[name] = resources[name]["Properties"].get("MemorySize", default_memory)
    kinds = defaultdict(int)
    for resource in resources.values():
        kinds[resource["Type"]] += 1
    access_format = resources["HttpApi"]["Properties"]["AccessLogSettings"]["Format"]
    parameters = template["Parameters"]
    return {
        "memory": memory,
        "architectures": template["Globals"]["Function"].get("Architectures", []),
        "alarms": kinds["AWS::CloudWatch::Alarm"],
        "dashboards": kinds["AWS::CloudWatch::Dashboard"],
        "access_format": access_format,
        "retention_days": int(parameters["RetentionDays"]["Default"]),
        "log_retention_days": int(parameters["LogRetentionDays"]["Default"]),
        "media_retention_days": int(parameters["MediaRetentionDays"]["Default"]),
        "archive_retention_days": int(parameters["EventArchiveRetentionDays"]["Default"]),
    }


def access_log_bytes(access_format, route, status, response_length):
    """One API Gateway access-log line for a request, rendered from the template's format."""
    values = dict(ACCESS_LOG_VALUES)
    values.update(
        {
            "routeKey": route,
            "status": str(status),
            "responseLength": str(response_length),
            "userAgent": USER_AGENTS.get(route, USER_AGENTS["default"]),
        }
    )

    def value(match):
        name = match.group(1).split(".")[-1]
        return values.get(name, "-")

    return len(re.sub(r"\$context\.([A-Za-z.]+)", value, access_format).encode()) + 1


def duration_ms(cpu_ms, memory_mb, aws_round_trips, graph_round_trips, aws_rtt_ms, full_vcpu_mb):
    """An invocation's duration in Lambda: its CPU time stretched to the CPU share its memory buys,
    or its CPU time plus its network waits, whichever is longer."""
    throttled = cpu_ms * full_vcpu_mb / memory_mb
    waiting = cpu_ms + aws_round_trips * aws_rtt_ms + graph_round_trips * GRAPH_RTT_MS
    return max(throttled, waiting)


def critical_round_trips(round_trips, requests, records):
    """Round trips on an invocation's critical path: the sequential phases the meter saw, or, for a
    batch whose records run concurrently (each record's calls one after another), its requests per
    record, whichever is more."""
    return max(round_trips, math.ceil(requests / max(records, 1)))


def metric_series(lines):
    """Distinct custom metrics (namespace, name, dimension values) in EMF lines."""
    series = set()
    for line in lines:
        directives = line.get("_aws", {}).get("CloudWatchMetrics", [])
        for directive in directives:
            for dimensions in directive.get("Dimensions", []):
                key = tuple((d, str(line.get(d))) for d in dimensions)
                for metric in directive.get("Metrics", []):
                    series.add((directive.get("Namespace"), metric["Name"], key))
    return series


def classify_logs(data):
    """Bytes of the functions' log lines: INFO, WARN/ERROR, other levels, EMF metrics; and the EMF lines."""
    sizes = defaultdict(int)
    emf = []
    for raw in data.splitlines(keepends=True):
        if not raw.strip():
            continue
        try:
            line = json.loads(raw)
        except ValueError:
            sizes["other"] += len(raw)
            continue
        if "_aws" in line:
            sizes["emf"] += len(raw)
            emf.append(line)
        elif line.get("level") == "INFO":
            sizes["info"] += len(raw)
        elif line.get("level") in ("WARN", "ERROR"):
            sizes["warn"] += len(raw)
        else:
            sizes["other"] += len(raw)
    return sizes, emf


def phase_usage(counts, logs, facts, prices):
    """Per phase: what it used, per service, and its invocations' modelled durations."""
    usage = defaultdict(lambda: defaultdict(float))
    full = prices["lambda"]["full_vcpu_mb"]
    for invocation in counts["invocations"]:
        phase, function = invocation["phase"], invocation["function"]
        use = usage[phase]
        memory = facts["memory"][function]
        use[f"invocations:{function}"] += 1
        use["invocations"] += 1
        use["records:" + function] += invocation["records"]
        use["cpu_ms"] += invocation["cpu_us"] / 1000
        use["wall_ms"] += invocation["wall_us"] / 1000
        aws_rt = critical_round_trips(invocation["aws_round_trips"], invocation["aws_requests"], invocation["records"])
        graph_rt = critical_round_trips(
            invocation["graph_round_trips"], invocation["graph_requests"], invocation["records"]
        )
        use["aws_round_trips"] += aws_rt
        use["graph_round_trips"] += graph_rt
        for rtt in AWS_RTTS_MS:
            ms = duration_ms(invocation["cpu_us"] / 1000, memory, aws_rt, graph_rt, rtt, full)
            billed = math.ceil(ms)
            use[f"duration_ms:{rtt}"] += ms
            use[f"gb_s:{rtt}"] += memory / 1024 * billed / 1000
        sizes, _ = classify_logs(logs[invocation["log_from"] : invocation["log_to"]])
        for kind, size in sizes.items():
            use[f"log_{kind}"] += size
            use[f"log_{kind}:{function}"] += size
        if function in ("MetaWebhookFunction", "SendApiFunction"):
            use["api_requests"] += 1
            route = "POST /webhooks/whatsapp" if function == "MetaWebhookFunction" else (
                "GET /contacts/{contact}/messages" if phase == "history" else "POST /messages"
            )
            use["access_log"] += access_log_bytes(facts["access_format"], route, 200, 40)
    for row in counts["aws"]:
        phase = row["label"].split("/")[0]
        use = usage[phase]
        service, operation = row["service"], row["operation"]
        use[f"req:{service}:{operation}"] += row["requests"]
        use[f"requests:{service}"] += row["requests"]
        use["aws_errors"] += row["errors"]
        use["conditions_failed"] += row.get("conditions_failed", 0)
        use["wru"] += row["write_units"]
        use["rru"] += row["read_units"]
        use["events"] += row["billed_events"]
        if service == "events":
            use["event_bytes"] += row["request_bytes"]
        use["sqs_billed"] += row["billed_requests"]
        if service == "s3":
            if operation in ("PutObject", "CopyObject", "CreateMultipartUpload", "UploadPart", "CompleteMultipartUpload", "ListObjectsV2"):
                use["s3_put"] += row["requests"]
                use["s3_put_bytes"] += row["request_bytes"]
            else:
                use["s3_get"] += row["requests"]
                use["s3_get_bytes"] += row["response_bytes"]
    for phase, polling in counts["polling"].items():
        usage[phase]["esm_receives"] += polling["receives"]
        usage[phase]["esm_deletes"] += polling["deletes"]
        usage[phase]["sqs_billed"] += polling["receives"] + polling["deletes"]
    return usage


def phase_cost(use, prices, rtt):
    """Dollars per component for one phase's usage."""
    p = prices
    logs_bytes = use["log_info"] + use["log_warn"] + use["log_other"] + use["log_emf"] + use["access_log"]
    return {
        "API Gateway": use["api_requests"] * p["api_gateway_http"]["per_million_requests"] / 1e6,
        "Lambda requests": use["invocations"] * p["lambda"]["per_million_requests"] / 1e6,
        "Lambda duration": use[f"gb_s:{rtt}"] * p["lambda"]["per_gb_second_arm64"],
        "SQS": use["sqs_billed"] * p["sqs"]["per_million_requests"] / 1e6,
        "DynamoDB writes": use["wru"] * p["dynamodb"]["per_million_write_request_units"] / 1e6,
        "DynamoDB reads": use["rru"] * p["dynamodb"]["per_million_read_request_units"] / 1e6,
        "EventBridge": use["events"] * p["eventbridge"]["per_million_custom_events"] / 1e6
        + use["event_bytes"] / 1e9 * p["eventbridge"]["archive_per_gb"],
        "S3 requests": use["s3_put"] * p["s3"]["put_per_thousand"] / 1e3 + use["s3_get"] * p["s3"]["get_per_thousand"] / 1e3,
        "CloudWatch Logs": logs_bytes / 1e9 * p["cloudwatch"]["logs_ingestion_per_gb"],
    }


def unit_size(counts, phase):
    """How many units a phase ran."""
    n = counts["counts"]
    return {
        "inbound": n["inbound"] - counts["single_inbound"],
        "inbound-single": counts["single_inbound"],
        "sends": n["sends"] - counts["single_sends"],
        "sends-single": counts["single_sends"],
        "statuses": n["statuses"],
        "media": n["media"],
        "history": n["history"],
    }[phase]


def per_unit(usage, counts, prices, unit, regime, rtt):
    phase = UNITS[unit][regime] or UNITS[unit]["busy"]
    n = unit_size(counts, phase)
    cost = phase_cost(usage[phase], prices, rtt)
    return {component: value / n for component, value in cost.items()}, phase, n


def dollars(value):
    if value == 0:
        return "$0"
    if value >= 100:
        return f"${value:,.0f}"
    if value >= 0.1:
        return f"${value:,.2f}"
    return f"${value:.4f}" if value >= 0.001 else f"${value:.2g}"


def plain(value):
    """A price as written (no exponent): 0.0000133334, 1769, 0.625."""
    if isinstance(value, float):
        return f"{value:.10f}".rstrip("0").rstrip(".")
    return str(value)


def self_test():
    assert critical_round_trips(1, 40, 10) == 4
    assert critical_round_trips(3, 2, 1) == 3
    # 1 ms of CPU at 256 MB of a 1,769 MB vCPU: 6.9 ms; with 3 round trips of 5 ms, 16 ms.
    assert math.isclose(duration_ms(1, 256, 0, 0, 5, 1769), 1769 / 256)
    assert duration_ms(1, 256, 3, 0, 5, 1769) == 16
    assert duration_ms(1, 256, 0, 1, 5, 1769) == 1 + GRAPH_RTT_MS
    line = '{"a":"$context.status","b":"$context.identity.userAgent"}'
    assert access_log_bytes(line, "POST /messages", 202, 10) == len('{"a":"202","b":"python-requests/2.32.3"}') + 1
    emf = [{"Stack": "s", "Reason": "x", "_aws": {"CloudWatchMetrics": [
        {"Namespace": "N", "Dimensions": [["Stack"], ["Stack", "Reason"]], "Metrics": [{"Name": "A"}, {"Name": "B"}]}]}}]
    assert len(metric_series(emf + emf)) == 4
    assert plain(0.0000133334) == "0.0000133334" and plain(1769) == "1769" and plain(1.0) == "1"
    sizes, lines = classify_logs(b'{"level":"INFO","m":1}\n{"_aws":{}}\n{"level":"WARN"}\n')
    assert (sizes["info"], sizes["emf"], sizes["warn"], len(lines)) == (23, 12, 17, 1)
    print("cost.py: self-test passed")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--self-test", action="store_true")
    parser.add_argument("--counts")
    parser.add_argument("--logs")
    parser.add_argument("--out")
    parser.add_argument("--started", type=int, default=int(time.time()))
    parser.add_argument("--command", default="make cost")
    args = parser.parse_args()
    if args.self_test:
        self_test()
        return 0

    counts = json.loads(Path(args.counts).read_text())
    logs = Path(args.logs).read_bytes()
    prices = tomllib.loads((ROOT / "cost/prices.toml").read_text())
    facts = template_facts(ROOT / "template.yaml")
    if counts["failures"]:
        print(f"cost: {counts['failures']} records failed in the workload; the counts would not be its cost", file=sys.stderr)
        return 1
    usage = phase_usage(counts, logs, facts, prices)
    all_sizes, emf_lines = classify_logs(logs)
    series = metric_series(emf_lines)
    n = counts["counts"]

    # ------------------------------------------------------------ per unit, per regime, per RTT
    table = {}
    for unit in UNITS:
        for regime in ("busy", "sparse"):
            if regime == "sparse" and not UNITS[unit]["sparse"]:
                continue
            for rtt in AWS_RTTS_MS:
                table[(unit, regime, rtt)] = per_unit(usage, counts, prices, unit, regime, rtt)[0]

    def total(unit, regime, rtt):
        key = (unit, regime if (unit, regime, rtt) in table else "busy", rtt)
        return sum(table[key].values())

    # ------------------------------------------------------------ logs per unit
    def log_per(phases, kind, count):
        return sum(usage[p][f"log_{kind}"] for p in phases) / count

    inbound_count = n["inbound"]
    sends_count = n["sends"]
    info_inbound = log_per(("inbound", "inbound-single"), "info", inbound_count)
    info_send = log_per(("sends", "sends-single"), "info", sends_count)
    emf_inbound = log_per(("inbound", "inbound-single"), "emf", inbound_count)
    emf_send = log_per(("sends", "sends-single"), "emf", sends_count)
    warn_total = sum(u["log_warn"] for u in usage.values())
    info_by_function = defaultdict(float)
    for phase in ("inbound", "inbound-single"):
        for function in FUNCTIONS:
            info_by_function[("inbound", function)] += usage[phase][f"log_info:{function}"] / inbound_count
    for phase in ("sends", "sends-single"):
        for function in FUNCTIONS:
            info_by_function[("send", function)] += usage[phase][f"log_info:{function}"] / sends_count
    over = []
    if info_inbound > LOG_BUDGETS["inbound"]:
        over.append(f"INFO bytes per inbound message {info_inbound:.0f} > budget {LOG_BUDGETS['inbound']}")
    if info_send > LOG_BUDGETS["send"]:
        over.append(f"INFO bytes per send {info_send:.0f} > budget {LOG_BUDGETS['send']}")

    # ------------------------------------------------------------ storage
    records_stored = n["inbound"] + n["sends"] + n["media"] + math.ceil(n["statuses"] / 3)
    table_bytes_per_message = (counts["table"]["bytes"] + counts["table"]["index_bytes"]) / records_stored

    # ------------------------------------------------------------ the small business month
    regime = SMALL_BUSINESS_REGIME
    month_units = {
        "inbound": CONVERSATIONS * PER_CONVERSATION["inbound"],
        "media": CONVERSATIONS * PER_CONVERSATION["media"],
        "send": CONVERSATIONS * PER_CONVERSATION["sends"],
        "history": CONVERSATIONS * PER_CONVERSATION["history"],
    }
    month_messages = sum(month_units[u] for u in ("inbound", "media", "send"))
    dashboards_billed = facts["dashboards"]
    fixed = {
        "CloudWatch alarms": facts["alarms"] * prices["cloudwatch"]["alarm_per_month"],
        "CloudWatch dashboard": dashboards_billed * prices["cloudwatch"]["dashboard_per_month"],
        "SQS idle polling": POLLED_QUEUES * IDLE_POLLERS * SECONDS_PER_MONTH / LONG_POLL_SECONDS
        * prices["sqs"]["per_million_requests"] / 1e6,
    }
    idle_polling_requests = POLLED_QUEUES * IDLE_POLLERS * SECONDS_PER_MONTH / LONG_POLL_SECONDS
    metrics_month = len(series) * prices["cloudwatch"]["custom_metric_per_month"]
    stored_gb_month = month_messages * table_bytes_per_message / 1e9
    media_gb = month_units["media"] * counts["image_bytes"] / 1e9 * min(1.0, facts["media_retention_days"] / 30.4)
    storage_month = {
        "DynamoDB storage + PITR (first month)": stored_gb_month * (prices["dynamodb"]["storage_per_gb_month"] + prices["dynamodb"]["pitr_per_gb_month"]),
        "S3 media (30-day retention)": media_gb * prices["s3"]["storage_per_gb_month"],
    }

    month = {}
    for rtt in AWS_RTTS_MS:
        components = defaultdict(float)
        for unit, count in month_units.items():
            key = (unit, regime if (unit, regime, rtt) in table else "busy", rtt)
            for component, value in table[key].items():
                components[component] += value * count
        month[rtt] = components
    month_logs_gb = 0.0
    for unit, count in month_units.items():
        key = UNITS[unit][regime] or UNITS[unit]["busy"]
        use = usage[key]
        per = (use["log_info"] + use["log_warn"] + use["log_other"] + use["log_emf"] + use["access_log"]) / unit_size(counts, key)
        month_logs_gb += per * count / 1e9
    storage_month["CloudWatch Logs storage (30-day retention, uncompressed: an upper bound)"] = month_logs_gb * prices["cloudwatch"]["logs_storage_per_gb_month"]

    def month_total(rtt):
        return sum(month[rtt].values()) + sum(fixed.values()) + metrics_month + sum(storage_month.values())

    per_conversation = {rtt: sum(month[rtt].values()) / CONVERSATIONS for rtt in AWS_RTTS_MS}
    vm = prices["comparison"]["vm_per_month"]
    fixed_total = sum(fixed.values()) + metrics_month
    break_even = {rtt: (vm - fixed_total) / (per_conversation[rtt] + (sum(storage_month.values()) / CONVERSATIONS)) for rtt in AWS_RTTS_MS}

    # ------------------------------------------------------------ write docs/cost.md
    now = datetime.datetime.now(datetime.timezone.utc)
    seconds = time.time() - args.started
    scale = counts["scale"]
    out = []
    w = out.append
    w("# What the bundle costs")
    w("")
    w(f"Generated by `{args.command}` on {now:%Y-%m-%d %H:%M} UTC in {seconds / 60:.1f} minutes (the workload itself "
      f"{counts['seconds']:.0f} s, at scale {scale:g}). Do not edit by hand: run `make cost` again. "
      "Counted, not estimated: a fixed workload ran through the bundle's real handlers (release build, "
      "the composition root's constructors) against the AWS emulator over HTTP, every AWS request "
      "metered at the SDK's HTTP layer (`test-support/src/wire_meter.rs`), then priced at the list "
      f"prices in `cost/prices.toml` ({prices['region']}, arm64, checked {prices['checked']}). "
      "What is assumed is listed under [Assumptions](#assumptions).")
    w("")
    w(f"Workload: {n['inbound']:,} inbound texts ({counts['single_inbound']:,} of them one per invocation), "
      f"{n['statuses']:,} status webhooks of messages sent elsewhere, {n['sends']:,} sends through `POST /messages` "
      f"({counts['single_sends']:,} one per invocation) with their {3 * n['sends']:,} status webhooks, {n['media']:,} inbound "
      f"images of {counts['image_bytes'] // 1024} KB, {n['history']:,} history pages.")
    w("")
    w("## Summary")
    w("")
    w(f"| | {' | '.join(f'AWS round trip {r} ms' for r in AWS_RTTS_MS)} |")
    w("|---|" + "---:|" * len(AWS_RTTS_MS))
    rows = [
        ("per million inbound messages, busy (batches of 10)", "inbound", "busy"),
        ("per million inbound messages, sparse (one per invocation)", "inbound", "sparse"),
        ("per million sends with their 3 statuses, busy", "send", "busy"),
        ("per million sends with their 3 statuses, sparse", "send", "sparse"),
        ("per million statuses of messages sent elsewhere (batches of 10)", "status", "busy"),
        ("per million inbound images kept (100 KB)", "media", "busy"),
        ("per million history pages", "history", "busy"),
    ]
    for label, unit, reg in rows:
        w(f"| {label} | " + " | ".join(dollars(total(unit, reg, r) * 1e6) for r in AWS_RTTS_MS) + " |")
    w(f"| **a small business's month** ({CONVERSATIONS:,} conversations, below) | "
      + " | ".join(f"**{dollars(month_total(r))}**" for r in AWS_RTTS_MS) + " |")
    idle = sum(fixed.values())
    w(f"| an idle month (no traffic; storage apart) | " + " | ".join(dollars(idle) for _ in AWS_RTTS_MS) + " |")
    w(f"| break-even against an always-on VM at {dollars(vm)}/month | "
      + " | ".join(f"{break_even[r]:,.0f} conversations/month" for r in AWS_RTTS_MS) + " |")
    w("")
    w(f"A small business: {CONVERSATIONS:,} conversations a month, each {PER_CONVERSATION['inbound'] + PER_CONVERSATION['media']:g} "
      f"inbound messages ({PER_CONVERSATION['media']:g} of them an image), {PER_CONVERSATION['sends']:g} replies sent through "
      f"the send API (each with its 3 statuses) and {PER_CONVERSATION['history']:g} history page; traffic that sparse arrives "
      "one record per invocation, so it is priced at the sparse figures. "
      f"That is ${per_conversation[AWS_RTTS_MS[0]]:.3g}–${per_conversation[AWS_RTTS_MS[-1]]:.3g} of traffic "
      f"per conversation; the month is mostly fixed costs ({dollars(fixed_total)}: below). Free tiers are not counted "
      "(Lambda's 1 M requests and 400,000 GB-s, SQS's 1 M requests, API Gateway's 1 M requests for 12 months, three "
      "dashboards and ten metrics and alarms per account): with them a month this size costs little more than its "
      "storage, alarms and dashboard.")
    w("")
    w("Idle is not quite $0: " + ", ".join(f"{name} {dollars(v)}" for name, v in fixed.items())
      + f" a month (the template's {facts['alarms']} alarms, its dashboard, and the event source's empty long polls "
      f"on the {POLLED_QUEUES} queues: {idle_polling_requests / 1e6:.2f} M requests a month, most of them inside SQS's "
      "free million). "
      f"Custom metrics ({len(series)} series seen in the run's EMF lines, {dollars(metrics_month)} a month at most) cost "
      "only in the hours they are published. Storage grows with what is kept: "
      f"{table_bytes_per_message:,.0f} bytes of table and index per recorded message (measured: the table's items after "
      f"the run by DynamoDB's size rules), {dollars(stored_gb_month * (prices['dynamodb']['storage_per_gb_month'] + prices['dynamodb']['pitr_per_gb_month']))} "
      f"a month more for each month of the small business's messages (RetentionDays {facts['retention_days']}: kept until "
      "deleted; PITR included), media in S3 for MediaRetentionDays, logs for LogRetentionDays.")
    w("")
    w("## Logs: INFO bytes per message")
    w("")
    w("What the functions write at INFO (their own JSON lines), per unit of work, measured from the run's log "
      "output; the EMF metric lines (CloudWatch turns them into the alarms' and dashboard's metrics) apart. "
      f"`make cost` fails when a figure is over its budget.")
    w("")
    w("| per | INFO bytes | budget | meta-webhook | send-api | queue-worker | EMF metric bytes |")
    w("|---|---:|---:|---:|---:|---:|---:|")
    w(f"| inbound message (its webhook and its record) | {info_inbound:,.0f} | {LOG_BUDGETS['inbound']:,} | "
      + " | ".join(f"{info_by_function[('inbound', f)]:,.0f}" for f in FUNCTIONS) + f" | {emf_inbound:,.0f} |")
    w(f"| send (the request, the send, its 3 status webhooks and their records) | {info_send:,.0f} | {LOG_BUDGETS['send']:,} | "
      + " | ".join(f"{info_by_function[('send', f)]:,.0f}" for f in FUNCTIONS) + f" | {emf_send:,.0f} |")
    w("")
    w("Lines at DEBUG since these budgets (`RUST_LOG=info,bridge=debug` brings them back): a queued webhook's "
      "`meta webhook` line (the webhook is counted by the WebhooksEnqueued metric and its worker line carries "
      "its request id and SQS message id; a body offloaded to the bucket stays at INFO, refusals are WARN/ERROR); "
      "a `queue record` line for a record that only moved statuses forward or met a duplicate (a record that "
      "recorded a message, linked a send, queued or kept media, or whose send came to anything but `accepted` "
      "stays at INFO; failures are WARN/ERROR). Zero counts and empty fields are left out of `queue record` lines.")
    w("")
    w(f"Over the whole run: INFO {all_sizes['info']:,} bytes, WARN/ERROR {all_sizes['warn']:,}, EMF {all_sizes['emf']:,}, "
      f"other {all_sizes['other']:,}. CloudWatch Logs is priced on every line (INFO, WARN/ERROR, EMF) plus API Gateway's "
      "access-log line per request (template.yaml's format rendered with the request's route and status).")
    w("")

    def share_table(title, components):
        w(f"### {title}")
        w("")
        w("| component | " + " | ".join(f"{r} ms" for r in AWS_RTTS_MS) + " | share at " + f"{AWS_RTTS_MS[0]} ms |")
        w("|---|" + "---:|" * (len(AWS_RTTS_MS) + 1))
        first = components[AWS_RTTS_MS[0]]
        whole = sum(first.values()) or 1
        for component in COMPONENTS:
            w(f"| {component} | " + " | ".join(dollars(components[r].get(component, 0)) for r in AWS_RTTS_MS)
              + f" | {100 * first.get(component, 0) / whole:.0f} % |")
        w(f"| **total** | " + " | ".join(f"**{dollars(sum(components[r].values()))}**" for r in AWS_RTTS_MS) + " | 100 % |")
        w("")

    w("## Each component's share")
    w("")
    for unit, reg, title in [
        ("inbound", "busy", "Per million inbound messages, busy"),
        ("inbound", "sparse", "Per million inbound messages, sparse"),
        ("send", "busy", "Per million sends with their statuses, busy"),
        ("send", "sparse", "Per million sends with their statuses, sparse"),
    ]:
        share_table(title, {r: {c: v * 1e6 for c, v in table[(unit, reg, r)].items()} for r in AWS_RTTS_MS})
    share_table(f"The small business's month, traffic only ({CONVERSATIONS:,} conversations)", month)
    w("Its fixed and stored costs: " + ", ".join(f"{k} {dollars(v)}" for k, v in {**fixed, 'custom metrics (at most)': metrics_month, **storage_month}.items()) + ".")
    w("")

    w("## What was counted, per unit")
    w("")
    w("Requests by service and operation as the SDK sent them (the event source's own ReceiveMessage and "
      "DeleteMessageBatch added per worker invocation), DynamoDB's units by its size rules, and the invocations.")
    w("")
    w("| phase | units | invocations | records per worker invocation | AWS requests (of which DynamoDB conditions false; other errors) | DynamoDB WRU | RRU | events | SQS billed | S3 PUT (bytes) | log bytes | CPU ms (this machine) | duration ms at " + " / ".join(str(r) for r in AWS_RTTS_MS) + " |")
    w("|---|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for phase in ("inbound", "inbound-single", "statuses", "sends", "sends-single", "media", "history"):
        use = usage[phase]
        units = unit_size(counts, phase)
        ops = sorted((k.split(":", 1)[1], v) for k, v in use.items() if k.startswith("req:"))
        ops_text = ", ".join(f"{name.replace(':', ' ')} {v / units:.2f}" for name, v in ops)
        ops_text += f" ({use['conditions_failed'] / units:.2f}; {(use['aws_errors'] - use['conditions_failed']) / units:.2f})"
        worker_invocations = use["invocations:QueueWorkerFunction"] or 1
        records_per = use["records:QueueWorkerFunction"] / worker_invocations
        log_bytes = use["log_info"] + use["log_warn"] + use["log_other"] + use["log_emf"]
        w(f"| {phase} | {units:,} | {use['invocations'] / units:.2f} | {records_per:.1f} | {ops_text} | "
          f"{use['wru'] / units:.2f} | {use['rru'] / units:.2f} | {use['events'] / units:.2f} | {use['sqs_billed'] / units:.2f} | "
          f"{use['s3_put'] / units:.2f} ({use['s3_put_bytes'] / units:,.0f}) | {log_bytes / units:,.0f} | "
          f"{use['cpu_ms'] / units:.2f} | " + " / ".join(f"{use[f'duration_ms:{r}'] / units:.1f}" for r in AWS_RTTS_MS) + " |")
    w("")
    w("Per invocation, by function (all phases): the modelled duration and what it was made of.")
    w("")
    w("| function | memory | invocations | wall ms here (moto and the meter's side reads included; mean) | CPU ms here (mean) | AWS round trips (mean) | Graph round trips (mean) | duration ms at " + " / ".join(str(r) for r in AWS_RTTS_MS) + " (mean) |")
    w("|---|---:|---:|---:|---:|---:|---:|---:|")
    by_function = defaultdict(lambda: defaultdict(float))
    full = prices["lambda"]["full_vcpu_mb"]
    for invocation in counts["invocations"]:
        f = by_function[invocation["function"]]
        f["n"] += 1
        f["cpu"] += invocation["cpu_us"] / 1000
        f["wall"] += invocation["wall_us"] / 1000
        aws_rt = critical_round_trips(invocation["aws_round_trips"], invocation["aws_requests"], invocation["records"])
        graph_rt = critical_round_trips(invocation["graph_round_trips"], invocation["graph_requests"], invocation["records"])
        f["aws"] += aws_rt
        f["graph"] += graph_rt
        for r in AWS_RTTS_MS:
            f[r] += duration_ms(invocation["cpu_us"] / 1000, facts["memory"][invocation["function"]], aws_rt, graph_rt, r, full)
    for function, f in by_function.items():
        w(f"| {FUNCTIONS[function]} | {facts['memory'][function]} MB | {f['n']:,.0f} | {f['wall'] / f['n']:.1f} | {f['cpu'] / f['n']:.2f} | "
          f"{f['aws'] / f['n']:.1f} | {f['graph'] / f['n']:.2f} | " + " / ".join(f"{f[r] / f['n']:.1f}" for r in AWS_RTTS_MS) + " |")
    w("")

    w("## Assumptions")
    w("")
    w(f"- **Lambda duration**: an invocation takes its CPU time stretched to the CPU share its memory buys "
      f"(1,769 MB is one vCPU; {', '.join(f'{FUNCTIONS[k]} {v} MB' for k, v in facts['memory'].items())}, template.yaml, "
      f"{'/'.join(facts['architectures'])}), or its CPU time plus its network waits, whichever is longer, billed "
      "up to the next millisecond. CPU time is this machine's, measured per invocation (the handler's thread; "
      "the emulator, the stand-in and the meter run elsewhere), taken as Graviton's.")
    w(f"- **Network waits**: each AWS round trip on the invocation's critical path at {' or '.join(f'{r} ms' for r in AWS_RTTS_MS)} "
      f"(both shown), each Graph API call at {GRAPH_RTT_MS} ms. The critical path: the sequential phases the meter saw "
      "(requests in flight together count once), or, for a batch whose records run concurrently, its requests per "
      "record (each record's calls one after another), whichever is more.")
    w("- **Cold starts** are not in the durations (init is billed; `make bench-cold-start` measures it: a few ms, "
      "plus one `GetParameters` for the secrets); a sparse deployment meets more of them.")
    w(f"- **The SQS event source**: one `ReceiveMessage` returning the batch and one `DeleteMessageBatch` per worker "
      f"invocation; idle, {IDLE_POLLERS} pollers long-polling each of the {POLLED_QUEUES} queues every {LONG_POLL_SECONDS} s "
      "(AWS documents that Lambda polls an idle queue; the poller count is an assumption). Busy: batches of 10 "
      "(BatchSize); sparse: one record per invocation.")
    w("- **Rate limiting**: the send worker's pacing waits are not counted (the rate is not binding here; "
      "`make bench-send` measures a binding tier).")
    w("- **DynamoDB units** are computed from item sizes by DynamoDB's rules (1 WRU per KB written, the larger "
      "of the item before and after; each index entry written +100 bytes; 1 RRU per 4 KB read strongly, half "
      "eventually; transactions twice; a failed condition the existing item's size): the emulator's own "
      "`ConsumedCapacity` is a constant. On-demand prices after the November 2024 halving.")
    w("- **Logs**: each line as the function writes it (Lambda's JSON log format passes JSON lines through; "
      "SystemLogLevel WARN drops the START/END/REPORT lines), plus API Gateway's access-log line per request.")
    w(f"- **EventBridge**: every entry taken is a custom event (64 KB chunks), and archived (the template's archive, "
      f"{facts['archive_retention_days']} days).")
    w("- **Not counted**: data transfer (Meta's webhooks in are free; answers are small), KMS (the table's "
      "encryption uses the AWS-owned key; the SecureStrings' decrypt at cold start), SES (one verification "
      "email), the optional events tap queue (EventsTapQueue, off by default), the Twilio functions and `GET /messages/{id}` (not in the workload).")
    w("")
    w("## Prices")
    w("")
    w(f"From `cost/prices.toml` ({prices['region']}, checked {prices['checked']}; no free tier):")
    w("")
    w("| service | price | source |")
    w("|---|---|---|")
    for section, values in prices.items():
        if not isinstance(values, dict) or section == "comparison":
            continue
        items = ", ".join(f"{k} {plain(v)}" for k, v in values.items() if k != "source")
        w(f"| {section} | {items} | {values.get('source', '')} |")
    w("")
    Path(args.out).write_text("\n".join(out))

    print(f"cost: docs/cost.md written ({seconds / 60:.1f} min). Per million inbound messages "
          + ", ".join(f"{dollars(total('inbound', 'busy', r) * 1e6)} at {r} ms" for r in AWS_RTTS_MS)
          + "; per million sends " + ", ".join(f"{dollars(total('send', 'busy', r) * 1e6)} at {r} ms" for r in AWS_RTTS_MS)
          + f"; small business month {dollars(month_total(AWS_RTTS_MS[0]))}–{dollars(month_total(AWS_RTTS_MS[-1]))}; "
          f"INFO bytes per inbound message {info_inbound:.0f} (budget {LOG_BUDGETS['inbound']}), per send {info_send:.0f} "
          f"(budget {LOG_BUDGETS['send']}); WARN/ERROR bytes {warn_total:.0f}.")
    if over:
        for line in over:
            print(f"cost: over budget: {line}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
