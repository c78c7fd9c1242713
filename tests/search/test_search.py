"""Search over a generated catalog on osmem-server: facets and paging checked by brute force,
text features (typos, synonyms, highlight), filters, sorts, and the HTTP handlers' contract."""

from __future__ import annotations

import copy
import json
import random
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from functions.search.client import get_client
from functions.search.documents import StockLevel, to_document
from functions.search.handlers import search as search_handler
from functions.search.handlers import suggest as suggest_handler
from functions.search.handlers.search import run_search
from functions.search.queries import PRICE_BUCKETS, SearchParams
from local.lambda_runtime import LambdaContext
from tests.search.conftest import BASE_TIME, closed_url, index_items, product, sku, use_search_url, wipe_index

ROOT = __import__("pathlib").Path(__file__).resolve().parents[2]


def cat(n: int) -> str:
    return f"cat_{n:026d}"


CLOTHING, TOPS, BOTTOMS, HOME, KITCHEN = cat(1), cat(2), cat(3), cat(4), cat(5)
PATHS = [[CLOTHING, TOPS], [CLOTHING, BOTTOMS], [CLOTHING], [HOME, KITCHEN], [HOME]]
BRANDS = ["Acme", "Globex", "Initech", "Vandelay", "Éclair"]
COLORS = ["red", "blue", "green", "black", "white"]
SIZES = ["s", "m", "l", "xl"]
NOUNS = ["Kettle", "Toaster", "Hoodie", "Umbrella", "Backpack"]  # pairwise > 2 edits apart
ADJECTIVES = ["Classic", "Modern", "Vintage", "Sporty"]


def generated_catalog(count: int = 92, seed: int = 42) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    items = []
    for _ in range(count):
        skus = []
        for _ in range(rng.randint(1, 3)):
            skus.append(sku(rng.choice(COLORS), rng.choice(SIZES + [None]), rng.randrange(300, 40000, 50)))
        ratings = rng.randint(0, 6)
        items.append(
            product(
                f"{rng.choice(ADJECTIVES)} {rng.choice(NOUNS)}",
                brand=rng.choice(BRANDS),
                category_path=rng.choice(PATHS),
                skus=skus,
                rating=(sum(rng.randint(1, 5) for _ in range(ratings)), ratings),
                created_at=BASE_TIME + timedelta(hours=rng.randint(0, 5000)),  # ties on purpose are rare but possible
            )
        )
    return items


def stock_plan(items: list[dict[str, Any]]) -> dict[str, StockLevel]:
    """What the inventory table holds for these products' SKUs ({sku_id: (available, version)}):
    by position, no SKU with a stock item, only the last SKU in stock, or every SKU sold out."""
    levels: dict[str, StockLevel] = {}
    for n, item in enumerate(items):
        sku_ids = [s["sku_id"] for s in item["skus"]]
        if n % 3 == 1:
            levels.update({sku_id: (0, 3) for sku_id in sku_ids})
            levels[sku_ids[-1]] = (4, 7)
        elif n % 3 == 2:
            levels.update({sku_id: (0, 2) for sku_id in sku_ids})
    return levels


FIXED = [
    product("Blue Cotton T-Shirt", brand="Threadly", category_path=[CLOTHING, TOPS], skus=[sku("blue", "m", 1500)], description="A soft everyday shirt"),
    product("Red Tee", brand="Threadly", category_path=[CLOTHING, TOPS], skus=[sku("red", "l", 900)]),
    product("Blue Jeans", brand="Denimo", category_path=[CLOTHING, BOTTOMS], skus=[sku("blue", "32", 4900)]),
    product("Levi's <b>Bold</b> Mug", brand="Mugsy", category_path=[HOME, KITCHEN], skus=[sku("white", None, 1200)]),
]


class Docs(list):
    """The indexed documents (a short repr keeps hypothesis' failure reports readable)."""

    def __repr__(self) -> str:
        return f"<{len(self)} indexed documents>"


@pytest.fixture(scope="module")
def catalog_docs(search_server: Any) -> Iterator[list[dict[str, Any]]]:
    """~100 generated products plus a few hand-written ones, indexed; their documents returned."""
    import os

    previous = os.environ.get("SEARCH_URL")
    use_search_url(search_server.url)
    wipe_index(get_client())
    items = generated_catalog() + FIXED
    levels = stock_plan(items)
    index_items(items, stock=levels)
    yield Docs({**to_document(item), "in_stock": any(levels.get(s["sku_id"], (0, 0))[0] > 0 for s in item["skus"])} for item in items)
    wipe_index(get_client())
    if previous is None:
        os.environ.pop("SEARCH_URL", None)
    else:
        os.environ["SEARCH_URL"] = previous


# -- brute force over the same documents --------------------------------------------------------


def _matches(doc: dict[str, Any], p: SearchParams, skip: str | None = None) -> bool:
    if p.q and p.q.lower() not in doc["title"].lower():
        return False
    if skip != "category" and p.category and p.category not in doc["category_path"]:
        return False
    if skip != "brand" and p.brand and doc["brand"].lower() not in {b.lower() for b in p.brand}:
        return False
    if skip != "color" and p.color and not set(doc["colors"]) & set(p.color):
        return False
    if skip != "size" and p.size and not set(doc["sizes"]) & set(p.size):
        return False
    if skip != "price":
        if p.price_min is not None and doc["price_min"] < p.price_min:
            return False
        if p.price_max is not None and doc["price_min"] > p.price_max:
            return False
    if p.in_stock and doc.get("in_stock") is False:
        return False
    return True


def brute_force(docs: list[dict[str, Any]], p: SearchParams) -> dict[str, Any]:
    def counts(facet: str, values: Any) -> dict[str, int]:
        counter: Counter[str] = Counter()
        for doc in docs:
            if _matches(doc, p, skip=facet):
                counter.update(values(doc))
        return dict(counter)

    price: list[dict[str, Any]] = []
    in_price_scope = [d for d in docs if _matches(d, p, skip="price")]
    for lo, hi in PRICE_BUCKETS:
        price.append({"from": lo, "to": hi, "count": sum(1 for d in in_price_scope if d["price_min"] >= lo and (hi is None or d["price_min"] < hi))})
    return {
        "ids": {d["product_id"] for d in docs if _matches(d, p)},
        "brand": counts("brand", lambda d: [d["brand"]]),
        "color": counts("color", lambda d: d["colors"]),
        "size": counts("size", lambda d: d["sizes"]),
        "category": counts("category", lambda d: d["category_path"]),
        "price": price,
    }


def as_counts(facet: list[dict[str, Any]]) -> dict[str, int]:
    return {entry["value"]: entry["count"] for entry in facet}


def all_pages(p: SearchParams) -> list[dict[str, Any]]:
    items, cursor = [], None
    for _ in range(100):
        page = run_search(SearchParams(**{**p.__dict__, "cursor": cursor}))
        items += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return items
    raise AssertionError("pagination never ended")


params_strategy = st.builds(
    SearchParams,
    q=st.sampled_from([None, *[n.lower() for n in NOUNS]]),
    category=st.sampled_from([None, CLOTHING, TOPS, BOTTOMS, HOME, KITCHEN]),
    brand=st.lists(st.sampled_from(BRANDS), max_size=2, unique=True).map(tuple),
    color=st.lists(st.sampled_from(COLORS), max_size=2, unique=True).map(tuple),
    size=st.lists(st.sampled_from(SIZES), max_size=2, unique=True).map(tuple),
    price_min=st.sampled_from([None, 1000, 5000]),
    price_max=st.sampled_from([None, 9999, 25000]),
    in_stock=st.sampled_from([None, True, False]),
    limit=st.just(100),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(p=params_strategy)
def test_facet_counts_and_totals_equal_a_brute_force_count(catalog_docs: list[dict[str, Any]], p: SearchParams) -> None:
    # GIVEN any combination of words and filters WHEN searching
    result = run_search(p)
    expected = brute_force(catalog_docs, p)
    # THEN results and total are exactly the matching products
    assert result["total"] == len(expected["ids"])
    assert {i["product_id"] for i in result["items"]} == expected["ids"]
    # AND every facet counts what its value would give, ignoring only the facet's own filter
    for facet in ("brand", "color", "size", "category"):
        assert as_counts(result["facets"][facet]) == expected[facet], facet
        counts = [(-e["count"], e["value"]) for e in result["facets"][facet]]
        assert counts == sorted(counts), f"{facet} facet is ordered by count, then value"
    assert result["facets"]["price"] == expected["price"]


@pytest.mark.parametrize("sort", ["relevance", "price_asc", "price_desc", "newest", "rating"])
@pytest.mark.parametrize(
    "filters",
    [{}, {"q": "kettle"}, {"category": CLOTHING, "color": ("blue", "red")}, {"brand": ("Acme",), "in_stock": True}],
    ids=["all", "q", "category+colors", "brand+in_stock"],
)
def test_cursor_pagination_visits_every_match_once_in_sort_order(catalog_docs: list[dict[str, Any]], sort: str, filters: dict[str, Any]) -> None:
    # GIVEN a search paged 7 at a time
    p = SearchParams(sort=sort, limit=7, **filters)  # type: ignore[arg-type]
    # WHEN every page is fetched through the cursor
    items = all_pages(p)
    ids = [i["product_id"] for i in items]
    # THEN each match appears exactly once
    assert len(ids) == len(set(ids))
    assert set(ids) == brute_force(catalog_docs, p)["ids"]
    # AND in the requested order (product_id breaks ties)
    by_id = {d["product_id"]: d for d in catalog_docs}
    docs = [by_id[i] for i in ids]
    keys = {
        "price_asc": lambda d: (d["price_min"], d["product_id"]),
        "price_desc": lambda d: (-d["price_min"], d["product_id"]),
        "newest": lambda d: (-_epoch(d["created_at"]), d["product_id"]),
        "rating": lambda d: (-d["rating_avg"], -d["rating_count"], d["product_id"]),
    }
    effective = "newest" if sort == "relevance" and "q" not in filters else sort
    if effective in keys:
        assert docs == sorted(docs, key=keys[effective])


def _epoch(iso: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


# -- text features ------------------------------------------------------------------------------


def titles(p: SearchParams) -> list[str]:
    return [i["title"] for i in run_search(p)["items"]]


def test_typos_still_find_the_product(catalog_docs: list[dict[str, Any]]) -> None:
    assert "Blue Cotton T-Shirt" in titles(SearchParams(q="tshrit"))
    assert set(titles(SearchParams(q="blu"))) >= {"Blue Cotton T-Shirt", "Blue Jeans"}
    assert "Blue Jeans" in titles(SearchParams(q="bleu jaens"))


def test_synonyms_find_each_other(catalog_docs: list[dict[str, Any]]) -> None:
    # "tee", "tshirt" and "t-shirt" are one thing
    for q in ("tee", "tshirt", "t-shirt", "t shirt"):
        assert {"Blue Cotton T-Shirt", "Red Tee"} <= set(titles(SearchParams(q=q))), q
    # and a synonym combines with other words: "blue tee" is the blue one only
    assert titles(SearchParams(q="blue tee")) == ["Blue Cotton T-Shirt"]


def test_words_match_across_fields_and_accents_fold(catalog_docs: list[dict[str, Any]]) -> None:
    assert titles(SearchParams(q="threadly red")) == ["Red Tee"]  # brand + title
    assert titles(SearchParams(q="everyday")) == ["Blue Cotton T-Shirt"]  # description
    assert titles(SearchParams(q="levi mug")) == ["Levi's <b>Bold</b> Mug"]  # possessive
    eclair = {d["product_id"] for d in catalog_docs if d["brand"] == "Éclair"}
    assert {i["product_id"] for i in all_pages(SearchParams(q="eclair", limit=100))} == eclair


def test_highlight_marks_matches_and_escapes_the_title(catalog_docs: list[dict[str, Any]]) -> None:
    [shirt] = run_search(SearchParams(q="blue shirt"))["items"]
    assert shirt["highlight"]["title"] == "<em>Blue</em> Cotton T-<em>Shirt</em>"
    [mug] = run_search(SearchParams(q="bold mug"))["items"]
    assert mug["highlight"]["title"] == "Levi&#x27;s &lt;b&gt;<em>Bold</em>&lt;&#x2F;b&gt; <em>Mug</em>"
    assert "highlight" not in run_search(SearchParams(category=KITCHEN))["items"][0]


def test_a_parent_category_includes_its_sub_categories(catalog_docs: list[dict[str, Any]]) -> None:
    def ids(category: str) -> set[str]:
        return {i["product_id"] for i in all_pages(SearchParams(category=category, limit=100))}

    clothing, tops, bottoms = ids(CLOTHING), ids(TOPS), ids(BOTTOMS)
    assert tops and bottoms and tops | bottoms < clothing
    assert clothing == {d["product_id"] for d in catalog_docs if CLOTHING in d["category_path"]}


def test_price_range_is_inclusive_on_the_shown_price(catalog_docs: list[dict[str, Any]]) -> None:
    items = all_pages(SearchParams(price_min=1500, price_max=4900, limit=100))
    assert items and all(1500 <= i["price"] <= 4900 for i in items)
    assert {"Blue Cotton T-Shirt", "Blue Jeans"} <= {i["title"] for i in items}


def test_results_carry_only_what_a_results_page_shows(catalog_docs: list[dict[str, Any]]) -> None:
    [item] = run_search(SearchParams(q="jeans denimo"))["items"]
    assert item["product_id"] == FIXED[2]["product_id"]
    assert set(item) == {"product_id", "title", "image", "price", "currency", "rating", "highlight"}
    assert (item["price"], item["currency"], item["rating"]) == (4900, "USD", {"average": None, "count": 0})


# -- the HTTP handlers ----------------------------------------------------------------------------


def _event(name: str, query: dict[str, list[str]] | None) -> dict[str, Any]:
    event = copy.deepcopy(json.loads((ROOT / "events" / "search" / f"{name}.json").read_text()))
    event["multiValueQueryStringParameters"] = query
    event["queryStringParameters"] = {k: v[-1] for k, v in query.items()} if query else None
    return event


def call(module: Any, name: str, query: dict[str, list[str]] | None) -> tuple[int, dict[str, Any]]:
    result = module.handler(_event(name, query), LambdaContext(f"Search{name}", 512, 10, "req-1"))
    return result["statusCode"], json.loads(result["body"])


def test_search_answers_in_the_envelope_with_multi_value_filters(catalog_docs: list[dict[str, Any]]) -> None:
    status, body = call(search_handler, "search", {"q": ["tee"], "brand": ["threadly"], "color": ["blue,red"], "size": ["M", "L"]})
    assert status == 200 and body["status"] == "success"
    assert {i["title"] for i in body["data"]["items"]} == {"Blue Cotton T-Shirt", "Red Tee"}
    assert body["data"]["total"] == 2 and body["data"]["next_cursor"] is None
    assert set(body["data"]["facets"]) == {"brand", "color", "size", "category", "price"}


def test_the_sample_event_is_answered(catalog_docs: list[dict[str, Any]]) -> None:
    event = json.loads((ROOT / "events" / "search" / "search.json").read_text())
    result = search_handler.handler(event, LambdaContext("SearchSearch", 512, 10, "req-1"))
    assert result["statusCode"] == 200
    body = json.loads(result["body"])
    assert body["meta"]["request_id"] == event["requestContext"]["requestId"]


def test_cursor_pages_through_the_handler(catalog_docs: list[dict[str, Any]]) -> None:
    status, first = call(search_handler, "search", {"category": [CLOTHING], "limit": ["5"], "sort": ["price_asc"]})
    assert status == 200 and len(first["data"]["items"]) == 5 and first["data"]["next_cursor"]
    status, second = call(search_handler, "search", {"category": [CLOTHING], "limit": ["5"], "sort": ["price_asc"], "cursor": [first["data"]["next_cursor"]]})
    assert status == 200
    assert first["data"]["items"][-1]["price"] <= second["data"]["items"][0]["price"]
    assert not {i["product_id"] for i in first["data"]["items"]} & {i["product_id"] for i in second["data"]["items"]}
    # a cursor only continues the search it came from
    status, body = call(search_handler, "search", {"category": [TOPS], "limit": ["5"], "sort": ["price_asc"], "cursor": [first["data"]["next_cursor"]]})
    assert status == 400 and body["error"]["details"]["fields"][0]["field"] == "query.cursor"


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"limit": ["0"]}, "query.limit"),
        ({"limit": ["101"]}, "query.limit"),
        ({"limit": ["ten"]}, "query.limit"),
        ({"sort": ["cheapest"]}, "query.sort"),
        ({"price_min": ["-1"]}, "query.price_min"),
        ({"price_min": ["500"], "price_max": ["100"]}, "query.price_min"),
        ({"in_stock": ["maybe"]}, "query.in_stock"),
        ({"category": ["garden"]}, "query.category"),
        ({"q": ["x" * 201]}, "query.q"),
        ({"cursor": ["not-a-cursor"]}, "query.cursor"),
        ({"colour": ["blue"]}, "query.colour"),
    ],
)
def test_bad_parameters_are_a_400_naming_the_field(catalog_docs: list[dict[str, Any]], query: dict[str, list[str]], field: str) -> None:
    status, body = call(search_handler, "search", query)
    assert status == 400, body
    # a cursor has its own code (shared/cursors.py); every other bad parameter is a VALIDATION_ERROR
    assert body["error"]["code"] == ("INVALID_CURSOR" if field == "query.cursor" else "VALIDATION_ERROR")
    assert field in [f["field"] for f in body["error"]["details"]["fields"]]


def test_search_and_suggest_answer_503_when_opensearch_is_down(search_server: Any) -> None:
    import os

    previous = os.environ.get("SEARCH_URL")
    use_search_url(closed_url())
    try:
        for module, name, query in ((search_handler, "search", {"q": ["tee"]}), (suggest_handler, "suggest", {"q": ["te"]})):
            status, body = call(module, name, query)
            assert status == 503 and body["error"]["code"] == "SERVICE_UNAVAILABLE"
    finally:
        use_search_url(previous or search_server.url)


def test_suggest_completes_titles_and_brands(catalog_docs: list[dict[str, Any]]) -> None:
    status, body = call(suggest_handler, "suggest", {"q": ["blu"]})
    assert status == 200
    assert {"Blue Cotton T-Shirt", "Blue Jeans"} <= set(body["data"]["suggestions"])
    assert all(s.lower().startswith("blu") or " blu" in s.lower() for s in body["data"]["suggestions"])
    # a later word of a title, and a brand
    assert "Blue Cotton T-Shirt" in call(suggest_handler, "suggest", {"q": ["cott"]})[1]["data"]["suggestions"]
    assert call(suggest_handler, "suggest", {"q": ["thread"]})[1]["data"]["suggestions"][0] == "Threadly"
    assert len(call(suggest_handler, "suggest", {"q": ["k"], "limit": ["3"]})[1]["data"]["suggestions"]) <= 3


@pytest.mark.parametrize("query", [None, {"q": [""]}, {"q": ["x" * 51]}, {"q": ["blu"], "limit": ["0"]}, {"q": ["blu"], "size": ["1"]}])
def test_suggest_validates_q(catalog_docs: list[dict[str, Any]], query: dict[str, list[str]] | None) -> None:
    status, body = call(suggest_handler, "suggest", query)
    assert status == 400 and body["error"]["code"] == "VALIDATION_ERROR"


def test_sku_options_and_plurals_are_searchable_words(catalog_docs: list[dict[str, Any]]) -> None:
    # a size that is only a SKU option, a color, and a plural synonym
    assert titles(SearchParams(q="Blue TSHIRT m")) == ["Blue Cotton T-Shirt"]
    assert titles(SearchParams(q="tees l")) == ["Red Tee"]
