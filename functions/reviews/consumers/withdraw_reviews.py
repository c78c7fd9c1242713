"""Orders stream consumer: a purchase claim removed (its order was cancelled or refunded) takes
the review standing on it out of the listing and the product's rating, exactly once however
often the record is delivered (functions/reviews/reviews.py `withdraw_for_purchase`)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord

from functions.orders import api as purchases
from functions.reviews.reviews import withdraw_for_purchase
from shared.observability import logger

processor = BatchProcessor(event_type=EventType.DynamoDBStreams)


def _withdraw(record: DynamoDBRecord) -> None:
    withdrawn = purchases.withdrawn_purchase(record.raw_event)
    if withdrawn is None:
        return
    user_id, product_id, order_id = withdrawn
    outcome = withdraw_for_purchase(product_id, user_id, order_id)
    logger.info("purchase withdrawn", extra={"order_id": order_id, "product_id": product_id, "review": outcome})


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return process_partial_response(event=event, record_handler=_withdraw, processor=processor, context=context)
