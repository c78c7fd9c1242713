"""Catalog table items (pynamodb). Only the catalog service reads or writes this table.

Key design (docs/decisions/0003-table-design.md):
  category      pk=CATEGORY                     sk=CATEGORY#<category_id>
  slug claim    pk=CATEGORY_SLUG#<parent>#<slug> sk=CATEGORY_SLUG   (uniqueness among siblings)
All categories share one partition: the tree is small, read whole, and cached.
"""

from __future__ import annotations

from pynamodb.attributes import (
    BooleanAttribute,
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

from shared.tables import table_meta

CATEGORY_PARTITION = "CATEGORY"
ROOT = "ROOT"


_CatalogMeta = table_meta("CATALOG_TABLE_NAME", "catalog")


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


class SkuAttribute(MapAttribute):
    sku_id = UnicodeAttribute()
    options = MapAttribute()  # {"size": "M", "color": "blue"}
    price = NumberAttribute()  # minor units
    currency = UnicodeAttribute()
    max_per_cart = NumberAttribute(null=True)  # absent: DEFAULT_MAX_PER_CART


class _ByCategory(GlobalSecondaryIndex):
    class Meta:
        index_name = "gsi1"
        projection = AllProjection()

    gsi1pk = UnicodeAttribute(hash_key=True)
    gsi1sk = UnicodeAttribute(range_key=True)


class _BySeller(GlobalSecondaryIndex):
    class Meta:
        index_name = "gsi2"
        projection = AllProjection()

    gsi2pk = UnicodeAttribute(hash_key=True)
    gsi2sk = UnicodeAttribute(range_key=True)


class ProductItem(Model):
    """A product and its SKUs, in one item so a product page is one read and a change is one
    stream record. `version` grows by one on every write: the search index keeps it as the
    document's `catalog_version`, so a late or redelivered record never overwrites a newer one.

      pk=PRODUCT#<product_id>  sk=PRODUCT
      gsi1: CATEGORY#<category_id> / <created_at>#<product_id>   (list by category)
      gsi2: SELLER#<seller_id>     / <created_at>#<product_id>   (list by seller)
    """

    class Meta(_CatalogMeta):
        pass

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True, default="PRODUCT")
    entity = UnicodeAttribute(default="product")
    product_id = UnicodeAttribute()
    seller_id = UnicodeAttribute()
    seller_name = UnicodeAttribute(default="")
    title = UnicodeAttribute()
    description = UnicodeAttribute(default="")
    brand = UnicodeAttribute()
    category_id = UnicodeAttribute()
    category_path = ListAttribute(of=UnicodeAttribute, default=list)  # root ... leaf ids
    attributes = MapAttribute(default=dict)  # schemaless, per product type
    images = ListAttribute(of=UnicodeAttribute, default=list)
    skus = ListAttribute(of=SkuAttribute, default=list)
    free = BooleanAttribute(default=False)  # marked free by its seller: its SKUs' price is 0
    status = UnicodeAttribute(default="ACTIVE")  # ACTIVE | DELETED (soft delete)
    version = NumberAttribute(default=1)
    rating_sum = NumberAttribute(default=0)
    rating_count = NumberAttribute(default=0)
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()
    gsi1pk = UnicodeAttribute()
    gsi1sk = UnicodeAttribute()
    gsi2pk = UnicodeAttribute()
    gsi2sk = UnicodeAttribute()
    by_category = _ByCategory()
    by_seller = _BySeller()

    @staticmethod
    def key(product_id: str) -> str:
        return f"PRODUCT#{product_id}"


class ReviewItem(Model):
    """A buyer's review, in its product's partition so a product's reviews are one query.

      pk=PRODUCT#<product_id>  sk=REVIEW#<review_id>   (rev_<ULID>: newest first = query backwards)

    The product's rating aggregate (`rating_sum`, `rating_count`) moves in the same transaction
    that writes the review (functions/catalog/reviews_store.py), so the two never disagree.
    """

    class Meta(_CatalogMeta):
        pass

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    entity = UnicodeAttribute(default="review")
    review_id = UnicodeAttribute()
    product_id = UnicodeAttribute()
    user_id = UnicodeAttribute()
    rating = NumberAttribute()  # 1..5
    title = UnicodeAttribute()
    body = UnicodeAttribute(default="")
    created_at = UTCDateTimeAttribute()
    # The purchase (order) the review stands on; when that order is cancelled or refunded the
    # review moves to HIDDEN_REVIEW#<id> and leaves the rating (functions/catalog/reviews_store.py).
    order_id = UnicodeAttribute(null=True)

    SORT_PREFIX = "REVIEW#"
    HIDDEN_PREFIX = "HIDDEN_REVIEW#"

    @classmethod
    def sort_key(cls, review_id: str) -> str:
        return f"{cls.SORT_PREFIX}{review_id}"


class ReviewerClaim(Model):
    """Exists once a user has reviewed a product; its conditional put makes that one review per
    user per product (docs/decisions/0003-table-design.md: uniqueness is a claim item).

      pk=PRODUCT#<product_id>  sk=REVIEWER#<user_id>
    """

    class Meta(_CatalogMeta):
        pass

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    review_id = UnicodeAttribute()

    @staticmethod
    def sort_key(user_id: str) -> str:
        return f"REVIEWER#{user_id}"
