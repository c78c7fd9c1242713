"""Category logic: create one (unique among its siblings, under a parent that exists), read the tree."""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, datetime
from typing import Any

from shared import transactions
from shared.errors import AlreadyExists, ValidationError
from shared.ids import new_prefixed_id
from shared.lazy import lazy_module

models = lazy_module("functions.catalog.store")  # pynamodb models import most of botocore: on first use (shared/lazy.py)

MAX_CATEGORIES = 2000  # the tree is read whole; more than this belongs in a paginated design


def slugify(name: str) -> str:
    """Lowercase letters and digits joined by '-': accents dropped ("Café" -> "cafe"), other
    scripts kept ("服装" stays "服装", not a shared fallback that makes sibling names clash)."""
    letters = "".join(c for c in unicodedata.normalize("NFKD", name) if not unicodedata.combining(c))
    slug = "-".join(part for part in re.split(r"[\W_]+", unicodedata.normalize("NFC", letters).lower()) if part)
    return slug or "category"


def to_view(item: models.CategoryItem) -> dict[str, Any]:
    return {
        "category_id": item.category_id,
        "name": item.name,
        "slug": item.slug,
        "parent_id": item.parent_id,
    }


def create_category(name: str, parent_id: str | None, created_by: str) -> dict[str, Any]:
    """One transaction: the category, its sibling-unique slug claim, and a check that the parent exists."""
    category_id = new_prefixed_id("cat")
    slug = slugify(name)
    item = models.CategoryItem(
        sk=models.CategoryItem.sort_key(category_id),
        category_id=category_id,
        name=name,
        slug=slug,
        parent_id=parent_id,
        created_at=datetime.now(UTC),
        created_by=created_by,
    )
    claim = models.CategorySlugClaim(pk=models.CategorySlugClaim.partition_key(parent_id, slug), category_id=category_id)
    # Low-level items, not pynamodb's TransactWrite: one executor sends every transaction
    # (shared/transactions.py). [parent check?, category, slug claim]: a missing parent wins.
    table = models.CategoryItem.Meta.table_name
    ops = [
        transactions.Put(table, item.serialize(), condition="attribute_not_exists(pk)"),
        transactions.Put(table, claim.serialize(), condition="attribute_not_exists(pk)", on_condition_failed=lambda: AlreadyExists(
            "A category with this name already exists here.", {"slug": slug, "parent_id": parent_id})),
    ]
    if parent_id:
        ops.insert(0, transactions.ConditionCheck(
            table, {"pk": {"S": models.CATEGORY_PARTITION}, "sk": {"S": models.CategoryItem.sort_key(parent_id)}},
            "attribute_exists(pk)", on_condition_failed=lambda: ValidationError(
                "The parent category does not exist.",
                {"fields": [{"field": "body.parent_id", "message": "unknown category", "type": "not_found"}]},
            ),
        ))
    transactions.write(ops)  # a conflicting transaction on the parent or the slug claim: sent again
    return to_view(item)


def category_tree() -> list[dict[str, Any]]:
    """All categories, nested: roots sorted by name, each with its children sorted by name."""
    items = list(models.CategoryItem.query(models.CATEGORY_PARTITION, limit=MAX_CATEGORIES, consistent_read=False))
    nodes = {item.category_id: {**to_view(item), "children": []} for item in items}
    roots: list[dict[str, Any]] = []
    for node in nodes.values():
        parent = nodes.get(node["parent_id"]) if node["parent_id"] else None
        (parent["children"] if parent else roots).append(node)
    for node in nodes.values():
        node["children"].sort(key=lambda child: child["name"].lower())
    return sorted(roots, key=lambda root: root["name"].lower())
