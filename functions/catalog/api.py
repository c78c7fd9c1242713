"""What the catalog offers other services. The only module of functions/catalog/ another service
may import (.importlinter); the catalog itself calls identity and inventory through theirs.

SKUs and their prices (the cart, checkout)
  SkuId                                     the SKU id type (Annotated str) every endpoint validates with
  SkuInfo(sku_id, product_id, seller_id, title, options, price, currency, image, max_per_cart)
  lookup_skus(sku_ids, consistent=False) -> {sku_id: SkuInfo}
                                            the live SKUs among these (unknown or deleted: absent)
  current_or_last_known(sku_ids) -> ({sku_id: SkuInfo}, {sku_id whose price may have changed})
                                            for the cart: behind a circuit breaker, last-known
                                            prices when the catalog cannot answer (ADR 0027)
  verified_prices(sku_ids, consistent=False) -> {sku_id: SkuInfo}
                                            for checkout: read now, or CatalogUnavailable
  CatalogUnavailable                        the catalog could not answer (503 CATALOG_UNAVAILABLE)
Products (reviews)
  get_product(product_id) -> Product        a live product, read consistently (NotFound otherwise)

Reviews and the product's rating aggregate, which the catalog keeps for the reviews service
(functions/catalog/store/reviews.py, the reviews' part of the store: one transaction moves a review
and its product's rating):
  Review                    a listed review (typed, frozen)
  record_review             write a review, its one-per-user claim and the rating in one transaction,
                            with the caller's extra parts (`also`: orders' purchase check)
  ProductNotReviewable, AlreadyReviewed, AlsoCheckFailed, ProductBusy
                            why record_review wrote nothing
  review_by                 a user's listed review of a product, or None
  move_review, hide_review  a review onto another order / out of the listing and the rating
  ReviewChanged             the review changed meanwhile (move/hide): read again
  list_reviews              a product's reviews, newest first, with a signed cursor
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from functions.catalog.prices import CatalogUnavailable, current_or_last_known
from functions.catalog.prices import verified as verified_prices
from functions.catalog.products import get_product
from functions.catalog.skus import SkuInfo
from functions.catalog.skus import lookup as lookup_skus
from functions.catalog.store.reviews import (
    AlreadyReviewed,
    AlsoCheckFailed,
    ProductBusy,
    ProductNotReviewable,
    Review,
    ReviewChanged,
    hide_review,
    list_reviews,
    move_review,
    record_review,
    review_by,
)

if TYPE_CHECKING:
    from functions.catalog.schemas import SkuId


def __getattr__(name: str) -> Any:
    # SkuId is a pydantic type: only the request validators that name it pay for pydantic's import,
    # not every caller of this module (a stream consumer validates nothing; ADR 0043).
    if name == "SkuId":
        from functions.catalog.schemas import SkuId

        return SkuId
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["CatalogUnavailable", "SkuId", "SkuInfo", "current_or_last_known", "get_product", "lookup_skus", "verified_prices"]
# Reviews and the rating aggregate (functions/catalog/store/reviews.py)
__all__ += [
    "AlreadyReviewed", "AlsoCheckFailed", "ProductBusy", "ProductNotReviewable", "Review", "ReviewChanged",
    "hide_review", "list_reviews", "move_review", "record_review", "review_by",
]
