#!/usr/bin/env python3
"""moto server, with DynamoDB item writes made atomic as in real DynamoDB.

moto serves requests on several threads but its DynamoDB backend takes no lock, so two
concurrent conditional updates of one item can interleave and lose a write, which
DynamoDB never does (each write is atomic and serialized per item). The worker relies on
that guarantee for out-of-order status webhooks, so the emulator must honour it.
"""

import functools
import sys
import threading

from moto.dynamodb.models import DynamoDBBackend
from moto.server import main

_WRITE_LOCK = threading.RLock()


def _serialized(method):
    @functools.wraps(method)
    def wrapper(*args, **kwargs):
        with _WRITE_LOCK:
            return method(*args, **kwargs)

    return wrapper


for _name in ("put_item", "update_item", "delete_item", "get_item", "transact_write_items", "batch_write_item"):
    setattr(DynamoDBBackend, _name, _serialized(getattr(DynamoDBBackend, _name)))

if __name__ == "__main__":
    main(sys.argv[1:])
