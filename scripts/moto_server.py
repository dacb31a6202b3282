#!/usr/bin/env python3
"""moto server, with DynamoDB item writes made atomic as in real DynamoDB, and two costs of
every request taken out.

moto serves requests on several threads but its DynamoDB backend takes no lock, so two
concurrent conditional updates of one item can interleave and lose a write, which
DynamoDB never does (each write is atomic and serialized per item). The worker relies on
that guarantee for out-of-order status webhooks, so the emulator must honour it.

The emulator's Python does every request of every test and benchmark one at a time (the GIL
and the write lock), so its per-request overhead bounds them. Profiled under `make bench-send`
(py-spy, moto 5.2), a third of it was not AWS's work: a request-log line per request
(werkzeug's `INFO` access log, 16 %) and the dispatcher finding the service again from the
signature (`get_application`, 20 %). The log keeps warnings and errors; the dispatcher's answer
is remembered per (signing service, region) for the requests whose path is `/` (the JSON and
query protocols: DynamoDB, SQS, EventBridge, SSM, STS...), whose service the signature names.
"""

import copy
import functools
import logging
import sys
import threading

from moto.dynamodb import models as dynamodb_models
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.table import Table
from moto.moto_server.werkzeug_app import DomainDispatcherApplication
from moto.server import main

_WRITE_LOCK = threading.RLock()


def _serialized(method):
    @functools.wraps(method)
    def wrapper(*args, **kwargs):
        with _WRITE_LOCK:
            return method(*args, **kwargs)

    return wrapper



# moto makes a transaction atomic by deep-copying every table it names, once per item, before it
# starts (to put them back if one item fails): with a few thousand items a transaction took seconds
# and the emulator gigabytes (`make cost`'s workload: the worker's usage counts are transactions).
# The tables' copies are made the tables themselves here, and a failed transaction puts back only
# the items it named, as they were before it.
class _TablesKept:
    """moto's `copy` module, whose deepcopy of a whole table is the table itself."""

    def __getattr__(self, name):
        return getattr(copy, name)

    @staticmethod
    def deepcopy(value, memo=None):
        if isinstance(value, Table):
            return value
        return copy.deepcopy(value, memo)


dynamodb_models.copy = _TablesKept()
_transact_write_items = DynamoDBBackend.transact_write_items


def _transact_write_items_restoring_its_items(self, transact_items):
    before = []
    for entry in transact_items:
        _, op = next(iter(entry.items()))
        table = self.tables.get(op.get("TableName"))
        if table is None:
            continue
        key = op.get("Key")
        if key is None and "Item" in op:
            names = [table.hash_key_attr] + ([table.range_key_attr] if table.range_key_attr else [])
            key = {name: op["Item"][name] for name in names if name in op["Item"]}
        if key is None:
            continue
        held = self.get_item(table.name, key)
        before.append((table.name, key, None if held is None else copy.deepcopy(held.to_json()["Attributes"])))
    try:
        return _transact_write_items(self, transact_items)
    except Exception:
        for table_name, key, attributes in reversed(before):
            if attributes is None:
                self.delete_item(table_name, key)
            else:
                self.put_item(table_name, attributes)
        raise


DynamoDBBackend.transact_write_items = _transact_write_items_restoring_its_items

for _name in ("put_item", "update_item", "delete_item", "get_item", "transact_write_items", "batch_write_item"):
    setattr(DynamoDBBackend, _name, _serialized(getattr(DynamoDBBackend, _name)))


def _signing_scope(environ):
    """(service, region) of a SigV4 `Authorization` header, or None."""
    try:
        _, _, region, service, _ = environ["HTTP_AUTHORIZATION"].split(",")[0].split()[1].split("/")
    except (KeyError, IndexError, ValueError):
        return None
    return service, region


_uncached_get_application = DomainDispatcherApplication.get_application
_APPS = {}


def _get_application(self, environ):
    scope = _signing_scope(environ) if environ.get("PATH_INFO") == "/" else None
    if scope is None:
        return _uncached_get_application(self, environ)
    app = _APPS.get(scope)
    if app is None:
        app = _APPS.setdefault(scope, _uncached_get_application(self, environ))
    return app


DomainDispatcherApplication.get_application = _get_application
logging.getLogger("werkzeug").setLevel(logging.WARNING)

if __name__ == "__main__":
    main(sys.argv[1:])
