"""Review logic: a buyer reviews a product once; the product's rating aggregate moves with it.

Items (functions/catalog/models.py), all in the product's partition:
  review         pk=PRODUCT#<product_id>  sk=REVIEW#<review_id>    (rev_<ULID>: sorted by time)
  reviewer claim pk=PRODUCT#<product_id>  sk=REVIEWER#<user_id>    (one review per user)
  product        pk=PRODUCT#<product_id>  sk=PRODUCT               rating_sum, rating_count

A review is ONE TransactWriteItems: put the review, put the claim (only if absent), and on the
product ADD rating_sum/rating_count and version, SET updated_at, only while it is ACTIVE. The
aggregate is therefore exactly the sum of the stored reviews under any concurrency (ADD is
applied by DynamoDB, never read-modify-write here), and the version bump makes the product's
stream record carry the new rating to the search index and the cache.
"""

from __future__ import annotations

import random
import time
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from pynamodb.exceptions import TransactWriteError
from pynamodb.transactions import TransactWrite

from functions.catalog.models import ProductItem, ReviewerClaim, ReviewItem
from functions.catalog.products import get_product
from functions.orders import purchases
from shared import cursors
from shared.auth import Principal
from shared.errors import AlreadyExists, Conflict, Forbidden, NotFound
from shared.ids import new_id
from shared.tables import connection

MAX_LIST = 100
# DynamoDB cancels a transaction that races another one on the same item (TransactionConflict);
# nothing of it was applied, so it is retried with jittered backoff (~1.5 s in all at most).
MAX_ATTEMPTS = 6
BACKOFF_SECONDS = 0.025


class CreateReviewRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rating: Annotated[int, Field(strict=True, ge=1, le=5)]  # 4.5, "5" and true are refused
    title: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)]
    body: Annotated[str, StringConstraints(strip_whitespace=True, max_length=5000)] = ""


def to_view(item: ReviewItem) -> dict[str, Any]:
    return {
        "review_id": item.review_id,
        "user_id": item.user_id,
        "rating": int(item.rating),
        "title": item.title,
        "body": item.body or "",
        "created_at": item.created_at.isoformat(timespec="milliseconds"),
    }


def create_review(product_id: str, request: CreateReviewRequest, principal: Principal) -> ReviewItem:
    """404 unknown/deleted product, 403 not a buyer (or its seller), 409 ALREADY_EXISTS if reviewed."""
    product = get_product(product_id)  # 404 before anything else: nobody can buy what is not there
    if product.seller_id == principal.user_id:
        raise Forbidden("Sellers cannot review their own products.")
    if not purchases.has_confirmed_purchase(principal.user_id, product_id):  # looked up now: patchable
        raise Forbidden("Only customers with a confirmed order of this product can review it.")
    # The id's time and created_at are the same millisecond, so id order is created_at order.
    now_ms = int(time.time() * 1000)
    review_id = f"rev_{new_id(now_ms)}"
    review = ReviewItem(
        ProductItem.key(product_id),
        ReviewItem.sort_key(review_id),
        review_id=review_id,
        product_id=product_id,
        user_id=principal.user_id,
        rating=request.rating,
        title=request.title,
        body=request.body,
        created_at=datetime.fromtimestamp(now_ms / 1000, UTC),
    )
    claim = ReviewerClaim(ProductItem.key(product_id), ReviewerClaim.sort_key(principal.user_id), review_id=review_id)
    for attempt in range(MAX_ATTEMPTS):
        try:
            _write(review, claim, request.rating, token=f"{review_id}-{attempt}")
            return review
        except TransactWriteError as exc:
            # pynamodb sends condition checks, then puts in the order saved, then updates:
            # [review, claim, product].
            reasons = dict(zip(("review", "claim", "product"), exc.cancellation_reasons or [], strict=False))
            codes = {label: reason.code for label, reason in reasons.items() if reason is not None}
            if codes.get("product") == "ConditionalCheckFailed":
                raise NotFound("No such product.") from exc  # deleted meanwhile
            if codes.get("claim") == "ConditionalCheckFailed":
                raise AlreadyExists("You have already reviewed this product.", {"product_id": product_id}) from exc
            if "TransactionConflict" not in codes.values():
                raise
        time.sleep(random.uniform(0, BACKOFF_SECONDS * 2**attempt))
    raise Conflict("The product is busy; retry the review.")


def _write(review: ReviewItem, claim: ReviewerClaim, rating: int, token: str) -> None:
    product = ProductItem(review.pk, "PRODUCT")  # keys only: the update names what changes
    # The token makes botocore's own retries of this request idempotent (a retry after a lost
    # response succeeds instead of failing on the claim); each of our attempts gets its own.
    with TransactWrite(connection=connection(), client_request_token=token) as transaction:
        transaction.save(review, condition=ReviewItem.pk.does_not_exist())
        transaction.save(claim, condition=ReviewerClaim.pk.does_not_exist())
        transaction.update(
            product,
            actions=[
                ProductItem.rating_sum.add(rating),
                ProductItem.rating_count.add(1),
                ProductItem.version.add(1),
                ProductItem.updated_at.set(review.created_at),
            ],
            condition=ProductItem.status == "ACTIVE",
        )


def _encode_cursor(product_id: str, sort_key: str) -> str:
    return cursors.encode("reviews", product_id, sort_key)


def _decode_cursor(product_id: str, cursor: str) -> str:
    sort_key = cursors.decode("reviews", product_id, cursor)
    if not (isinstance(sort_key, str) and sort_key.startswith(ReviewItem.SORT_PREFIX)):
        raise cursors.InvalidCursor()
    return sort_key


def list_reviews(product_id: str, limit: int, cursor: str | None) -> tuple[list[ReviewItem], str | None]:
    """Newest first. The cursor holds only the last review's sort key, signed for this product's
    list (shared/cursors.py), so a cursor of another product's list is refused."""
    get_product(product_id)  # 404 for unknown and deleted products
    pk = ProductItem.key(product_id)
    start = {"pk": {"S": pk}, "sk": {"S": _decode_cursor(product_id, cursor)}} if cursor else None
    # One more than asked: a next page is promised only when one exists.
    results = ReviewItem.query(
        pk,
        ReviewItem.sk.startswith(ReviewItem.SORT_PREFIX),
        scan_index_forward=False,
        limit=limit + 1,
        page_size=limit + 1,
        last_evaluated_key=start,
    )
    items = list(results)
    if len(items) > limit:
        return items[:limit], _encode_cursor(product_id, items[limit - 1].sk)
    return items, None
