"""`python -m local`: run the local stack until Ctrl-C (this is what `make run` does)."""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
import time


def _write_state(stack) -> None:
    """Where the running stack's parts are, for `python -m local.token` and other tools."""
    import json

    from local.stack import DEFAULT_DEMO_PASSWORD
    from local.token import STATE_FILE

    STATE_FILE.parent.mkdir(parents=True, exist_ok=True)
    STATE_FILE.write_text(json.dumps({
        "url": stack.url, "moto": stack.moto.endpoint, "search": stack.search.url, "cache": stack.cache.url,
        "user_pool_id": stack.user_pool_id, "user_pool_client_id": stack.user_pool_client_id,
        "demo_password_default": DEFAULT_DEMO_PASSWORD,
    }, indent=2))


def _interrupt(*_: object) -> None:
    raise KeyboardInterrupt


def main() -> int:
    logging.basicConfig(level=os.environ.get("LOG_LEVEL", "WARNING"), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    # Transport chatter the code handles itself: opensearch-py logs every 4xx it raises (the
    # first index's alias lookup is a 404, a lost index-creation race a 400) and urllib3 every
    # connection its pool of 10 cannot keep while the demo catalog seeds from many threads. The
    # callers catch and report what matters; on the console these read like failures.
    for chatty in ("opensearch", "urllib3.connectionpool"):
        logging.getLogger(chatty).setLevel(logging.ERROR)
    from local.stack import LocalStack, StartupError

    port = int(os.environ.get("PORT", "3000"))
    started = time.perf_counter()
    print("starting the local stack (moto, search, cache, the synthesized CDK template)...", flush=True)
    # LOCAL_SEED_IN_BACKGROUND=0: wait for the whole demo catalog before "ready" (ADR 0033).
    in_background = os.environ.get("LOCAL_SEED_IN_BACKGROUND", "1") != "0"
    count = int(os.environ["DEMO_PRODUCTS"]) if os.environ.get("DEMO_PRODUCTS") else None  # default: all 204
    stack = LocalStack(port=port, progress=lambda message: print(message, flush=True), seed_in_background=in_background,
                       demo_product_count=count)
    # Ctrl-C or SIGTERM during start-up must also stop what has started.
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        stack.start()
    except KeyboardInterrupt:
        print("\ninterrupted while starting; stopping...", file=sys.stderr)
        stack.stop()
        return 130
    except StartupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    elapsed = time.perf_counter() - started
    from local.seed import DEMO_USERS

    print(f"\nLocal stack ready in {elapsed:.1f} s: {stack.url}/api/v1/categories")
    if not stack.catalog_seeded.is_set():
        print(f"  ready; seeding {stack.products_to_seed} more products in the background (a line says when it is done)")
    print(f"  moto (AWS APIs)   {stack.moto.endpoint}")
    print(f"  OpenSearch        {stack.search.url}")
    print(f"  cache             {stack.cache.url}")
    for rule in stack.scheduler.rules.values():
        targets = ", ".join(target.function_name for target in rule.targets)
        print(f"  scheduled         {targets} every {stack.scheduler.interval_of(rule):g} s ({rule.expression} in AWS)")
    print(f"  Cognito pool      {stack.user_pool_id} (app client {stack.user_pool_client_id})")
    print("  demo accounts (password from DEMO_PASSWORD, default in README):")
    for email, role in DEMO_USERS:
        print(f"    {role:<9} {email}")
    print(f"  admin sign-in: {DEMO_USERS[0][0]} / {stack.demo_password}")
    print("  a token for curl: TOKEN=$(.venv/bin/python -m local.token admin@example.com)")
    print("Ctrl-C stops everything.", flush=True)
    _write_state(stack)

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    print("\nstopping...", flush=True)
    stack.stop()
    from local.token import STATE_FILE

    STATE_FILE.unlink(missing_ok=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
