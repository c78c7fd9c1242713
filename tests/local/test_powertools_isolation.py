"""Concurrent invocations in one process never see each other's event or log keys."""

from __future__ import annotations

import io
import json
import logging
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


def test_each_thread_logs_its_own_lambda_context_keys():
    # GIVEN two in-process "functions" that log through one service's Logger (one shared formatter)
    isolate_powertools_requests()
    from aws_lambda_powertools import Logger

    stream = io.StringIO()
    logger = Logger(service="isolation-test", logger_handler=logging.StreamHandler(stream))
    appended = threading.Barrier(2)

    def invoke(function_name: str) -> None:
        logger.append_keys(function_name=function_name, correlation_id=f"{function_name}-request")
        appended.wait()  # both threads have appended their keys before either logs
        logger.info("handled")

    # WHEN they run at once on two threads
    threads = [threading.Thread(target=invoke, args=(name,)) for name in ("Api", "StreamConsumer")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # THEN each line names its own function and correlation id, not the one that appended last
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert sorted((line["function_name"], line["correlation_id"]) for line in lines) == [
        ("Api", "Api-request"), ("StreamConsumer", "StreamConsumer-request")]
    # AND a new thread starts from the formatter's own keys, without another invocation's
    fresh: dict = {}
    reader = threading.Thread(target=lambda: fresh.update(logger.get_current_keys()))
    reader.start()
    reader.join()
    assert fresh["service"] == "isolation-test" and "function_name" not in fresh
