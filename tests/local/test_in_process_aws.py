"""The local stack's boto3 clients reach moto's backends in-process (ADR 0029): no socket, the
same data the moto server answers from."""

from __future__ import annotations

from typing import Any

import boto3


def test_a_client_without_an_endpoint_reads_the_same_tables_in_process_as_the_server(local_stack: Any) -> None:
    # GIVEN the session's stack, and a client like a handler's (no endpoint_url) and one that names the server
    in_process = boto3.client("dynamodb")
    over_http = boto3.client("dynamodb", endpoint_url=local_stack.moto.endpoint)
    sent_to: list[str] = []
    in_process.meta.events.register("before-send.dynamodb", lambda request, **_: sent_to.append(request.url))
    # WHEN both list the tables
    listed_in_process = in_process.list_tables()["TableNames"]
    listed_over_http = over_http.list_tables()["TableNames"]
    # THEN the handler's kind of client never addressed the server's socket, yet sees the same tables
    assert sent_to and not any("127.0.0.1" in url for url in sent_to), sent_to
    assert local_stack.physical_name("Inventory") in listed_in_process
    assert sorted(listed_in_process) == sorted(listed_over_http)
