"""Search request -> OpenSearch query body, and OpenSearch response -> API answer.

Pure functions (no I/O), so the whole behaviour is testable against any OpenSearch-compatible
server:
- full text: every word of `q` must match somewhere in title^3 / brand^2 / description, each
  with fuzziness AUTO (typos); known synonyms are expanded here, not by a synonym filter
  (osmem-server ignores those, and query-time expansion needs no reindex to change);
- filters go to `post_filter`, and every facet is computed under all filters but its own, so
  picking "Acme" still shows how many results the other brands would give;
- sort with a stable tiebreak on product_id, and `search_after` behind an opaque cursor. The
  exception is relevance: its first sort value is a float score, and a page boundary must match
  it exactly; osmem-server compares scores at a different precision than it returns them, so
  search_after on `_score` repeats or ends pages there. Relevance pages are therefore an offset
  inside the same opaque cursor (deep relevance paging is capped at MAX_RELEVANCE_WINDOW); the
  four field sorts keep search_after.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import unicodedata
from dataclasses import dataclass
from typing import Any, Literal

from shared import cursors
from shared.errors import ValidationError

SortName = Literal["relevance", "price_asc", "price_desc", "newest", "rating"]

# colors/sizes too, so "blue tshirt xl" works when the size is only a SKU option; they are
# lowercase keywords, so query words are lowercased (harmless for the analyzed fields).
TEXT_FIELDS = ["title^3", "title.compact^3", "brand^2", "description", "colors", "sizes"]
FACET_SIZE = 50
MAX_QUERY_WORDS = 12
MAX_RELEVANCE_WINDOW = 10_000  # the index's max_result_window: from + size may not pass it

# Fixed price buckets in minor units: [from, to). None = open-ended.
PRICE_BUCKETS: list[tuple[int, int | None]] = [
    (0, 1000),
    (1000, 2500),
    (2500, 5000),
    (5000, 10000),
    (10000, 25000),
    (25000, None),
]

# Each group is one meaning; any spelling of it matches all of them. Keys are compared after
# lowercasing and dropping everything but letters and digits ("T-Shirt", "t shirt" -> "tshirt").
SYNONYM_GROUPS: list[list[str]] = [
    ["t-shirt", "tshirt", "tee"],
    ["hoodie", "hoody", "hooded sweatshirt"],
    ["sneakers", "trainers", "running shoes"],
    ["pants", "trousers"],
    ["jeans", "denim"],
    ["sofa", "couch"],
    ["tv", "television"],
    ["laptop", "notebook computer"],
    ["phone", "smartphone", "mobile phone", "cellphone"],
    ["earbuds", "earphones", "in-ear headphones"],
]

STOPWORDS = frozenset(
    "a an and are as at be but by for if in into is it no not of on or such that the their then there these they this to was will with".split()
)


def _squash(text: str) -> str:
    return re.sub(r"[^0-9a-z]", "", text.lower())


SYNONYMS: dict[str, list[str]] = {_squash(term): group for group in SYNONYM_GROUPS for term in group}
_LONGEST_SYNONYM = max(len(term.replace("-", " ").split()) for group in SYNONYM_GROUPS for term in group)

SORTS: dict[str, list[dict[str, Any]]] = {
    "relevance": [{"_score": {"order": "desc"}}],
    "price_asc": [{"price_min": {"order": "asc", "missing": "_last"}}],
    "price_desc": [{"price_min": {"order": "desc", "missing": "_last"}}],
    "newest": [{"created_at": {"order": "desc", "missing": "_last"}}],
    "rating": [{"rating_avg": {"order": "desc"}}, {"rating_count": {"order": "desc"}}],
}
TIEBREAK = {"product_id": {"order": "asc"}}  # unique: pages never overlap or skip


@dataclass(frozen=True)
class SearchParams:
    q: str | None = None
    category: str | None = None
    brand: tuple[str, ...] = ()
    color: tuple[str, ...] = ()
    size: tuple[str, ...] = ()
    price_min: int | None = None
    price_max: int | None = None
    in_stock: bool | None = None
    sort: SortName = "relevance"
    cursor: str | None = None
    limit: int = 20

    @property
    def effective_sort(self) -> str:
        # Without words every score is equal: "relevance" then means newest first.
        return self.sort if (self.sort != "relevance" or self.q) else "newest"

    def fingerprint(self) -> str:
        """What a cursor belongs to: the same query, filters and sort (not the page size)."""
        basis = [self.q, self.category, self.brand, self.color, self.size, self.price_min, self.price_max, self.in_stock, self.effective_sort]
        return hashlib.sha256(json.dumps(basis, default=list).encode()).hexdigest()[:16]


# -- the text query -----------------------------------------------------------------------------


def _words(q: str) -> list[str]:
    return [w for w in re.split(r"[\s,;/]+", q.strip()) if w][:MAX_QUERY_WORDS]


def segments(q: str) -> list[list[str]]:
    """The query as required parts, each a list of alternatives: a synonym group or one word.

    Greedy longest match, so "running shoes" is one part (sneakers | trainers | running shoes)
    rather than "running" and "shoes".
    """
    words = _words(q.lower())
    parts: list[list[str]] = []
    i = 0
    while i < len(words):
        for n in range(min(_LONGEST_SYNONYM, len(words) - i), 0, -1):
            key = _squash("".join(words[i : i + n]))
            group = SYNONYMS.get(key) or (SYNONYMS.get(key[:-1]) if key.endswith("s") else None)  # "tees"
            if group:
                parts.append(group)
                i += n
                break
        else:
            word = words[i]
            if word.lower() not in STOPWORDS and _squash(word):
                parts.append([word])
            i += 1
    return parts


def _match(text: str, *, fuzzy: bool) -> dict[str, Any]:
    if len(text.split()) > 1 or "-" in text:
        # multi-word alternatives must appear as a phrase ("running shoes"), "t-shirt" as "t shirt"
        return {"multi_match": {"query": text, "type": "phrase", "fields": TEXT_FIELDS}}
    clause: dict[str, Any] = {"query": text, "fields": TEXT_FIELDS, "type": "best_fields", "zero_terms_query": "all"}
    if fuzzy:
        clause.update(fuzziness="AUTO", prefix_length=0, max_expansions=50)
    return {"multi_match": clause}


def text_query(q: str) -> dict[str, Any]:
    parts = segments(q)
    if not parts:  # only stopwords/punctuation: everything matches, as with no words at all
        return {"match_all": {}}
    must: list[dict[str, Any]] = []
    for alternatives in parts:
        if len(alternatives) == 1:
            must.append(_match(alternatives[0], fuzzy=True))  # the user's own word: allow typos
        else:
            # synonyms are exact alternatives (fuzzing "tee" would also match "tea", "toe"...)
            must.append({"bool": {"should": [_match(a, fuzzy=False) for a in alternatives], "minimum_should_match": 1}})
    # The exact phrase, when present, ranks first.
    boost = {"multi_match": {"query": q, "type": "phrase", "fields": TEXT_FIELDS, "boost": 2}}
    return {"bool": {"must": must, "should": [boost]}}


# -- filters and facets -------------------------------------------------------------------------


def filters(params: SearchParams) -> dict[str, dict[str, Any]]:
    """Facet name -> its filter clause, for the filters this request sets."""
    clauses: dict[str, dict[str, Any]] = {}
    if params.category:
        clauses["category"] = {"term": {"category_path": params.category}}  # parent includes subtree
    if params.brand:
        clauses["brand"] = {"terms": {"brand.folded": [_fold(b) for b in params.brand]}}
    if params.color:
        clauses["color"] = {"terms": {"colors": [c.lower() for c in params.color]}}
    if params.size:
        clauses["size"] = {"terms": {"sizes": [s.lower() for s in params.size]}}
    if params.price_min is not None or params.price_max is not None:
        bounds = {}
        if params.price_min is not None:
            bounds["gte"] = params.price_min
        if params.price_max is not None:
            bounds["lte"] = params.price_max
        clauses["price"] = {"range": {"price_min": bounds}}  # the "from" price a result shows
    if params.in_stock:
        # in_stock is derived from the inventory stream (stock_sync.py). Documents without it
        # (written before stock was indexed, until a reindex fills it in) are not hidden.
        clauses["in_stock"] = {"bool": {"must_not": [{"term": {"in_stock": False}}]}}
    return clauses


def _fold(value: str) -> str:
    """Lowercase without accents, as the `folded` normalizer stores brands ("Éclair" -> "eclair")."""
    return "".join(c for c in unicodedata.normalize("NFKD", value.lower()) if not unicodedata.combining(c))


def _all_but(clauses: dict[str, dict[str, Any]], facet: str) -> dict[str, Any]:
    others = [clause for name, clause in clauses.items() if name != facet]
    return {"bool": {"filter": others}} if others else {"match_all": {}}


def aggregations(clauses: dict[str, dict[str, Any]]) -> dict[str, Any]:
    terms_facets = {"brand": "brand.keyword", "color": "colors", "size": "sizes", "category": "category_path"}
    aggs: dict[str, Any] = {}
    for facet, field_name in terms_facets.items():
        aggs[f"facet_{facet}"] = {
            "filter": _all_but(clauses, facet),
            "aggs": {"values": {"terms": {"field": field_name, "size": FACET_SIZE, "order": [{"_count": "desc"}, {"_key": "asc"}]}}},
        }
    ranges = [{"key": _bucket_key(lo, hi), "from": lo, **({"to": hi} if hi is not None else {})} for lo, hi in PRICE_BUCKETS]
    aggs["facet_price"] = {"filter": _all_but(clauses, "price"), "aggs": {"values": {"range": {"field": "price_min", "ranges": ranges}}}}
    return aggs


def _bucket_key(lo: int, hi: int | None) -> str:
    return f"{lo}-{'' if hi is None else hi}"


# -- the request body ---------------------------------------------------------------------------


def sort_spec(params: SearchParams) -> list[dict[str, Any]]:
    return [*SORTS[params.effective_sort], TIEBREAK]


def build_search(params: SearchParams) -> dict[str, Any]:
    clauses = filters(params)
    query: dict[str, Any] = {
        "bool": {
            "must": [text_query(params.q) if params.q else {"match_all": {}}],
            # Only live products: the index also holds tombstones (DELETED) and stock-only stubs
            # (documents.py); they must never be a result, a facet count or a total.
            "filter": [{"term": {"status": "ACTIVE"}}],
        }
    }
    body: dict[str, Any] = {
        "query": query,
        "size": params.limit + 1,  # one more than a page tells whether there is a next page
        "sort": sort_spec(params),
        "track_total_hits": True,
        "track_scores": True,
        "_source": ["product_id", "title", "image", "price_min", "currency", "rating_avg", "rating_count"],
        "aggs": aggregations(clauses),
    }
    if clauses:
        body["post_filter"] = {"bool": {"filter": list(clauses.values())}}
    position = decode_cursor(params.cursor, params) if params.cursor else None
    if isinstance(position, int):
        body["from"] = position
        body["size"] = min(params.limit + 1, MAX_RELEVANCE_WINDOW - position)
    elif position is not None:
        body["search_after"] = position
    if params.q:
        body["highlight"] = {
            "encoder": "html",  # titles are seller-written: escaped first, then <em> added
            "pre_tags": ["<em>"],
            "post_tags": ["</em>"],
            "fields": {"title": {"number_of_fragments": 0}},
            "require_field_match": False,
        }
    return body


# -- cursors ------------------------------------------------------------------------------------


def _cursor_scope(params: SearchParams) -> str:
    return f"{params.effective_sort}:{params.fingerprint()}"


def encode_cursor(position: list[Any] | int, params: SearchParams) -> str:
    """position: the last hit's sort values (search_after), or the next offset (relevance),
    signed (shared/cursors.py) for this search: the same q, filters and sort."""
    return cursors.encode("search", _cursor_scope(params), {"o" if isinstance(position, int) else "a": position})


def decode_cursor(cursor: str, params: SearchParams) -> list[Any] | int:
    def invalid(message: str) -> ValidationError:
        return cursors.InvalidCursor(message)

    payload = cursors.decode("search", _cursor_scope(params), cursor)  # another search's: "belongs to another list"
    if not isinstance(payload, dict):
        raise invalid("not a cursor from this API")
    if params.effective_sort == "relevance":
        offset = payload.get("o")
        if not isinstance(offset, int) or isinstance(offset, bool) or not 0 < offset < MAX_RELEVANCE_WINDOW:
            raise invalid("not a cursor from this API")
        return offset
    after = payload.get("a")
    if (
        not isinstance(after, list)
        or len(after) != len(sort_spec(params))
        # every sort field but the tie-break is numeric (prices, dates as epoch ms, ratings); the
        # tie-break is the product id: a value of another type would reach OpenSearch as a 400
        or not all(isinstance(v, (int, float)) and not isinstance(v, bool) and not math.isnan(v) for v in after[:-1])
        or not isinstance(after[-1], str)
    ):
        raise invalid("not a cursor from this API")
    return after


# -- the answer ---------------------------------------------------------------------------------


def parse_search(response: dict[str, Any], params: SearchParams) -> dict[str, Any]:
    hits = (response.get("hits") or {}).get("hits") or []
    page, more = hits[: params.limit], len(hits) > params.limit
    items = [_item(hit) for hit in page]
    next_cursor = None
    if more and page:
        if params.effective_sort == "relevance":
            offset = (decode_cursor(params.cursor, params) if params.cursor else 0) + len(page)
            next_cursor = encode_cursor(offset, params) if offset < MAX_RELEVANCE_WINDOW else None
        else:
            next_cursor = encode_cursor(page[-1]["sort"], params)
    total = (response.get("hits") or {}).get("total") or {}
    aggs = response.get("aggregations") or {}
    return {
        "items": items,
        "facets": {
            "brand": _terms(aggs, "brand"),
            "color": _terms(aggs, "color"),
            "size": _terms(aggs, "size"),
            "category": _terms(aggs, "category"),
            "price": _price_buckets(aggs),
        },
        "total": int(total.get("value", 0)) if isinstance(total, dict) else int(total),
        "next_cursor": next_cursor,
    }


def _item(hit: dict[str, Any]) -> dict[str, Any]:
    source = hit.get("_source") or {}
    count = int(source.get("rating_count") or 0)
    item: dict[str, Any] = {
        "product_id": source.get("product_id") or hit.get("_id"),
        "title": source.get("title"),
        "image": source.get("image"),
        "price": source.get("price_min"),
        "currency": source.get("currency"),
        "rating": {"average": source.get("rating_avg") if count else None, "count": count},
    }
    title = ((hit.get("highlight") or {}).get("title") or [None])[0]
    if title:
        item["highlight"] = {"title": title}
    return item


def _terms(aggs: dict[str, Any], facet: str) -> list[dict[str, Any]]:
    buckets = ((aggs.get(f"facet_{facet}") or {}).get("values") or {}).get("buckets") or []
    return [{"value": b["key"], "count": int(b["doc_count"])} for b in buckets if b.get("doc_count")]


def _price_buckets(aggs: dict[str, Any]) -> list[dict[str, Any]]:
    buckets = ((aggs.get("facet_price") or {}).get("values") or {}).get("buckets") or []
    counts = {b.get("key"): int(b.get("doc_count", 0)) for b in buckets}
    return [{"from": lo, "to": hi, "count": counts.get(_bucket_key(lo, hi), 0)} for lo, hi in PRICE_BUCKETS]


def empty_result() -> dict[str, Any]:
    """The answer before anything was ever indexed (no alias yet)."""
    return {
        "items": [],
        "facets": {"brand": [], "color": [], "size": [], "category": [], "price": [{"from": lo, "to": hi, "count": 0} for lo, hi in PRICE_BUCKETS]},
        "total": 0,
        "next_cursor": None,
    }


# -- suggest ------------------------------------------------------------------------------------


def build_suggest(q: str, size: int) -> dict[str, Any]:
    """Completion suggester (title/brand prefixes) plus an edge-ngram match in the same request,
    which fills in titles where a later word starts with the prefix."""
    return {
        "size": size,
        "_source": ["title", "brand"],
        "query": {
            "bool": {
                "must": [{"multi_match": {"query": q, "fields": ["title.autocomplete^2", "brand.autocomplete"], "operator": "and"}}],
                "filter": [{"term": {"status": "ACTIVE"}}],  # no tombstones or stubs
            }
        },
        # The completion suggester ignores the query's filter: tombstones and stubs have no
        # `suggest` field, so they cannot be suggested either.
        "suggest": {"products": {"prefix": q, "completion": {"field": "suggest", "size": size, "skip_duplicates": True}}},
    }


def parse_suggest(response: dict[str, Any], q: str, size: int) -> list[str]:
    prefix = _fold(q.strip())
    suggestions: list[str] = []
    seen: set[str] = set()

    def add(text: str | None) -> None:
        if text and text.lower() not in seen and len(suggestions) < size:
            seen.add(text.lower())
            suggestions.append(text)

    for entry in (response.get("suggest") or {}).get("products") or []:
        for option in entry.get("options") or []:
            source = option.get("_source") or {}
            brand = source.get("brand") or ""
            # A brand match suggests the brand; any title input suggests the whole title.
            add(brand if option.get("text", "").lower() == brand.lower() else source.get("title"))
    for hit in (response.get("hits") or {}).get("hits") or []:
        source = hit.get("_source") or {}
        title, brand = source.get("title") or "", source.get("brand") or ""
        title_matches = any(_fold(word).startswith(prefix) for word in re.split(r"[\s\-]+", title))
        add(title if title_matches or not _fold(brand).startswith(prefix) else brand)
    return suggestions
