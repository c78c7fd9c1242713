"""Concurrent invocations in one process never see each other's event."""

from __future__ import annotations

import threading
import time

from local.powertools_isolation import isolate_powertools_requests


def test_each_thread_sees_its_own_current_event():
    isolate_powertools_requests()
    from aws_lambda_powertools.event_handler import APIGatewayRestResolver

    app = APIGatewayRestResolver()
    seen: dict[int, str] = {}

    @app.get("/echo/<value>")
    def echo(value: str):
        time.sleep(0.01)  # widen the window in which another thread resolves its own request
        seen[int(value)] = app.current_event.path
        return {"path": app.current_event.path}

    def call(i: int) -> None:
        event = {"path": f"/echo/{i}", "httpMethod": "GET", "resource": "/echo/{value}", "headers": {}, "requestContext": {"requestId": str(i)}}
        app.resolve(event, None)

    threads = [threading.Thread(target=call, args=(i,)) for i in range(32)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert seen == {i: f"/echo/{i}" for i in range(32)}
