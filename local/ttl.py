"""DynamoDB Time to Live for the local stack: moto stores the TTL setting but never deletes.

`TtlSweeper` deletes the items of every table whose template enables `TimeToLiveSpecification`
whose TTL attribute (a Number, epoch seconds) is due, as DynamoDB's TTL process does. It finds
them in the index of expiry times that `local.moto_hooks` keeps as moto stores items (seeded by
one Scan per table when the sweeper is created), so an idle sweep makes no AWS call at all;
without the hooks (moto in another process) it Scans each table for due items every pass.

- an item is due when `now - 5 years <= ttl <= now`. DynamoDB ignores TTL values more than five
  years in the past (usually milliseconds mistaken for seconds, or garbage) and any TTL that is
  not a Number; a comparison with a Number value is false for other types, so those stay too.
- each delete is a `DeleteItem` conditional on the TTL attribute still being due, so an item
  renewed (or deleted and re-created) between the scan and the delete is left alone.

How the REMOVE stream records get marked as TTL deletions
---------------------------------------------------------
In AWS a TTL deletion's stream record carries
`userIdentity = {"type": "Service", "principalId": "dynamodb.amazonaws.com"}`; user deletes
carry none. The mark must sit on exactly the record that the sweeper's delete produced, so it
is made at the source, inside moto, rather than by matching keys afterwards (which races with a
user re-creating and deleting the same key):

1. the sweeper's own boto3 client adds the header `x-local-ttl-deletion: true` to its
   DeleteItem requests (other clients never send it);
2. `install_ttl_stream_marking()` wraps moto's `DynamoHandler.delete_item` so that, for a
   request with that header, a thread-local flag is set while moto executes the delete (moto
   runs the whole request, stream write included, on the server thread handling it);
3. it also wraps moto's `StreamRecord.__init__`: a REMOVE record built while the flag is set
   gets `userIdentity` in the DynamoDB Streams API shape (`{"PrincipalId", "Type"}`).

So `GetRecords` itself returns the identity, as the real Streams API does, and
`local.streams.StreamPoller` turns it into Lambda's event shape (`{"type", "principalId"}`).
This needs moto running in this process (`local.moto_server.start_moto_server`); against an
out-of-process moto the deletes still happen, unmarked.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from local import moto_hooks
from local.background import BackgroundLoop
from local.cfn import Deployment

logger = logging.getLogger(__name__)

TTL_DELETION_HEADER = "x-local-ttl-deletion"
# Lambda event shape of a TTL deletion's identity (what consumers check).
TTL_USER_IDENTITY = {"type": "Service", "principalId": "dynamodb.amazonaws.com"}
# The same identity in the DynamoDB Streams API shape (what GetRecords returns).
STREAMS_API_TTL_IDENTITY = {"PrincipalId": "dynamodb.amazonaws.com", "Type": "Service"}

FIVE_YEARS_SECONDS = 5 * 365 * 24 * 3600

_marking = threading.local()
_install_lock = threading.Lock()


def install_ttl_stream_marking() -> None:
    """Patch moto (in this process) so REMOVE records of the sweeper's deletes carry userIdentity."""
    from moto.dynamodb.models.table import StreamRecord
    from moto.dynamodb.responses import DynamoHandler

    with _install_lock:
        if getattr(DynamoHandler.delete_item, "_local_ttl_marking", False):
            return  # already installed (idempotent: several sweepers, several test modules)

        original_delete_item = DynamoHandler.delete_item
        original_record_init = StreamRecord.__init__

        @functools.wraps(original_delete_item)
        def delete_item(self: Any) -> Any:
            if not _is_ttl_request(getattr(self, "headers", None)):
                return original_delete_item(self)
            _marking.active = True
            try:
                return original_delete_item(self)
            finally:
                _marking.active = False

        @functools.wraps(original_record_init)
        def record_init(self: Any, table: Any, stream_type: str, event_name: str, *args: Any, **kwargs: Any) -> None:
            original_record_init(self, table, stream_type, event_name, *args, **kwargs)
            if event_name == "REMOVE" and getattr(_marking, "active", False):
                self.record["userIdentity"] = dict(STREAMS_API_TTL_IDENTITY)

        delete_item._local_ttl_marking = True  # type: ignore[attr-defined]
        DynamoHandler.delete_item = delete_item  # type: ignore[method-assign]
        StreamRecord.__init__ = record_init  # type: ignore[method-assign]


def _is_ttl_request(headers: Any) -> bool:
    if headers is None:
        return False
    value = headers.get(TTL_DELETION_HEADER) or headers.get(TTL_DELETION_HEADER.title())
    return str(value).lower() == "true"


def _add_ttl_header(request: Any, **_: Any) -> None:
    request.headers[TTL_DELETION_HEADER] = "true"


@dataclass(frozen=True)
class TtlTable:
    logical_id: str
    table_name: str
    ttl_attribute: str
    key_attributes: tuple[str, ...]


def ttl_tables(deployment: Deployment) -> list[TtlTable]:
    """Tables of the template with TimeToLiveSpecification enabled."""
    tables = []
    for logical_id in deployment.resources_of_type("AWS::DynamoDB::Table"):
        props = deployment.properties(logical_id)
        spec = props.get("TimeToLiveSpecification") or {}
        if not spec.get("Enabled") or not spec.get("AttributeName"):
            continue
        tables.append(
            TtlTable(
                logical_id=logical_id,
                table_name=deployment.physical_id(logical_id),
                ttl_attribute=spec["AttributeName"],
                key_attributes=tuple(k["AttributeName"] for k in props["KeySchema"]),
            )
        )
    return tables


class TtlSweeper(BackgroundLoop):
    """Deletes expired items of the template's TTL tables, as DynamoDB's TTL process would."""

    thread_name = "ttl-sweeper"

    def __init__(
        self,
        deployment: Deployment,
        interval: float = 1.0,
        *,
        clock: Callable[[], float] = time.time,
        endpoint_url: str | None = None,
    ) -> None:
        import boto3

        install_ttl_stream_marking()
        self.interval = interval
        self.tables = ttl_tables(deployment)
        self._clock = clock
        # A client of our own: the TTL header must never leak onto anybody else's deletes.
        self._client = boto3.client("dynamodb", endpoint_url=endpoint_url)
        self._client.meta.events.register("before-sign.dynamodb.DeleteItem", _add_ttl_header)
        self._lock = threading.Lock()
        self.indexed = moto_hooks.hooks_installed()
        if self.indexed:
            self._seed_index()
        super().__init__()

    def _seed_index(self) -> None:
        """Watch the TTL tables from now on, then index what they already hold (one Scan each)."""
        for table in self.tables:
            moto_hooks.watch_expiry(table.table_name, table.ttl_attribute, table.key_attributes)
            try:
                for ttl, key in self._scan(table, filter_due_at=None):
                    moto_hooks.note_expiry(table.table_name, ttl, key)
            except Exception:  # a table not deployed yet: its items are indexed as they are written
                logger.exception("TTL: could not index table %s", table.table_name)

    # -- one pass -------------------------------------------------------------------------
    def sweep_once(self, now: float | None = None) -> int:
        """Delete every item due at `now` (default: the clock); returns how many were deleted."""
        now = self._clock() if now is None else now
        deleted = 0
        with self._lock:
            for table in self.tables:
                try:
                    for key in self._due_keys(table, now):
                        if self._delete_if_due(table, key, now):
                            deleted += 1
                except Exception:  # one broken table must not stop the others
                    logger.exception("TTL sweep of table %s failed", table.table_name)
        return deleted

    # attribute_type first: TTL ignores non-Number values, and moto 5.2.5 raises (HTTP 500) on a
    # BETWEEN between a String attribute and Number bounds instead of evaluating it to false.
    DUE = "attribute_type(#ttl, :number) AND #ttl BETWEEN :oldest AND :now"

    def _window(self, table: TtlTable, now: float) -> dict[str, Any]:
        return {
            "ExpressionAttributeNames": {"#ttl": table.ttl_attribute},
            "ExpressionAttributeValues": {
                ":number": {"S": "N"},
                ":oldest": {"N": str(Decimal(int(now)) - FIVE_YEARS_SECONDS)},
                ":now": {"N": str(Decimal(str(now)))},
            },
        }

    def _due_keys(self, table: TtlTable, now: float) -> Iterator[dict[str, Any]]:
        """Keys that may be due (the delete checks): from the index, or from a Scan without it."""
        if not self.indexed:
            return iter([key for _, key in self._scan(table, filter_due_at=now)])
        unique: dict[str, dict[str, Any]] = {}
        for key in moto_hooks.pop_expired(table.table_name, now):
            unique.setdefault(repr(sorted(key.items())), key)  # an item written twice is indexed twice
        return iter(unique.values())

    def _scan(self, table: TtlTable, filter_due_at: float | None) -> list[tuple[float, dict[str, Any]]]:
        """(ttl, key) of the items with a Number TTL, only those due at `filter_due_at` if given."""
        names = {"#ttl": table.ttl_attribute}
        projection = ["#ttl"]
        for index, attribute in enumerate(table.key_attributes):
            names[f"#k{index}"] = attribute
            projection.append(f"#k{index}")
        request: dict[str, Any] = {"TableName": table.table_name, "ProjectionExpression": ", ".join(projection)}
        if filter_due_at is None:
            request["FilterExpression"] = "attribute_type(#ttl, :number)"
            request["ExpressionAttributeValues"] = {":number": {"S": "N"}}
        else:
            window = self._window(table, filter_due_at)
            request["FilterExpression"] = self.DUE
            request["ExpressionAttributeValues"] = window["ExpressionAttributeValues"]
        request["ExpressionAttributeNames"] = names
        # Collect the keys first: deleting while paginating a scan could skip items.
        found: list[tuple[float, dict[str, Any]]] = []
        while True:
            page = self._client.scan(**request)
            found.extend(
                (float(item[table.ttl_attribute]["N"]), {a: item[a] for a in table.key_attributes})
                for item in page.get("Items", [])
            )
            if "LastEvaluatedKey" not in page:
                break
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        return found

    def _delete_if_due(self, table: TtlTable, key: dict[str, Any], now: float) -> bool:
        try:
            self._client.delete_item(
                TableName=table.table_name,
                Key=key,
                ConditionExpression=self.DUE,
                **self._window(table, now),
            )
        except self._client.exceptions.ConditionalCheckFailedException:
            logger.debug("TTL: %s %s was renewed or removed meanwhile; kept", table.table_name, key)
            return False
        logger.info("TTL deleted %s %s", table.table_name, key)
        return True

    # -- background (local.background.BackgroundLoop) ------------------------------------------
    def tick(self) -> None:
        self.sweep_once()

    def seconds_until_next_tick(self) -> float:
        return self.interval  # with the index, a pass with nothing due is a heap peek: no AWS call
