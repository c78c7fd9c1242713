"""The OpenSearch client factory: one cached client per setting, SigV4 signing for AWS."""

from __future__ import annotations

from typing import Any

import pytest

from functions.search.client import SearchNotConfigured, get_client, reset_clients


@pytest.fixture(autouse=True)
def fresh_clients(monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.delenv("SEARCH_AUTH", raising=False)
    reset_clients()
    yield
    reset_clients()


def test_one_client_per_execution_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SEARCH_URL", "http://127.0.0.1:9")
    assert get_client() is get_client()
    monkeypatch.setenv("SEARCH_URL", "http://127.0.0.1:10")  # a changed setting is a new client
    assert get_client().transport.hosts[0]["port"] == 10


def test_sigv4_signs_requests_for_the_es_service(monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN an Amazon OpenSearch Service endpoint and the function's (here: fake) credentials
    import requests
    from opensearchpy import AWSV4SignerAuth, RequestsHttpConnection

    monkeypatch.setenv("SEARCH_URL", "https://search-shop-abc.us-east-1.es.amazonaws.com")
    monkeypatch.setenv("SEARCH_AUTH", "sigv4")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    # WHEN the client is built
    connection = get_client().transport.connection_pool.connections[0]
    # THEN it signs every request with SigV4 for service "es" in the function's region
    assert isinstance(connection, RequestsHttpConnection)
    auth = connection.session.auth
    assert isinstance(auth, AWSV4SignerAuth)
    signed = auth(requests.Request("GET", "https://search-shop-abc.us-east-1.es.amazonaws.com/products/_search").prepare())
    assert signed.headers["Authorization"].startswith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/")
    assert "/eu-west-1/es/aws4_request" in signed.headers["Authorization"]


@pytest.mark.parametrize(
    ("url", "auth"),
    [("", ""), ("not a url", ""), ("http://plain.example.com", "sigv4")],
)
def test_a_misconfiguration_fails_loudly(monkeypatch: pytest.MonkeyPatch, url: str, auth: str) -> None:
    monkeypatch.setenv("SEARCH_URL", url)
    monkeypatch.setenv("SEARCH_AUTH", auth)
    with pytest.raises(SearchNotConfigured):
        get_client()
