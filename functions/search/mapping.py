"""The product index: settings, mappings, and the versioned-index-behind-an-alias scheme.

Everything reads through the alias `products`; the concrete index is `products-v<N>`. A
reindex (ops/search_reindex.py) builds `products-v<N+1>` and swaps the alias atomically, so a
mapping change never needs downtime. Each concrete index also has its own write alias
`products-v<N>-writer`: a writer writes a document back to the index it read it from (its
`_seq_no` means nothing in another index), and writes with `require_alias`, so a write aimed at
an index a reindex has meanwhile deleted fails (and is retried) instead of auto-creating a stray
index of that name (functions/search/writer.py, docs/decisions/0010-search-document-concurrency.md).

Analysis uses only what both Amazon OpenSearch and osmem-server apply at index time (see
ADR 0030): synonyms are expanded in the query builder, and possessives /
hyphenated words are handled with char filters, because osmem ignores `synonym*` and
`word_delimiter*` filters and mangles `possessive_english` when indexing (its `_analyze` API
shows them working, which is misleading).
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
    # (No gc_deletes: documents are never deleted; a deleted product is a tombstone document.)
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
        "in_stock": {"type": "boolean"},  # any of sku_ids has available > 0 (from `stock`)
        # Field-level versions (documents.py): the catalog item's version, the SKUs it lists now,
        # and per SKU {"available": n, "version": v} from the inventory stream (kept, not indexed).
        "catalog_version": {"type": "long"},
        "sku_ids": {"type": "keyword"},
        "stock": {"type": "object", "enabled": False},
        "suggest": {"type": "completion", "analyzer": "simple", "search_analyzer": "simple"},
    },
}


WRITER_SUFFIX = "-writer"


def write_alias(index: str) -> str:
    """The alias writers use for one concrete index: "products-v3" -> "products-v3-writer"."""
    return f"{index}{WRITER_SUFFIX}"


def index_body(name: str, *, with_alias: bool) -> dict[str, Any]:
    """Settings, mappings and aliases of the concrete index `name` (its write alias always;
    the `products` alias too when it is to serve searches at once)."""
    aliases: dict[str, Any] = {write_alias(name): {}}
    if with_alias:
        aliases[ALIAS] = {}
    return {"settings": SETTINGS, "mappings": MAPPINGS, "aliases": aliases}


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
        # Scoped to products*: without an index, fine-grained access control checks
        # indices:admin/aliases/get on every index, which the indexer's role does not have.
        return sorted(client.indices.get_alias(index=f"{ALIAS}*", name=ALIAS))
    except NotFoundError:
        return []


def ensure_index(client: Any) -> str:
    """Make sure the alias exists (creating products-v<N> behind it if not) and that the index
    behind it has its write alias (indices created before write aliases existed get one); returns
    the index.

    Safe against concurrent callers: creating an index with its aliases is one atomic call, the
    loser of a race finds the winner's alias, and adding an alias that exists changes nothing.
    """
    from opensearchpy.exceptions import RequestError

    for _ in range(3):
        # The name first, the alias second: a caller that loses the race to create the first
        # index then either fails to create the same name or finds the winner's alias. (Named
        # after the alias check, two concurrent first writers created products-v1 AND -v2 behind
        # the one alias, and every single-index write failed from then on.)
        name = next_index_name(client)
        current = indices_behind_alias(client)
        if current:
            for index in current:
                ensure_write_alias(client, index)
            return current[-1]
        try:
            client.indices.create(index=name, body=index_body(name, with_alias=True))
            return name
        except RequestError as exc:
            if exc.error not in ("resource_already_exists_exception",):
                raise
    raise RuntimeError(f"could not create the {ALIAS!r} alias")


def ensure_write_alias(client: Any, index: str) -> None:
    if not client.indices.exists_alias(name=write_alias(index), index=index):
        client.indices.update_aliases(body={"actions": [{"add": {"index": index, "alias": write_alias(index)}}]})
