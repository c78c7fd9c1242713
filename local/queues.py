"""SQS -> Lambda event source mappings, run by a local poller with Lambda's semantics.

moto stores event source mappings but does not run SQS ones in-process, so `QueuePoller` plays
Lambda's part for every `AWS::Lambda::EventSourceMapping` of the template whose
`EventSourceArn` is an SQS queue (DynamoDB stream mappings are `local.streams.StreamPoller`'s):

- ReceiveMessage with every system and message attribute, up to `BatchSize` messages per
  invocation (several receives of at most 10 when the batch size is larger). Receiving counts
  against the queue's RedrivePolicy: moto moves a message to the dead-letter queue on the receive
  after its receive count reached `maxReceiveCount` (measured), as SQS does; nothing is lost;
- messages that match none of `FilterCriteria` are deleted without an invocation, as Lambda does
  (a JSON body is matched as an object under `body`, any other body as a string);
- the function gets Lambda's SQS event (`sqs_record`): `{"Records": [{messageId, receiptHandle,
  body, attributes (ApproximateReceiveCount, SentTimestamp, SenderId,
  ApproximateFirstReceiveTimestamp, ...), messageAttributes (Lambda's lower-case shape, binary
  values base64), md5OfBody, [md5OfMessageAttributes], eventSource "aws:sqs", eventSourceARN,
  awsRegion}]}`;
- outcome, as Lambda documents it for SQS:
  * success: the batch's messages are deleted;
  * an exception: the whole batch failed, nothing is deleted;
  * with `ReportBatchItemFailures`: the messages named in `batchItemFailures` failed and the rest
    are deleted; a null/empty list or response is a success; an identifier that is null, empty,
    misnamed or not a message id of the batch (or a response that is not an object) fails the
    whole batch;
  * failed messages stay in the queue. Lambda leaves them invisible for the queue's
    VisibilityTimeout; locally they become visible again after `retry_delay` seconds (default
    1 s, via ChangeMessageVisibility) so retries and the dead-letter queue are observable in
    seconds;
- `MaximumBatchingWindowInSeconds` is honoured loosely by the background thread (a partial batch
  is held, in flight, until its first message has waited that long); `poll_once()` never waits.

Use `poll_once()` (everything visible now) or `drain()` (until the queues are empty, waiting
for retries) in tests, `start()`/`stop()` in a running local stack. Every invocation is kept in
`history`. Not modelled: concurrency (one batch at a time per mapping, in order),
`ScalingConfig.MaximumConcurrency`, FIFO ordering beyond what moto's ReceiveMessage gives.
"""

from __future__ import annotations

import base64
import copy
import json
import logging
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from local import moto_hooks
from local.background import PollingLoop
from local.cfn import REGION, Deployment, UnresolvableIntrinsic
from local.streams import ESM_TYPE, matches_filter_criteria

logger = logging.getLogger(__name__)

RECEIVE_LIMIT = 10  # SQS's maximum per ReceiveMessage
HISTORY_SIZE = 1000


# -- the mapping, as the template describes it -----------------------------------------------


@dataclass(frozen=True)
class QueueMapping:
    """One SQS event source mapping of the template, resolved."""

    logical_id: str
    function_name: str
    queue_arn: str
    batch_size: int = 10
    maximum_batching_window: float = 0.0
    report_batch_item_failures: bool = False
    filter_patterns: tuple[dict[str, Any], ...] = ()
    enabled: bool = True

    @property
    def queue_name(self) -> str:
        return self.queue_arn.split(":")[5]

    @classmethod
    def from_template(cls, deployment: Deployment, logical_id: str) -> QueueMapping | None:
        """The mapping, or None when its source is not an SQS queue."""
        props = deployment.properties(logical_id)
        source = deployment.resolve(props.get("EventSourceArn"))
        if not is_queue_arn(source):
            return None
        patterns = tuple(
            json.loads(f["Pattern"]) if isinstance(f.get("Pattern"), str) else f["Pattern"]
            for f in deployment.resolve((props.get("FilterCriteria") or {}).get("Filters") or [])
        )
        return cls(
            logical_id=logical_id,
            function_name=_function_name(str(deployment.resolve(props["FunctionName"]))),
            queue_arn=source,
            batch_size=int(props.get("BatchSize", 10)),
            maximum_batching_window=float(props.get("MaximumBatchingWindowInSeconds", 0)),
            report_batch_item_failures="ReportBatchItemFailures" in (props.get("FunctionResponseTypes") or []),
            filter_patterns=patterns,
            enabled=props.get("Enabled", True) not in (False, "false", "False"),
        )


def is_queue_arn(value: Any) -> bool:
    return isinstance(value, str) and value.startswith("arn:") and value.split(":")[2:3] == ["sqs"] and len(value.split(":")) == 6


def _function_name(value: str) -> str:
    """FunctionName may be a name, a function ARN or a qualified ARN; the runtime wants the name."""
    if value.startswith("arn:"):
        parts = value.split(":")
        return parts[6] if len(parts) > 6 else value
    return value


# -- Lambda's event ---------------------------------------------------------------------------


def sqs_record(message: dict[str, Any], queue_arn: str) -> dict[str, Any]:
    """Lambda's SQS event record for one message of a ReceiveMessage response."""
    record: dict[str, Any] = {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message.get("Body", ""),
        "attributes": dict(message.get("Attributes") or {}),
        "messageAttributes": {
            name: _message_attribute(value) for name, value in (message.get("MessageAttributes") or {}).items()
        },
        "md5OfBody": message.get("MD5OfBody"),
    }
    if message.get("MD5OfMessageAttributes"):
        record["md5OfMessageAttributes"] = message["MD5OfMessageAttributes"]
    record.update({"eventSource": "aws:sqs", "eventSourceARN": queue_arn, "awsRegion": queue_arn.split(":")[3] or REGION})
    return record


def _message_attribute(value: dict[str, Any]) -> dict[str, Any]:
    attribute: dict[str, Any] = {}
    if "StringValue" in value:
        attribute["stringValue"] = value["StringValue"]
    if "BinaryValue" in value:
        attribute["binaryValue"] = _base64(value["BinaryValue"])
    attribute["stringListValues"] = list(value.get("StringListValues") or [])
    attribute["binaryListValues"] = [_base64(v) for v in value.get("BinaryListValues") or []]
    attribute["dataType"] = value["DataType"]
    return attribute


def _base64(value: bytes | str) -> str:
    if isinstance(value, str):
        value = value.encode()
    return base64.b64encode(value).decode()


def _filter_view(record: dict[str, Any]) -> dict[str, Any]:
    """What Lambda's filters see: the record, with a JSON body as an object."""
    try:
        body = json.loads(record["body"])
    except (TypeError, ValueError):
        return record
    return {**record, "body": body}


# -- the poller -------------------------------------------------------------------------------


@dataclass
class QueueInvocation:
    """What one invocation of one mapping's function did."""

    mapping: str  # logical id
    function_name: str
    message_ids: list[str]
    deleted: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)  # left in the queue for a retry
    error: str | None = None  # "ErrorType: message" when the function raised


class _Consumer:
    """Lambda's poller for one mapping: its held (in-flight) messages."""

    def __init__(self, poller: QueuePoller, mapping: QueueMapping, queue_url: str) -> None:
        self.poller = poller
        self.mapping = mapping
        self.queue_url = queue_url
        self.held: dict[str, dict[str, Any]] = {}  # message id -> record, received, not yet delivered
        self.held_since: float | None = None

    @property
    def sqs(self) -> Any:
        return self.poller.sqs_client

    def poll(self, flush: bool) -> int:
        """Deliver what is visible now; returns how many messages were handed to the function."""
        delivered = 0
        handed_over: set[str] = set()
        while True:
            self._receive()
            if not self.held:
                return delivered
            if not flush and not self._window_elapsed():
                return delivered  # a partial batch waits for the batching window
            batch = list(self.held.values())[: self.mapping.batch_size]
            for record in batch:
                del self.held[record["messageId"]]
            self.held_since = time.monotonic() if self.held else None
            again = any(record["messageId"] in handed_over for record in batch)
            handed_over.update(record["messageId"] for record in batch)
            delivered += len(batch)
            self._deliver(batch)
            if again:
                # A failed message came back within this poll (the function is slower than
                # retry_delay): it was received, so it was delivered; retry it on the next poll.
                return delivered

    def _window_elapsed(self) -> bool:
        window = self.mapping.maximum_batching_window
        if window <= 0 or len(self.held) >= self.mapping.batch_size or self.held_since is None:
            return True
        return time.monotonic() - self.held_since >= window

    def _receive(self) -> None:
        while len(self.held) < self.mapping.batch_size:
            wanted = min(RECEIVE_LIMIT, self.mapping.batch_size - len(self.held))
            messages = self.sqs.receive_message(
                QueueUrl=self.queue_url,
                MaxNumberOfMessages=wanted,
                MessageSystemAttributeNames=["All"],
                MessageAttributeNames=["All"],
                WaitTimeSeconds=0,
            ).get("Messages", [])
            if not messages:
                return
            dropped = []
            for message in messages:
                record = sqs_record(message, self.mapping.queue_arn)
                if not matches_filter_criteria(_filter_view(record), self.mapping.filter_patterns):
                    logger.debug("%s: message %s filtered out (deleted)", self.mapping.logical_id, record["messageId"])
                    dropped.append(record)
                    continue
                if not self.held:
                    self.held_since = time.monotonic()
                # A held message seen again (its visibility expired while held): keep the newest handle.
                self.held[record["messageId"]] = record
            if dropped:
                self._delete(dropped)

    def _deliver(self, batch: list[dict[str, Any]]) -> None:
        mapping = self.mapping
        ids = [record["messageId"] for record in batch]
        invocation = QueueInvocation(mapping.logical_id, mapping.function_name, ids)
        event = {"Records": copy.deepcopy(batch)}  # a handler may mutate its event
        try:
            response = self.poller.runtime.invoke(mapping.function_name, event, request_id=str(uuid.uuid4()))
        except Exception as exc:
            invocation.error = f"{type(exc).__name__}: {exc}"
            logger.warning("%s: %s failed on %d message(s): %s", mapping.logical_id, mapping.function_name, len(batch),
                           invocation.error)
            failed = set(ids)
        else:
            failed = self._failed_ids(batch, response) if mapping.report_batch_item_failures else set()
        succeeded = [record for record in batch if record["messageId"] not in failed]
        retried = [record for record in batch if record["messageId"] in failed]
        invocation.deleted = self._delete(succeeded)
        invocation.failed = [record["messageId"] for record in retried]
        if retried:
            self._retry_later(retried)
            logger.warning("%s: %d message(s) left in %s for a retry in %ss", mapping.logical_id, len(retried),
                           mapping.queue_name, self.poller.retry_delay)
        self.poller.history.append(invocation)

    def _failed_ids(self, batch: list[dict[str, Any]], response: Any) -> set[str]:
        """The message ids a ReportBatchItemFailures response names (all of them if it is invalid)."""
        everything = {record["messageId"] for record in batch}
        if response is None:
            return set()
        if not isinstance(response, dict):
            logger.warning("%s: response %r is not an object: whole batch failed", self.mapping.logical_id, response)
            return everything
        failures = response.get("batchItemFailures")
        if not failures:  # missing, null or empty: complete success
            return set()
        if not isinstance(failures, list):
            logger.warning("%s: batchItemFailures %r is not a list: whole batch failed", self.mapping.logical_id, failures)
            return everything
        failed: set[str] = set()
        for failure in failures:
            identifier = failure.get("itemIdentifier") if isinstance(failure, dict) else None
            if not isinstance(identifier, str) or identifier not in everything:
                logger.warning("%s: invalid batch item failure %r (not a message id of the batch): whole batch failed",
                               self.mapping.logical_id, failure)
                return everything
            failed.add(identifier)
        return failed

    def _delete(self, records: list[dict[str, Any]]) -> list[str]:
        deleted: list[str] = []
        for start in range(0, len(records), RECEIVE_LIMIT):
            chunk = records[start : start + RECEIVE_LIMIT]
            response = self.sqs.delete_message_batch(
                QueueUrl=self.queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": r["receiptHandle"]} for i, r in enumerate(chunk)],
            )
            for entry in response.get("Successful", []):
                deleted.append(chunk[int(entry["Id"])]["messageId"])
            for entry in response.get("Failed", []):
                logger.error("%s: could not delete message %s: %s", self.mapping.logical_id,
                             chunk[int(entry["Id"])]["messageId"], entry.get("Message"))
        return deleted

    def _retry_later(self, records: list[dict[str, Any]]) -> None:
        for start in range(0, len(records), RECEIVE_LIMIT):
            chunk = records[start : start + RECEIVE_LIMIT]
            response = self.sqs.change_message_visibility_batch(
                QueueUrl=self.queue_url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": r["receiptHandle"], "VisibilityTimeout": self.poller.retry_delay}
                    for i, r in enumerate(chunk)
                ],
            )
            for entry in response.get("Failed", []):  # it then reappears after the queue's VisibilityTimeout
                logger.warning("%s: could not shorten the visibility of %s: %s", self.mapping.logical_id,
                               chunk[int(entry["Id"])]["messageId"], entry.get("Message"))

    def in_queue(self) -> int:
        """Messages still in the source queue (visible, in flight or delayed)."""
        attributes = self.sqs.get_queue_attributes(
            QueueUrl=self.queue_url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible",
                            "ApproximateNumberOfMessagesDelayed"],
        )["Attributes"]
        return sum(int(value) for value in attributes.values())


class QueuePoller(PollingLoop):
    """Runs every SQS event source mapping of a deployment against the local runtime.

    `deploy_queues` must have run first. `retry_delay` (whole seconds, as SQS takes them) is how
    long a failed message stays invisible before its retry.
    """

    thread_name = "queue-poller"
    # Idle (nothing delivered, nothing held): look this often, or at once when moto_hooks sees a
    # send. Failed messages become visible again without a send, so idle polling never stops.
    IDLE_POLL_SECONDS = 1.0

    def __init__(
        self,
        deployment: Deployment,
        runtime: Any,
        interval: float = 0.2,
        *,
        retry_delay: int = 1,
        sqs_client: Any = None,
    ) -> None:
        if retry_delay < 0:
            raise ValueError(f"retry_delay must not be negative, not {retry_delay}")
        super().__init__(interval)
        self._busy = True
        self._seen_sends = 0
        self.deployment = deployment
        self.runtime = runtime
        self.retry_delay = int(retry_delay)
        self._sqs_client = sqs_client
        self.history: deque[QueueInvocation] = deque(maxlen=HISTORY_SIZE)
        self.consumers: dict[str, _Consumer] = {}
        queue_urls = _queue_urls_by_arn(deployment)
        for logical_id in deployment.resources_of_type(ESM_TYPE):
            try:
                mapping = QueueMapping.from_template(deployment, logical_id)
            except UnresolvableIntrinsic as exc:
                logger.error("%s: cannot resolve the mapping (%s); is its queue deployed?", logical_id, exc)
                continue
            if mapping is None:
                continue  # a DynamoDB stream (local.streams) or Kinesis mapping: not ours
            if not mapping.enabled:
                logger.info("%s: disabled in the template; not polled", logical_id)
                continue
            if mapping.function_name not in getattr(runtime, "functions", {}):
                logger.error("%s: function %s is not in the runtime; not polled", logical_id, mapping.function_name)
                continue
            url = queue_urls.get(mapping.queue_arn) or self._queue_url(mapping.queue_arn)
            self.consumers[logical_id] = _Consumer(self, mapping, url)

    @property
    def mappings(self) -> dict[str, QueueMapping]:
        return {logical_id: consumer.mapping for logical_id, consumer in self.consumers.items()}

    @property
    def sqs_client(self) -> Any:
        if self._sqs_client is None:
            import boto3

            self._sqs_client = boto3.client("sqs")
        return self._sqs_client

    def _queue_url(self, queue_arn: str) -> str:
        _, _, _, _, account, name = queue_arn.split(":", 5)
        return self.sqs_client.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)["QueueUrl"]

    # -- polling (poll_once, tick: local.background.PollingLoop) --------------------------------
    def tick(self) -> None:
        self._seen_sends = moto_hooks.queue_version()  # before receiving: a send meanwhile is not missed
        delivered = self.poll_once(flush=False)
        with self._lock:
            held = any(consumer.held for consumer in self.consumers.values())
        self._busy = bool(delivered or held)

    def _sleep(self, seconds: float) -> None:
        if self._busy or not moto_hooks.hooks_installed():
            self._stop.wait(seconds)
        else:
            moto_hooks.wait_for_queue_send(self._seen_sends, self.IDLE_POLL_SECONDS, stop=self._stop)

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        moto_hooks.wake_queue_waiters()
        super().stop(timeout)

    def drain(self, timeout: float = 10.0) -> int:
        """Poll until every mapped queue is empty (retries and redrives included); returns how
        many messages were handed to functions. TimeoutError if messages remain after `timeout`."""
        deadline = time.monotonic() + timeout
        delivered = 0
        while True:
            delivered += self.poll_once()
            with self._lock:
                remaining = {lid: c.in_queue() for lid, c in self.consumers.items()}
            if not any(remaining.values()):
                return delivered
            if time.monotonic() >= deadline:
                raise TimeoutError(f"messages still queued after {timeout} s: {remaining}")
            time.sleep(0.05)


def _queue_urls_by_arn(deployment: Deployment) -> dict[str, str]:
    """Queue ARN -> URL of the queues `local.resources.deploy_queues` created."""
    urls: dict[str, str] = {}
    for logical_id in deployment.resources_of_type("AWS::SQS::Queue"):
        arn = deployment.attributes.get((logical_id, "Arn"))
        url = deployment.attributes.get((logical_id, "QueueUrl"))
        if arn and url:
            urls[arn] = url
    return urls
