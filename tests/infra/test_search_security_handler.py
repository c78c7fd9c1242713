"""The custom resource that applies the search domain's security roles (infra/search_security_handler).

No local server implements the OpenSearch security plugin's REST API (osmem-server has none), so
the requests are checked on a recording client; the SigV4 client itself is checked against a real
HTTP server on 127.0.0.1, signature included.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from infra import search_security
from infra.search_security_handler import index

READER_ARNS = ["arn:aws:iam::123456789012:role/SearchSuggest", "arn:aws:iam::123456789012:role/SearchSearch"]
WRITER_ARNS = ["arn:aws:iam::123456789012:role/SearchIndexer"]
ENDPOINT = "vpc-shop-abc123.us-east-1.es.amazonaws.com"


class RecordingClient:
    """Stands in for SigV4Client: records each request, answers from a script (default 200)."""

    def __init__(self, answers: dict[tuple[str, str], list[Any]] | None = None) -> None:
        self.requests: list[tuple[str, str, Any]] = []
        self.answers = answers or {}

    def request(self, method: str, path: str, body: Any = None) -> tuple[int, str]:
        self.requests.append((method, path, json.loads(json.dumps(body)) if body is not None else None))
        script = self.answers.get((method, path))
        answer = script.pop(0) if script else (200, '{"status":"OK"}')
        if isinstance(answer, BaseException):
            raise answer
        return answer


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def _retry(budget: float = 120.0) -> tuple[index.Retry, FakeClock]:
    clock = FakeClock()
    return index.Retry(deadline=budget, sleep=clock.sleep, clock=clock), clock


def _event(request_type: str, roles: dict | None = None, old_roles: dict | None = None) -> dict[str, Any]:
    event: dict[str, Any] = {
        "RequestType": request_type,
        "ResourceProperties": {
            "ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:framework",
            "Endpoint": ENDPOINT,
            "Roles": search_security.ROLES if roles is None else roles,
            "RoleMappings": {search_security.READER: READER_ARNS, search_security.WRITER: WRITER_ARNS},
        },
    }
    if old_roles is not None:
        event["OldResourceProperties"] = {**event["ResourceProperties"], "Roles": old_roles}
        event["PhysicalResourceId"] = f"opensearch-security:{ENDPOINT}"
    return event


class _Context:
    def get_remaining_time_in_millis(self) -> int:
        return 300_000


@pytest.fixture
def recorded(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """on_event's SigV4Client replaced by a RecordingClient; what it was built with is kept."""
    seen: dict[str, Any] = {"client": RecordingClient()}

    def build(base_url: str, region: str) -> RecordingClient:
        seen.update(base_url=base_url, region=region)
        return seen["client"]

    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    monkeypatch.setattr(index, "SigV4Client", build)
    return seen


# --- what it sends -----------------------------------------------------------------------------

def test_create_puts_every_role_then_its_mapping_to_the_domain_endpoint(recorded):
    # GIVEN a Create event with the project's roles and the function roles granted search access
    event = _event("Create")

    # WHEN the handler runs
    response = index.on_event(event, _Context())

    # THEN it talks to the domain endpoint over https, signing for the function's region
    assert recorded["base_url"] == f"https://{ENDPOINT}" and recorded["region"] == "eu-west-1"
    # AND for each role (in name order) it PUTs the role body exactly as defined, then its mapping
    expected = []
    for name in sorted(search_security.ROLES):
        expected.append(("PUT", f"/_plugins/_security/api/roles/{name}", search_security.ROLES[name]))
        arns = {search_security.READER: READER_ARNS, search_security.WRITER: WRITER_ARNS}.get(name, [])
        expected.append(("PUT", f"/_plugins/_security/api/rolesmapping/{name}", {"backend_roles": sorted(arns)}))
    assert recorded["client"].requests == expected
    # AND the operator role, granted to no one here, is mapped to no one (PUT replaces the mapping)
    assert ("PUT", f"/_plugins/_security/api/rolesmapping/{search_security.OPERATOR}", {"backend_roles": []}) in expected
    # AND the physical id is stable for the domain, so an Update never replaces the resource
    assert response == {"PhysicalResourceId": f"opensearch-security:{ENDPOINT}",
                        "Data": {"Roles": ",".join(sorted(search_security.ROLES))}}


def test_the_writer_can_bulk_and_create_the_aliased_index_and_the_reader_only_search():
    # GIVEN the role definitions the custom resource applies
    writer = search_security.ROLES[search_security.WRITER]
    reader = search_security.ROLES[search_security.READER]
    # THEN the stream writers' role has bulk and mget (read-merge-write) at cluster level and, on
    # products* only, write, get, create and aliases
    assert writer["cluster_permissions"] == ["indices:data/write/bulk", "indices:data/read/mget"]
    [writer_indices] = writer["index_permissions"]
    assert writer_indices["index_patterns"] == ["products*"]
    assert {"write", "get", "create_index", "manage_aliases", "indices:admin/get"} == set(writer_indices["allowed_actions"])
    # AND the search functions' role may only search products* (no cluster permission, no write)
    assert reader["cluster_permissions"] == []
    assert reader["index_permissions"] == [{"index_patterns": ["products*"], "allowed_actions": ["search"]}]
    # AND no role reaches another index or the security configuration
    for name, role in search_security.ROLES.items():
        assert all(perm["index_patterns"] == ["products*"] for perm in role["index_permissions"]), name
        actions = role["cluster_permissions"] + [a for p in role["index_permissions"] for a in p["allowed_actions"]]
        assert not [a for a in actions if "security" in a or a in ("*", "unlimited", "cluster_all")], name


def test_update_applies_the_new_roles_and_deletes_those_no_longer_defined(recorded):
    # GIVEN an Update whose previous properties defined a role this deploy dropped
    old_roles = {**search_security.ROLES, "products_legacy": {"cluster_permissions": [], "index_permissions": []}}
    recorded["client"].answers = {("DELETE", "/_plugins/_security/api/roles/products_legacy"): [(404, "{}")]}

    # WHEN the handler runs
    index.on_event(_event("Update", old_roles=old_roles), _Context())

    # THEN the current roles are PUT and the dropped one loses its mapping and then its definition
    requests = recorded["client"].requests
    assert [r[1] for r in requests if r[0] == "PUT"] == [
        f"/_plugins/_security/api/{kind}/{name}" for name in sorted(search_security.ROLES) for kind in ("roles", "rolesmapping")
    ]
    assert [r[:2] for r in requests if r[0] == "DELETE"] == [
        ("DELETE", "/_plugins/_security/api/rolesmapping/products_legacy"),
        ("DELETE", "/_plugins/_security/api/roles/products_legacy"),  # 404 (already gone) is fine
    ]


def test_delete_sends_nothing(monkeypatch):
    # GIVEN a Delete event, and no client may be built
    def no_client(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("Delete must not talk to the domain")

    monkeypatch.setattr(index, "SigV4Client", no_client)
    event = {**_event("Create"), "RequestType": "Delete", "PhysicalResourceId": "opensearch-security:old"}

    # WHEN the handler runs  THEN it returns the physical id it was given and does nothing else
    assert index.on_event(event, _Context()) == {"PhysicalResourceId": "opensearch-security:old"}


def test_a_mapping_for_an_undefined_role_is_refused_before_any_request():
    client = RecordingClient()
    with pytest.raises(ValueError, match="undefined roles: \\['ghost'\\]"):
        index.apply(client, search_security.ROLES, {"ghost": WRITER_ARNS})
    assert client.requests == []


# --- retries and failures ----------------------------------------------------------------------

def test_unavailable_domain_and_throttling_are_retried_until_they_succeed():
    # GIVEN a domain that first cannot be reached, then answers 503 and 429, then 200
    path = f"/_plugins/_security/api/roles/{search_security.READER}"
    client = RecordingClient({("PUT", path): [OSError("connection refused"), (503, "busy"), (429, "slow down"), (200, "{}")]})
    retry, _ = _retry()

    # WHEN the reader role is applied
    index.apply(client, {search_security.READER: search_security.ROLES[search_security.READER]}, {}, retry=retry)

    # THEN the role PUT was sent four times, with growing waits, and then its mapping once
    assert [r[1] for r in client.requests].count(path) == 4
    assert retry.delays == [2.0, 4.0, 8.0]
    assert client.requests[-1][1] == f"/_plugins/_security/api/rolesmapping/{search_security.READER}"


def test_a_refusal_fails_at_once_with_the_domains_answer():
    # GIVEN a domain that refuses the role (e.g. the master user is not who signs)
    path = f"/_plugins/_security/api/roles/{search_security.READER}"
    client = RecordingClient({("PUT", path): [(403, '{"error":"no permissions for [cluster:admin/opendistro_security]"}')]})
    retry, _ = _retry()

    # WHEN the role is applied  THEN it fails without retrying, naming the request and the answer
    with pytest.raises(index.SecurityApiError, match=r"PUT .*/roles/products_reader answered 403: .*no permissions"):
        index.apply(client, {search_security.READER: search_security.ROLES[search_security.READER]}, {}, retry=retry)
    assert len(client.requests) == 1 and retry.delays == []


def test_it_gives_up_at_the_deadline():
    # GIVEN a domain that stays unavailable, and 30 s of budget
    path = f"/_plugins/_security/api/roles/{search_security.READER}"
    client = RecordingClient({("PUT", path): [(503, "unavailable")] * 100})
    retry, clock = _retry(budget=30.0)

    # WHEN the role is applied  THEN it fails once the next wait would pass the deadline
    with pytest.raises(index.SecurityApiError, match="still failing at the deadline: 503 unavailable"):
        index.apply(client, {search_security.READER: search_security.ROLES[search_security.READER]}, {}, retry=retry)
    assert clock.now <= 30.0 and retry.delays == [2.0, 4.0, 8.0, 16.0]


# --- the SigV4 client, over real HTTP ----------------------------------------------------------

class _Recorder(BaseHTTPRequestHandler):
    received: list[dict[str, Any]] = []
    answer: tuple[int, bytes] = (200, b'{"status":"CREATED"}')

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        type(self).received.append({
            "method": self.command, "path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()},
            "body": self.rfile.read(length) if length else b"",
        })
        status, body = type(self).answer
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_PUT = do_DELETE = _handle

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def http_server() -> Iterator[str]:
    _Recorder.received = []
    _Recorder.answer = (200, b'{"status":"CREATED"}')
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


CREDENTIALS = Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "session-token")


def _signature_is_valid(request: dict[str, Any], base_url: str, region: str) -> bool:
    """Recompute the SigV4 signature from what the server received (the body through its signed hash)."""
    if request["headers"]["x-amz-content-sha256"] != hashlib.sha256(request["body"]).hexdigest():
        return False
    authorization = request["headers"]["authorization"]
    fields = dict(part.strip().split("=", 1) for part in authorization.removeprefix("AWS4-HMAC-SHA256 ").split(","))
    headers = {name: value for name, value in request["headers"].items() if name in fields["SignedHeaders"].split(";")}
    aws_request = AWSRequest(method=request["method"], url=base_url + request["path"], data=request["body"] or None, headers=headers)
    aws_request.context["timestamp"] = request["headers"]["x-amz-date"]
    signer = SigV4Auth(CREDENTIALS, "es", region)
    string_to_sign = signer.string_to_sign(aws_request, signer.canonical_request(aws_request))
    return signer.signature(string_to_sign, aws_request) == fields["Signature"]


def test_the_sigv4_client_sends_json_signed_for_the_es_service(http_server):
    # GIVEN the client the handler uses, with session credentials
    client = index.SigV4Client(http_server, region="us-east-1", credentials=CREDENTIALS)
    body = search_security.ROLES[search_security.READER]

    # WHEN it PUTs a role
    status, text = client.request("PUT", "/_plugins/_security/api/roles/products_reader", body)

    # THEN the server got the JSON body on that path, with the session token, signed for "es"
    assert (status, json.loads(text)) == (200, {"status": "CREATED"})
    [request] = _Recorder.received
    assert (request["method"], request["path"]) == ("PUT", "/_plugins/_security/api/roles/products_reader")
    assert json.loads(request["body"]) == body
    assert request["headers"]["content-type"] == "application/json"
    assert request["headers"]["x-amz-security-token"] == "session-token"
    authorization = request["headers"]["authorization"]
    assert authorization.startswith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/")
    assert "/us-east-1/es/aws4_request" in authorization
    # AND the signature covers the host, body hash, date and token, and is valid
    signed = authorization.split("SignedHeaders=")[1].split(",")[0].split(";")
    assert {"host", "x-amz-content-sha256", "x-amz-date", "x-amz-security-token", "content-type"} <= set(signed)
    assert _signature_is_valid(request, http_server, "us-east-1")


def test_the_sigv4_client_returns_error_answers_instead_of_raising(http_server):
    # GIVEN a server that answers 403
    _Recorder.answer = (403, b'{"error":"forbidden"}')
    client = index.SigV4Client(http_server, region="us-east-1", credentials=CREDENTIALS)

    # WHEN a DELETE (no body) is sent  THEN the status and body come back for the caller to judge
    assert client.request("DELETE", "/_plugins/_security/api/roles/x") == (403, '{"error":"forbidden"}')
    [request] = _Recorder.received
    assert request["body"] == b"" and "content-type" not in request["headers"]
    assert _signature_is_valid(request, http_server, "us-east-1")
