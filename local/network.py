"""The VPC's routes, enforced in-process (ADR 0049): a function that the template puts in a VPC
reaches only what the VPC gives it a route to, as on AWS.

On AWS a function with a `VpcConfig` runs in the VPC's isolated subnets: it reaches an AWS API
only through a VPC endpoint for that service, the VPC's own resources (the cache, the search
domain) through their security groups, and nothing else unless there is a NAT gateway. Locally
everything talks to moto and the stand-in servers on 127.0.0.1, so addresses say nothing: while
such a function's handler runs (on its thread), each AWS call is checked by botocore's service
(its endpoint prefix, the name a VPC endpoint has: `com.amazonaws.<region>.<prefix>`) against
the template's endpoints, and every other connection by its address against the VPC's resources'
stand-ins. Anything else fails at once, the way it ends on AWS:

- an AWS call: `botocore.exceptions.ConnectTimeoutError` (what the SDK raises once its connect
  timeouts and retries are spent), when that comes before the function's own timeout;
- any other connection: `TimeoutError` when the socket's timeout comes first;
- otherwise the function times out: the runtime reports `Task timed out after N seconds`
  (local/lambda_runtime.py), as Lambda does.

Each message names the function, the service or address, and the rule. A NAT gateway in the
template lifts every restriction. Threads a handler starts itself are not followed.
"""

from __future__ import annotations

import logging
import re
import socket
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ConnectTimeoutError

log = logging.getLogger("local.network")

_ENDPOINT_NAME = re.compile(r"^com\.amazonaws\.[^.]+\.(.+)$")
_state = threading.local()
_installed = False
_install_lock = threading.Lock()


class FunctionTimedOut(BaseException):  # noqa: N818 - what Lambda says
    """The handler would still be waiting when Lambda stops it. A BaseException, so that no
    `except Exception` of the handler turns it into an answer; the runtime reports it."""


class VpcConnectTimeout(Exception):
    """Marker mixed into the errors raised for a refused AWS call or connection (tests look for it)."""


@dataclass(frozen=True)
class VpcRoutes:
    """What a function in the template's VPC may reach."""

    endpoints: frozenset[str]  # "dynamodb", "secretsmanager", ...: botocore endpoint prefixes
    nat: bool = False
    addresses: frozenset[tuple[str, int]] = field(default_factory=frozenset)  # the VPC resources' stand-ins
    # What a refused address stands for, for the message (moto's: AWS's public hosts, e.g. Cognito's JWKS).
    labels: tuple[tuple[tuple[str, int], str], ...] = ()

    @classmethod
    def from_template(cls, deployment: Any, addresses: Iterable[tuple[str, int]] = (),
                      labels: dict[tuple[str, int], str] | None = None) -> VpcRoutes:
        endpoints = set()
        for logical_id in deployment.resources_of_type("AWS::EC2::VPCEndpoint"):
            name = str(deployment.resolve(deployment.properties(logical_id).get("ServiceName", "")))
            match = _ENDPOINT_NAME.match(name)
            if match:
                endpoints.add(match.group(1))
        nat = bool(deployment.resources_of_type("AWS::EC2::NatGateway"))
        return cls(frozenset(endpoints), nat, frozenset(addresses), tuple((labels or {}).items()))

    def rule(self) -> str:
        return (f"a function in the VPC's isolated subnets reaches only its VPC endpoints "
                f"({', '.join(sorted(self.endpoints)) or 'none'}) and the VPC's resources: no NAT, no internet")


@dataclass
class _Invocation:
    function_name: str
    routes: VpcRoutes
    deadline: float  # time.monotonic() when Lambda would stop the function
    timeout_seconds: int
    aws_calls: int = 0  # > 0 while an allowed AWS call runs (its connections to moto are allowed)


def current() -> _Invocation | None:
    return getattr(_state, "invocation", None)


@contextmanager
def in_vpc(function_name: str, routes: VpcRoutes, timeout_seconds: int) -> Iterator[None]:
    """While the block runs on this thread, the function's connections follow `routes`."""
    install()
    previous = current()
    _state.invocation = _Invocation(function_name, routes, time.monotonic() + timeout_seconds, timeout_seconds)
    try:
        yield
    finally:
        _state.invocation = previous


@contextmanager
def outside_vpc() -> Iterator[None]:
    """A function without a VpcConfig invoked from a VPC function's thread: no restriction."""
    previous = current()
    _state.invocation = None
    try:
        yield
    finally:
        _state.invocation = previous


def _refuse(invocation: _Invocation, what: str, waits_seconds: float | None, client_error: BaseException) -> None:
    message = (f"{invocation.function_name} cannot reach {what}: {invocation.routes.rule()} "
               f"(ADR 0049; on AWS the connection would hang)")
    log.error(message)
    remaining = invocation.deadline - time.monotonic()
    if waits_seconds is not None and waits_seconds < remaining:
        raise client_error
    raise FunctionTimedOut(f"Task timed out after {invocation.timeout_seconds:.2f} seconds: {message}")


def _check_aws_call(operation_model: Any, request_dict: dict[str, Any]) -> None:
    invocation = current()
    if invocation is None or invocation.routes.nat:
        return
    service = operation_model.service_model.endpoint_prefix
    if service in invocation.routes.endpoints:
        return
    config = (request_dict.get("context") or {}).get("client_config")
    connect = getattr(config, "connect_timeout", None) or 60
    retries = getattr(config, "retries", None) or {}
    attempts = retries.get("total_max_attempts") or (retries.get("max_attempts", 2) + 1)
    url = request_dict.get("url") or service
    _refuse(invocation, f"the {service} API (no VPC endpoint for {service})", float(connect) * attempts,
            NoRouteConnectTimeout(endpoint_url=url, rule=invocation.routes.rule()))


class _NoRouteTimeout(TimeoutError, VpcConnectTimeout):
    pass


class NoRouteConnectTimeout(ConnectTimeoutError, VpcConnectTimeout):
    fmt = "Connect timeout on endpoint URL: \"{endpoint_url}\" (no route: {rule})"


def _loopback(host: str) -> str:
    return "127.0.0.1" if host in ("localhost", "127.0.0.1", "::1") else host


# The VPC's resources as the functions' environment names them now: a test may point the cache or
# the search domain at another stand-in (a proxy that drops the link, tests/faults), and the
# function in the VPC still reaches it, as it would reach the domain's or cache's new address.
RESOURCE_VARIABLES = ("SEARCH_URL", "CACHE_URL")


def _resource_addresses() -> list[tuple[str, int]]:
    import os
    from urllib.parse import urlsplit

    addresses = []
    for name in RESOURCE_VARIABLES:
        url = os.environ.get(name)
        if url:
            parts = urlsplit(url)
            if parts.hostname:
                addresses.append((parts.hostname, int(parts.port or (443 if parts.scheme in ("https", "rediss") else 80))))
    return addresses


def _check_connect(sock: socket.socket, address: Any) -> None:
    invocation = current()
    if invocation is None or invocation.routes.nat or invocation.aws_calls:
        return
    if not isinstance(address, tuple) or len(address) < 2:
        return  # a Unix socket: not a network connection
    host, port = str(address[0]), int(address[1])
    if (_loopback(host), port) in {(_loopback(h), p) for h, p in (*invocation.routes.addresses, *_resource_addresses())}:
        return
    timeout = sock.gettimeout()
    label = dict(invocation.routes.labels).get((_loopback(host), port), "outside the VPC")
    _refuse(invocation, f"{host}:{port} ({label})", timeout,
            _NoRouteTimeout(f"timed out connecting to {host}:{port} (no route: {invocation.routes.rule()})"))


def install() -> None:
    """Patch botocore's request entry point and socket connects, once per process. Without a VPC
    invocation on the thread both do exactly what they did."""
    global _installed
    with _install_lock:
        if _installed:
            return
        from botocore.endpoint import Endpoint

        make_request = Endpoint.make_request

        def checked_make_request(self: Any, operation_model: Any, request_dict: dict[str, Any]) -> Any:
            _check_aws_call(operation_model, request_dict)
            invocation = current()
            if invocation is None:
                return make_request(self, operation_model, request_dict)
            invocation.aws_calls += 1
            try:
                return make_request(self, operation_model, request_dict)
            finally:
                invocation.aws_calls -= 1

        Endpoint.make_request = checked_make_request  # type: ignore[method-assign]

        connect, connect_ex = socket.socket.connect, socket.socket.connect_ex

        def checked_connect(self: socket.socket, address: Any) -> None:
            _check_connect(self, address)
            return connect(self, address)

        def checked_connect_ex(self: socket.socket, address: Any) -> int:
            _check_connect(self, address)
            return connect_ex(self, address)

        socket.socket.connect = checked_connect  # type: ignore[method-assign]
        socket.socket.connect_ex = checked_connect_ex  # type: ignore[method-assign]
        _installed = True
