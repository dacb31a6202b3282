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

import functools
import logging
import sys
import threading

from moto.dynamodb.models import DynamoDBBackend
from moto.moto_server.werkzeug_app import DomainDispatcherApplication
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
