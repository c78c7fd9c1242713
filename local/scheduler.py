"""EventBridge scheduled rules for the local stack: the template's scheduled jobs, on a timer.

moto stores EventBridge rules but never fires them, so `Scheduler` plays EventBridge's part for
every `AWS::Events::Rule` of the deployment that has a `ScheduleExpression` (and is not
`DISABLED`): it resolves the rule's Lambda targets to local function names and invokes them
through the local `LambdaRuntime` (as the gateway and the stream poller do) with EventBridge's
scheduled-event payload:

    {"version": "0", "id": "<uuid>", "detail-type": "Scheduled Event", "source": "aws.events",
     "account": "123456789012", "time": "2026-11-22T10:00:00Z", "region": "us-east-1",
     "resources": ["arn:aws:events:us-east-1:123456789012:rule/<rule>"], "detail": {}}

How often (a minute per tick would make local runs and tests crawl):

1. `interval` given to the Scheduler (LocalStack(schedule_interval=...)): every rule, that often;
2. else the rule's CloudFormation metadata `local:interval_seconds`, which infra/schedules.py
   sets from the topology's `ScheduledJob.local_interval_seconds`;
3. else the period of a `rate(...)` expression. A `cron(...)` rule without the metadata is not
   run (logged), since its calendar would have to be emulated.

Each rule is first due one interval after `start()`, then one interval after its previous run
started. One background thread runs the due rules one after the other, so runs never overlap.
`run_once()` runs every rule now, synchronously, and returns what happened (for tests and
tools); it and the thread never interleave.

Failures: an invocation that raises is logged (with its traceback the first time in a row,
one line after that) and recorded; it is **not** retried at once and nothing goes to the
dead-letter queue: the next tick invokes the job again, which is what a retry of an idempotent
job amounts to. In AWS, EventBridge and Lambda retry a couple of times and then park the event
in the job's queue (infra/schedules.py). A failing target never stops the other targets, the
other rules or the timer.

A target with a constant `Input` gets that JSON instead of the event, as in EventBridge;
`InputPath` and `InputTransformer` are not supported locally (the target is skipped, logged).
Targets that are not Lambda functions are not run locally (logged).
"""

from __future__ import annotations

import copy
import json
import logging
import re
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from local.background import BackgroundLoop
from local.cfn import ACCOUNT_ID, REGION, Deployment, UnresolvableIntrinsic

logger = logging.getLogger(__name__)

RULE_TYPE = "AWS::Events::Rule"
LOCAL_INTERVAL_METADATA = "local:interval_seconds"  # written by infra/schedules.py
HISTORY_SIZE = 1000

_RATE = re.compile(r"^rate\(\s*(\d+)\s+(minute|minutes|hour|hours|day|days)\s*\)$")
_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}


def rate_seconds(expression: str) -> float | None:
    """Seconds between runs of `rate(N unit)`; None for anything else (cron)."""
    match = _RATE.match(expression.strip())
    if match is None:
        return None
    return int(match.group(1)) * _UNIT_SECONDS[match.group(2).rstrip("s")]


@dataclass(frozen=True)
class ScheduleTarget:
    id: str
    function_name: str
    input: str | None = None  # a constant Input (JSON text) replaces the event


@dataclass(frozen=True)
class ScheduledRule:
    """One scheduled rule of the template, resolved."""

    logical_id: str
    name: str
    arn: str
    expression: str
    interval_seconds: float | None  # from the metadata or the rate; None: not runnable locally
    targets: tuple[ScheduleTarget, ...]

    @classmethod
    def from_template(cls, deployment: Deployment, logical_id: str) -> ScheduledRule | None:
        """The rule, or None when it has no schedule (an event-pattern rule) or is disabled."""
        resource = deployment.resources[logical_id]
        props = resource.get("Properties", {})
        expression = props.get("ScheduleExpression")
        if not expression:
            return None
        if str(props.get("State", "ENABLED")).upper() == "DISABLED":
            logger.info("%s: disabled in the template; not scheduled", logical_id)
            return None
        metadata = (resource.get("Metadata") or {}).get(LOCAL_INTERVAL_METADATA)
        interval = float(metadata) if metadata is not None else rate_seconds(str(expression))
        targets = []
        for target in props.get("Targets") or []:
            parsed = _lambda_target(deployment, logical_id, target)
            if parsed is not None:
                targets.append(parsed)
        return cls(
            logical_id=logical_id,
            name=str(deployment.resolve(props["Name"])) if props.get("Name") else deployment.physical_id(logical_id),
            arn=deployment.attribute(logical_id, "Arn"),
            expression=str(expression),
            interval_seconds=interval,
            targets=tuple(targets),
        )


def _lambda_target(deployment: Deployment, rule_id: str, target: dict[str, Any]) -> ScheduleTarget | None:
    target_id = str(target.get("Id", "?"))
    arn = deployment.resolve(target.get("Arn"))
    if not isinstance(arn, str) or ":lambda:" not in arn or ":function:" not in arn:
        logger.info("%s: target %s (%s) is not a Lambda function; not run locally", rule_id, target_id, arn)
        return None
    if target.get("InputPath") or target.get("InputTransformer"):
        logger.warning("%s: target %s uses InputPath/InputTransformer, not supported locally; skipped", rule_id, target_id)
        return None
    constant = target.get("Input")
    return ScheduleTarget(
        id=target_id,
        function_name=arn.split(":")[6],  # arn:aws:lambda:region:account:function:name[:qualifier]
        input=str(deployment.resolve(constant)) if constant is not None else None,
    )


def scheduled_event(rule: ScheduledRule, at: datetime | None = None) -> dict[str, Any]:
    """EventBridge's event for one run of a scheduled rule."""
    at = at or datetime.now(UTC)
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": ACCOUNT_ID,
        "time": at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": REGION,
        "resources": [rule.arn],
        "detail": {},
    }


@dataclass
class Invocation:
    """What one run of one target did."""

    rule: str  # logical id
    target: str
    function_name: str
    event: Any
    ok: bool
    response: Any = None
    error: str | None = None  # "ErrorType: message" when it raised
    started: float = 0.0  # time.monotonic() when the invocation began
    tick: float = 0.0  # the scheduler's clock when the run it belongs to began (runs are >= one interval apart)


class Scheduler(BackgroundLoop):
    """Runs every scheduled rule of a deployment against the local runtime.

    Use `run_once()` in tests, `start()`/`stop()` in a running local stack.
    """

    thread_name = "scheduler"

    def __init__(
        self,
        deployment: Deployment,
        runtime: Any,
        interval: float | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if interval is not None and interval <= 0:
            raise ValueError(f"interval must be positive, not {interval}")
        self.deployment = deployment
        self.runtime = runtime
        self.interval = interval
        self._clock = clock
        self.rules: dict[str, ScheduledRule] = {}
        self.history: deque[Invocation] = deque(maxlen=HISTORY_SIZE)
        self._failures_in_a_row: dict[tuple[str, str], int] = {}
        self._next_due: dict[str, float] = {}
        self._lock = threading.RLock()  # run_once and the thread never interleave
        super().__init__()
        known = getattr(runtime, "functions", {})
        for logical_id in deployment.resources_of_type(RULE_TYPE):
            try:
                rule = ScheduledRule.from_template(deployment, logical_id)
            except UnresolvableIntrinsic as exc:
                logger.error("%s: cannot resolve the rule (%s); not scheduled", logical_id, exc)
                continue
            if rule is None:
                continue
            if self.interval_of(rule) is None:
                logger.warning("%s: %s has no local interval (metadata %s); not run locally",
                               logical_id, rule.expression, LOCAL_INTERVAL_METADATA)
                continue
            missing = [t.function_name for t in rule.targets if t.function_name not in known]
            for name in missing:
                logger.error("%s: function %s is not in the runtime; target not run", logical_id, name)
            rule = replace(rule, targets=tuple(t for t in rule.targets if t.function_name in known))
            if rule.targets:
                self.rules[logical_id] = rule

    def interval_of(self, rule: ScheduledRule) -> float | None:
        return self.interval if self.interval is not None else rule.interval_seconds

    # -- running ----------------------------------------------------------------------------
    def run_once(self) -> list[Invocation]:
        """Run every rule now (synchronously); each is next due one interval from now."""
        with self._lock:
            now = self._clock()
            invocations = []
            for logical_id in self.rules:
                invocations.extend(self._run_rule(logical_id, now))
            return invocations

    def run_due(self, now: float | None = None) -> list[Invocation]:
        """Run the rules that are due at `now` (default: the clock)."""
        with self._lock:
            now = self._clock() if now is None else now
            invocations = []
            for logical_id in self.rules:
                if self._next_due.setdefault(logical_id, now + self._interval(logical_id)) <= now:
                    invocations.extend(self._run_rule(logical_id, now))
            return invocations

    def _interval(self, logical_id: str) -> float:
        interval = self.interval_of(self.rules[logical_id])
        assert interval is not None  # rules without one are never kept
        return interval

    def _run_rule(self, logical_id: str, now: float) -> list[Invocation]:
        rule = self.rules[logical_id]
        self._next_due[logical_id] = now + self._interval(logical_id)
        event = scheduled_event(rule)
        return [self._invoke(rule, target, event, now) for target in rule.targets]

    def _invoke(self, rule: ScheduledRule, target: ScheduleTarget, event: dict[str, Any], tick: float) -> Invocation:
        payload = json.loads(target.input) if target.input is not None else copy.deepcopy(event)
        key = (rule.logical_id, target.id)
        started = time.monotonic()
        try:
            response = self.runtime.invoke(target.function_name, payload, request_id=str(uuid.uuid4()))
        except Exception as exc:  # logged and recorded; the next tick runs it again
            failures = self._failures_in_a_row[key] = self._failures_in_a_row.get(key, 0) + 1
            message = f"{type(exc).__name__}: {exc}"
            if failures == 1:
                logger.warning("%s: %s failed; it runs again on the next tick", rule.logical_id, target.function_name,
                               exc_info=True)
            else:
                logger.warning("%s: %s failed again (%d in a row): %s", rule.logical_id, target.function_name,
                               failures, message)
            invocation = Invocation(rule.logical_id, target.id, target.function_name, payload, ok=False, error=message,
                                    started=started, tick=tick)
        else:
            if self._failures_in_a_row.pop(key, 0):
                logger.info("%s: %s succeeded again", rule.logical_id, target.function_name)
            invocation = Invocation(rule.logical_id, target.id, target.function_name, payload, ok=True, response=response,
                                    started=started, tick=tick)
        self.history.append(invocation)
        return invocation

    # -- background (local.background.BackgroundLoop) ------------------------------------------
    def _on_start(self) -> None:
        with self._lock:
            now = self._clock()
            self._next_due = {logical_id: now + self._interval(logical_id) for logical_id in self.rules}

    def tick(self) -> None:
        self.run_due()

    def seconds_until_next_tick(self) -> float:
        with self._lock:
            next_due = min(self._next_due.values(), default=self._clock() + 1.0)
        # Wake at the next due time (at most a second away, so run_once() moving it is noticed).
        return min(max(next_due - self._clock(), 0.0), 1.0)
