"""local/network.py: while a VPC function's handler runs, its thread reaches only the template's
VPC endpoints (by botocore service) and the VPC resources' stand-ins, failing as AWS would (ADR 0049)."""

from __future__ import annotations

import socket
import urllib.error
import urllib.request
from collections.abc import Iterator

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ConnectTimeoutError

from local.network import FunctionTimedOut, VpcConnectTimeout, VpcRoutes, in_vpc

QUICK = Config(connect_timeout=1, retries={"total_max_attempts": 2, "mode": "standard"})


@pytest.fixture
def listener() -> Iterator[tuple[str, int]]:
    """A stand-in for a VPC resource (the cache): a socket listening on 127.0.0.1."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    yield server.getsockname()
    server.close()


def _routes(listener: tuple[str, int]) -> VpcRoutes:
    return VpcRoutes(endpoints=frozenset({"dynamodb", "secretsmanager"}), addresses=frozenset({listener}))


def test_aws_calls_with_an_endpoint_pass_and_others_time_out(in_process_moto: None, listener: tuple[str, int]) -> None:
    with in_vpc("Fn", _routes(listener), timeout_seconds=10):
        # an endpoint: DynamoDB answers
        assert "TableNames" in boto3.client("dynamodb", config=QUICK).list_tables()
        # none for Step Functions: the SDK's connect timeout, naming the rule, at once
        with pytest.raises(ConnectTimeoutError, match="no route: a function in the VPC's isolated subnets") as raised:
            boto3.client("stepfunctions", config=QUICK).list_state_machines()
        assert isinstance(raised.value, VpcConnectTimeout)
    # AND outside the block nothing is restricted
    assert "stateMachines" in boto3.client("stepfunctions", config=QUICK).list_state_machines()


def test_an_aws_call_that_would_outlast_the_function_times_the_function_out(in_process_moto: None, listener) -> None:
    # GIVEN an SDK that would wait 60 s x 3 attempts, in a function with a 10 s timeout
    patient = Config(connect_timeout=60, retries={"total_max_attempts": 3, "mode": "standard"})
    with in_vpc("Fn", _routes(listener), timeout_seconds=10), pytest.raises(FunctionTimedOut, match="Task timed out after 10.00 seconds"):
        boto3.client("events", config=patient).list_event_buses()


def test_other_hosts_are_unreachable_and_the_vpc_resources_reachable(listener: tuple[str, int]) -> None:
    with in_vpc("Fn", _routes(listener), timeout_seconds=10):
        # the cache's stand-in: connects
        with socket.create_connection(listener, timeout=1):
            pass
        # anything else (here a JWKS URL): the client's own timeout, when it comes first...
        with pytest.raises(urllib.error.URLError, match="timed out connecting to 127.0.0.1:9"):
            urllib.request.urlopen("http://127.0.0.1:9/pool/.well-known/jwks.json", timeout=1)
        # ... else the function's
        with pytest.raises(FunctionTimedOut, match="cannot reach 127.0.0.1:9 .outside the VPC."):
            urllib.request.urlopen("http://127.0.0.1:9/pool/.well-known/jwks.json", timeout=30)


def test_a_nat_lifts_the_restrictions(in_process_moto: None) -> None:
    with in_vpc("Fn", VpcRoutes(endpoints=frozenset(), nat=True), timeout_seconds=10):
        assert "stateMachines" in boto3.client("stepfunctions", config=QUICK).list_state_machines()
