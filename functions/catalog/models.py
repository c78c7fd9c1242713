"""Catalog table items (pynamodb). Only the catalog service reads or writes this table.

Key design (docs/decisions/0003-table-design.md):
  category      pk=CATEGORY                     sk=CATEGORY#<category_id>
  slug claim    pk=CATEGORY_SLUG#<parent>#<slug> sk=CATEGORY_SLUG   (uniqueness among siblings)
All categories share one partition: the tree is small, read whole, and cached.
"""

from __future__ import annotations

import os

from pynamodb.attributes import UnicodeAttribute, UTCDateTimeAttribute
from pynamodb.models import Model

CATEGORY_PARTITION = "CATEGORY"
ROOT = "ROOT"


class _CatalogMeta:
    table_name = os.environ.get("CATALOG_TABLE_NAME", "catalog")
    region = os.environ.get("AWS_REGION", "us-east-1")


class CategoryItem(Model):
    class Meta(_CatalogMeta):
        pass

    pk = UnicodeAttribute(hash_key=True, default=CATEGORY_PARTITION)
    sk = UnicodeAttribute(range_key=True)
    category_id = UnicodeAttribute()
    name = UnicodeAttribute()
    slug = UnicodeAttribute()
    parent_id = UnicodeAttribute(null=True)
    created_at = UTCDateTimeAttribute()
    created_by = UnicodeAttribute()

    @staticmethod
    def sort_key(category_id: str) -> str:
        return f"CATEGORY#{category_id}"


class CategorySlugClaim(Model):
    """Exists while a sibling category holds the slug; a conditional put makes slugs unique."""

    class Meta(_CatalogMeta):
        pass

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True, default="CATEGORY_SLUG")
    category_id = UnicodeAttribute()

    @staticmethod
    def partition_key(parent_id: str | None, slug: str) -> str:
        return f"CATEGORY_SLUG#{parent_id or ROOT}#{slug}"
