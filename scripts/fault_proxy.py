#!/usr/bin/env python3
"""A fault-injecting HTTP/1.1 proxy in front of the AWS emulator, on loopback only (make soak).

    fault_proxy.py --listen PORT --upstream PORT --control PORT

Every request of every kept-alive connection meets the fault of the moment, set through the control
port (one line in, one line out: `mode <name>` → `ok`, `stats` → a JSON object). Modes:

- `none`       passes the request and its answer through, byte for byte (nothing is parsed into a
               new form: the head and body read are the bytes written).
- `latency`    as `none`, each request held back 0.2-1.5 s first.
- `500`        answers an internal error in the protocol's shape (DynamoDB, SQS and EventBridge:
               AWS JSON `__type`; S3: REST-XML `<Error><Code>InternalError`).
- `throttle`   answers the throttling error the SDK retries as throttling: HTTP 400
               `ThrottlingException` for the JSON protocols (SQS with its `x-amzn-query-error`
               header), HTTP 503 `SlowDown` for S3.
- `drop`       closes the connection without an answer: every other request first reaches the
               emulator (its effect happened, its caller never hears of it), the others never do.
- `blackhole`  accepts the request and never answers, until the mode changes; then the connection
               is closed.

Only 127.0.0.1: the proxy binds there and connects only to 127.0.0.1:<upstream>.
"""

import argparse
import asyncio
import json
import random
import sys
import time

HOST = "127.0.0.1"
MODES = ("none", "latency", "500", "throttle", "drop", "blackhole")
# Any message head larger than this is not an AWS SDK request.
HEAD_LIMIT = 1 << 20


class Closed(Exception):
    """The peer closed the connection (or sent something that is not HTTP/1.1)."""


async def read_head(reader):
    try:
        return await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError) as error:
        raise Closed() from error


def header_map(head):
    headers = {}
    for line in head.split(b"\r\n")[1:]:
        if b":" in line:
            name, value = line.split(b":", 1)
            headers[name.strip().lower()] = value.strip()
    return headers


async def read_body(reader, headers, to_eof):
    """The body bytes exactly as they came (chunk framing and trailers included)."""
    try:
        if b"chunked" in headers.get(b"transfer-encoding", b"").lower():
            parts = []
            while True:
                size_line = await reader.readuntil(b"\r\n")
                parts.append(size_line)
                size = int(size_line.split(b";")[0].strip(), 16)
                if size == 0:
                    # Trailers, then the empty line.
                    while True:
                        line = await reader.readuntil(b"\r\n")
                        parts.append(line)
                        if line == b"\r\n":
                            return b"".join(parts)
                parts.append(await reader.readexactly(size + 2))
        if b"content-length" in headers:
            return await reader.readexactly(int(headers[b"content-length"]))
        if to_eof:
            return await reader.read()
        return b""
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError, ValueError) as error:
        raise Closed() from error


def fault_response(head, headers, mode):
    """An internal error or a throttling answer in the shape the request's AWS protocol expects."""
    target = headers.get(b"x-amz-target", b"").decode("latin-1")
    if target:
        service = target.split(".", 1)[0]
        if service.startswith("DynamoDB"):
            namespace, internal = "com.amazonaws.dynamodb.v20120810", "InternalServerError"
        elif service == "AmazonSQS":
            namespace, internal = "com.amazonaws.sqs", "InternalError"
        else:  # AWSEvents (EventBridge) and anything else on AWS JSON
            namespace, internal = "com.amazonaws.events", "InternalException"
        if mode == "500":
            status, code = "500 Internal Server Error", internal
        else:
            status, code = "400 Bad Request", "ThrottlingException"
        body = json.dumps({"__type": f"{namespace}#{code}", "message": "injected by the soak's fault proxy"}).encode()
        extra = f"Content-Type: application/x-amz-json-1.0\r\nx-amzn-ErrorType: {code}\r\n"
        if service == "AmazonSQS":
            # SQS is query-compatible: the SDK takes the code from this header when present.
            extra += f"x-amzn-query-error: {code};{'Receiver' if mode == '500' else 'Sender'}\r\n"
    else:
        if mode == "500":
            status, code = "500 Internal Server Error", "InternalError"
        else:
            status, code = "503 Slow Down", "SlowDown"
        body = (
            '<?xml version="1.0" encoding="UTF-8"?>'
            f"<Error><Code>{code}</Code><Message>injected by the soak's fault proxy</Message>"
            "<RequestId>soakfaultproxy</RequestId></Error>"
        ).encode()
        extra = "Content-Type: application/xml\r\n"
    return (
        f"HTTP/1.1 {status}\r\n{extra}x-amzn-RequestId: soakfaultproxy\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body


async def relay_continue(reader, writer, upstream, headers):
    """`Expect: 100-continue`: the emulator's 100 passed on, then the client's body. True when the emulator
    gave its final answer instead (passed on; the connection then ends)."""
    try:
        interim = await asyncio.wait_for(read_head(upstream[0]), 1.0)
    except asyncio.TimeoutError:
        interim = None  # no 100: the client sends its body after a second anyway
    if interim is not None:
        if interim.split(b" ", 2)[1] != b"100":
            writer.write(interim + await read_body(upstream[0], header_map(interim), to_eof=True))
            await writer.drain()
            return True
        writer.write(interim)
        await writer.drain()
    upstream[1].write(await read_body(reader, headers, to_eof=False))
    await upstream[1].drain()
    return False


class Proxy:
    def __init__(self, upstream_port, seed):
        self.upstream_port = upstream_port
        self.mode = "none"
        self.changed = asyncio.Event()
        self.rng = random.Random(seed)
        self.drops = 0
        # Per mode: requests that met it; plus requests passed through in all.
        self.injected = {mode: 0 for mode in MODES if mode != "none"}
        self.passed = 0
        self.history = []  # (wall time, mode) of every change

    def set_mode(self, mode):
        self.mode = mode
        self.history.append((time.time(), mode))
        self.changed.set()
        self.changed = asyncio.Event()

    async def client(self, reader, writer):
        upstream = None
        try:
            while True:
                head = await read_head(reader)
                headers = header_map(head)
                # `Expect: 100-continue` (boto3's S3 puts): the body comes only after the emulator's 100.
                expect = b"100-continue" in headers.get(b"expect", b"").lower()
                body = b"" if expect else await read_body(reader, headers, to_eof=False)
                mode = self.mode
                if mode == "blackhole":
                    self.injected["blackhole"] += 1
                    while self.mode == "blackhole":
                        await self.changed.wait()
                    return
                if mode in ("500", "throttle"):
                    self.injected[mode] += 1
                    writer.write(fault_response(head, headers, mode))
                    await writer.drain()
                    if expect:
                        # A final answer instead of the 100: the body is never sent, the connection ends.
                        return
                    continue
                if mode == "drop":
                    self.injected["drop"] += 1
                    self.drops += 1
                    if self.drops % 2 == 0:
                        return
                if mode == "latency":
                    self.injected["latency"] += 1
                    await asyncio.sleep(self.rng.uniform(0.2, 1.5))
                if upstream is None:
                    upstream = await asyncio.open_connection(HOST, self.upstream_port, limit=HEAD_LIMIT)
                upstream[1].write(head + body)
                await upstream[1].drain()
                if expect and await relay_continue(reader, writer, upstream, headers):
                    return
                response_head = await read_head(upstream[0])
                # Interim answers (a 100 Continue; werkzeug sends two) pass through before the final one.
                while response_head.split(b" ", 2)[1].startswith(b"1"):
                    if mode != "drop":
                        writer.write(response_head)
                        await writer.drain()
                    response_head = await read_head(upstream[0])
                response_headers = header_map(response_head)
                status = response_head.split(b" ", 2)[1]
                bodiless = head.startswith(b"HEAD ") or status in (b"204", b"304")
                response_body = b"" if bodiless else await read_body(upstream[0], response_headers, to_eof=True)
                if mode == "drop":
                    # It reached the emulator; its caller never hears back.
                    return
                self.passed += 1
                writer.write(response_head + response_body)
                await writer.drain()
                closing = b"close" in response_headers.get(b"connection", b"").lower()
                if closing or (not bodiless and b"content-length" not in response_headers
                               and b"chunked" not in response_headers.get(b"transfer-encoding", b"").lower()):
                    return
        except (Closed, ConnectionError, OSError):
            return
        finally:
            writer.close()
            if upstream is not None:
                upstream[1].close()

    async def control(self, reader, writer):
        try:
            while True:
                line = (await reader.readline()).decode().strip()
                if not line:
                    return
                command, _, argument = line.partition(" ")
                if command == "mode" and argument in MODES:
                    self.set_mode(argument)
                    answer = "ok"
                elif command == "stats":
                    answer = json.dumps({"mode": self.mode, "injected": self.injected, "passed": self.passed,
                                         "history": self.history})
                else:
                    answer = f"error: unknown command {line!r} (mode {'|'.join(MODES)}, stats)"
                writer.write(answer.encode() + b"\n")
                await writer.drain()
        except ConnectionError:
            return
        finally:
            writer.close()


async def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--listen", type=int, required=True)
    parser.add_argument("--upstream", type=int, required=True)
    parser.add_argument("--control", type=int, required=True)
    parser.add_argument("--seed", type=int, default=16)
    args = parser.parse_args()
    proxy = Proxy(args.upstream, args.seed)
    server = await asyncio.start_server(proxy.client, HOST, args.listen, limit=HEAD_LIMIT, backlog=512)
    control = await asyncio.start_server(proxy.control, HOST, args.control)
    print(f"fault proxy on {HOST}:{args.listen} -> {HOST}:{args.upstream}, control {HOST}:{args.control}",
          flush=True)
    async with server, control:
        await asyncio.gather(server.serve_forever(), control.serve_forever())


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(0)
