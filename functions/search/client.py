"""The OpenSearch client: one per execution environment, built from the environment.

  SEARCH_URL        the endpoint, e.g. https://search-shop-xyz.us-east-1.es.amazonaws.com
                    (locally http://127.0.0.1:<port>, osmem-server)
  SEARCH_AUTH       "sigv4" to sign requests with the function's IAM role (Amazon OpenSearch
                    Service, service name "es"); anything else: no auth. Signing needs https.
  SEARCH_TIMEOUT_SECONDS   per-request timeout (default 5): an API answer must not hang on a
                    slow cluster; the indexer's bulk requests get a longer one explicitly.

opensearch-py is imported on first use: importing it costs ~130 ms, which handlers pay only
when they really talk to the cluster.
"""

from __future__ import annotations

import os
import threading
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

if TYPE_CHECKING:
    from opensearchpy import OpenSearch

_clients: dict[tuple[str, str], OpenSearch] = {}
_lock = threading.Lock()


class SearchNotConfigured(RuntimeError):
    """SEARCH_URL is missing or unusable: a deployment error, not a client's."""


def get_client() -> OpenSearch:
    """The cached client for the current SEARCH_URL / SEARCH_AUTH (thread-safe).

    Keyed by the settings rather than a single global so a changed environment (tests, the
    local stack restarting osmem) gets a fresh client instead of a stale connection pool.
    """
    url = os.environ.get("SEARCH_URL", "").strip()
    auth = os.environ.get("SEARCH_AUTH", "").strip().lower()
    key = (url, auth)
    client = _clients.get(key)
    if client is None:
        with _lock:
            client = _clients.get(key)
            if client is None:
                client = _clients[key] = _build(url, auth)
    return client


def reset_clients() -> None:
    """Forget cached clients (tests; never needed in Lambda)."""
    with _lock:
        for client in _clients.values():
            try:
                client.close()
            except Exception:  # closing a pool is best effort
                pass
        _clients.clear()


def is_unavailable(exc: BaseException) -> bool:
    """Connection trouble, timeouts, throttling and 5xx: the cluster's state, not a bug (-> 503)."""
    from opensearchpy.exceptions import ConnectionError as OpenSearchConnectionError
    from opensearchpy.exceptions import TransportError

    if isinstance(exc, OpenSearchConnectionError):  # includes timeouts
        return True
    if isinstance(exc, TransportError):
        status = exc.status_code
        return status == 429 or (isinstance(status, int) and status >= 500)
    return False


def _build(url: str, auth: str) -> OpenSearch:
    from opensearchpy import OpenSearch, RequestsHttpConnection

    if not url:
        raise SearchNotConfigured("SEARCH_URL is not set")
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise SearchNotConfigured(f"SEARCH_URL {url!r} is not an http(s) URL")
    options: dict[str, Any] = {
        "hosts": [url],
        "timeout": float(os.environ.get("SEARCH_TIMEOUT_SECONDS", "5")),
        # One node behind one endpoint: retrying elsewhere is pointless, and a fast failure
        # lets the API answer 503 and the stream retry the batch.
        "max_retries": 1,
        "retry_on_timeout": False,
    }
    if auth == "sigv4":
        if parsed.scheme != "https":
            raise SearchNotConfigured("SEARCH_AUTH=sigv4 needs an https SEARCH_URL")
        import boto3
        from opensearchpy import AWSV4SignerAuth

        session = boto3.Session()
        credentials = session.get_credentials()  # refreshable: the signer re-reads them per request
        if credentials is None:
            raise SearchNotConfigured("SEARCH_AUTH=sigv4 but no AWS credentials are available")
        region = os.environ.get("AWS_REGION") or session.region_name or "us-east-1"
        options.update(
            http_auth=AWSV4SignerAuth(credentials, region, "es"),
            use_ssl=True,
            verify_certs=True,
            connection_class=RequestsHttpConnection,  # the signer is a requests auth hook
            pool_maxsize=10,
        )
    return OpenSearch(**options)
