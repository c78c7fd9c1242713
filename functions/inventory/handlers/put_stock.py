"""PUT /api/v1/inventory/{sku_id}: set on-hand stock and/or the SKU's stock buckets (owning
seller, admin). `buckets` > 1 marks a SKU hot for a flash sale: its stock is spread over that
many items so reservations do not queue on one (ADR 0022); 1 folds it back."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.logging import correlation_paths
from pydantic import BaseModel, ConfigDict, Field, model_validator

from functions.inventory.counters import set_stock
from functions.inventory.owners import owned_sku
from functions.inventory.store import MAX_BUCKETS
from shared.http import create_app, ok
from shared.observability import logger

app = create_app(roles=("seller", "admin"))


class SetStockRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    on_hand: int | None = Field(default=None, ge=0, le=1_000_000, strict=True)
    buckets: int | None = Field(default=None, ge=1, le=MAX_BUCKETS, strict=True,
                                description="Stock buckets for a hot SKU (1 = unbucketed).")

    @model_validator(mode="after")
    def _something_to_set(self) -> SetStockRequest:
        if self.on_hand is None and self.buckets is None:
            raise ValueError("give on_hand, buckets, or both")
        return self


@app.put("/api/v1/inventory/<sku_id>")
def put_stock(sku_id: str, body: Annotated[SetStockRequest, Body()]):
    return ok(app, set_stock(owned_sku(sku_id, app.principal), body.on_hand, body.buckets))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
def handler(event, context):
    return app.resolve(event, context)
