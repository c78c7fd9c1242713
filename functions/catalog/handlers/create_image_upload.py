"""POST /api/v1/products/{product_id}/images: a presigned upload for one product image.

The seller's client POSTs the file straight to S3 (S3 enforces the type and the 5 MB limit),
then adds the returned CDN `image_url` to the product with PUT /products/{id}.
"""

from __future__ import annotations

import os
from functools import lru_cache
from typing import Annotated, Any, Literal

from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.logging import correlation_paths
from pydantic import BaseModel, ConfigDict

from functions.catalog.products import owned_product
from shared.http import create_app, ok
from shared.ids import new_id
from shared.observability import logger

app = create_app(roles=("seller", "admin"))

MAX_BYTES = 5 * 1024 * 1024
UPLOAD_SECONDS = 900
EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp"}


class ImageUploadRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    content_type: Literal["image/jpeg", "image/png", "image/webp"]


@lru_cache(maxsize=1)
def _s3() -> Any:
    import boto3

    from shared.aws import config

    return boto3.client("s3", config=config("s3"))


@app.post("/api/v1/products/<product_id>/images")
def create_upload(product_id: str, body: Annotated[ImageUploadRequest, Body()]):
    owned_product(product_id, app.principal)  # another seller's product looks missing (404)
    key = f"products/{product_id}/{new_id().lower()}.{EXTENSIONS[body.content_type]}"
    upload = _s3().generate_presigned_post(
        Bucket=os.environ["IMAGES_BUCKET"],
        Key=key,
        Fields={"Content-Type": body.content_type},
        Conditions=[{"Content-Type": body.content_type}, ["content-length-range", 1, MAX_BYTES]],
        ExpiresIn=UPLOAD_SECONDS,
    )
    data = {
        "upload": {"url": upload["url"], "fields": upload["fields"], "max_bytes": MAX_BYTES, "expires_in": UPLOAD_SECONDS},
        "image_url": f"{os.environ['IMAGES_CDN_URL'].rstrip('/')}/{key}",
    }
    return ok(app, data, status=201)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
def handler(event, context):
    return app.resolve(event, context)
