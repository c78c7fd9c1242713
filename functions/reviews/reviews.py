"""Review rules: only a buyer reviews a product, once; a review stops counting when its purchase goes.

The reviews and the product's rating aggregate are kept by the catalog, in the product's
partition, and move in ONE transaction (functions/catalog/store/reviews.py, through
functions/catalog/api.py): this module decides who may write what, and asks orders
(functions/orders/api.py) who bought what.

A review rests on a purchase: it records the order it stands on (`order_id`), and its transaction
carries orders' ConditionCheck that the purchase still stands (`purchases.purchase_check`), so a
cancellation racing the review refuses it.

A review of an order later cancelled or refunded stops counting (docs/decisions/0019-one-checkout-per-cart.md):
the orders stream's REMOVE of that purchase claim (functions/reviews/consumers/withdraw_reviews.py) hides
the review and takes its rating out, in one transaction conditional on the review still being
listed and standing on that order, so a replayed record changes nothing. A reviewer who still has
another paid order of the product keeps the review (it moves onto that order, under a check that
it stands).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from functions.catalog import api as catalog
from functions.catalog.api import Review, get_product
from functions.orders import api as purchases
from shared import transactions
from shared.auth import Principal
from shared.errors import AlreadyExists, Conflict, Forbidden, NotFound
from shared.ids import new_id

if TYPE_CHECKING:  # the request model: only create_review builds it (the stream consumer needs no pydantic)
    from functions.reviews.schemas import CreateReviewRequest

MAX_LIST = 100
# A withdrawal that raced a change of the review (a replay, a move, the other purchase withdrawn
# too) reads again and decides again, with jittered backoff (~1.5 s in all at most).
MAX_ATTEMPTS = 6
NOT_A_BUYER = "Only customers with a confirmed order of this product can review it."


def to_view(review: Review) -> dict[str, Any]:
    return {
        "review_id": review.review_id,
        "user_id": review.user_id,
        "rating": review.rating,
        "title": review.title,
        "body": review.body,
        "created_at": review.created_at.isoformat(timespec="milliseconds"),
    }


def create_review(product_id: str, request: CreateReviewRequest, principal: Principal) -> Review:
    """404 unknown/deleted product, 403 not a buyer (or its seller), 409 ALREADY_EXISTS if reviewed."""
    product = get_product(product_id)  # 404 before anything else: nobody can buy what is not there
    if product.seller_id == principal.user_id:
        raise Forbidden("Sellers cannot review their own products.")
    order_id = purchases.confirmed_purchase(principal.user_id, product_id)  # looked up now: patchable
    if order_id is None:
        raise Forbidden(NOT_A_BUYER)
    # The id's time and created_at are the same millisecond, so id order is created_at order.
    now_ms = int(time.time() * 1000)
    review = Review(
        review_id=f"rev_{new_id(now_ms)}",
        product_id=product_id,
        user_id=principal.user_id,
        rating=request.rating,
        title=request.title,
        body=request.body,
        created_at=datetime.fromtimestamp(now_ms / 1000, UTC),
        order_id=order_id,
    )
    check = purchases.purchase_check(principal.user_id, product_id, order_id)
    try:
        catalog.record_review(review, also=[check] if check is not None else [])
    except catalog.ProductNotReviewable as exc:
        raise NotFound("No such product.") from exc  # deleted meanwhile
    except catalog.AlreadyReviewed as exc:
        raise AlreadyExists("You have already reviewed this product.", {"product_id": product_id}) from exc
    except catalog.AlsoCheckFailed as exc:
        raise Forbidden(NOT_A_BUYER) from exc  # the purchase was cancelled meanwhile
    except catalog.ProductBusy as exc:
        raise Conflict("The product is busy; retry the review.") from exc
    return review


# -- withdrawal: the purchase a review stands on was cancelled or refunded ----------------------


def withdraw_for_purchase(product_id: str, user_id: str, order_id: str) -> str:
    """Called once per withdrawn purchase (and again for a replayed record). Returns what happened:
    "none" (no review on that order: nothing to do), "moved" (onto another standing order),
    "hidden" (unlisted, its rating taken out of the aggregate)."""
    for attempt in range(MAX_ATTEMPTS):
        review = catalog.review_by(product_id, user_id)
        if review is None:
            return "none"  # never reviewed, or already hidden
        if review.order_id not in (None, order_id):
            return "none"  # the review stands on another order
        other = purchases.confirmed_purchase(user_id, product_id, other_than=order_id)
        try:
            if other is not None:
                check = purchases.purchase_check(user_id, product_id, other)
                catalog.move_review(review, order_id, other, also=[check] if check is not None else [])
                return "moved"
            catalog.hide_review(review, order_id, because=f"order {order_id} was cancelled or refunded")
            return "hidden"
        except catalog.ReviewChanged:
            pass  # hidden by a replay, moved, or the other purchase withdrawn too: read again and decide again
        transactions.back_off(attempt)
    raise Conflict("The review is changing too fast; the record is retried.")


def list_reviews(product_id: str, limit: int, cursor: str | None) -> tuple[list[Review], str | None]:
    """Newest first, with the next page's cursor (signed for this product's list: a cursor of
    another product's list is refused). 404 for unknown and deleted products."""
    get_product(product_id)
    return catalog.list_reviews(product_id, limit, cursor)
