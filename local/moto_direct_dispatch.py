"""DynamoDB requests handed straight to moto's DynamoHandler, past moto's generic stubber (ADR 0037).

botocore runs in full on every call: parameter validation, serialization, the retry loop and
response parsing are the code that runs on AWS, and stay (signing: below). What this replaces is
only what happens after botocore emits `before-send`: moto's `BotocoreStubber` turns the
prepared request into a werkzeug request (a WSGI environ), matches its URL against every
service's URL patterns, and runs the generic `setup_class`, which parses the JSON body as if it
were a form and a query string too. Measured for a GetItem: 1.87 ms of CPU in all, 0.69 ms of it
botocore's and 0.05 ms moto's DynamoDB work; the rest (~1.1 ms) is that stubber.

moto's stubber, the `before-send` handler on every client, hands DynamoDB's JSON requests to
the code below (every other request takes the stubber's own path). It sets up a `DynamoHandler` with what that class reads (the parsed parameters, the
headers, region, account) and calls its `call_action`, the same entry point the stubber ends
in, so moto's own patches here (the DynamoDB lock, capacity metering, transaction tokens, the
fast JSON results) all still apply. Every other request, and DynamoDB when moto's mock is off,
goes on to the stubber as before, and so does a client given an endpoint_url (the stack's moto
server: over HTTP). LOCAL_MOTO_DIRECT_DISPATCH=0 (or LOCAL_MOTO_FAST_PATHS=0)
turns it off; `tests/local/test_moto_direct_dispatch.py` runs each operation and error the
product meets both ways and compares what botocore returns or raises.
"""

from __future__ import annotations

import functools
import os
import threading
from typing import Any
from urllib.parse import urlparse

UNCHECKED_SIGNATURE = "0" * 64
_lock = threading.Lock()
_installed = False


def direct_dispatch_enabled() -> bool:
    return os.environ.get("LOCAL_MOTO_FAST_PATHS", "1") != "0" and os.environ.get("LOCAL_MOTO_DIRECT_DISPATCH", "1") != "0"


class _RequestView:
    """The few request attributes moto's parameter parser and region lookup read."""

    __slots__ = ("method", "headers", "data", "path", "values", "content_type")

    def __init__(self, method: str, headers: Any, data: bytes, path: str) -> None:
        self.method = method
        self.headers = headers
        self.data = data
        self.path = path
        self.values: dict[str, Any] = {}  # a JSON POST has no query string or form fields
        self.content_type = headers.get("Content-Type", "")


def _aws_dynamodb_url(url: str) -> bool:
    """DynamoDB's own endpoint, which moto's stubber answers. A client given an endpoint_url (the
    stack's moto server) keeps going over HTTP, signed as botocore signs."""
    host = urlparse(url).hostname or ""
    return host.startswith("dynamodb.") and (host.endswith(".amazonaws.com") or host.endswith(".amazonaws.com.cn"))


def _headers(prepared: Any, host: str) -> Any:
    """The request's headers as werkzeug's, with str values, as moto's own request view has them
    (botocore keeps some as bytes), and the Host that a WSGI environ carries."""
    from werkzeug.datastructures import Headers

    headers = Headers()
    for name, value in prepared.items():
        headers.add(name, value.decode("utf-8") if isinstance(value, bytes) else value)
    if "Host" not in headers:
        headers["Host"] = host
    return headers


def _set_up(handler: Any, request: Any) -> None:
    """What `BaseResponse.setup_class` sets for a JSON POST without a query string or form."""
    from moto.core.utils import utcnow
    from moto.iam.models import mark_account_as_visited
    from moto.utilities.utils import get_partition
    from werkzeug.http import http_date

    raw = request.body or b""
    if isinstance(raw, str):
        raw = raw.encode("utf-8")
    parsed = urlparse(request.url)
    headers = _headers(request.headers, parsed.netloc)
    view = _RequestView(request.method, headers, raw, parsed.path)
    handler.is_werkzeug_request = False
    handler.normalized_request = view
    handler.parsed_url = parsed
    handler.form_data = {}
    handler.raw_body = raw
    handler.body = raw.decode("utf-8")
    handler.uri = request.url
    handler.path = handler.raw_path = parsed.path
    handler.querystring = handler.data = {}
    handler.method = request.method
    handler.region = handler.get_region_from_url(view, request.url)
    handler.partition = get_partition(handler.region)
    handler.uri_match = {}
    handler.headers = headers
    handler.response_headers = {"server": "amazon.com", "date": http_date(utcnow())}
    if handler.automated_parameter_parsing and handler._get_action():
        handler.parse_parameters(view)
    handler.access_key = handler.get_access_key()
    handler.current_account = handler.get_current_account()
    mark_account_as_visited(account_id=handler.current_account, access_key=handler.access_key,
                            service=handler.service_name, region=handler.region)


def _dispatch_dynamodb(request: Any) -> Any:
    """A DynamoDB request answered by moto's DynamoHandler, as the stubber would answer it."""
    from botocore.awsrequest import AWSResponse
    from moto.core.botocore_stubber import MockRawResponse
    from moto.core.exceptions import HTTPException
    from moto.dynamodb.responses import DynamoHandler

    handler = DynamoHandler()
    try:
        _set_up(handler, request)
        status, headers, body = handler.call_action()
    except HTTPException as exc:  # as the stubber answers an error raised outside the action
        status, headers, body = exc.code, exc.get_headers(), exc.get_body()
    return AWSResponse(request.url, status, headers, MockRawResponse(body))


def install_direct_dispatch() -> None:
    """moto's stubber (its `before-send` handler on every client) sends DynamoDB's JSON requests
    here; everything else, and everything while this is off, takes its own path."""
    global _installed
    with _lock:
        if _installed:
            return
        from moto.core.botocore_stubber import BotocoreStubber

        original = BotocoreStubber.__call__

        @functools.wraps(original)
        def __call__(self: Any, event_name: str, request: Any, **kwargs: Any) -> Any:
            if (self.enabled and event_name.startswith("before-send.dynamodb.") and request.method == "POST"
                    and request.headers.get("X-Amz-Target") and _aws_dynamodb_url(request.url) and direct_dispatch_enabled()):
                return _dispatch_dynamodb(request)
            return original(self, event_name, request, **kwargs)

        BotocoreStubber.__call__ = __call__  # type: ignore[method-assign]
        _install_unchecked_signatures()
        _installed = True


def _install_unchecked_signatures() -> None:
    """DynamoDB requests that moto answers in this process carry a SigV4 Authorization header of
    the right form (credential scope: access key, date, region, service) with a zero signature:
    moto reads the access key and region from it and never checks the signature, and computing
    the canonical request and four HMACs was ~15% of a GetItem's CPU. Every other signer, and
    DynamoDB when moto's mock is off, signs as botocore does."""
    from botocore.auth import SIGV4_TIMESTAMP, SigV4Auth
    from botocore.exceptions import NoCredentialsError
    from botocore.utils import get_current_datetime
    from moto.core.models import botocore_stubber

    original = SigV4Auth.add_auth

    @functools.wraps(original)
    def add_auth(self: Any, request: Any) -> None:
        if type(self) is not SigV4Auth or self._service_name != "dynamodb" or not botocore_stubber.enabled \
                or not _aws_dynamodb_url(request.url) or not direct_dispatch_enabled():
            return original(self, request)
        if self.credentials is None:
            raise NoCredentialsError()
        request.context["timestamp"] = get_current_datetime().strftime(SIGV4_TIMESTAMP)
        self._modify_request_before_signing(request)  # the date and security-token headers
        request.headers["Authorization"] = (f"AWS4-HMAC-SHA256 Credential={self.scope(request)}, "
                                            f"SignedHeaders=host;x-amz-date, Signature={UNCHECKED_SIGNATURE}")

    SigV4Auth.add_auth = add_auth  # type: ignore[method-assign]
