"""Reviews and the product's rating aggregate: the catalog keeps them, the reviews service decides.

The reviews service (functions/reviews/) owns the rules (who may review, one per buyer, when a
review stops counting); the items live in the catalog table because a review and the rating
aggregate of its product move in ONE transaction (docs/decisions/0019-one-checkout-per-cart.md).
Other services reach this module only through functions/catalog/api.py.

The reviews' part of the catalog's store: the items and their codecs are in
functions/catalog/store/__init__.py, all in the product's partition:
  review         pk=PRODUCT#<product_id>  sk=REVIEW#<review_id>         (rev_<ULID>: sorted by time)
  hidden review  pk=PRODUCT#<product_id>  sk=HIDDEN_REVIEW#<review_id>  (withdrawn: unlisted, not rated)
  reviewer claim pk=PRODUCT#<product_id>  sk=REVIEWER#<user_id>         (one review per user, hidden or not)
  product        pk=PRODUCT#<product_id>  sk=PRODUCT                    rating_sum, rating_count

`record_review` is ONE TransactWriteItems: put the review, put the claim (only if absent), and on
the product ADD rating_sum/rating_count and version, SET updated_at, only while it is ACTIVE, plus
the caller's `also` parts (the reviews service adds orders' check that the purchase stands). The
aggregate is therefore exactly the sum of the listed reviews under any concurrency (ADD is applied
by DynamoDB, never read-modify-write here), and the version bump makes the product's stream record
carry the new rating to the search index and the cache.

`hide_review` unlists a review and takes its rating out in one transaction, conditional on the
review still being listed and standing on the given order, so a replayed withdrawal changes
nothing; `move_review` moves it onto another order under the same condition.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from functions.catalog import store
from functions.catalog.store import Review
from shared import cursors, transactions
from shared.attributes import to_utc_string
from shared.errors import ServiceUnavailable

# DynamoDB cancels a transaction that races another one on the same item (TransactionConflict);
# nothing of it was applied, so shared/transactions.py sends it again, this many times in all.
MAX_ATTEMPTS = 6


class ReviewNotRecorded(Exception):
    """A review transaction was cancelled by one of its conditions (nothing of it was written)."""


class ProductNotReviewable(ReviewNotRecorded):
    """The product does not exist or is not ACTIVE (deleted meanwhile)."""


class AlreadyReviewed(ReviewNotRecorded):
    """The user's reviewer claim on the product exists: one review per user per product."""


class AlsoCheckFailed(ReviewNotRecorded):
    """One of the caller's `also` parts failed its condition; `index` says which."""

    def __init__(self, index: int) -> None:
        super().__init__(f"transaction part also[{index}] failed its condition")
        self.index = index


class ProductBusy(Exception):
    """Every attempt raced another transaction on the product (TransactionConflict): retry later."""


class ReviewChanged(Exception):
    """The review (or a part the caller added) changed since it was read: read again and decide again."""


def record_review(review: Review, also: Sequence[Mapping[str, Any]] = ()) -> None:
    """Write `review`, its reviewer claim and the product's rating aggregate (+ rating, +1 count,
    +1 version, updated_at = created_at) in one transaction with the `also` parts (TransactItems,
    e.g. a ConditionCheck of another service's table). Raises ProductNotReviewable, then
    AlreadyReviewed, then AlsoCheckFailed (in that order when several conditions fail), or
    ProductBusy when every attempt raced another transaction."""
    # What each item's failed condition means, the first that applies winning:
    # [review, claim, product, *also].
    errors: dict[int, Any] = {
        2: lambda: ProductNotReviewable(review.product_id),
        1: lambda: AlreadyReviewed(review.product_id),
        **{3 + index: (lambda index=index: AlsoCheckFailed(index)) for index in range(len(also))},
    }
    try:
        # The token makes botocore's own retries of this request idempotent (a retry after a lost
        # response succeeds instead of failing on the claim); the executor derives one per attempt.
        transactions.write([*_review_parts(review), *also], token=review.review_id, on_condition_failed=errors,
                           attempts=MAX_ATTEMPTS)
    except ServiceUnavailable:  # every attempt raced another transaction on the product
        raise ProductBusy(review.product_id) from None


def _review_parts(review: Review) -> list[dict[str, Any]]:
    """[review, claim, product] (the cancellation reasons' order in record_review)."""
    table = store.table()
    return [
        {"Put": {"TableName": table, "Item": store.review_item(review), "ConditionExpression": "attribute_not_exists(pk)"}},
        {"Put": {"TableName": table, "Item": store.reviewer_claim_item(review), "ConditionExpression": "attribute_not_exists(pk)"}},
        {"Update": {
            "TableName": table, "Key": _product_key(review.product_id),
            "UpdateExpression": "ADD rating_sum :rating, rating_count :one, version :one SET updated_at = :at",
            "ConditionExpression": "#status = :active",
            "ExpressionAttributeNames": {"#status": "status"},
            "ExpressionAttributeValues": {
                ":rating": {"N": str(review.rating)}, ":one": {"N": "1"}, ":active": {"S": "ACTIVE"},
                ":at": {"S": to_utc_string(review.created_at)},
            },
        }},
    ]


# -- withdrawal: the reviews service takes a review out, or moves it onto another order --------


def review_by(product_id: str, user_id: str) -> Review | None:
    """The user's listed review of the product (read consistently), or None: never reviewed, or hidden."""
    return store.reviewed_by(product_id, user_id)


def move_review(review: Review, from_order: str, to_order: str, also: Sequence[Mapping[str, Any]] = ()) -> None:
    """The review now stands on `to_order`, if it is still listed and standing on `from_order`
    (and the `also` parts hold, e.g. that `to_order` still stands). ReviewChanged otherwise."""
    condition, values = _standing_on(from_order)
    _transact_or_changed([{"Update": {
        "TableName": store.table(), "Key": _review_key(review),
        "UpdateExpression": "SET order_id = :other", "ConditionExpression": condition,
        "ExpressionAttributeValues": {**values, ":other": {"S": to_order}},
    }}, *also])


def hide_review(review: Review, from_order: str, because: str) -> None:
    """Unlist the review (it moves to HIDDEN_REVIEW#<id>, with `because`) and take its rating out
    of the product's aggregate (+1 version), if it is still listed and standing on `from_order`:
    a second call for the same order changes nothing. ReviewChanged otherwise. The reviewer
    claim stays. A deleted product's aggregate is corrected too: it is kept, and shown if restored."""
    table = store.table()
    condition, values = _standing_on(from_order)
    hidden = store.hidden_review_item(review, because)
    _transact_or_changed([
        {"Delete": {"TableName": table, "Key": _review_key(review), "ConditionExpression": condition, "ExpressionAttributeValues": values}},
        {"Put": {"TableName": table, "Item": hidden}},
        {"Update": {
            "TableName": table, "Key": _product_key(review.product_id),
            "UpdateExpression": "ADD rating_sum :minus_rating, rating_count :minus_one, version :one SET updated_at = :at",
            "ConditionExpression": "attribute_exists(pk)",
            "ExpressionAttributeValues": {
                ":minus_rating": {"N": str(-int(review.rating))}, ":minus_one": {"N": "-1"}, ":one": {"N": "1"},
                ":at": {"S": to_utc_string(datetime.now(UTC))},
            },
        }},
    ])


def _standing_on(order_id: str) -> tuple[str, dict[str, Any]]:
    """The review's condition: still listed, and standing on `order_id` (a review older than
    order ids on reviews stands on whichever purchase the user has)."""
    return "attribute_exists(pk) AND (order_id = :order OR attribute_not_exists(order_id))", {":order": {"S": order_id}}


def _transact_or_changed(items: list[Mapping[str, Any]]) -> None:
    """One transaction; ReviewChanged when a condition failed or another transaction raced it
    (the caller reads again and decides again)."""
    try:
        transactions.write(items, on_condition_failed=transactions.ConditionFailed, retry_busy=False)
    except transactions.ConditionFailed as exc:
        raise ReviewChanged(str(exc)) from exc
    except Exception as exc:  # noqa: BLE001 - classified below
        if not transactions.is_busy(exc):
            raise
        raise ReviewChanged(str(exc)) from exc


# -- listing --------------------------------------------------------------------------------------


def list_reviews(product_id: str, limit: int, cursor: str | None) -> tuple[list[Review], str | None]:
    """A product's listed reviews, newest first, `limit` at most, and the next page's cursor (None
    on the last page). The cursor holds only the last review's sort key, signed for this product's
    list (shared/cursors.py), so a cursor of another product's list is refused (InvalidCursor).
    Does not look at the product itself: callers check it exists (get_product) first."""
    # One more than asked: a next page is promised only when one exists.
    reviews = store.review_page(product_id, limit + 1, _decode_cursor(product_id, cursor) if cursor else None)
    if len(reviews) > limit:
        last = reviews[limit - 1]
        return reviews[:limit], _encode_cursor(product_id, store.review_key(last.product_id, last.review_id)["sk"]["S"])
    return reviews, None


def _encode_cursor(product_id: str, sort_key: str) -> str:
    return cursors.encode("reviews", product_id, sort_key)


def _decode_cursor(product_id: str, cursor: str) -> str:
    sort_key = cursors.decode("reviews", product_id, cursor)
    if not (isinstance(sort_key, str) and sort_key.startswith(store.REVIEW_PREFIX)):
        raise cursors.InvalidCursor()
    return sort_key


# -- items ----------------------------------------------------------------------------------------


def _review_key(review: Review) -> dict[str, dict[str, str]]:
    return store.review_key(review.product_id, review.review_id)


def _product_key(product_id: str) -> dict[str, dict[str, str]]:
    return store.product_key(product_id)
