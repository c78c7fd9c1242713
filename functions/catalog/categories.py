"""Category logic: create one (unique among its siblings, under a parent that exists), read the tree."""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, datetime
from typing import Any

from pynamodb.exceptions import TransactWriteError

from shared.conflicts import retry_when_busy
from shared.errors import AlreadyExists, ValidationError
from shared.ids import new_prefixed_id
from shared.lazy import lazy_module
from shared.tables import connection

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
    def write() -> None:
        from pynamodb.transactions import TransactWrite  # with the models: on first use

        with TransactWrite(connection=connection()) as transaction:
            transaction.save(item, condition=models.CategoryItem.pk.does_not_exist())
            transaction.save(claim, condition=models.CategorySlugClaim.pk.does_not_exist())
            if parent_id:
                transaction.condition_check(
                    models.CategoryItem,
                    models.CATEGORY_PARTITION,
                    range_key=models.CategoryItem.sort_key(parent_id),
                    condition=models.CategoryItem.pk.exists(),
                )

    try:
        retry_when_busy(write)  # a conflicting transaction on the parent or the slug claim: send again
    except TransactWriteError as exc:
        # pynamodb sends condition checks first, then puts in the order saved:
        # [parent check?, category, slug claim].
        labels = (["parent"] if parent_id else []) + ["category", "slug"]
        failed = {
            label
            for label, reason in zip(labels, exc.cancellation_reasons or [], strict=False)
            if reason is not None and reason.code == "ConditionalCheckFailed"
        }
        if "parent" in failed:
            raise ValidationError(
                "The parent category does not exist.",
                {"fields": [{"field": "body.parent_id", "message": "unknown category", "type": "not_found"}]},
            ) from exc
        if "slug" in failed:
            raise AlreadyExists("A category with this name already exists here.", {"slug": slug, "parent_id": parent_id}) from exc
        raise
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
