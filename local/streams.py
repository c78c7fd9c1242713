"""DynamoDB stream -> Lambda event source mappings, run by a local poller with Lambda's semantics.

moto's own stream-to-Lambda mapping is unusable (see shared/local-aws-notes.md, moto 3), so
`StreamPoller` plays Lambda's part for every `AWS::Lambda::EventSourceMapping` of the template
whose source is a DynamoDB stream:

- reads each shard with GetShardIterator/GetRecords (one position per mapping and shard; it
  starts at TRIM_HORIZON or LATEST as `StartingPosition` says, LATEST meaning "when the poller
  was created");
- reshapes moto's records into Lambda's event records (`to_lambda_record`);
- drops records that match none of `FilterCriteria` (they count as processed, as in Lambda);
- invokes the function with batches of up to `BatchSize` records, in order, one batch at a time
  per shard; `MaximumBatchingWindowInSeconds` is honoured by each mapping's delivery thread,
  which wakes at the window's deadline (a partial batch waits until its first record has waited
  that long); `poll_once()` never waits;
- one delivery thread per mapping. With `local.moto_hooks` installed (moto in this process) a
  thread sleeps until its table's stream is written and reads only then (an idle stack makes no
  DescribeStream/GetRecords calls); without them it polls with back-off (interval doubling to
  2 s while nothing arrives);
- error handling as Lambda documents it for streams:
  * with `ReportBatchItemFailures`, `{"batchItemFailures": [{"itemIdentifier": seq}, ...]}`
    checkpoints before the lowest reported sequence number and retries from it (that record
    and all later ones of the batch); an empty/null list or response is a success; an
    identifier that is empty, null, misnamed or not in the batch fails the whole batch;
  * an exception (or an invalid response) fails the whole batch; with
    `BisectBatchOnFunctionError` a failed batch of more than one record is split in halves,
    which does not count as a retry (as documented); partial failures are not split further;
  * each retry counts against `MaximumRetryAttempts` (-1: unlimited, then a failing batch is
    retried once per poll and blocks its shard, as in AWS until the record expires);
  * once retries are exhausted, Lambda's on-failure record for streams (requestContext,
    responseContext, version, timestamp, DDBStreamBatchInfo) goes to
    `DestinationConfig.OnFailure.Destination` (SQS or SNS), or is logged as discarded when the
    mapping has none, and the shard moves past the batch. If the destination cannot be reached
    the shard stays blocked on that batch and the send is retried on the next poll.
Nothing is skipped silently: every failure, retry, split and discard is logged.

Not modelled: `MaximumRecordAgeInSeconds` (moto never trims a stream), tumbling windows,
`ParallelizationFactor` (one batch at a time per shard keeps order trivially), shard lineage
(moto has one shard per stream).
"""

from __future__ import annotations

import copy
import json
import logging
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from local import moto_hooks
from local.background import PollingLoop
from local.cfn import ACCOUNT_ID, REGION, Deployment, UnresolvableIntrinsic
from shared.stream_records import to_lambda_record, wire_to_lambda_record

logger = logging.getLogger(__name__)

ESM_TYPE = "AWS::Lambda::EventSourceMapping"
GET_RECORDS_LIMIT = 1000


# -- the mapping, as the template describes it -----------------------------------------------


@dataclass(frozen=True)
class StreamMapping:
    """One DynamoDB-stream event source mapping of the template, resolved."""

    logical_id: str
    function_name: str
    stream_arn: str
    batch_size: int = 100
    starting_position: str = "LATEST"
    maximum_batching_window: float = 0.0
    maximum_retry_attempts: int = -1  # -1: unlimited
    bisect_on_error: bool = False
    report_batch_item_failures: bool = False
    on_failure_destination: str | None = None
    filter_patterns: tuple[dict[str, Any], ...] = ()
    enabled: bool = True

    @property
    def function_arn(self) -> str:
        return f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{self.function_name}"

    @classmethod
    def from_template(cls, deployment: Deployment, logical_id: str) -> StreamMapping | None:
        """The mapping, or None when its source is not a DynamoDB stream."""
        props = deployment.properties(logical_id)
        source = deployment.resolve(props.get("EventSourceArn"))
        if not isinstance(source, str) or ":dynamodb:" not in source or "/stream/" not in source:
            return None
        patterns = tuple(
            json.loads(f["Pattern"]) if isinstance(f.get("Pattern"), str) else f["Pattern"]
            for f in deployment.resolve((props.get("FilterCriteria") or {}).get("Filters") or [])
        )
        destination = (
            deployment.resolve(((props.get("DestinationConfig") or {}).get("OnFailure") or {}).get("Destination")) or None
        )
        return cls(
            logical_id=logical_id,
            function_name=_function_name(deployment.resolve(props["FunctionName"])),
            stream_arn=source,
            batch_size=int(props.get("BatchSize", 100)),
            starting_position=str(props.get("StartingPosition", "LATEST")),
            maximum_batching_window=float(props.get("MaximumBatchingWindowInSeconds", 0)),
            maximum_retry_attempts=int(props.get("MaximumRetryAttempts", -1)),
            bisect_on_error=bool(props.get("BisectBatchOnFunctionError", False)),
            report_batch_item_failures="ReportBatchItemFailures" in (props.get("FunctionResponseTypes") or []),
            on_failure_destination=destination,
            filter_patterns=patterns,
            enabled=props.get("Enabled", True) not in (False, "false", "False"),
        )

    def retries_exhausted(self, retries: int) -> bool:
        return self.maximum_retry_attempts >= 0 and retries > self.maximum_retry_attempts


def _function_name(value: str) -> str:
    """FunctionName may be a name, a function ARN or a qualified ARN; the runtime wants the name."""
    if value.startswith("arn:"):
        parts = value.split(":")
        return parts[6] if len(parts) > 6 else value
    return value


# -- reshaping moto's records into Lambda's event records ----------------------------------


# -- Lambda event filtering ---------------------------------------------------------------

_MISSING = object()


def matches_filter_criteria(record: dict[str, Any], patterns: list[dict[str, Any]] | tuple[dict[str, Any], ...]) -> bool:
    """Lambda's rule: no filters -> everything; otherwise the record must match any one pattern."""
    return not patterns or any(matches_pattern(record, p) for p in patterns)


def matches_pattern(record: dict[str, Any], pattern: dict[str, Any]) -> bool:
    """Lambda (EventBridge-style) content filtering of one record against one pattern.

    Supported: exact values (strings, numbers, booleans, null), "" , `prefix`, `suffix`,
    `equals-ignore-case`, `anything-but` (value, list, or prefix/suffix), `exists`, `numeric`
    (comparisons and ranges), `$or`, nesting at any depth, and arrays in the record (match if
    any element matches). As in AWS, `numeric` matches JSON numbers only: DynamoDB `N` values
    are strings in the record, so a numeric rule under `"N"` never matches.
    """
    return _match_object(pattern, record)


def _match_object(pattern: dict[str, Any], value: Any) -> bool:
    if isinstance(value, list):  # an array in the record matches when any element does
        return any(_match_object(pattern, element) for element in value)
    for key, sub_pattern in pattern.items():
        if key == "$or":
            if not any(_match_object(p, value) for p in sub_pattern):
                return False
            continue
        child = value.get(key, _MISSING) if isinstance(value, dict) else _MISSING
        if isinstance(sub_pattern, dict):
            if not _match_object(sub_pattern, child):
                return False
        elif isinstance(sub_pattern, list):
            if not _match_rules(sub_pattern, child):
                return False
        else:  # Lambda rejects such patterns at creation; treat a bare value as [value]
            if not _match_rules([sub_pattern], child):
                return False
    return True


def _match_rules(rules: list[Any], value: Any) -> bool:
    candidates = value if isinstance(value, list) else [value]
    for rule in rules:
        if isinstance(rule, dict) and "exists" in rule:
            if bool(rule["exists"]) == (value is not _MISSING):
                return True
            continue
        if value is _MISSING:
            continue
        if any(_match_rule(rule, candidate) for candidate in candidates):
            return True
    return False


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _match_rule(rule: Any, value: Any) -> bool:
    if rule is None:
        return value is None
    if isinstance(rule, bool):
        return isinstance(value, bool) and value is rule
    if _is_number(rule):
        return _is_number(value) and float(value) == float(rule)
    if isinstance(rule, str):
        return isinstance(value, str) and value == rule
    if not isinstance(rule, dict) or len(rule) != 1:
        raise ValueError(f"unsupported filter rule {rule!r}")
    ((operator, argument),) = rule.items()
    if operator == "prefix":
        if isinstance(argument, dict):  # {"prefix": {"equals-ignore-case": "x"}}
            return isinstance(value, str) and value.lower().startswith(str(argument["equals-ignore-case"]).lower())
        return isinstance(value, str) and value.startswith(argument)
    if operator == "suffix":
        if isinstance(argument, dict):
            return isinstance(value, str) and value.lower().endswith(str(argument["equals-ignore-case"]).lower())
        return isinstance(value, str) and value.endswith(argument)
    if operator == "equals-ignore-case":
        return isinstance(value, str) and value.lower() == str(argument).lower()
    if operator == "anything-but":
        if isinstance(argument, dict):  # anything-but prefix/suffix/equals-ignore-case
            return value is not None and not _match_rule(argument, value)
        excluded = argument if isinstance(argument, list) else [argument]
        return not any(_match_rule(e, value) for e in excluded)
    if operator == "numeric":
        return _is_number(value) and _numeric(argument, float(value))
    raise ValueError(f"unsupported filter operator {operator!r}")


def _numeric(conditions: list[Any], value: float) -> bool:
    checks = {
        "=": lambda a, b: a == b,
        "<": lambda a, b: a < b,
        "<=": lambda a, b: a <= b,
        ">": lambda a, b: a > b,
        ">=": lambda a, b: a >= b,
    }
    for index in range(0, len(conditions), 2):
        operator, bound = conditions[index], conditions[index + 1]
        if not checks[operator](value, float(bound)):
            return False
    return True


def _numeric_rules_on_dynamodb_numbers(pattern: Any, parent: str | None = None) -> bool:
    if isinstance(pattern, dict):
        return any(_numeric_rules_on_dynamodb_numbers(v, k) for k, v in pattern.items())
    if isinstance(pattern, list) and parent == "N":
        return any(isinstance(r, dict) and "numeric" in r for r in pattern)
    return False


# -- where records are read from ---------------------------------------------------------------


class ApiStreamSource:
    """Reads streams through the DynamoDB Streams API (DescribeStream, GetShardIterator,
    GetRecords): what Lambda's poller does, and the only way when moto runs in another process."""

    def __init__(self, client: Any) -> None:
        self.client = client

    def shard_ids(self, stream_arn: str) -> list[str]:
        description = self.client.describe_stream(StreamArn=stream_arn)["StreamDescription"]
        return [shard["ShardId"] for shard in description.get("Shards", [])]

    def position(self, stream_arn: str, shard_id: str, iterator_type: str) -> str:
        return self.client.get_shard_iterator(StreamArn=stream_arn, ShardId=shard_id, ShardIteratorType=iterator_type)[
            "ShardIterator"
        ]

    def read(self, stream_arn: str, iterator: str) -> tuple[list[dict[str, Any]], str | None]:
        response = self.client.get_records(ShardIterator=iterator, Limit=GET_RECORDS_LIMIT)
        records = [to_lambda_record(raw, stream_arn) for raw in response.get("Records", [])]
        return records, response.get("NextShardIterator")


class BackendStreamSource:
    """Reads moto's stream records straight from its backend, in this process (ADR 0034).

    The records are the ones GetRecords would return, in the same order and from the same
    position; what is skipped is serializing each batch to JSON through moto's response
    serializer and parsing it back in botocore, which was ~40% of the stack's CPU while it seeded
    the demo catalog. Only the stack's own poller (playing Lambda's part) reads this way; the
    handlers keep calling AWS through boto3. A position is the next sequence number to read.
    """

    @staticmethod
    def _shard(stream_arn: str) -> Any:
        from moto.dynamodb.models import dynamodb_backends

        # arn:aws:dynamodb:<region>:<account>:table/<name>/stream/<label>
        _, _, _, region, account, resource = stream_arn.split(":", 5)
        return dynamodb_backends[account][region].get_table(resource.split("/")[1]).stream_shard

    def shard_ids(self, stream_arn: str) -> list[str]:
        shard = self._shard(stream_arn)
        return [shard.id] if shard is not None else []

    def position(self, stream_arn: str, shard_id: str, iterator_type: str) -> int:
        shard = self._shard(stream_arn)
        return shard.starting_sequence_number + (len(shard.items) if iterator_type == "LATEST" else 0)

    def read(self, stream_arn: str, position: int) -> tuple[list[dict[str, Any]], int]:
        shard = self._shard(stream_arn)
        start = position - shard.starting_sequence_number
        raw = shard.items[start : start + GET_RECORDS_LIMIT]  # a slice: atomic while writers append
        return [wire_to_lambda_record(item.to_json(), stream_arn) for item in raw], position + len(raw)


# -- the poller -------------------------------------------------------------------------------


@dataclass
class _Batch:
    """Records handed to the function together (and retried together)."""

    records: list[dict[str, Any]]
    retries: int = 0  # failed attempts counted against MaximumRetryAttempts
    invocations: int = 0  # Lambda's approximateInvokeCount for this batch
    last_request_id: str | None = None
    function_error: bool = False  # the last failure was an exception (vs. a failure report)
    exhausted: bool = False  # retries used up; waiting to reach the on-failure destination

    @property
    def first_sequence(self) -> str:
        return self.records[0]["dynamodb"]["SequenceNumber"]

    @property
    def last_sequence(self) -> str:
        return self.records[-1]["dynamodb"]["SequenceNumber"]

    def describe(self) -> str:
        return f"{len(self.records)} record(s) {self.first_sequence}..{self.last_sequence}"


@dataclass
class _Shard:
    shard_id: str
    iterator: Any  # the shard position its source gave (an iterator id, or a sequence number)
    buffer: list[dict[str, Any]] = field(default_factory=list)  # read, matched, not yet batched
    buffered_since: float | None = None
    work: deque[_Batch] = field(default_factory=deque)  # head = the batch being delivered
    checkpoint: str | None = None  # last sequence number done with (for inspection)


@dataclass
class _Outcome:
    failed_from: int | None  # None: success; else index of the first record to retry
    function_error: bool = False  # an exception (vs. a failure report)
    invalid_response: bool = False


class _MappingConsumer:
    """Lambda's poller for one mapping: its shard positions, pending batches and retries."""

    def __init__(self, poller: StreamPoller, mapping: StreamMapping) -> None:
        self.poller = poller
        self.mapping = mapping
        self.shards: dict[str, _Shard] = {}
        # arn:aws:dynamodb:<region>:<account>:table/<name>/stream/<label>
        self.table_name = mapping.stream_arn.split(":table/", 1)[-1].split("/stream/", 1)[0]
        self.lock = threading.Lock()  # this mapping's delivery thread and poll_once never interleave
        self.read_version: int | None = None  # the table's stream version when last read (moto_hooks)
        self._discover_shards(initial=True)
        if _numeric_rules_on_dynamodb_numbers(list(mapping.filter_patterns)):
            logger.warning(
                '%s: a numeric filter rule under an "N" attribute never matches '
                "(DynamoDB numbers are strings in the stream record, in AWS too)",
                mapping.logical_id,
            )

    # -- reading --------------------------------------------------------------------------
    def _discover_shards(self, initial: bool = False) -> None:
        source = self.poller.source
        for shard_id in source.shard_ids(self.mapping.stream_arn):
            if shard_id in self.shards:
                continue
            # Shards that appear later are read from their start, as Lambda does with new shards.
            position = self.mapping.starting_position if initial else "TRIM_HORIZON"
            if position not in ("TRIM_HORIZON", "LATEST"):
                position = "TRIM_HORIZON"
            self.shards[shard_id] = _Shard(shard_id=shard_id, iterator=source.position(self.mapping.stream_arn, shard_id, position))

    def _read(self, shard: _Shard) -> None:
        while shard.iterator is not None:
            records, next_position = self.poller.source.read(self.mapping.stream_arn, shard.iterator)
            # Advance at once: a record read is never read again (the checkpoint lives here).
            shard.iterator = next_position
            if not records:
                return
            # moto returns every record it has up to the limit: fewer means none are left.
            more = len(records) >= GET_RECORDS_LIMIT
            for record in records:
                if not matches_filter_criteria(record, self.mapping.filter_patterns):
                    logger.debug("%s: record %s filtered out", self.mapping.logical_id, record["dynamodb"]["SequenceNumber"])
                    continue
                if not shard.buffer:
                    shard.buffered_since = time.monotonic()
                shard.buffer.append(record)
            if not more:
                return

    # -- delivering -----------------------------------------------------------------------
    def poll(self, flush: bool, read: bool = True) -> int:
        """Read new records (unless `read` is False: nothing was written since the last read) and
        deliver what is due."""
        if read:
            # Captured before reading: a write during the read bumps it again, so it is never missed.
            version = moto_hooks.stream_version(self.table_name)
            self._discover_shards()
            for shard in self.shards.values():
                self._read(shard)
            self.read_version = version
        delivered = 0
        for shard in self.shards.values():
            delivered += self._drain(shard, flush)
        return delivered

    def seconds_until_due(self, idle: float) -> float:
        """How long this mapping's delivery thread may sleep when no stream write wakes it: a
        blocked shard retries every poll interval, a partial batch is due at its window's
        deadline, otherwise `idle`."""
        wait = idle
        now = time.monotonic()
        for shard in self.shards.values():
            if shard.work:
                wait = min(wait, self.poller.interval)
            elif shard.buffer and shard.buffered_since is not None:
                wait = min(wait, max(0.0, shard.buffered_since + self.mapping.maximum_batching_window - now))
        return wait

    def _window_elapsed(self, shard: _Shard) -> bool:
        window = self.mapping.maximum_batching_window
        if window <= 0 or len(shard.buffer) >= self.mapping.batch_size or shard.buffered_since is None:
            return True
        return time.monotonic() - shard.buffered_since >= window

    def _drain(self, shard: _Shard, flush: bool) -> int:
        delivered = 0
        while True:
            if not shard.work:
                if not shard.buffer or not (flush or self._window_elapsed(shard)):
                    return delivered
                size = self.mapping.batch_size
                shard.work.append(_Batch(records=shard.buffer[:size]))
                del shard.buffer[:size]
                shard.buffered_since = time.monotonic() if shard.buffer else None
            batch = shard.work[0]
            if batch.exhausted:
                if not self._send_on_failure(shard, batch):
                    return delivered  # destination unreachable: stay blocked, try next poll
                shard.work.popleft()
                shard.checkpoint = batch.last_sequence
                continue
            delivered += len(batch.records)
            outcome = self._invoke(batch)
            if not self._settle(shard, batch, outcome):
                return delivered  # unlimited retries: try again on the next poll

    def _invoke(self, batch: _Batch) -> _Outcome:
        request_id = str(uuid.uuid4())
        batch.invocations += 1
        batch.last_request_id = request_id
        event = {"Records": copy.deepcopy(batch.records)}  # a handler may mutate its event
        try:
            response = self.poller.runtime.invoke(self.mapping.function_name, event, request_id=request_id)
        except Exception as exc:
            logger.warning(
                "%s: %s failed on %s: %s: %s",
                self.mapping.logical_id,
                self.mapping.function_name,
                batch.describe(),
                type(exc).__name__,
                exc,
            )
            return _Outcome(failed_from=0, function_error=True)
        if not self.mapping.report_batch_item_failures:
            return _Outcome(failed_from=None)
        return self._read_failure_report(batch, response)

    def _read_failure_report(self, batch: _Batch, response: Any) -> _Outcome:
        if response is None:
            return _Outcome(failed_from=None)
        invalid = _Outcome(failed_from=0, invalid_response=True)
        if not isinstance(response, dict):
            logger.warning("%s: response %r is not an object: whole batch failed", self.mapping.logical_id, response)
            return invalid
        failures = response.get("batchItemFailures")
        if not failures:  # missing, null or empty: complete success
            return _Outcome(failed_from=None)
        if not isinstance(failures, list):
            logger.warning("%s: batchItemFailures %r is not a list: whole batch failed", self.mapping.logical_id, failures)
            return invalid
        positions = {r["dynamodb"]["SequenceNumber"]: i for i, r in enumerate(batch.records)}
        failed: list[int] = []
        for failure in failures:
            identifier = failure.get("itemIdentifier") if isinstance(failure, dict) else None
            if not isinstance(identifier, str) or identifier not in positions:
                logger.warning(
                    "%s: invalid batch item failure %r (not a sequence number of the batch): whole batch failed",
                    self.mapping.logical_id,
                    failure,
                )
                return invalid
            failed.append(positions[identifier])
        first = min(failed)
        logger.warning(
            "%s: %s reported failure of %s; retrying from it",
            self.mapping.logical_id,
            self.mapping.function_name,
            batch.records[first]["dynamodb"]["SequenceNumber"],
        )
        return _Outcome(failed_from=first)

    def _settle(self, shard: _Shard, batch: _Batch, outcome: _Outcome) -> bool:
        """Apply an invocation's outcome to the shard; False when the shard must wait for the next poll."""
        mapping = self.mapping
        if outcome.failed_from is None:
            shard.work.popleft()
            shard.checkpoint = batch.last_sequence
            return True

        whole_batch_failed = outcome.function_error or outcome.invalid_response
        if not whole_batch_failed:
            # Failure report: checkpoint before the first failed record and retry from it. With
            # bisect on, Lambda "splits at the returned sequence number", which is the same thing.
            if outcome.failed_from > 0:
                shard.checkpoint = batch.records[outcome.failed_from - 1]["dynamodb"]["SequenceNumber"]
                batch.records = batch.records[outcome.failed_from :]
        elif mapping.bisect_on_error and len(batch.records) > 1:
            # Whole batch failed: split it; splitting does not use up a retry.
            middle = len(batch.records) // 2
            first = _Batch(records=batch.records[:middle], retries=batch.retries)
            second = _Batch(records=batch.records[middle:], retries=batch.retries)
            logger.warning(
                "%s: bisecting %s into %s and %s",
                mapping.logical_id,
                batch.describe(),
                first.describe(),
                second.describe(),
            )
            shard.work.popleft()
            shard.work.appendleft(second)
            shard.work.appendleft(first)
            return True

        batch.retries += 1
        batch.function_error = outcome.function_error
        if mapping.retries_exhausted(batch.retries):
            logger.error(
                "%s: retries exhausted (%d) for %s", mapping.logical_id, mapping.maximum_retry_attempts, batch.describe()
            )
            batch.exhausted = True
            return True
        logger.warning("%s: retry %d for %s", mapping.logical_id, batch.retries, batch.describe())
        return mapping.maximum_retry_attempts >= 0

    # -- on failure -----------------------------------------------------------------------
    def failure_record(self, shard: _Shard, batch: _Batch, condition: str = "RetryAttemptsExhausted") -> dict[str, Any]:
        """Lambda's on-failure invocation record for a stream batch."""
        response_context: dict[str, Any] = {"statusCode": 200, "executedVersion": "$LATEST"}
        if batch.function_error:
            response_context["functionError"] = "Unhandled"
        return {
            "requestContext": {
                "requestId": batch.last_request_id,
                "functionArn": self.mapping.function_arn,
                "condition": condition,
                "approximateInvokeCount": batch.invocations,
            },
            "responseContext": response_context,
            "version": "1.0",
            "timestamp": _iso(time.time(), millis=True),
            "DDBStreamBatchInfo": {
                "shardId": shard.shard_id,
                "startSequenceNumber": batch.first_sequence,
                "endSequenceNumber": batch.last_sequence,
                "approximateArrivalOfFirstRecord": _iso(batch.records[0]["dynamodb"].get("ApproximateCreationDateTime")),
                "approximateArrivalOfLastRecord": _iso(batch.records[-1]["dynamodb"].get("ApproximateCreationDateTime")),
                "batchSize": len(batch.records),
                "streamArn": self.mapping.stream_arn,
            },
        }

    def _send_on_failure(self, shard: _Shard, batch: _Batch) -> bool:
        destination = self.mapping.on_failure_destination
        if not destination:
            logger.error(
                "%s: DISCARDING %s after %d invocation(s): the mapping has no on-failure destination",
                self.mapping.logical_id,
                batch.describe(),
                batch.invocations,
            )
            return True
        message = json.dumps(self.failure_record(shard, batch))
        try:
            self.poller.send_to_destination(destination, message)
        except Exception:
            logger.exception(
                "%s: could not send the failure record of %s to %s; retrying on the next poll",
                self.mapping.logical_id,
                batch.describe(),
                destination,
            )
            return False
        logger.error("%s: sent %s to on-failure destination %s", self.mapping.logical_id, batch.describe(), destination)
        return True


def _iso(epoch_seconds: float | None, millis: bool = False) -> str | None:
    if epoch_seconds is None:
        return None
    moment = datetime.fromtimestamp(epoch_seconds, tz=UTC)
    if millis:
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


class StreamPoller(PollingLoop):
    """Runs every DynamoDB-stream event source mapping of a deployment against the local runtime.

    `deploy_tables` must have run first (the mappings' EventSourceArn is the table's real
    moto StreamArn). Use `poll_once()` in tests, `start()`/`stop()` in a running local stack.
    """

    thread_name = "stream-poller"
    # Without moto_hooks (moto in another process) an idle mapping polls ever less often, up to this.
    MAX_IDLE_POLL_SECONDS = 2.0
    # With them a stream write wakes the mapping at once; it still looks every so often (no AWS
    # call unless its table's stream version moved).
    MAX_IDLE_WAIT_SECONDS = 5.0

    def __init__(
        self,
        deployment: Deployment,
        runtime: Any,
        interval: float = 0.2,
        *,
        streams_client: Any = None,
        sqs_client: Any = None,
        sns_client: Any = None,
        event_driven: bool | None = None,
    ) -> None:
        import boto3

        super().__init__(interval)
        # Event-driven when moto runs in this process with local.moto_hooks installed.
        self.event_driven = moto_hooks.hooks_installed() if event_driven is None else event_driven
        self._threads: list[threading.Thread] = []
        self.deployment = deployment
        self.runtime = runtime
        # A client given (or moto in another process): the Streams API; else moto's backend here.
        from local.moto_fast_paths import fast_streams_enabled

        if streams_client is None and not (moto_hooks.hooks_installed() and fast_streams_enabled()):
            streams_client = boto3.client("dynamodbstreams")
        self.streams_client = streams_client
        self.source = ApiStreamSource(streams_client) if streams_client is not None else BackendStreamSource()
        self._sqs_client = sqs_client
        self._sns_client = sns_client
        self._queue_urls: dict[str, str] = {}
        self.consumers: dict[str, _MappingConsumer] = {}
        for logical_id in deployment.resources_of_type(ESM_TYPE):
            try:
                mapping = StreamMapping.from_template(deployment, logical_id)
            except UnresolvableIntrinsic as exc:
                logger.error("%s: cannot resolve the mapping (%s); is its table deployed?", logical_id, exc)
                continue
            if mapping is None:
                continue  # not a DynamoDB stream (an SQS or Kinesis mapping): not ours
            if not mapping.enabled:
                logger.info("%s: disabled in the template; not polled", logical_id)
                continue
            if mapping.function_name not in getattr(runtime, "functions", {}):
                logger.error("%s: function %s is not in the runtime; not polled", logical_id, mapping.function_name)
                continue
            self.consumers[logical_id] = _MappingConsumer(self, mapping)

    @property
    def mappings(self) -> dict[str, StreamMapping]:
        return {logical_id: consumer.mapping for logical_id, consumer in self.consumers.items()}

    # -- delivery: one thread per mapping, as Lambda runs one poller per mapping -------------------
    def poll_once(self, flush: bool = True) -> int:
        """Read and deliver every mapping once, now (in tests; the threads may be running)."""
        delivered = 0
        with self._lock:
            for logical_id, consumer in self.consumers.items():
                try:
                    with consumer.lock:
                        delivered += consumer.poll(flush)
                except Exception:  # one broken consumer must not stop the others
                    logger.exception("%s: polling failed", logical_id)
        return delivered

    def start(self) -> None:
        if self._threads:
            return
        self._stop.clear()
        for logical_id, consumer in self.consumers.items():
            thread = threading.Thread(target=self._deliver, args=(consumer,), name=f"stream-{logical_id}", daemon=True)
            self._threads.append(thread)
            thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        moto_hooks.wake_stream_waiters()
        for thread in self._threads:
            thread.join(timeout)
        self._threads = []

    def _deliver(self, consumer: _MappingConsumer) -> None:
        """A mapping's delivery thread: sleeps until its table's stream is written (or, without
        moto_hooks, polls with back-off), a partial batch's window ends or a retry is due."""
        idle = self.interval
        while not self._stop.is_set():
            delivered = 0
            try:
                with consumer.lock:
                    written = moto_hooks.stream_version(consumer.table_name) != consumer.read_version
                    delivered = consumer.poll(flush=False, read=written or not self.event_driven)
            except Exception:
                logger.exception("%s: polling failed", consumer.mapping.logical_id)
            if self.event_driven:
                idle = self.MAX_IDLE_WAIT_SECONDS
            else:  # adaptive back-off: double while nothing arrives, back to the interval when it does
                idle = self.interval if delivered else min(idle * 2, self.MAX_IDLE_POLL_SECONDS)
            wait = consumer.seconds_until_due(idle)
            if self.event_driven:
                self._wait_for_write(consumer, wait)
            else:
                self._stop.wait(wait)

    def _wait_for_write(self, consumer: _MappingConsumer, timeout: float) -> None:
        seen = {consumer.table_name: consumer.read_version or 0}
        moto_hooks.wait_for_stream_write({consumer.table_name}, seen, timeout, stop=self._stop)

    # -- destinations ---------------------------------------------------------------------
    def send_to_destination(self, destination_arn: str, message: str) -> None:
        service = destination_arn.split(":")[2]
        if service == "sqs":
            self.sqs_client.send_message(QueueUrl=self._queue_url(destination_arn), MessageBody=message)
        elif service == "sns":
            self.sns_client.publish(TopicArn=destination_arn, Message=message)
        else:
            raise ValueError(f"on-failure destination {destination_arn} is not supported locally (SQS or SNS)")

    def _queue_url(self, queue_arn: str) -> str:
        url = self._queue_urls.get(queue_arn)
        if url is None:
            _, _, _, _, account, name = queue_arn.split(":", 5)
            url = self.sqs_client.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)["QueueUrl"]
            self._queue_urls[queue_arn] = url
        return url

    @property
    def sqs_client(self) -> Any:
        if self._sqs_client is None:
            import boto3

            self._sqs_client = boto3.client("sqs")
        return self._sqs_client

    @property
    def sns_client(self) -> Any:
        if self._sns_client is None:
            import boto3

            self._sns_client = boto3.client("sns")
        return self._sns_client
