"""The product index: settings, mappings, and the versioned-index-behind-an-alias scheme.

Everything reads and writes the alias `products`; the concrete index is `products-v<N>`. A
reindex (ops/search_reindex.py) builds `products-v<N+1>` and swaps the alias atomically, so a
mapping change never needs downtime. Analysis uses only what both Amazon OpenSearch and
osmem-server apply at index time (see ../shared/local-aws-notes.md): synonyms are expanded in
the query builder, and possessives / hyphenated words are handled with char filters, because
osmem ignores `synonym*` and `word_delimiter*` filters and mangles `possessive_english` when
indexing (its `_analyze` API shows them working, which is misleading).
"""

from __future__ import annotations

import re
from typing import Any

ALIAS = "products"
INDEX_PREFIX = f"{ALIAS}-v"
_VERSIONED = re.compile(rf"^{re.escape(INDEX_PREFIX)}(\d+)$")

SETTINGS: dict[str, Any] = {
    "number_of_shards": 1,  # a catalog of this size fits one shard; scores stay comparable across pages
    "number_of_replicas": 0,  # the domain's zone awareness decides replicas in AWS; overridden there
    # Deletes with an external version leave a tombstone; keeping it for a day (default 60 s)
    # means a stale update redelivered within the stream's 24 h retention cannot resurrect a
    # deleted product. Older replays are reconciled against the table (ops/replay_failures.py).
    "gc_deletes": "24h",
    "max_result_window": 10000,
    "analysis": {
        "char_filter": {
            # "Levi's" -> "Levi  " (the english analyzer's possessive filter, as a char filter).
            # Same length on purpose: osmem-server does not correct offsets after a char filter,
            # so a shorter replacement would shift every highlight after it.
            "strip_possessive": {"type": "pattern_replace", "pattern": "(\\w)['’]s\\b", "replacement": "$1  "},
            # "T-Shirt" -> "TShirt": a second view of the title where hyphenated words are one
            # token, so "tshirt" (and the typo "tshrit") match "T-Shirt"
            "join_hyphenated": {"type": "pattern_replace", "pattern": "(\\w)[-‐](\\w)", "replacement": "$1$2"},
        },
        "filter": {
            "english_stop": {"type": "stop", "stopwords": "_english_"},
            "english_stemmer": {"type": "stemmer", "language": "english"},
            "autocomplete_edge": {"type": "edge_ngram", "min_gram": 1, "max_gram": 20},
        },
        "normalizer": {
            # facet values compare case- and accent-insensitively ("ACME" filter finds "Acme")
            "folded": {"type": "custom", "filter": ["lowercase", "asciifolding"]},
        },
        "analyzer": {
            "text_en": {
                "type": "custom",
                "tokenizer": "standard",
                "char_filter": ["strip_possessive"],
                "filter": ["lowercase", "asciifolding", "english_stop", "english_stemmer"],
            },
            "text_compact": {
                "type": "custom",
                "tokenizer": "standard",
                "char_filter": ["strip_possessive", "join_hyphenated"],
                "filter": ["lowercase", "asciifolding", "english_stop", "english_stemmer"],
            },
            "autocomplete": {
                "type": "custom",
                "tokenizer": "standard",
                "filter": ["lowercase", "asciifolding", "autocomplete_edge"],
            },
            "autocomplete_search": {"type": "custom", "tokenizer": "standard", "filter": ["lowercase", "asciifolding"]},
        },
    },
}

_AUTOCOMPLETE = {"type": "text", "analyzer": "autocomplete", "search_analyzer": "autocomplete_search"}

MAPPINGS: dict[str, Any] = {
    # Fields the code does not know yet are kept in _source but not indexed: a deploy that adds
    # a document field before the reindex that maps it degrades nothing (strict would fail writes).
    "dynamic": False,
    "properties": {
        "product_id": {"type": "keyword"},
        "title": {
            "type": "text",
            "analyzer": "text_en",
            "fields": {
                "compact": {"type": "text", "analyzer": "text_compact"},
                "autocomplete": _AUTOCOMPLETE,
            },
        },
        "description": {"type": "text", "analyzer": "text_en"},
        "brand": {
            "type": "text",
            "analyzer": "text_en",
            "fields": {
                "keyword": {"type": "keyword"},  # facet values as sellers spell them
                "folded": {"type": "keyword", "normalizer": "folded"},  # filters
                "autocomplete": _AUTOCOMPLETE,
            },
        },
        "category_id": {"type": "keyword"},
        "category_path": {"type": "keyword"},  # root..leaf ids: a parent filter includes its subtree
        "colors": {"type": "keyword"},
        "sizes": {"type": "keyword"},
        "price_min": {"type": "long"},  # integer minor units
        "price_max": {"type": "long"},
        "currency": {"type": "keyword"},
        "rating_avg": {"type": "float"},
        "rating_count": {"type": "integer"},
        "image": {"type": "keyword", "index": False, "doc_values": False},
        "seller_id": {"type": "keyword"},
        "created_at": {"type": "date"},
        "status": {"type": "keyword"},
        "in_stock": {"type": "boolean"},
        "version": {"type": "long"},
        "suggest": {"type": "completion", "analyzer": "simple", "search_analyzer": "simple"},
    },
}


def index_body(*, with_alias: bool) -> dict[str, Any]:
    body: dict[str, Any] = {"settings": SETTINGS, "mappings": MAPPINGS}
    if with_alias:
        body["aliases"] = {ALIAS: {}}
    return body


def index_version(name: str) -> int | None:
    """3 for "products-v3"; None for anything else."""
    match = _VERSIONED.match(name)
    return int(match.group(1)) if match else None


def versioned_indices(client: Any) -> list[str]:
    """Every products-v<N> index, oldest first."""
    from opensearchpy.exceptions import NotFoundError

    try:
        names = list(client.indices.get(index=f"{INDEX_PREFIX}*", expand_wildcards="open,closed"))
    except NotFoundError:
        return []
    return sorted((n for n in names if index_version(n) is not None), key=lambda n: index_version(n) or 0)


def next_index_name(client: Any) -> str:
    existing = [index_version(n) or 0 for n in versioned_indices(client)]
    return f"{INDEX_PREFIX}{max(existing, default=0) + 1}"


def indices_behind_alias(client: Any) -> list[str]:
    from opensearchpy.exceptions import NotFoundError

    try:
        return sorted(client.indices.get_alias(name=ALIAS))
    except NotFoundError:
        return []


def ensure_index(client: Any) -> str:
    """Make sure the alias exists (creating products-v<N> behind it if not); returns the index.

    Safe against concurrent callers: creating an index with its alias is one atomic call, and
    the loser of a race finds the winner's alias.
    """
    from opensearchpy.exceptions import RequestError

    for _ in range(3):
        current = indices_behind_alias(client)
        if current:
            return current[-1]
        name = next_index_name(client)
        try:
            client.indices.create(index=name, body=index_body(with_alias=True))
            return name
        except RequestError as exc:
            if exc.error not in ("resource_already_exists_exception",):
                raise
    raise RuntimeError(f"could not create the {ALIAS!r} alias")
