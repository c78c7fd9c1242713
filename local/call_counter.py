"""Count the DynamoDB calls the in-process moto server answers (tests and benchmarks).

    with count_dynamodb_calls(mentioning="01JC...") as calls:
        requests.get(page_url)
    assert calls == Counter()      # e.g. {"BatchGetItem": 1}

`mentioning` keeps only requests whose body contains one of the given strings (a product's ULID
is in its item key and in all of its SKU ids), so the local stack's background workers (the TTL
sweeper's Scans, the hold sweeper, other stream consumers) do not blur what one request did.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


@contextmanager
def count_dynamodb_calls(mentioning: str | tuple[str, ...] = ()) -> Iterator[Counter]:
    from moto.dynamodb.responses import DynamoHandler

    needles = (mentioning,) if isinstance(mentioning, str) else tuple(mentioning)
    calls: Counter = Counter()
    lock = threading.Lock()
    original = DynamoHandler.call_action

    def counting(self: Any) -> Any:
        body = self.body.decode("utf-8", "replace") if isinstance(self.body, bytes) else str(self.body or "")
        if not needles or any(needle in body for needle in needles):
            operation = self.headers.get("X-Amz-Target", "").rsplit(".", 1)[-1]
            with lock:
                calls[operation] += 1
        return original(self)

    DynamoHandler.call_action = counting  # type: ignore[method-assign]
    try:
        yield calls
    finally:
        DynamoHandler.call_action = original  # type: ignore[method-assign]
