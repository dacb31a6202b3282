#!/usr/bin/env python3
"""Creates the template's table, queues and bucket in the local AWS emulator.

Reads template.yaml, so the local resources are what the template deploys: each
function environment variable that is `!Ref <Resource>` names that resource locally
through the same variable in local.env (TABLE_NAME, QUEUE_URL, PAYLOAD_BUCKET).
A queue's dead-letter queue is named after it with a `-dlq` suffix.

Also writes .local/stack.json: the template's HTTP routes and the worker's event
source settings, which the local runner checks and uses.

Idempotent: existing resources are left as they are.
"""

import json
import os
import sys
import time
import urllib.request
from pathlib import Path

import boto3
import botocore.exceptions
import yaml

ROOT = Path(__file__).resolve().parent.parent


class CfnLoader(yaml.SafeLoader):
    """Reads CloudFormation short-form tags (!Ref, !GetAtt, !Sub...) as {"Tag": value}."""


def _tag(loader, suffix, node):
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return {suffix: value}


CfnLoader.add_multi_constructor("!", _tag)


def load_template():
    with open(ROOT / "template.yaml", encoding="utf-8") as handle:
        return yaml.load(handle, Loader=CfnLoader)


def wait_for(endpoint, seconds=60):
    deadline = time.time() + seconds
    while True:
        try:
            urllib.request.urlopen(endpoint + "/moto-api/", timeout=2)
            return
        except Exception:  # noqa: BLE001 - any failure means "not up yet"
            if time.time() > deadline:
                sys.exit(f"the AWS emulator did not come up at {endpoint}")
            time.sleep(0.3)


def local_names(template):
    """Maps each resource referenced from a function's environment to its local name."""
    names = {}
    for resource in template["Resources"].values():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        variables = resource["Properties"].get("Environment", {}).get("Variables", {})
        for variable, value in variables.items():
            if isinstance(value, dict) and "Ref" in value and value["Ref"] in template["Resources"]:
                local = os.environ.get(variable)
                if not local:
                    sys.exit(f"{variable} is not set (see local.env)")
                names[value["Ref"]] = local
    return names


def routes(template):
    found = []
    for logical_id, resource in template["Resources"].items():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        for event in resource["Properties"].get("Events", {}).values():
            if event["Type"] == "HttpApi":
                props = event["Properties"]
                found.append({"method": props["Method"].upper(), "path": props["Path"], "function": logical_id})
    return sorted(found, key=lambda r: (r["path"], r["method"]))


def queue_event_sources(template, names):
    sources = []
    for logical_id, resource in template["Resources"].items():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        for event in resource["Properties"].get("Events", {}).values():
            if event["Type"] == "SQS":
                props = event["Properties"]
                sources.append(
                    {
                        "function": logical_id,
                        "queue": props["Queue"]["GetAtt"].split(".")[0],
                        "queue_url": names.get(props["Queue"]["GetAtt"].split(".")[0]),
                        "batch_size": props.get("BatchSize", 10),
                        "batching_window_seconds": props.get("MaximumBatchingWindowInSeconds", 0),
                        "report_batch_item_failures": "ReportBatchItemFailures"
                        in props.get("FunctionResponseTypes", []),
                    }
                )
    return sources


def create_table(dynamodb, name, props):
    existing = dynamodb.list_tables()["TableNames"]
    if name not in existing:
        args = {
            "TableName": name,
            "AttributeDefinitions": props["AttributeDefinitions"],
            "KeySchema": props["KeySchema"],
            "BillingMode": props.get("BillingMode", "PAY_PER_REQUEST"),
        }
        if props.get("GlobalSecondaryIndexes"):
            args["GlobalSecondaryIndexes"] = props["GlobalSecondaryIndexes"]
        dynamodb.create_table(**args)
        dynamodb.get_waiter("table_exists").wait(TableName=name)
    ttl = props.get("TimeToLiveSpecification")
    if ttl and ttl.get("Enabled"):
        try:
            dynamodb.update_time_to_live(
                TableName=name, TimeToLiveSpecification={"AttributeName": ttl["AttributeName"], "Enabled": True}
            )
        except botocore.exceptions.ClientError as error:
            # dynalite (BENCH_DYNAMODB=dynalite) has no UpdateTimeToLive; nothing local expires items anyway.
            if error.response["Error"]["Code"] != "UnknownOperationException":
                raise
            print(f"table   {name}: this emulator keeps no TTL")
    print(f"table   {name}")


def queue_name_from_url(url):
    return url.rstrip("/").rsplit("/", 1)[-1]


def create_queue(sqs, name, props, dlq_arn=None, max_receive_count=None):
    attributes = {}
    for key in ("VisibilityTimeout", "MessageRetentionPeriod", "DelaySeconds", "MaximumMessageSize"):
        if key in props:
            attributes[key] = str(props[key])
    if dlq_arn:
        attributes["RedrivePolicy"] = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": max_receive_count})
    url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    print(f"queue   {name}" + (f" (dead letters after {max_receive_count} receives)" if dlq_arn else ""))
    return url, arn


def main():
    endpoint = os.environ.get("AWS_ENDPOINT_URL", "http://127.0.0.1:4566")
    wait_for(endpoint)
    template = load_template()
    resources = template["Resources"]
    names = local_names(template)
    session = boto3.session.Session(region_name=os.environ.get("AWS_REGION", "us-east-1"))
    # DynamoDB may have an emulator of its own (scripts/dynalite.sh sets AWS_ENDPOINT_URL_DYNAMODB).
    dynamodb = session.client("dynamodb", endpoint_url=os.environ.get("AWS_ENDPOINT_URL_DYNAMODB") or endpoint)
    sqs = session.client("sqs", endpoint_url=endpoint)
    s3 = session.client("s3", endpoint_url=endpoint)

    for logical_id, local in names.items():
        resource = resources[logical_id]
        props = resource.get("Properties", {})
        kind = resource["Type"]
        if kind == "AWS::DynamoDB::Table":
            create_table(dynamodb, local, props)
        elif kind == "AWS::SQS::Queue":
            name = queue_name_from_url(local)
            redrive = props.get("RedrivePolicy")
            dlq_arn = max_receive = None
            if redrive:
                dlq_logical = redrive["deadLetterTargetArn"]["GetAtt"].split(".")[0]
                _, dlq_arn = create_queue(sqs, f"{name}-dlq", resources[dlq_logical].get("Properties", {}))
                max_receive = redrive["maxReceiveCount"]
            create_queue(sqs, name, props, dlq_arn, max_receive)
        elif kind == "AWS::S3::Bucket":
            try:
                s3.create_bucket(Bucket=local)
            except s3.exceptions.BucketAlreadyOwnedByYou:
                pass
            print(f"bucket  {local}")
        else:
            sys.exit(f"no local equivalent for {logical_id} ({kind})")

    # Events out: the bus the worker publishes on, and a tap queue with a rule copying every event of
    # the bundle to it (EVENT_BUS_NAME, EVENTS_TAP_QUEUE_URL in local.env).
    bus = os.environ.get("EVENT_BUS_NAME")
    if bus:
        events = session.client("events", endpoint_url=endpoint)
        try:
            events.create_event_bus(Name=bus)
        except events.exceptions.ResourceAlreadyExistsException:
            pass
        print(f"bus     {bus}")
        tap_url = os.environ.get("EVENTS_TAP_QUEUE_URL")
        if tap_url:
            _, tap_arn = create_queue(sqs, queue_name_from_url(tap_url), {})
            events.put_rule(
                Name=f"{bus}-tap",
                EventBusName=bus,
                EventPattern=json.dumps({"source": ["whatsapp-bridge"]}),
                State="ENABLED",
            )
            events.put_targets(Rule=f"{bus}-tap", EventBusName=bus, Targets=[{"Id": "tap", "Arn": tap_arn}])
            print(f"rule    {bus}-tap -> {queue_name_from_url(tap_url)}")

    # SES only sends from verified identities; verify the configured sender, as a user does once in AWS.
    sender = os.environ.get("VERIFICATION_EMAIL_FROM")
    if sender:
        sesv2 = session.client("sesv2", endpoint_url=endpoint)
        try:
            sesv2.create_email_identity(EmailIdentity=sender)
        except sesv2.exceptions.AlreadyExistsException:
            pass
        print(f"ses     {sender} (verified sender)")

    out = ROOT / ".local"
    out.mkdir(exist_ok=True)
    stack = {"routes": routes(template), "queue_event_sources": queue_event_sources(template, names)}
    (out / "stack.json").write_text(json.dumps(stack, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
