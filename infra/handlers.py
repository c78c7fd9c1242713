"""Every Python handler the stack deploys, with what invokes it: the API routes, the stream
consumers, the scheduled jobs, the notification queue's consumer and the checkout saga's steps.
Benchmarks and lint-like tests walk this list, so a new kind of function is added here once;
tests/infra/test_stack.py proves it is exactly the template's functions."""

from __future__ import annotations

from infra.checkout import STEPS
from infra.notifications import SENDER_HANDLER
from infra.topology import all_routes, all_scheduled_jobs, all_stream_consumers


def deployed_handlers() -> list[tuple[str, str]]:
    """(dotted handler path, what invokes it) for every function of ours in the template."""
    return [
        *((route.handler, "route") for route in all_routes()),
        *((consumer.handler, "stream") for consumer in all_stream_consumers()),
        *((job.handler, "schedule") for job in all_scheduled_jobs()),
        (SENDER_HANDLER, "queue"),
        *((f"functions.orders.consumers.saga.{step.handler}", "saga step") for step in STEPS.values()),
    ]
