"""Review logic: a buyer reviews a product once; the product's rating aggregate moves with it.

Items (functions/catalog/store.py), all in the product's partition:
  review         pk=PRODUCT#<product_id>  sk=REVIEW#<review_id>    (rev_<ULID>: sorted by time)
  reviewer claim pk=PRODUCT#<product_id>  sk=REVIEWER#<user_id>    (one review per user)
  product        pk=PRODUCT#<product_id>  sk=PRODUCT               rating_sum, rating_count

A review is ONE TransactWriteItems: put the review, put the claim (only if absent), and on the
product ADD rating_sum/rating_count and version, SET updated_at, only while it is ACTIVE, and a
check that the purchase it stands on (its `order_id`) still stands. The aggregate is therefore
exactly the sum of the listed reviews under any concurrency (ADD is applied by DynamoDB, never
read-modify-write here), and the version bump makes the product's stream record carry the new
rating to the search index and the cache.

A review of an order later cancelled or refunded stops counting (docs/decisions/0019-one-checkout-per-cart.md):
the orders stream's REMOVE of that purchase claim (functions/reviews/consumers/withdraw_reviews.py) moves
the review to HIDDEN_REVIEW#<id> and takes its rating out, in one transaction conditional on the
review still being listed and standing on that order, so a replayed record changes nothing. A
reviewer who still has another paid order of the product keeps the review (it moves onto that
order, under a check that it stands).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from functions.catalog.api import get_product
from functions.orders import api as purchases
from shared import cursors, transactions
from shared.auth import Principal
from shared.errors import AlreadyExists, Conflict, Forbidden, NotFound, ServiceUnavailable
from shared.ids import new_id
from shared.lazy import lazy_module

if TYPE_CHECKING:  # the request model: only create_review builds it (the stream consumer needs no pydantic)
    from functions.reviews.schemas import CreateReviewRequest

models = lazy_module("functions.catalog.store")  # pynamodb models import most of botocore: on first use (shared/lazy.py)

MAX_LIST = 100
# A withdrawal whose review changed meanwhile reads again and decides again, this many times.
# (A transaction that races another one on the same item, TransactionConflict, is sent again by
# shared/transactions.py.)
MAX_ATTEMPTS = 6


def to_view(item: models.ReviewItem) -> dict[str, Any]:
    return {
        "review_id": item.review_id,
        "user_id": item.user_id,
        "rating": int(item.rating),
        "title": item.title,
        "body": item.body or "",
        "created_at": item.created_at.isoformat(timespec="milliseconds"),
    }


def create_review(product_id: str, request: CreateReviewRequest, principal: Principal) -> models.ReviewItem:
    """404 unknown/deleted product, 403 not a buyer (or its seller), 409 ALREADY_EXISTS if reviewed."""
    product = get_product(product_id)  # 404 before anything else: nobody can buy what is not there
    if product.seller_id == principal.user_id:
        raise Forbidden("Sellers cannot review their own products.")
    order_id = purchases.confirmed_purchase(principal.user_id, product_id)  # looked up now: patchable
    if order_id is None:
        raise Forbidden("Only customers with a confirmed order of this product can review it.")
    # The id's time and created_at are the same millisecond, so id order is created_at order.
    now_ms = int(time.time() * 1000)
    review_id = f"rev_{new_id(now_ms)}"
    review = models.ReviewItem(
        models.ProductItem.key(product_id),
        models.ReviewItem.sort_key(review_id),
        review_id=review_id,
        product_id=product_id,
        user_id=principal.user_id,
        rating=request.rating,
        title=request.title,
        body=request.body,
        created_at=datetime.fromtimestamp(now_ms / 1000, UTC),
        order_id=order_id,
    )
    claim = models.ReviewerClaim(models.ProductItem.key(product_id), models.ReviewerClaim.sort_key(principal.user_id), review_id=review_id)
    try:
        _write(review, claim, request.rating, purchases.purchase_check(principal.user_id, product_id, order_id), token=review_id)
    except ServiceUnavailable:  # TransactionConflict on every attempt
        raise Conflict("The product is busy; retry the review.") from None
    return review


def _write(review: models.ReviewItem, claim: models.ReviewerClaim, rating: int, purchase: dict[str, Any] | None, token: str) -> None:
    """[review, claim, product, purchase check] in one transaction (the indexes of `errors` below)."""
    table = models.ReviewItem.Meta.table_name
    items: list[dict[str, Any]] = [
        {"Put": {"TableName": table, "Item": review.serialize(), "ConditionExpression": "attribute_not_exists(pk)"}},
        {"Put": {"TableName": table, "Item": claim.serialize(), "ConditionExpression": "attribute_not_exists(pk)"}},
        {"Update": {
            "TableName": table, "Key": {"pk": {"S": review.pk}, "sk": {"S": "PRODUCT"}},
            "UpdateExpression": "ADD rating_sum :rating, rating_count :one, version :one SET updated_at = :at",
            "ConditionExpression": "#status = :active",
            "ExpressionAttributeNames": {"#status": "status"},
            "ExpressionAttributeValues": {
                ":rating": {"N": str(rating)}, ":one": {"N": "1"}, ":active": {"S": "ACTIVE"},
                ":at": {"S": models.ProductItem.updated_at.serialize(review.created_at)},
            },
        }},
    ]
    # What each item's failed condition means, the first that applies winning.
    errors: dict[int, Any] = {
        2: lambda: NotFound("No such product."),  # deleted meanwhile
        1: lambda: AlreadyExists("You have already reviewed this product.", {"product_id": review.product_id}),
    }
    if purchase is not None:
        items.append(purchase)
        errors[3] = lambda: Forbidden("Only customers with a confirmed order of this product can review it.")  # cancelled meanwhile
    # The token makes botocore's own retries of this request idempotent (a retry after a lost
    # response succeeds instead of failing on the claim); each of our attempts gets its own.
    transactions.write(items, token=token, on_condition_failed=errors)


# -- withdrawal: the purchase a review stands on was cancelled or refunded ----------------------


def withdraw_for_purchase(product_id: str, user_id: str, order_id: str) -> str:
    """Called once per withdrawn purchase (and again for a replayed record). Returns what happened:
    "none" (no review on that order: nothing to do), "moved" (onto another standing order),
    "hidden" (unlisted, its rating taken out of the aggregate)."""
    for attempt in range(MAX_ATTEMPTS):
        try:
            claim = models.ReviewerClaim.get(models.ProductItem.key(product_id), models.ReviewerClaim.sort_key(user_id), consistent_read=True)
            review = models.ReviewItem.get(models.ProductItem.key(product_id), models.ReviewItem.sort_key(claim.review_id), consistent_read=True)
        except (models.ReviewerClaim.DoesNotExist, models.ReviewItem.DoesNotExist):
            return "none"  # never reviewed, or already hidden
        if review.order_id not in (None, order_id):
            return "none"  # the review stands on another order
        other = purchases.confirmed_purchase(user_id, product_id, other_than=order_id)
        try:
            if other is not None:
                _move(review, order_id, other)
                return "moved"
            _hide(review, order_id)
            return "hidden"
        except transactions.ConditionFailed:
            # Changed meanwhile (hidden by a replay, moved, or the other purchase withdrawn too):
            # read again and decide again.
            pass
        transactions.back_off(attempt)
    raise Conflict("The review is changing too fast; the record is retried.")


def _standing_on(order_id: str) -> tuple[str, dict[str, Any]]:
    """The review's condition: still listed, and standing on `order_id` (a review older than
    order ids on reviews stands on whichever purchase the user has)."""
    return "attribute_exists(pk) AND (order_id = :order OR attribute_not_exists(order_id))", {":order": {"S": order_id}}


def _move(review: models.ReviewItem, order_id: str, other: str) -> None:
    condition, values = _standing_on(order_id)
    check = purchases.purchase_check(review.user_id, review.product_id, other)
    items: list[dict[str, Any]] = [{"Update": {
        "TableName": models.ReviewItem.Meta.table_name, "Key": {"pk": {"S": review.pk}, "sk": {"S": review.sk}},
        "UpdateExpression": "SET order_id = :other", "ConditionExpression": condition,
        "ExpressionAttributeValues": {**values, ":other": {"S": other}},
    }}]
    if check is not None:
        items.append(check)
    transactions.write(items, on_condition_failed=transactions.ConditionFailed)


def _hide(review: models.ReviewItem, order_id: str) -> None:
    table = models.ReviewItem.Meta.table_name
    condition, values = _standing_on(order_id)
    hidden = review.serialize()
    hidden["sk"] = {"S": f"{models.ReviewItem.HIDDEN_PREFIX}{review.review_id}"}
    hidden["entity"] = {"S": "hidden_review"}
    hidden["hidden_because"] = {"S": f"order {order_id} was cancelled or refunded"}
    transactions.write([
        {"Delete": {
            "TableName": table, "Key": {"pk": {"S": review.pk}, "sk": {"S": review.sk}},
            "ConditionExpression": condition, "ExpressionAttributeValues": values,
        }},
        {"Put": {"TableName": table, "Item": hidden}},
        {"Update": {
            "TableName": table, "Key": {"pk": {"S": review.pk}, "sk": {"S": "PRODUCT"}},
            # A deleted product's aggregate is corrected too: it is kept, and shown if restored.
            "UpdateExpression": "ADD rating_sum :minus_rating, rating_count :minus_one, version :one SET updated_at = :at",
            "ConditionExpression": "attribute_exists(pk)",
            "ExpressionAttributeValues": {
                ":minus_rating": {"N": str(-int(review.rating))}, ":minus_one": {"N": "-1"}, ":one": {"N": "1"},
                ":at": {"S": models.ProductItem.updated_at.serialize(datetime.now(UTC))},
            },
        }},
    ], on_condition_failed=transactions.ConditionFailed)


def _encode_cursor(product_id: str, sort_key: str) -> str:
    return cursors.encode("reviews", product_id, sort_key)


def _decode_cursor(product_id: str, cursor: str) -> str:
    sort_key = cursors.decode("reviews", product_id, cursor)
    if not (isinstance(sort_key, str) and sort_key.startswith(models.ReviewItem.SORT_PREFIX)):
        raise cursors.InvalidCursor()
    return sort_key


def list_reviews(product_id: str, limit: int, cursor: str | None) -> tuple[list[models.ReviewItem], str | None]:
    """Newest first. The cursor holds only the last review's sort key, signed for this product's
    list (shared/cursors.py), so a cursor of another product's list is refused."""
    get_product(product_id)  # 404 for unknown and deleted products
    pk = models.ProductItem.key(product_id)
    start = {"pk": {"S": pk}, "sk": {"S": _decode_cursor(product_id, cursor)}} if cursor else None
    # One more than asked: a next page is promised only when one exists. Read consistently: a
    # reviewer who just posted (or withdrew) expects to see it in the list at once.
    results = models.ReviewItem.query(
        pk,
        models.ReviewItem.sk.startswith(models.ReviewItem.SORT_PREFIX),
        consistent_read=True,
        scan_index_forward=False,
        limit=limit + 1,
        page_size=limit + 1,
        last_evaluated_key=start,
    )
    items = list(results)
    if len(items) > limit:
        return items[:limit], _encode_cursor(product_id, items[limit - 1].sk)
    return items, None
