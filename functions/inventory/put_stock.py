"""PUT /api/v1/inventory/{sku_id}: set on-hand stock (owning seller, admin)."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.logging import correlation_paths
from pydantic import BaseModel, ConfigDict, Field

from functions.inventory.counters import owned_sku, set_on_hand
from shared.http import create_app, ok
from shared.observability import logger

app = create_app(roles=("seller", "admin"))


class SetStockRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    on_hand: int = Field(ge=0, le=1_000_000, strict=True)


@app.put("/api/v1/inventory/<sku_id>")
def put_stock(sku_id: str, body: Annotated[SetStockRequest, Body()]):
    return ok(app, set_on_hand(owned_sku(sku_id, app.principal), body.on_hand))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
def handler(event, context):
    return app.resolve(event, context)
