"""Handlers in worker processes, moto in the stack's process (ADR 0036; off unless
`LOCAL_LAMBDA_WORKERS` > 0).

The stack is one GIL-bound process. A handler's own Python work (powertools, pydantic, the
business logic, botocore building and parsing every AWS call) is about half of what a request
costs it, and Lambda runs it in other processes anyway. With workers on:

- `LambdaRuntime.invoke` sends (function, event, request id) to the least busy worker process,
  which runs the handler on a thread with its own instance of the module, exactly as the
  in-process runtime does (local.lambda_runtime), and sends back its result or its error;
- the worker's botocore clients send each AWS request (the wire request botocore built: method,
  URL, headers, body) back over the same connection; the stack's process answers it with moto's
  own botocore stubber (the in-process path of ADR 0029: same parsing, patches, lock, metering
  and backends) and the worker's botocore parses the answer. No HTTP server on either side.

So handlers keep calling AWS through boto3, moto keeps one set of backends, and what moves out of
the stack's process is the client half of every call plus the handler itself. Everything that
is AWS's machinery (gateway, authorizer, stream and queue pollers, Step Functions, TTL) stays.
"""

from __future__ import annotations

import io
import itertools
import logging
import os
import secrets
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)
ROOT = Path(__file__).resolve().parent.parent
START_TIMEOUT_SECONDS = 60
THREADS_PER_WORKER = 64  # concurrent invocations per worker (handlers mostly wait on AWS calls)


class RemoteHandlerError(Exception):
    """An exception a handler raised in a worker: its type's name, message and stack trace."""

    remote_trace: list[str]


def _remote_error(type_name: str, message: str, trace: list[str]) -> RemoteHandlerError:
    # Callers report `type(exc).__name__` (the Lambda error envelope's errorType): keep the original's.
    cls = type(type_name, (RemoteHandlerError,), {})
    error = cls(message)
    error.remote_trace = trace
    return error


class _Worker:
    def __init__(self, index: int, process: subprocess.Popen, connection: Any, answer_aws: Any) -> None:
        self.index = index
        self.process = process
        self.connection = connection
        self.outstanding: dict[int, Future] = {}
        self.send_lock = threading.Lock()
        self.answer_aws = answer_aws
        self.alive = True
        self.served = 0  # invocations answered (tests, benchmarks)
        self.reader = threading.Thread(target=self._read, name=f"lambda-worker-{index}-reader", daemon=True)
        self.reader.start()

    def send(self, message: tuple) -> None:
        with self.send_lock:
            self.connection.send(message)

    def _read(self) -> None:
        try:
            while True:
                message = self.connection.recv()
                kind = message[0]
                if kind == "result":
                    _, call_id, ok, payload = message
                    future = self.outstanding.pop(call_id, None)
                    if future is None:
                        continue
                    self.served += 1
                    if ok:
                        future.set_result(payload)
                    else:
                        future.set_exception(_remote_error(*payload))
                elif kind == "aws":
                    self.answer_aws(self, message)
        except (EOFError, OSError):
            pass
        finally:
            self.alive = False
            for future in list(self.outstanding.values()):
                if not future.done():
                    future.set_exception(RuntimeError(f"lambda worker {self.index} exited"))
            self.outstanding.clear()


class LambdaWorkerPool:
    """N worker processes serving the functions the runtime knew when the pool started."""

    def __init__(self, size: int, functions: dict[str, Any], environment: dict[str, str]) -> None:
        self.size = size
        self.functions = dict(functions)
        self.environment = dict(environment)
        self.workers: list[_Worker] = []
        self.ready = threading.Event()
        self._ids = itertools.count()
        self._aws = ThreadPoolExecutor(max_workers=THREADS_PER_WORKER * size, thread_name_prefix="lambda-worker-aws")
        self._directory = tempfile.mkdtemp(prefix="lambda-workers-")
        self._stopped = False
        self._stopping = threading.Event()

    # -- start and stop ---------------------------------------------------------------------------
    def start(self) -> LambdaWorkerPool:
        """Spawn the workers (in the background: until they are up, invocations run in-process)."""
        threading.Thread(target=self._start, name="lambda-workers-start", daemon=True).start()
        return self

    def _start(self) -> None:
        from multiprocessing.connection import Listener

        from local.services import _die_with_parent

        authkey = secrets.token_bytes(16)
        address = os.path.join(self._directory, "socket")
        started = time.perf_counter()
        try:
            with Listener(address, family="AF_UNIX", authkey=authkey) as listener:
                # A worker that never connects (it died importing) must not hang the start:
                # closing the listener makes accept() raise.
                watchdog = threading.Timer(START_TIMEOUT_SECONDS, listener.close)
                watchdog.daemon = True
                watchdog.start()
                processes = [
                    subprocess.Popen(
                        [sys.executable, "-m", "local.lambda_workers", address, authkey.hex(), str(index)],
                        cwd=ROOT, env=self.environment, preexec_fn=_die_with_parent,
                    )
                    for index in range(self.size)
                ]
                connections: dict[int, Any] = {}
                while len(connections) < self.size and not self._stopped:
                    connection = listener.accept()
                    index = connection.recv()  # the worker says which one it is
                    connection.send((self.functions, self.environment))
                    connections[index] = connection
                for index in sorted(connections):
                    message = connections[index].recv()
                    assert message == ("ready",), message
                    self.workers.append(_Worker(index, processes[index], connections[index], self._answer_aws))
                watchdog.cancel()
        except Exception:  # noqa: BLE001 - the stack keeps working in-process
            log.exception("lambda workers did not start; handlers keep running in the stack's process")
            return
        self.ready.set()
        log.info("%d lambda worker processes up in %.1f s", self.size, time.perf_counter() - started)
        # PR_SET_PDEATHSIG fires when the *thread* that spawned a worker ends: this one stays.
        self._stopping.wait()

    def stop(self) -> None:
        self._stopped = True
        self._stopping.set()
        self.ready.clear()
        for worker in self.workers:
            try:
                worker.send(("stop",))
            except OSError:
                pass
        for worker in self.workers:
            try:
                worker.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                worker.process.kill()
        self._aws.shutdown(wait=False, cancel_futures=True)

    # -- invocations ------------------------------------------------------------------------------
    def serves(self, function_name: str) -> bool:
        return self.ready.is_set() and function_name in self.functions and any(w.alive for w in self.workers)

    def invoke(self, function_name: str, event: Any, request_id: str) -> Any:
        worker = min((w for w in self.workers if w.alive), key=lambda w: len(w.outstanding))
        call_id = next(self._ids)
        future: Future = Future()
        worker.outstanding[call_id] = future
        worker.send(("invoke", call_id, function_name, event, request_id))
        return future.result(timeout=self.functions[function_name].timeout + 60)

    def _answer_aws(self, worker: _Worker, message: tuple) -> None:
        self._aws.submit(self._dispatch_aws, worker, message)

    @staticmethod
    def _dispatch_aws(worker: _Worker, message: tuple) -> None:
        _, request_id, method, url, headers, body = message
        try:
            status, response_headers, response_body = _moto_answer(method, url, headers, body)
        except Exception as exc:  # noqa: BLE001 - the worker's botocore sees a 500 with the reason
            log.exception("moto raised on a worker's %s %s", method, url)
            status, response_headers, response_body = 500, {}, f"{type(exc).__name__}: {exc}".encode()
        try:
            worker.send(("aws-reply", request_id, status, response_headers, response_body))
        except OSError:
            pass


def _moto_answer(method: str, url: str, headers: list[tuple[str, str]], body: bytes | None) -> tuple[int, dict, bytes]:
    from botocore.awsrequest import AWSPreparedRequest
    from botocore.compat import HTTPHeaders
    from moto.core.models import botocore_stubber

    http_headers = HTTPHeaders()
    for key, value in headers:
        http_headers[key] = value
    request = AWSPreparedRequest(method=method, url=url, headers=http_headers, body=body, stream_output=False)
    answer = botocore_stubber.process_request(request)
    if answer is None:
        return 501, {}, f"moto does not serve {url}".encode()
    status, response_headers, response_body = answer
    if isinstance(response_body, str):
        response_body = response_body.encode()
    return status, dict(response_headers), bytes(response_body or b"")


# -- the worker process ----------------------------------------------------------------------------


class _RawResponse(io.BytesIO):
    """What botocore reads an AWSResponse's body from."""

    def stream(self, **_: Any) -> Any:
        contents = self.read()
        while contents:
            yield contents
            contents = self.read()


class _AwsForwarder:
    """A botocore `before-send` handler: the request goes to the stack's process, which answers it."""

    def __init__(self, send: Any) -> None:
        self._send = send
        self._ids = itertools.count()
        self._waiting: dict[int, tuple[threading.Event, list]] = {}

    def __call__(self, request: Any, **_: Any) -> Any:
        from urllib.parse import urlsplit

        if not (urlsplit(request.url).hostname or "").endswith("amazonaws.com"):
            return None  # an explicit endpoint: botocore sends it itself
        body = request.body
        if hasattr(body, "read"):
            body = body.read()
        if isinstance(body, str):
            body = body.encode()
        request_id = next(self._ids)
        done, answer = threading.Event(), []
        self._waiting[request_id] = (done, answer)
        self._send(("aws", request_id, request.method, request.url, list(request.headers.items()), body))
        done.wait()
        status, headers, content = answer[0]
        from botocore.awsrequest import AWSResponse

        return AWSResponse(request.url, status, headers, _RawResponse(content))

    def answered(self, request_id: int, status: int, headers: dict, body: bytes) -> None:
        done, answer = self._waiting.pop(request_id)
        answer.append((status, headers, body))
        done.set()


def _serve(address: str, authkey: bytes, index: int) -> None:
    from multiprocessing.connection import Client

    connection = Client(address, family="AF_UNIX", authkey=authkey)
    connection.send(index)
    functions, environment = connection.recv()
    os.environ.clear()
    os.environ.update(environment)
    send_lock = threading.Lock()

    def send(message: tuple) -> None:
        with send_lock:
            connection.send(message)

    # Before any client exists: every botocore session copies BUILTIN_HANDLERS when it is made.
    from botocore.handlers import BUILTIN_HANDLERS

    forwarder = _AwsForwarder(send)
    BUILTIN_HANDLERS.append(("before-send", forwarder))

    from local.lambda_runtime import LambdaRuntime

    runtime = LambdaRuntime(functions)
    pool = ThreadPoolExecutor(max_workers=THREADS_PER_WORKER, thread_name_prefix="handler")

    def run(call_id: int, function_name: str, event: Any, request_id: str) -> None:
        try:
            result = runtime.invoke(function_name, event, request_id=request_id)
        except Exception as exc:  # noqa: BLE001 - the stack's process reports it as Lambda would
            send(("result", call_id, False, (type(exc).__name__, str(exc), traceback.format_exception(exc))))
            return
        try:
            send(("result", call_id, True, result))
        except Exception as exc:  # noqa: BLE001 - e.g. a result that does not pickle
            send(("result", call_id, False, (type(exc).__name__, str(exc), traceback.format_exception(exc))))

    import gc

    gc.freeze()  # as the stack's process does once up (local.stack._settle_garbage_collector)
    gc.set_threshold(20_000, 20, 20)
    send(("ready",))
    while True:
        try:
            message = connection.recv()
        except (EOFError, OSError):
            return
        kind = message[0]
        if kind == "aws-reply":
            forwarder.answered(*message[1:])
        elif kind == "invoke":
            pool.submit(run, *message[1:])
        elif kind == "stop":
            return


if __name__ == "__main__":
    _serve(sys.argv[1], bytes.fromhex(sys.argv[2]), int(sys.argv[3]))
