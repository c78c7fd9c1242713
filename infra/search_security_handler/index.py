"""Custom resource: the search domain's security-plugin roles and role mappings (FGAC).

Runs as the domain's master user (its execution role is the domain's master_user_arn), inside
the search VPC, behind a CDK `Provider` whose framework function answers CloudFormation, so this
one needs no way out of the VPC. Everything it applies comes from the resource's properties
(built by infra/search.py from infra/search_security.py):

  Endpoint       the domain endpoint (no scheme)
  Roles          {role name: security-plugin role body}
  RoleMappings   {role name: [IAM role ARN, ...]}  (backend roles)

Create / Update: PUT every role, then its mapping. Both PUTs replace what is there, so running
them again is harmless, and a function that lost its access loses its ARN. Update also deletes
the roles (and mappings) an earlier deploy defined and this one no longer does. Delete: nothing
(the domain goes with the stack, or keeps what it had).

Standard library + botocore only (both in the Lambda Python runtime): no layer, no packaging.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import quote

SECURITY_API = "/_plugins/_security/api"
RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504})
SAFETY_MARGIN_SECONDS = 20.0  # leave time to report the failure before Lambda's timeout

logger = logging.getLogger(__name__)
logger.setLevel(logging.INFO)


class SecurityApiError(RuntimeError):
    """The security API refused a request (or stayed unavailable until the deadline)."""


class Client(Protocol):
    def request(self, method: str, path: str, body: Mapping[str, Any] | None = None) -> tuple[int, str]:
        """Send one request; (HTTP status, response body). Connection trouble raises OSError."""
        ...


@dataclass
class Retry:
    """Retries connection errors, throttling and 5xx until `deadline` (time.monotonic()):
    a domain that has just been created may still be settling its endpoint."""

    deadline: float
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic
    delays: list[float] = field(default_factory=list)  # what it slept, for the log (and tests)

    def wait(self, attempt: int) -> bool:
        delay = min(30.0, 2.0 * 2**attempt)
        if self.clock() + delay > self.deadline:
            return False
        self.delays.append(delay)
        self.sleep(delay)
        return True


def on_event(event: Mapping[str, Any], context: Any) -> dict[str, Any]:
    request_type = event["RequestType"]
    props = event["ResourceProperties"]
    physical_id = f"opensearch-security:{props['Endpoint']}"
    if request_type == "Delete":
        return {"PhysicalResourceId": event.get("PhysicalResourceId") or physical_id}
    roles = props.get("Roles") or {}
    previous = (event.get("OldResourceProperties") or {}).get("Roles") or {} if request_type == "Update" else {}
    remaining = context.get_remaining_time_in_millis() / 1000 if context is not None else 300.0
    retry = Retry(deadline=time.monotonic() + max(0.0, remaining - SAFETY_MARGIN_SECONDS))
    client = SigV4Client(f"https://{props['Endpoint']}", region=os.environ["AWS_REGION"])
    apply(client, roles, props.get("RoleMappings") or {}, stale=sorted(set(previous) - set(roles)), retry=retry)
    return {"PhysicalResourceId": physical_id, "Data": {"Roles": ",".join(sorted(roles))}}


def apply(
    client: Client,
    roles: Mapping[str, Mapping[str, Any]],
    mappings: Mapping[str, Iterable[str]],
    *,
    stale: Iterable[str] = (),
    retry: Retry | None = None,
) -> None:
    """PUT each role and then its mapping (a role not in `mappings` is mapped to no one);
    DELETE the mapping and role of each `stale` name (already gone is fine)."""
    undefined = sorted(set(mappings) - set(roles))
    if undefined:
        raise ValueError(f"role mappings for undefined roles: {undefined}")
    retry = retry or Retry(deadline=time.monotonic() + 120)
    for name in sorted(roles):
        _send(client, "PUT", f"{SECURITY_API}/roles/{quote(name, safe='')}", dict(roles[name]), retry)
        backend_roles = sorted(set(mappings.get(name) or []))
        _send(client, "PUT", f"{SECURITY_API}/rolesmapping/{quote(name, safe='')}", {"backend_roles": backend_roles}, retry)
        logger.info("role %s mapped to %d backend roles", name, len(backend_roles))
    for name in stale:
        _send(client, "DELETE", f"{SECURITY_API}/rolesmapping/{quote(name, safe='')}", None, retry, missing_ok=True)
        _send(client, "DELETE", f"{SECURITY_API}/roles/{quote(name, safe='')}", None, retry, missing_ok=True)
        logger.info("role %s deleted (no longer defined)", name)


def _send(
    client: Client, method: str, path: str, body: Mapping[str, Any] | None, retry: Retry, *, missing_ok: bool = False
) -> None:
    attempt = 0
    while True:
        try:
            status, text = client.request(method, path, body)
        except OSError as exc:  # URLError, timeouts, DNS: the endpoint is not reachable (yet)
            status, text = None, f"{type(exc).__name__}: {exc}"
        if status is not None and (200 <= status < 300 or (missing_ok and status == 404)):
            return
        if status is not None and status not in RETRYABLE_STATUS:
            raise SecurityApiError(f"{method} {path} answered {status}: {text[:500]}")
        logger.warning("%s %s failed (%s), retrying", method, path, status or text)
        if not retry.wait(attempt):
            raise SecurityApiError(f"{method} {path} still failing at the deadline: {status or ''} {text[:500]}".strip())
        attempt += 1


class SigV4Client:
    """A minimal HTTPS client that signs every request with SigV4 for Amazon OpenSearch ("es")."""

    def __init__(self, base_url: str, region: str, credentials: Any = None, timeout: float = 30.0) -> None:
        if credentials is None:
            import botocore.session

            credentials = botocore.session.get_session().get_credentials()
            if credentials is None:
                raise SecurityApiError("no AWS credentials to sign with")
        self.base_url = base_url.rstrip("/")
        self.region = region
        self.credentials = credentials
        self.timeout = timeout

    def request(self, method: str, path: str, body: Mapping[str, Any] | None = None) -> tuple[int, str]:
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest

        url = self.base_url + path
        data = json.dumps(body).encode() if body is not None else None
        headers = {"X-Amz-Content-SHA256": hashlib.sha256(data or b"").hexdigest()}
        if data is not None:
            headers["Content-Type"] = "application/json"
        signed = AWSRequest(method=method, url=url, data=data, headers=headers)
        frozen = self.credentials.get_frozen_credentials() if hasattr(self.credentials, "get_frozen_credentials") else self.credentials
        SigV4Auth(frozen, "es", self.region).add_auth(signed)
        request = urllib.request.Request(url, data=data, method=method, headers=dict(signed.headers.items()))
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return response.status, response.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode("utf-8", "replace")
