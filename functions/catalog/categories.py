"""Category logic: create one (unique among its siblings, under a parent that exists), read the tree."""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, datetime
from typing import Any

from functions.catalog import store
from shared.errors import AlreadyExists, ValidationError
from shared.ids import new_prefixed_id

MAX_CATEGORIES = 2000  # the tree is read whole; more than this belongs in a paginated design


def slugify(name: str) -> str:
    """Lowercase letters and digits joined by '-': accents dropped ("Café" -> "cafe"), other
    scripts kept ("服装" stays "服装", not a shared fallback that makes sibling names clash)."""
    letters = "".join(c for c in unicodedata.normalize("NFKD", name) if not unicodedata.combining(c))
    slug = "-".join(part for part in re.split(r"[\W_]+", unicodedata.normalize("NFC", letters).lower()) if part)
    return slug or "category"


def to_view(item: store.Category) -> dict[str, Any]:
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
    item = store.Category(category_id=category_id, name=name, slug=slug, parent_id=parent_id, created_at=datetime.now(UTC),
                          created_by=created_by)
    # A conflicting transaction on the parent or the slug claim is sent again (shared/transactions.py).
    store.put_new_category(
        item,
        slug_taken=lambda: AlreadyExists("A category with this name already exists here.", {"slug": slug, "parent_id": parent_id}),
        parent_missing=lambda: ValidationError(
            "The parent category does not exist.",
            {"fields": [{"field": "body.parent_id", "message": "unknown category", "type": "not_found"}]},
        ),
    )
    return to_view(item)


def category_tree() -> list[dict[str, Any]]:
    """All categories, nested: roots sorted by name, each with its children sorted by name."""
    items = store.categories(consistent=False, limit=MAX_CATEGORIES)
    nodes = {item.category_id: {**to_view(item), "children": []} for item in items}
    roots: list[dict[str, Any]] = []
    for node in nodes.values():
        parent = nodes.get(node["parent_id"]) if node["parent_id"] else None
        (parent["children"] if parent else roots).append(node)
    for node in nodes.values():
        node["children"].sort(key=lambda child: child["name"].lower())
    return sorted(roots, key=lambda root: root["name"].lower())
