"""`python -m local`: run the local stack until Ctrl-C (this is what `make run` does)."""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
import time


def main() -> int:
    logging.basicConfig(level=os.environ.get("LOG_LEVEL", "WARNING"), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    from local.stack import LocalStack, StartupError

    port = int(os.environ.get("PORT", "3000"))
    started = time.perf_counter()
    stack = LocalStack(port=port)
    try:
        stack.start()
    except StartupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    elapsed = time.perf_counter() - started
    from local.seed import DEMO_USERS

    print(f"\nLocal stack ready in {elapsed:.1f} s: {stack.url}/api/v1/categories")
    print(f"  moto (AWS APIs)   {stack.moto.endpoint}")
    print(f"  OpenSearch        {stack.search.url}")
    print(f"  cache             {stack.cache.url}")
    print(f"  Cognito pool      {stack.user_pool_id} (app client {stack.user_pool_client_id})")
    print("  demo accounts (password from DEMO_PASSWORD, default in README):")
    for email, role in DEMO_USERS:
        print(f"    {role:<9} {email}")
    print(f"  admin sign-in: {DEMO_USERS[0][0]} / {stack.demo_password}")
    print("Ctrl-C stops everything.", flush=True)

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    print("\nstopping...", flush=True)
    stack.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
