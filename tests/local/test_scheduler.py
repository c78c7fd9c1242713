"""EventBridge scheduled rules on the local stack: local.scheduler.Scheduler invokes the rules'
Lambda targets through the local runtime, on the rule's local interval, with EventBridge's event."""

from __future__ import annotations

import logging
import re
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from local.cfn import Deployment
from local.lambda_runtime import LambdaRuntime
from local.scheduler import LOCAL_INTERVAL_METADATA, Scheduler, rate_seconds
from tests.fixtures import scheduled_jobs as jobs
from tests.support.cdk import synth_template

RECORDER_INTERVAL = 0.25  # binary fractions: exact sums with the fake clock below
FLAKY_INTERVAL = 0.5


class _Factory:
    """What infra/schedules.py needs of infra/functions.FunctionFactory: create()."""

    def __init__(self, stack: Any) -> None:
        self.stack = stack

    def create(self, construct_id: str, handler: str, *_: Any, **__: Any) -> Any:
        from aws_cdk import aws_lambda as lambda_

        return lambda_.Function(
            self.stack, construct_id, runtime=lambda_.Runtime.PYTHON_3_12, handler=handler, code=lambda_.Code.from_inline("#")
        )


def _build(stack: Any) -> None:
    import aws_cdk as cdk
    from aws_cdk import aws_events as events
    from aws_cdk import aws_events_targets as targets
    from aws_cdk import aws_sqs as sqs

    from infra.schedules import add_scheduled_job
    from infra.topology import ScheduledJob

    # Two jobs built exactly as the real app builds them (rule, metadata, DLQs)...
    factory = _Factory(stack)
    _, recorder, _ = add_scheduled_job(
        stack,
        ScheduledJob(id="Recorder", handler="tests.fixtures.scheduled_jobs.recording_job", local_interval_seconds=RECORDER_INTERVAL),
        factory,
    )
    add_scheduled_job(
        stack,
        ScheduledJob(id="Flaky", handler="tests.fixtures.scheduled_jobs.flaky_job", rate_minutes=5, local_interval_seconds=FLAKY_INTERVAL),
        factory,
    )
    # ... and rules the scheduler must read without metadata, or leave alone
    hourly = targets.LambdaFunction(recorder, event=events.RuleTargetInput.from_object({"task": "hourly"}))
    events.Rule(stack, "Hourly", schedule=events.Schedule.rate(cdk.Duration.hours(1)), targets=[hourly])
    events.Rule(stack, "Nightly", schedule=events.Schedule.cron(hour="3", minute="0"), targets=[targets.LambdaFunction(recorder)])
    events.Rule(stack, "Disabled", enabled=False, schedule=events.Schedule.rate(cdk.Duration.minutes(1)),
                targets=[targets.LambdaFunction(recorder)])
    events.Rule(stack, "Pattern", event_pattern=events.EventPattern(source=["shop.orders"]), targets=[targets.LambdaFunction(recorder)])
    events.Rule(stack, "ToQueue", schedule=events.Schedule.rate(cdk.Duration.minutes(1)),
                targets=[targets.SqsQueue(sqs.Queue(stack, "Queue"))])


class FakeClock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def deployment() -> Deployment:
    return Deployment(synth_template(_build, stack_name="SchedulerTestStack"))


@pytest.fixture(scope="module")
def runtime(deployment: Deployment) -> LambdaRuntime:
    return LambdaRuntime(deployment.functions())


@pytest.fixture(autouse=True)
def clean_jobs() -> Any:
    jobs.reset()
    yield
    jobs.reset()


def _rule_id(deployment: Deployment, prefix: str) -> str:
    [logical_id] = [lid for lid in deployment.resources_of_type("AWS::Events::Rule") if lid.startswith(prefix)]
    return logical_id


def _function(deployment: Deployment, prefix: str) -> str:
    [logical_id] = [lid for lid in deployment.functions() if lid.startswith(prefix)]
    return logical_id


def test_scheduled_rules_and_their_lambda_targets_are_read_from_the_template(deployment: Deployment, runtime: LambdaRuntime) -> None:
    # GIVEN a template with two project jobs, an hourly and a nightly (cron) rule, a disabled
    # rule, an event-pattern rule and a schedule that targets a queue
    # WHEN a scheduler is made for it
    scheduler = Scheduler(deployment, runtime)

    # THEN it runs the two jobs (at their metadata intervals) and the hourly rule (at its rate) ...
    recorder_rule, flaky_rule, hourly_rule = (_rule_id(deployment, p) for p in ("RecorderSchedule", "FlakySchedule", "Hourly"))
    assert set(scheduler.rules) == {recorder_rule, flaky_rule, hourly_rule}
    intervals = {lid: scheduler.interval_of(rule) for lid, rule in scheduler.rules.items()}
    assert intervals == {recorder_rule: RECORDER_INTERVAL, flaky_rule: FLAKY_INTERVAL, hourly_rule: 3600}
    # ... invoking the right functions, named as the runtime names them
    assert [t.function_name for t in scheduler.rules[recorder_rule].targets] == [_function(deployment, "Recorder")]
    assert [t.function_name for t in scheduler.rules[flaky_rule].targets] == [_function(deployment, "Flaky")]
    assert scheduler.rules[flaky_rule].expression == "rate(5 minutes)"
    assert scheduler.rules[recorder_rule].arn == f"arn:aws:events:us-east-1:123456789012:rule/{recorder_rule}"
    # AND the metadata key is the one infra/schedules.py writes
    from infra.schedules import LOCAL_INTERVAL_METADATA as WRITTEN_BY_CDK

    assert LOCAL_INTERVAL_METADATA == WRITTEN_BY_CDK
    assert deployment.resources[recorder_rule]["Metadata"][LOCAL_INTERVAL_METADATA] == RECORDER_INTERVAL


@pytest.mark.parametrize(
    "expression,seconds",
    [("rate(1 minute)", 60), ("rate(5 minutes)", 300), ("rate(2 hours)", 7200), ("rate(1 day)", 86400),
     ("cron(0 3 * * ? *)", None), ("rate(1 fortnight)", None)],
)
def test_rate_expressions_give_the_interval(expression: str, seconds: int | None) -> None:
    # GIVEN a schedule expression  WHEN its period is read  THEN rates are understood, cron is not
    assert rate_seconds(expression) == seconds


def test_run_once_invokes_each_target_with_eventbridges_scheduled_event(deployment: Deployment, runtime: LambdaRuntime) -> None:
    # GIVEN a scheduler over the template
    scheduler = Scheduler(deployment, runtime)
    recorder_rule = _rule_id(deployment, "RecorderSchedule")
    recorder = _function(deployment, "Recorder")

    # WHEN every rule is run once
    before = time.time()
    invocations = scheduler.run_once()

    # THEN every target ran once, successfully
    assert sorted((i.rule, i.ok) for i in invocations) == sorted((lid, True) for lid in scheduler.rules)
    # AND the job's function got the scheduled event, shaped like EventBridge's (the hourly rule,
    # which targets the same function with a constant input, is checked below)
    hourly_input = {"task": "hourly"}
    [event] = [e for e in jobs.INVOCATIONS[recorder] if e != hourly_input]
    assert set(event) == {"version", "id", "detail-type", "source", "account", "time", "region", "resources", "detail"}
    assert event["detail-type"] == "Scheduled Event"
    assert event["source"] == "aws.events"
    assert event["version"] == "0" and event["detail"] == {}
    assert (event["account"], event["region"]) == ("123456789012", "us-east-1")
    assert event["resources"] == [f"arn:aws:events:us-east-1:123456789012:rule/{recorder_rule}"]
    assert uuid.UUID(event["id"])
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", event["time"])
    at = datetime.strptime(event["time"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp()
    assert before - 1 <= at <= time.time()
    # AND a target with a constant Input got that input instead of the event, as in EventBridge
    assert jobs.INVOCATIONS[recorder].count(hourly_input) == 1


def test_each_rule_runs_when_its_own_interval_has_passed(deployment: Deployment, runtime: LambdaRuntime) -> None:
    # GIVEN a scheduler on a clock that only moves when the test says so
    clock = FakeClock(1000.0)
    scheduler = Scheduler(deployment, runtime, clock=clock)
    recorder, flaky = _function(deployment, "Recorder"), _function(deployment, "Flaky")

    def ran_at(now: float) -> list[str]:
        clock.now = now
        return sorted(invocation.function_name for invocation in scheduler.run_due())

    # WHEN time passes, tick by tick
    # THEN nothing runs before one interval has passed ...
    assert ran_at(1000.0) == []
    assert ran_at(1000.125) == []
    # ... the recorder runs every 0.25 s, the flaky job every 0.5 s, the hourly rule not yet
    assert ran_at(1000.25) == [recorder]
    assert ran_at(1000.375) == []
    assert ran_at(1000.5) == sorted([recorder, flaky])
    assert ran_at(1000.75) == [recorder]
    # AND a late tick runs a due rule once (no burst of missed runs), then counts from then
    assert ran_at(1010.0) == sorted([recorder, flaky])
    assert ran_at(1010.125) == []
    # AND the hourly rule runs an hour after the start, with its constant input
    assert ran_at(4600.0) == sorted([recorder, recorder, flaky])
    assert jobs.INVOCATIONS[recorder].count({"task": "hourly"}) == 1
    assert len(jobs.INVOCATIONS[flaky]) == 3  # at 1000.5, 1010 and 4600


def test_an_interval_given_to_the_scheduler_overrides_every_rules(deployment: Deployment, runtime: LambdaRuntime) -> None:
    # GIVEN a scheduler told to run everything every 2 s
    clock = FakeClock(0.0)
    scheduler = Scheduler(deployment, runtime, interval=2.0, clock=clock)

    # WHEN its rules' intervals are read and time passes
    intervals = {scheduler.interval_of(rule) for rule in scheduler.rules.values()}
    scheduler.run_due()
    clock.now = 2.0
    ran = scheduler.run_due()

    # THEN every rule (the hourly one, and the cron one that has no local interval otherwise) runs every 2 s
    assert intervals == {2.0}
    assert _rule_id(deployment, "Nightly") in scheduler.rules
    assert {invocation.rule for invocation in ran} == set(scheduler.rules)


def test_a_failing_function_is_logged_and_runs_again_on_the_next_tick(
    deployment: Deployment, runtime: LambdaRuntime, caplog: pytest.LogCaptureFixture
) -> None:
    # GIVEN a job whose function fails twice, next to a healthy job, on one tick interval
    clock = FakeClock(0.0)
    scheduler = Scheduler(deployment, runtime, interval=1.0, clock=clock)
    flaky, recorder = _function(deployment, "Flaky"), _function(deployment, "Recorder")
    jobs.FAILURES[flaky] = 2
    scheduler.run_due()  # the first tick is one interval away

    def tick() -> dict[str, Any]:
        clock.now += 1.0
        return {invocation.function_name: invocation for invocation in scheduler.run_due()}

    # WHEN the scheduler ticks three times
    with caplog.at_level(logging.WARNING, logger="local.scheduler"):
        first, second, third = tick(), tick(), tick()

    # THEN the failures are recorded with their error, and the healthy job ran on every tick
    assert (first[flaky].ok, second[flaky].ok, third[flaky].ok) == (False, False, True)
    assert first[flaky].error == f"JobFailed: {flaky} told to fail"
    assert all(t[recorder].ok for t in (first, second, third))
    # AND the failed job was not retried at once: once per tick, so three calls in all
    assert len(jobs.INVOCATIONS[flaky]) == 3
    # (the recorder is also the target of the hourly and the cron rule, which the override runs too)
    recorder_rules = [rule for rule in scheduler.rules.values() if rule.targets[0].function_name == recorder]
    assert len(recorder_rules) == 3
    assert len(jobs.INVOCATIONS[recorder]) == 3 * len(recorder_rules)
    # AND both failures were logged: the first with its traceback, the second as a repeat
    failures = [r for r in caplog.records if flaky in r.getMessage()]
    assert len(failures) == 2
    assert failures[0].exc_info is not None and "next tick" in failures[0].getMessage()
    assert "2 in a row" in failures[1].getMessage()
    # AND the history keeps what happened
    assert [i.ok for i in scheduler.history if i.function_name == flaky] == [False, False, True]


def test_the_background_scheduler_invokes_on_time_and_survives_a_failing_function(
    deployment: Deployment, runtime: LambdaRuntime
) -> None:
    # GIVEN a running scheduler (every 0.05 s) whose flaky job always fails
    flaky, recorder = _function(deployment, "Flaky"), _function(deployment, "Recorder")
    jobs.FAILURES[flaky] = -1
    scheduler = Scheduler(deployment, runtime, interval=0.05)
    started = time.monotonic()
    scheduler.start()
    try:
        # WHEN it runs for a while
        deadline = time.monotonic() + 10
        while min(len(jobs.INVOCATIONS[recorder]), len(jobs.INVOCATIONS[flaky])) < 4 and time.monotonic() < deadline:
            time.sleep(0.01)
        thread = scheduler._thread
        # THEN both jobs keep being invoked, tick after tick, despite the failures
        assert len(jobs.INVOCATIONS[flaky]) >= 4 and len(jobs.INVOCATIONS[recorder]) >= 4
        assert thread is not None and thread.is_alive()
        # AND no run came early: the first one interval after start, each next one interval later
        # (the scheduler's own tick times: invocation durations on a busy machine do not blur them)
        ticks = [i.tick for i in scheduler.history if i.function_name == flaky]
        assert ticks[0] - started >= 0.05 - 1e-9
        assert all(later - earlier >= 0.05 - 1e-9 for earlier, later in zip(ticks, ticks[1:], strict=False)), ticks
    finally:
        scheduler.stop()

    # AND once stopped, nothing more runs
    assert scheduler._thread is None and not thread.is_alive()
    count = len(jobs.INVOCATIONS[recorder])
    time.sleep(0.2)
    assert len(jobs.INVOCATIONS[recorder]) == count



def test_the_local_stack_schedules_the_hold_sweeper_and_stands_in_for_the_cache_endpoint(local_stack: Any) -> None:
    # GIVEN the local stack, started from the real app's template
    from infra.topology import all_scheduled_jobs

    [job] = [job for job in all_scheduled_jobs() if job.id == "HoldSweeper"]
    scheduler, runtime = local_stack.scheduler, local_stack.runtime

    # WHEN its scheduler's rules are read
    [rule] = [rule for rule in scheduler.rules.values() if rule.logical_id.startswith(f"{job.id}Schedule")]

    # THEN the sweeper's rule runs every few seconds (its local interval), not every minute ...
    assert rule.expression == "rate(1 minute)"
    assert scheduler.interval_of(rule) == job.local_interval_seconds
    # ... invoking the sweeper's handler, in the background
    [target] = rule.targets
    assert runtime.functions[target.function_name].handler == job.handler
    assert scheduler._thread is not None and scheduler._thread.is_alive()
    # AND the template's cache endpoint resolved to the local cache server: the cache functions'
    # CACHE_URL is rediss://<local host>:<local port>, and the local (plain) URL overrides it
    local_cache = local_stack.cache.url.removeprefix("redis://").split("/")[0]
    [get_product] = [spec for spec in runtime.functions.values() if spec.handler == "functions.catalog.handlers.get_product.handler"]
    assert get_product.environment["CACHE_URL"] == f"rediss://{local_cache}"
    assert runtime.environment["CACHE_URL"] == local_stack.cache.url
