"""Search: OpenSearch vs a DynamoDB Scan at 20,000 products, and update-to-search latency on the
local stack (DynamoDB stream -> poller -> indexer -> osmem-server)."""

from __future__ import annotations

import logging
import math
import os
import random
import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

PRODUCTS = 20_000
ROUNDS = 2  # a Scan of 20,000 items takes ~8 s on moto: 2 rounds keep the whole report under ~3 minutes
SEARCHES_PER_ROUND = 5  # searches are cheap: more samples, still interleaved with the scans
QUERIES = ("blue t-shirt", "headphones", "sneakers")
UPDATES = 50
POLL_SECONDS = 0.01
VISIBILITY_TIMEOUT = 15.0
TABLE = "bench-search-catalog"
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_EPOCH = datetime(2026, 1, 1, tzinfo=UTC)


# -- section 1: OpenSearch vs Scan ------------------------------------------------------------


def _ulid(number: int, salt: int = 0) -> str:
    """A deterministic ULID-shaped id (26 Crockford chars): timestamp part fixed, `number` below."""
    value = (int(_EPOCH.timestamp() * 1000) << 80) | (salt << 64) | number
    return "".join(_CROCKFORD[(value >> (5 * i)) & 31] for i in reversed(range(26)))


def _catalog_items() -> list[dict[str, Any]]:
    """20,000 product items in DynamoDB JSON, as functions/catalog/store.py writes them."""
    from functions.catalog.store import Product, Sku, product_item
    from local.demo_catalog import demo_products
    from local.seed import DEMO_CATEGORIES

    parents = {child: parent for parent, children in DEMO_CATEGORIES.items() for child in children}
    names = [*DEMO_CATEGORIES, *parents]
    ids = {name: f"cat_{_ulid(i, salt=1)}" for i, name in enumerate(names)}
    rng = random.Random(7)
    sellers = [f"00000000-0000-4000-8000-{i:012d}" for i in range(50)]
    items = []
    for index, (body, _stock) in enumerate(demo_products(ids, count=PRODUCTS, seed=42)):
        product_id = f"prd_{_ulid(index, salt=2)}"
        created = _EPOCH + timedelta(seconds=index * 37)
        leaf = next(name for name, cid in ids.items() if cid == body["category_id"])
        seller = sellers[index % len(sellers)]
        rating_count = rng.choice([0, 0, 1, 3, 12, 40])
        sort_key = f"{created.isoformat()}#{product_id}"
        item = Product(
            product_id=product_id,
            seller_id=seller,
            seller_name=f"Seller {index % len(sellers)}",
            title=body["title"],
            description=body["description"],
            brand=body["brand"],
            category_id=body["category_id"],
            category_path=[ids[parents[leaf]], body["category_id"]],
            attributes=body["attributes"],
            images=body["images"],
            skus=[
                Sku(
                    sku_id=f"sku_{_ulid(index * 16 + n, salt=3)}", options=s["options"], price=s["price"], currency=s["currency"]
                )
                for n, s in enumerate(body["skus"])
            ],
            version=1 + index % 3,
            rating_count=rating_count,
            rating_sum=sum(rng.randint(3, 5) for _ in range(rating_count)),
            created_at=created,
            updated_at=created,
            gsi1pk=f"CATEGORY#{body['category_id']}",
            gsi1sk=sort_key,
            gsi2pk=f"SELLER#{seller}",
            gsi2sk=sort_key,
        )
        items.append(product_item(item))
    return items


def _load_table(dynamodb: Any, items: list[dict[str, Any]]) -> None:
    dynamodb.create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "sk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )

    def write(chunk: list[dict[str, Any]]) -> None:
        request = {TABLE: [{"PutRequest": {"Item": item}} for item in chunk]}
        while request:
            request = dynamodb.batch_write_item(RequestItems=request).get("UnprocessedItems") or {}

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(write, [items[i : i + 25] for i in range(0, len(items), 25)]))


def _load_index(client: Any, items: list[dict[str, Any]]) -> None:
    from opensearchpy import helpers

    from functions.search import mapping
    from functions.search.documents import deserialize_image, from_item, merge_catalog

    index = mapping.ensure_index(client)
    actions = []
    for item in items:
        action = from_item(deserialize_image(item))  # the reindex path: table item -> document
        actions.append(
            {
                "_op_type": "create",  # a fresh index: what the writers do for a product without a document
                "_index": mapping.write_alias(index),
                "_id": action.product_id,
                "_source": merge_catalog(None, action, {}),  # no stock items in this benchmark
            }
        )
    indexed, errors = helpers.bulk(client, actions, chunk_size=2000, request_timeout=120, raise_on_error=True)
    assert indexed == len(items) and not errors, errors
    client.indices.refresh(index=mapping.ALIAS)


def _item_bytes(value: Any, name: str = "") -> int:
    """Approximate DynamoDB item size (the rules of the developer guide) of a DynamoDB-JSON value."""
    size = len(name.encode())
    ((kind, inner),) = value.items()
    if kind == "S":
        return size + len(inner.encode())
    if kind == "N":
        return size + (len(inner.lstrip("-").replace(".", "").strip("0")) + 1) // 2 + 1
    if kind == "M":
        return size + 3 + sum(_item_bytes(v, k) + 1 for k, v in inner.items())
    if kind == "L":
        return size + 3 + sum(_item_bytes(v) + 1 for v in inner)
    return size + 1  # BOOL, NULL


def _scan(dynamodb: Any, q: str) -> tuple[int, int, int]:
    """The naive design: Scan the whole table, FilterExpression contains(title, word) per word.
    contains() is case-sensitive, so each word is tried as typed and capitalised ("T-Shirt").
    Returns (matches, pages, items read)."""
    words = q.split()
    clauses, values = [], {}
    for n, word in enumerate(words):
        values[f":w{n}a"], values[f":w{n}b"] = {"S": word}, {"S": word.title()}
        clauses.append(f"(contains(title, :w{n}a) OR contains(title, :w{n}b))")
    request: dict[str, Any] = {"TableName": TABLE, "FilterExpression": " AND ".join(clauses), "ExpressionAttributeValues": values}
    matches = pages = read = 0
    while True:
        page = dynamodb.scan(**request)
        matches += page["Count"]
        read += page["ScannedCount"]
        pages += 1
        if "LastEvaluatedKey" not in page:
            return matches, pages, read
        request["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _reset_moto() -> None:
    """moto's state is process-wide: a stack an earlier benchmark ran in this process leaves its
    tables and items behind (a seeded stack would find its demo categories taken). Every earlier
    server is stopped by now, so start from nothing (what POST /moto-api/reset does)."""
    from moto.moto_api._internal import moto_api_backend

    moto_api_backend.reset()


def _forget_moto_items(*, collect: bool = False) -> None:
    """moto keeps every DynamoDB item object it ever made (for its dashboard), including the copy
    each Scan makes of every item it reads: 20,000 per Scan, ~50 objects each. Left alone they
    slow every later garbage collection (skewing the next measurements) and the interpreter's exit."""
    import gc

    from moto.dynamodb.models.dynamo_type import Item

    Item.instances_tracked.clear()
    if collect:
        gc.collect()


def search_vs_scan() -> str:
    import boto3
    from osmem_server import OsmemServer

    from functions.search.client import get_client, reset_clients
    from functions.search.handlers.search import run_search
    from functions.search.queries import SearchParams
    from local.moto_server import free_port, start_moto_server

    saved_env = dict(os.environ)
    _reset_moto()
    moto = start_moto_server()
    try:
        osmem = OsmemServer.start(addr=f"127.0.0.1:{free_port()}", japanese=False)
    except BaseException:
        moto.stop()
        raise
    try:
        os.environ["CATALOG_TABLE_NAME"] = TABLE
        os.environ["SEARCH_URL"] = osmem.url
        os.environ.pop("SEARCH_AUTH", None)
        reset_clients()
        dynamodb = boto3.client("dynamodb", endpoint_url=moto.endpoint)
        started = time.perf_counter()
        items = _catalog_items()
        generated = time.perf_counter()
        # osmem-server is another process: index while moto takes the writes (2 cores)
        with ThreadPoolExecutor(max_workers=1) as background:
            indexing = background.submit(_load_index, get_client(), items)
            _load_table(dynamodb, items)
            indexing.result()
        loaded = time.perf_counter()
        assert dynamodb.describe_table(TableName=TABLE)["Table"]["ItemCount"] == PRODUCTS
        _forget_moto_items()
        table_bytes = sum(sum(_item_bytes(v, k) for k, v in item.items()) for item in items)

        samples: dict[tuple[str, str], list[float]] = {(q, way): [] for q in QUERIES for way in ("search", "scan")}
        found: dict[tuple[str, str], Any] = {}
        for _ in range(ROUNDS):  # interleaved so machine noise hits both alike
            for q in QUERIES:
                for _ in range(SEARCHES_PER_ROUND):
                    t = time.perf_counter()
                    result = run_search(SearchParams(q=q, limit=20))
                    samples[(q, "search")].append((time.perf_counter() - t) * 1000)
                    assert result["items"] and result["facets"]["brand"], result
                    found[(q, "search")] = result["total"]
                t = time.perf_counter()
                found[(q, "scan")] = _scan(dynamodb, q)
                samples[(q, "scan")].append((time.perf_counter() - t) * 1000)
                _forget_moto_items()
        dynamodb.delete_table(TableName=TABLE)
    finally:
        _forget_moto_items(collect=True)
        reset_clients()
        osmem.close()
        moto.stop()
        os.environ.clear()
        os.environ.update(saved_env)

    aws_pages = -(-table_bytes // 2**20)
    rcu = -(-table_bytes // 4096) / 2  # eventually consistent: 0.5 RCU per 4 KB read
    lines = [
        f"## Search: OpenSearch vs DynamoDB Scan at {PRODUCTS:,} products "
        f"(medians of {ROUNDS * SEARCHES_PER_ROUND} searches and {ROUNDS} scans per query, interleaved)",
        "",
        f"{PRODUCTS:,} demo-catalog products (~{table_bytes / 2**20:.1f} MB of DynamoDB item data), built in "
        f"{generated - started:.1f} s, then written with BatchWriteItem (25 per call) to moto while "
        f"bulk-indexed into osmem-server: {loaded - generated:.1f} s for both. Search = `run_search`, the API's "
        "path (first page of 20, total, five facets, highlight). Scan = one Scan of the whole table with "
        "`contains(title, word)` for every word (as typed or capitalised: contains is case-sensitive), "
        "paginated to the end.",
        "",
        "| query | search ms | scan ms | scan / search | search total | scan matches | scan pages (moto) | items read |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for q in QUERIES:
        search_ms, scan_ms = statistics.median(samples[(q, "search")]), statistics.median(samples[(q, "scan")])
        matches, pages, read = found[(q, "scan")]
        lines.append(
            f"| `{q}` | {search_ms:.1f} | {scan_ms:.0f} | {scan_ms / search_ms:.0f}x | "
            f"{found[(q, 'search')]:,} | {matches:,} | {pages} | {read:,} |"
        )
    lines += [
        "",
        "The scan's milliseconds are moto's (it deep-copies every item a page reads and walks the table from "
        f"the start on every page); on AWS the same Scan is ~{aws_pages} sequential 1 MB pages and ~{rcu:,.0f} "
        "read capacity units per search, whatever it finds: its cost grows with the catalog, not the results, "
        "and it gives no ranking, facets or pages.",
        "",
        "The counts differ by design. Search needs every word to match the title, brand, description or a SKU "
        "color/size, with typo tolerance (fuzziness AUTO), stemming and synonyms (`t-shirt` = `tshirt` = `tee`, "
        "`sneakers` = `trainers` = `running shoes`): a Graphic Tee or Polo Shirt in T-Shirts whose second SKU is "
        "blue counts, and so do Running Shoes. The Scan counts only titles holding each word as a substring "
        "(`Blue` and `T-Shirt`; `Canvas Sneakers`); where the word is just in titles (`headphones`) both agree.",
    ]
    return "\n".join(lines)


# -- section 2: update -> visible in search -----------------------------------------------------


def _percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(pct / 100 * len(ordered)) - 1)]


def update_to_search() -> str:
    import uuid

    import requests

    from bench.stack import shared_stack
    from local.seed import DEMO_USERS, sign_in

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    stack = shared_stack()  # no moto reset here: the shared stack lives in the same moto
    window = next(m.maximum_batching_window for lid, m in stack.poller.mappings.items() if lid.startswith("SearchIndexer"))
    token = sign_in(stack, DEMO_USERS[1][0], stack.demo_password)["AccessToken"]
    seller = requests.Session()
    seller.headers["Authorization"] = f"Bearer {token}"
    anonymous = requests.Session()
    tree = anonymous.get(f"{stack.url}/api/v1/categories").json()["data"]
    audio = next(c for n in tree for c in n["children"] if c["name"] == "Audio")["category_id"]
    word = "zephyr" + uuid.uuid4().hex[:6]
    body = {
        "title": f"Wireless {word} Headphones",
        "brand": "Sonora",
        "category_id": audio,
        "skus": [{"options": {"color": "Blue"}, "price": 5999, "currency": "USD"}],
    }
    created = seller.post(f"{stack.url}/api/v1/products", json=body)
    assert created.status_code == 201, created.text
    product = created.json()["data"]
    pid, sku = product["product_id"], product["skus"][0]["sku_id"]
    url = f"{stack.url}/api/v1/products/{pid}"

    def visible(price: int) -> bool:
        response = anonymous.get(f"{stack.url}/api/v1/search", params={"q": word})
        assert response.status_code == 200, response.text
        return any(i["product_id"] == pid and i["price"] == price for i in response.json()["data"]["items"])

    deadline = time.monotonic() + VISIBILITY_TIMEOUT
    while not visible(5999):
        assert time.monotonic() < deadline, "the new product never showed up in search"
        time.sleep(POLL_SECONDS)

    from_sent: list[float] = []
    from_ok: list[float] = []
    put_ms: list[float] = []
    polls: list[int] = []
    for n in range(UPDATES):
        price = 4000 + n
        sent = time.perf_counter()
        response = seller.put(url, json={"skus": [{"sku_id": sku, "price": price, "currency": "USD"}]})
        ok = time.perf_counter()
        assert response.status_code == 200, response.text
        count = 1
        while not visible(price):
            assert time.perf_counter() - ok < VISIBILITY_TIMEOUT, f"update {n} never showed up in search"
            time.sleep(POLL_SECONDS)
            count += 1
        seen = time.perf_counter()
        from_sent.append((seen - sent) * 1000)
        from_ok.append((seen - ok) * 1000)
        put_ms.append((ok - sent) * 1000)
        polls.append(count)
    interval = stack.poller.interval

    def row(name: str, values: list[float]) -> str:
        return (
            f"| {name} | {statistics.median(values):.0f} | {_percentile(values, 95):.0f} | "
            f"{max(values):.0f} | {min(values):.0f} |"
        )

    return "\n".join(
        [
            f"## Update to search visibility on the local stack ({UPDATES} price updates)",
            "",
            f"`PUT /api/v1/products/{{id}}` with a new SKU price, then `GET /api/v1/search?q=<its unique word>` every "
            f"{POLL_SECONDS * 1000:.0f} ms until the result shows the new price (median {statistics.median(polls):.0f} "
            "searches per update).",
            "",
            "| ms | p50 | p95 | max | min |",
            "|---|---:|---:|---:|---:|",
            row("PUT sent -> visible", from_sent),
            row("PUT answered -> visible", from_ok),
            row("PUT itself", put_ms),
            "",
            f"The path: catalog stream -> local stream poller (every {interval:g} s) -> the search indexer's event "
            f"source mapping, which holds a partial batch for its MaximumBatchingWindowInSeconds ({window:g} s, "
            "infra/topology.py) -> one bulk request to osmem-server, searchable at once. So the floor is the window, "
            f"plus up to one poll until the record is read and the poll after the window ends (up to {interval:g} s "
            "each), plus the indexer and the search request. The batching window dominates; in AWS, Lambda's "
            "stream polling and OpenSearch's refresh interval (1 s by default) come on top.",
        ]
    )


def report() -> str:
    from bench.stack import stop_shared_stack

    # The shared stack first: search_vs_scan resets moto, which is process-wide, so it must run
    # after every benchmark that uses the shared stack, and with that stack stopped.
    update = update_to_search()
    stop_shared_stack()
    return search_vs_scan() + "\n\n" + update
